import Datasets
import Foundation
@_exported import ZipExtraction

/// Registers a dataset uploaded as a zip: extracts it into `JOBS_DIR/datasets/ID/files/`, finds its
/// layout, and registers it as `DatasetUpload` does a CSV upload (the import runs later, in the runner).
///
/// Layouts:
/// - a manifest: exactly one `.csv` at the top level of the zip, or in its single top-level folder;
///   its paths are relative to its own folder, which becomes the dataset's root;
/// - one folder per label (AutoML's other import mode): `LABEL/…/image.png`, every image `UNASSIGNED`
///   (the importer splits them 80/10/10 by content hash). A folder holding only label folders
///   (`dataset/LABEL/image.png`) works too.
///
/// `__MACOSX/`, dotfiles, `Thumbs.db` and `desktop.ini` are never extracted. Entries with an absolute
/// path, a drive letter or a `..` component, and symbolic links, refuse the whole zip (nothing of it
/// is kept), as do more entries or uncompressed bytes than `ZipLimits` allows.
public enum ZipDatasetUpload {
    /// Where the zip's files are extracted.
    public static func filesFolder(jobsDirectory: URL, id: String) -> URL {
        DatasetUpload.folder(jobsDirectory: jobsDirectory, id: id).appendingPathComponent("files", isDirectory: true)
    }

    /// Extracts `zip`, registers the dataset and deletes `zip`; on any error removes the dataset's
    /// folder (`JOBS_DIR/datasets/ID/`, where the server streams the upload) so nothing half-made stays.
    /// - Throws: `ZipUploadError`, `ManifestError` (a manifest that is not UTF-8 CSV), or I/O errors.
    public static func register(zip: URL, multiLabel: Bool, name: String?, jobsDirectory: URL, id: String,
                                limits: ZipLimits = ZipLimits()) throws -> DatasetRecord {
        let folder = DatasetUpload.folder(jobsDirectory: jobsDirectory, id: id)
        let files = filesFolder(jobsDirectory: jobsDirectory, id: id)
        do {
            let extracted = try extract(zip, into: files, limits: limits)
            let record: DatasetRecord
            switch try layout(of: extracted) {
            case let .manifest(path):
                let url = files.appendingPathComponent(path)
                let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
                if size > limits.maxManifestBytes {
                    throw ZipUploadError.overLimit("its manifest \(path) is larger than \(limits.maxManifestBytes) bytes")
                }
                let bytes = [UInt8](try Data(contentsOf: url))
                let manifestFolder = (path as NSString).deletingLastPathComponent
                let root = manifestFolder.isEmpty ? files : files.appendingPathComponent(manifestFolder, isDirectory: true)
                record = try DatasetUpload.register(manifest: bytes, root: root, multiLabel: multiLabel, name: name,
                                                    jobsDirectory: jobsDirectory, id: id)
            case let .folders(base, rows, ignored):
                let text = rows.map { "UNASSIGNED,\(csvEscaped($0.path)),\(csvEscaped($0.label))\n" }.joined()
                let root = base.isEmpty ? files : files.appendingPathComponent(base, isDirectory: true)
                var notices = ["one folder per label: \(rows.count) image(s) in \(Set(rows.map(\.label)).count) label folder(s), "
                    + "all UNASSIGNED (split 80/10/10 by content)"]
                if !ignored.isEmpty {
                    notices.append("ignored \(ignored.count) file(s) outside the label folders or not images: "
                        + ignored.prefix(5).joined(separator: ", ") + (ignored.count > 5 ? ", …" : ""))
                }
                record = try DatasetUpload.register(manifest: Array(text.utf8), root: root, multiLabel: multiLabel, name: name,
                                                    jobsDirectory: jobsDirectory, id: id, notices: notices)
            }
            try? FileManager.default.removeItem(at: zip)
            return record
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    // MARK: Extraction and layout (in `ZipExtraction`, which fuzzing builds without the job store)

    /// Extracts every file of `zip` into `destination`: `ZipExtractor.extract(_:into:limits:)`.
    public static func extract(_ zip: URL, into destination: URL, limits: ZipLimits = ZipLimits()) throws -> [String] {
        try ZipExtractor.extract(zip, into: destination, limits: limits)
    }

    typealias Layout = ZipLayout

    /// Finds the layout of a zip from the paths of its files: `ZipLayout.of(_:)`.
    static func layout(of files: [String]) throws -> Layout {
        try ZipLayout.of(files)
    }
}
