import Datasets
import Foundation
import ZIPFoundation

/// Why a zip upload was refused. `isOverLimit` errors are answered 413, the others 422.
public enum ZipUploadError: Error, CustomStringConvertible, Equatable {
    /// The bytes are not a readable zip archive.
    case notAZip(String)
    /// An entry that would write outside the extraction folder, or a symbolic link.
    case unsafeEntry(path: String, reason: String)
    /// Too many entries or too many uncompressed bytes (a zip bomb, or simply too big).
    case overLimit(String)
    /// An entry that does not extract (bad CRC, truncated data, conflicting names).
    case unreadableEntry(path: String, reason: String)
    /// Several CSV files where the manifest is looked for.
    case severalManifests([String])
    /// Neither a manifest nor folders of images.
    case noDataset(String)

    public var isOverLimit: Bool {
        if case .overLimit = self { return true }
        return false
    }

    static let layouts = "a zip holds either one CSV manifest ([set,]path,label rows, paths relative to the manifest) "
        + "at its top level or in its single top-level folder, next to the images; or one folder per label "
        + "(LABEL/image.png), its images split 80/10/10 into TRAIN/VALIDATION/TEST"

    public var description: String {
        switch self {
        case let .notAZip(reason):
            "the body is not a readable zip archive (\(reason)): send the bytes of a .zip file "
                + "(curl --data-binary @dataset.zip -H 'Content-Type: application/zip'), not a multipart form or another format"
        case let .unsafeEntry(path, reason):
            "zip entry '\(path)' is refused: \(reason); re-create the zip from the dataset folder (cd into it, then zip -r)"
        case let .overLimit(reason):
            "the zip is refused: \(reason)"
        case let .unreadableEntry(path, reason):
            "zip entry '\(path)' cannot be extracted (\(reason)): re-create the zip"
        case let .severalManifests(names):
            "the zip holds several CSV manifests (\(names.joined(separator: ", "))): keep exactly one, or none for one folder per label"
        case let .noDataset(found):
            "the zip holds no dataset (\(found)): \(Self.layouts)"
        }
    }
}

/// Caps on what one zip may extract to (a small zip can inflate to terabytes).
public struct ZipLimits: Sendable {
    /// Entries in the archive, files and folders alike, ignored ones included.
    public var maxEntries = 500_000
    /// Bytes written by extraction, counted as they are inflated (the sizes a zip declares can lie).
    public var maxUncompressedBytes: Int64 = 8 << 30
    /// The manifest, read into memory (as a CSV upload's).
    public var maxManifestBytes = 64 << 20

