import Datasets
import Foundation
import ZIPFoundation

/// A dataset's files in the store (`JobStore.writeDatasetArtifact`), so that a worker on another
/// machine imports an uploaded dataset, and a job trains on it, with nothing but the store
/// ([decision 0034](../../docs/decisions/0034-datasets-through-the-store.md)):
///
/// - `files.zip`: what importing the dataset reads on the server (its manifest, its notes and every
///   image the manifest names), each at its absolute path; kept by the server when the store is shared
///   across machines (`keepFiles`). A worker that cannot see the server's files extracts it into a
///   mirror of those paths in its own jobs folder (`localRecord`).
/// - `dataset.avcache` with `import-settings.json`: the decoded dataset the import made and the import
///   settings it was made with. A job on the dataset with the same settings opens it (`decodedImport`)
///   instead of reading the manifest and its images again.
/// - `images.json`: the per-image results (`DatasetImageIndex`), paths as on the server.
public enum DatasetArtifacts {
    public static let files = "files.zip"
    public static let decodedDataset = "dataset.avcache"
    public static let importSettings = "import-settings.json"
    public static let images = "images.json"

    /// The manifest's notes the server's import reads beside it (`DatasetUpload.ParseNotes`).
    static let notesName = "parse.json"

    /// On a store shared across machines, keeps `files.zip` of `record` (`packFiles`): what a worker
    /// elsewhere needs to import it. A no-op on a store of one machine. Call it before the dataset is
    /// inserted, so no worker claims an import whose files are missing.
    /// - Throws: what `packFiles` and the store throw.
    public static func keepFiles(of record: DatasetRecord, in store: any JobStore) throws {
        guard store.isSharedAcrossMachines else { return }
        let zip = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-\(record.id)-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: zip) }
        try packFiles(of: record, into: zip)
        try store.writeDatasetArtifact(datasetID: record.id, name: files, contentsOf: zip)
    }

    /// Writes to `zip` the files importing `record` reads here: its manifest and notes, and every image
    /// file a row names, each entry named by its absolute path without the leading `/`, stored (images
    /// are compressed already). A row's file is packed only where the import would read it: inside the
    /// manifest's folder or the dataset's root, symbolic links included (`PathResolver`), so no other
    /// file of the server reaches the store; a missing one is left for the import to report.
    /// - Throws: I/O errors; `ManifestError` for a manifest that no longer parses.
    static func packFiles(of record: DatasetRecord, into zip: URL) throws {
        let manifest = URL(fileURLWithPath: record.manifest)
        let folder = manifest.deletingLastPathComponent()
        let resolver = PathResolver(manifestDirectory: folder, extraRoots: [URL(fileURLWithPath: record.root, isDirectory: true)])
        var paths = [manifest.path]
        let notes = folder.appendingPathComponent(notesName).path
        if FileManager.default.fileExists(atPath: notes) { paths.append(notes) }
        var packed = Set(paths)
        for row in try parseRows(of: manifest, multiLabel: record.multiLabel) {
            guard case let .success(path) = resolver.resolvePath(row.path), !packed.contains(path) else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            packed.insert(path)
            paths.append(path)
        }
        let archive = try Archive(url: zip, accessMode: .create)
        for path in paths {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            try archive.addEntry(with: String(path.dropFirst()), type: .file, uncompressedSize: Int64(size), compressionMethod: .none) { position, size in
                try handle.seek(toOffset: UInt64(position))
                return try handle.read(upToCount: size) ?? Data()
            }
        }
    }

    /// The rows of a manifest the service rewrote (`DatasetUpload.register`): `SET,path,labels…`, every
    /// image path absolute or a URI.
    private static func parseRows(of manifest: URL, multiLabel: Bool) throws -> [ManifestRow] {
        let parser = ManifestParser(multiLabel: multiLabel, isImageReference: { $0.hasPrefix("/") || ManifestParser.hasURIScheme($0) })
        return try parser.parse([UInt8](try Data(contentsOf: manifest))).rows
    }

    /// `record` as this machine can import it: `record` itself when its manifest is here (the server's
    /// machine, or a folder it shares); else its `files.zip` from the store, extracted into
    /// `JOBS_DIR/datasets/ID/mirror/` (each file at `mirror/` + its path on the server), with the
    /// manifest's rows pointed at those copies (each on its line) and the root and manifest paths
    /// the mirror's.
    /// - Throws: `JobError.io` when the manifest is not here and the store keeps no files of it (a store
    ///   of one machine, or a dataset registered before the store kept them); extraction and I/O errors.
    public static func localRecord(for record: DatasetRecord, store: any JobStore, jobsDirectory: URL) throws -> DatasetRecord {
        if FileManager.default.fileExists(atPath: record.manifest) { return record }
        guard let zip = try store.datasetArtifactFile(datasetID: record.id, name: files) else {
            throw JobError.io("the manifest of dataset '\(record.id)' (\(record.manifest)) is not on this machine, and the store "
                + "keeps no files of it: run this worker where the server's files are, or upload the dataset again")
        }
        let mirror = DatasetUpload.folder(jobsDirectory: jobsDirectory, id: record.id).appendingPathComponent("mirror", isDirectory: true)
        // An earlier attempt may have left a half-extracted mirror; the server checked the upload against its own limits.
        try? FileManager.default.removeItem(at: mirror)
        _ = try ZipExtractor.extract(zip, into: mirror, limits: ZipLimits(maxEntries: .max, maxUncompressedBytes: .max, maxManifestBytes: .max))
        var local = record
        local.root = mirror.path + record.root
        local.manifest = mirror.path + record.manifest
        let rows = try parseRows(of: URL(fileURLWithPath: local.manifest), multiLabel: record.multiLabel).map { row in
            var row = row
            if row.path.hasPrefix("/") { row.path = mirror.path + row.path }
            return row
        }
        try Data(DatasetUpload.render(rows).utf8).write(to: URL(fileURLWithPath: local.manifest), options: .atomic)
        return local
    }

    /// `path` (a file of `local`'s import) as the same file is named on the server that registered
    /// `record`: the mirror's folder removed.
    static func serverPath(_ path: String, local: DatasetRecord, record: DatasetRecord) -> String {
        guard local.manifest != record.manifest, local.root.hasSuffix(record.root) else { return path }
        let mirror = String(local.root.dropLast(record.root.count))
        return path.hasPrefix(mirror + "/") ? String(path.dropFirst(mirror.count)) : path
    }

    /// Keeps what the import of `record` made: its per-image results (`images`, written by
    /// `DatasetImageIndex`), and its decoded dataset with the settings it was made with.
    /// - Throws: `StoreError` when the store does not take them; encoding errors.
    static func keep(images: URL, decoded: URL?, settings: ImportOptions, of record: DatasetRecord, store: any JobStore) throws {
        try store.writeDatasetArtifact(datasetID: record.id, name: self.images, contentsOf: images)
        guard let decoded else { return }
        let settingsFile = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-import-settings-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: settingsFile) }
        try JSONEncoder.sorted.encode(JobSettings.ImportSettings(settings)).write(to: settingsFile)
        try store.writeDatasetArtifact(datasetID: record.id, name: importSettings, contentsOf: settingsFile)
        try store.writeDatasetArtifact(datasetID: record.id, name: decodedDataset, contentsOf: decoded)
    }

    /// The import dataset `id` made, when it was made with `options`' settings: its summary and a local
    /// file of its decoded dataset. `nil` when the dataset is not ready, was imported with other
    /// settings, or before the store kept its imports.
    /// - Throws: `StoreError` when the store cannot be read.
    public static func decodedImport(of id: String, options: ImportOptions, store: any JobStore) throws -> (summary: ImportSummary, file: URL)? {
        guard let record = try store.dataset(id), record.state == .ready, let summary = record.summary,
              let settingsFile = try store.datasetArtifactFile(datasetID: id, name: importSettings),
              let settings = try? JSONDecoder().decode(JobSettings.ImportSettings.self, from: Data(contentsOf: settingsFile)),
              settings == JobSettings.ImportSettings(options),
              let file = try store.datasetArtifactFile(datasetID: id, name: decodedDataset) else { return nil }
        return (summary, file)
    }
}
