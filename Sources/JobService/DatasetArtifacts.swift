import Datasets
import Foundation

/// A dataset's files in the store (`JobStore.writeDatasetArtifact`), so that a worker on another
/// machine imports an uploaded dataset, and a job trains on it, with nothing but the store
/// ([decision 0034](../../docs/decisions/0034-datasets-through-the-store.md)):
///
/// - `upload.zip`: a zip upload as the server received it, kept when the store is shared across
///   machines. A worker that cannot see the server's folder extracts it into its own (`localRecord`).
/// - `dataset.avcache` with `import-settings.json`: the decoded dataset the import made and the import
///   settings it was made with. A job on the dataset with the same settings opens it (`decodedImport`)
///   instead of reading the manifest and its images again.
/// - `images.json`: the per-image results (`DatasetImageIndex`), paths as on the server.
public enum DatasetArtifacts {
    public static let uploadZip = "upload.zip"
    public static let decodedDataset = "dataset.avcache"
    public static let importSettings = "import-settings.json"
    public static let images = "images.json"

    /// `record` as this machine can import it: `record` itself when its manifest is here (the server's
    /// machine, or a folder it shares); else its zip upload from the store, extracted and registered
    /// again in this machine's `jobsDirectory` under the same ID (the same rows on the same lines, the
    /// root and manifest paths this machine's).
    /// - Throws: `JobError.io` when the manifest is not here and the store keeps no zip of it (a CSV
    ///   manifest naming images in the server's `--data-root`); what `ZipDatasetUpload.register` throws.
    public static func localRecord(for record: DatasetRecord, store: any JobStore, jobsDirectory: URL) throws -> DatasetRecord {
        if FileManager.default.fileExists(atPath: record.manifest) { return record }
        guard let zip = try store.datasetArtifactFile(datasetID: record.id, name: uploadZip) else {
            throw JobError.io("the manifest of dataset '\(record.id)' (\(record.manifest)) is not on this machine, and the store keeps "
                + "no zip of it: a CSV manifest uploaded with ?root= names images in the server's --data-root, which the worker "
                + "importing it must see at the same path; upload the dataset as a zip to need nothing but the store")
        }
        // An earlier attempt may have left a half-extracted folder; the server checked the zip against its own limits.
        try? FileManager.default.removeItem(at: DatasetUpload.folder(jobsDirectory: jobsDirectory, id: record.id))
        let unlimited = ZipLimits(maxEntries: .max, maxUncompressedBytes: .max, maxManifestBytes: .max)
        return try ZipDatasetUpload.register(zip: zip, multiLabel: record.multiLabel, name: record.name, jobsDirectory: jobsDirectory,
                                             id: record.id, limits: unlimited, keepingZip: true)
    }

    /// `path` (a file of `local`'s import) as the same file is named on the server that registered
    /// `record`: `local.root` replaced by `record.root`.
    static func serverPath(_ path: String, local: DatasetRecord, record: DatasetRecord) -> String {
        guard local.root != record.root, path.hasPrefix(local.root + "/") else { return path }
        return record.root + path.dropFirst(local.root.count)
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