    public init(maxEntries: Int = 500_000, maxUncompressedBytes: Int64 = 8 << 30, maxManifestBytes: Int = 64 << 20) {
        self.maxEntries = maxEntries
        self.maxUncompressedBytes = maxUncompressedBytes
        self.maxManifestBytes = maxManifestBytes
    }
}

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

    // MARK: Extraction

    /// Extracts every file of `zip` into `destination` (created; must not exist yet) and returns the
    /// paths of the files written, relative to it, `/`-separated, sorted.
    /// - Throws: `ZipUploadError`; what was extracted so far stays (the caller removes the folder).
    public static func extract(_ zip: URL, into destination: URL, limits: ZipLimits = ZipLimits()) throws -> [String] {
        let archive: Archive
        do {
            archive = try Archive(url: zip, accessMode: .read)
        } catch {
            throw ZipUploadError.notAZip(reason(error))
        }
        // First pass: refuse the whole zip before writing anything if any entry is unsafe or the
        // declared sizes are already beyond the limits.
        var entries = 0
        var declared: Int64 = 0
        var kept: [String] = []
        for entry in archive {
            entries += 1
            if entries > limits.maxEntries {
                throw ZipUploadError.overLimit("more than \(limits.maxEntries) entries; split the dataset into several zips")
            }
            let components = try safeComponents(of: entry.path)
            if entry.type == .symlink {
                throw ZipUploadError.unsafeEntry(path: entry.path, reason: "symbolic links are not accepted (zip the files they point to)")
            }
            guard entry.type == .file, !components.isEmpty, !isIgnored(components) else { continue }
            declared += Int64(clamping: entry.uncompressedSize)
            if declared > limits.maxUncompressedBytes {
                throw ZipUploadError.overLimit("its files declare more than \(limits.maxUncompressedBytes) bytes uncompressed")
            }
            kept.append(components.joined(separator: "/"))
        }
        if entries == 0 { throw ZipUploadError.noDataset("the archive is empty") }
        if Set(kept).count != kept.count {
            let duplicate = Dictionary(grouping: kept, by: { $0 }).first { $0.value.count > 1 }!.key
            throw ZipUploadError.unreadableEntry(path: duplicate, reason: "the zip holds this path twice")
        }

        // Second pass: write each file, counting the bytes actually inflated.
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
        var written: Int64 = 0
        for entry in archive where entry.type == .file {
            let components = try safeComponents(of: entry.path)
            guard !components.isEmpty, !isIgnored(components) else { continue }
            let relative = components.joined(separator: "/")
            let url = destination.appendingPathComponent(relative, isDirectory: false)
            do {
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: "its folder cannot be created (a file of the same name?)")
            }
            // O_EXCL | O_NOFOLLOW: never overwrite, never follow a link (none is ever extracted anyway).
            let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: String(cString: strerror(errno)))
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            let declaredSize = Int64(clamping: entry.uncompressedSize)
            var entryBytes: Int64 = 0
            do {
                // The consumer variant computes the CRC-32 but leaves the comparison to its caller.
                let checksum = try archive.extract(entry, bufferSize: 64 * 1024) { data in
                    entryBytes += Int64(data.count)
                    written += Int64(data.count)
                    if written > limits.maxUncompressedBytes {
                        throw ZipUploadError.overLimit("it inflates to more than \(limits.maxUncompressedBytes) bytes")
                    }
                    if entryBytes > declaredSize {
                        throw ZipUploadError.unreadableEntry(path: entry.path, reason: "it inflates to more than the \(declaredSize) bytes it declares")
                    }
                    try handle.write(contentsOf: data)
                }
                if checksum != entry.checksum { throw Archive.ArchiveError.invalidCRC32 }
                if entryBytes != declaredSize {
                    throw ZipUploadError.unreadableEntry(path: entry.path, reason: "it holds \(entryBytes) bytes, not the \(declaredSize) it declares")
                }
            } catch let error as ZipUploadError {
                throw error
            } catch {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: reason(error))
            }
            try handle.close()
        }
        return kept.sorted()
    }

    /// The path's components, without empty ones and `.`; refuses absolute paths, drive letters and `..`.
    /// Backslashes count as separators (some Windows tools write them).
    static func safeComponents(of path: String) throws -> [String] {
        let unified = path.replacingOccurrences(of: "\\", with: "/")
        if unified.hasPrefix("/") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "absolute paths are not accepted")
        }
        if unified.contains("\0") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "the name holds a NUL character")
        }
        let components = unified.split(separator: "/").map(String.init).filter { $0 != "." }
        if let first = components.first, first.count == 2, first.hasSuffix(":"), first.first?.isLetter == true {
            throw ZipUploadError.unsafeEntry(path: path, reason: "absolute (drive letter) paths are not accepted")
        }
        if components.contains("..") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "'..' components would write outside the dataset's folder (zip slip)")
        }
        return components
    }

    /// macOS resource forks, dotfiles and Windows' folder files.
    static func isIgnored(_ components: [String]) -> Bool {
        components.contains { $0 == "__MACOSX" || $0.hasPrefix(".") || $0 == "Thumbs.db" || $0 == "desktop.ini" }
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? Archive.ArchiveError {
            switch error {
            case .missingEndOfCentralDirectoryRecord, .unreadableArchive: return "no zip directory found: truncated or not a zip"
            case .invalidCRC32: return "CRC-32 mismatch: the data is corrupt"
            case .invalidCompressionMethod: return "unsupported compression method (only stored and deflate are)"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    // MARK: Layout

    /// What a zip holds.
    enum Layout: Equatable {
        /// The manifest's path (relative to the extraction folder).
        case manifest(String)
        /// Images by label folder: `base` (empty or one folder) holds the label folders; `path` is relative to it.
        case folders(base: String, rows: [Row], ignored: [String])
    }

    struct Row: Equatable {
        var path: String
        var label: String
    }

    /// Finds the layout of a zip from the paths of its files (relative, `/`-separated).
    /// - Throws: `ZipUploadError.severalManifests` or `.noDataset`.
    static func layout(of files: [String]) throws -> Layout {
        let split = files.map { $0.split(separator: "/").map(String.init) }
        // A single top-level folder holding everything (a zipped folder) is looked into.
        let firsts = Set(split.map { $0[0] })
        let base = firsts.count == 1 && split.allSatisfy({ $0.count > 1 }) ? firsts.first! : ""
        let baseDepth = base.isEmpty ? 0 : 1
        let isCSV = { (name: String) in name.lowercased().hasSuffix(".csv") }
        let manifests = split.filter { $0.count == baseDepth + 1 && isCSV($0.last!) }.map { $0.joined(separator: "/") }
        if manifests.count == 1 { return .manifest(manifests[0]) }
        if manifests.count > 1 { throw ZipUploadError.severalManifests(manifests.sorted()) }

        func folders(depth: Int) -> (rows: [Row], ignored: [String]) {
            var rows: [Row] = []
            var ignored: [String] = []
            for parts in split {
                let relative = parts.dropFirst(depth)
                if relative.count < 2 || isCSV(parts.last!) {
                    ignored.append(parts.joined(separator: "/"))
                } else {
                    rows.append(Row(path: relative.joined(separator: "/"), label: relative.first!))
                }
            }
            return (rows.sorted { $0.path < $1.path }, ignored.sorted())
        }
        var found = folders(depth: baseDepth)
        var folderBase = base
        if found.rows.isEmpty && !base.isEmpty {
            // `LABEL/image.png` with a single label: the top-level folder is the label folder.
            found = folders(depth: 0)
            folderBase = ""
        }
        if found.rows.isEmpty {
            let what = files.isEmpty ? "no files" : "\(files.count) file(s), none inside a folder: \(files.prefix(5).joined(separator: ", "))"
            throw ZipUploadError.noDataset(what)
        }
        return .folders(base: folderBase, rows: found.rows, ignored: found.ignored)
    }
}
