import Datasets
import Foundation

/// Registers an uploaded manifest whose images live under a server-side `root`, and imports it.
///
/// The importer resolves relative paths from the manifest's own folder, and the upload's folder is
/// `JOBS_DIR/datasets/ID/`, not `root`. So the upload is parsed here (with `root` as the manifest
/// folder) and rewritten with every relative path made absolute under `root`, each row on its
/// original line (blank lines fill the gaps), so line numbers in every message stay the user's.
/// Rows the parser rejects are kept apart and merged back into the import summary.
public enum DatasetUpload {
    /// Files of a dataset under `JOBS_DIR/datasets/ID/`.
    public static func folder(jobsDirectory: URL, id: String) -> URL {
        jobsDirectory.appendingPathComponent("datasets", isDirectory: true).appendingPathComponent(id, isDirectory: true)
    }

    /// Writes `upload.csv` (as sent), `manifest.csv` (rewritten) and `parse.json` (rows the parser
    /// rejected, notices, warnings) and returns the new record, in state `importing`. `notices` are
    /// added to the import summary's (a zip upload says how it read the zip).
    /// - Throws: `ManifestError` when the manifest is not UTF-8 or not CSV, or has no row that names an
    ///   image (`.noUsableRows`, with the first rejected rows' reasons).
    /// `gs://` references of a bucket in `bucketMap` are rewritten as the local paths they map to.
    public static func register(manifest bytes: [UInt8], root: URL, multiLabel: Bool, name: String?, jobsDirectory: URL,
                                id: String = newResourceID(prefix: "ds"), notices: [String] = [],
                                bucketMap: [String: URL] = [:], version: Int = 1, parentDatasetID: String? = nil) throws -> DatasetRecord {
        let resolver = PathResolver(manifestDirectory: root, bucketMap: bucketMap)
        let parsed = try ManifestParser(multiLabel: multiLabel, isImageReference: { resolver.namesImage($0) }).parse(bytes)
        // Nothing to import: refused now, with the first rows' reasons, rather than as a failed import later.
        guard !parsed.rows.isEmpty else {
            let reasons = parsed.rejected.prefix(3).map { "line \($0.line): \($0.reason)" }
            throw ManifestError.noUsableRows(reason: reasons.isEmpty ? "no rows" : reasons.joined(separator: "; "))
        }
        let text = render(parsed.rows.map { row in
            var row = row
            if row.path.lowercased().hasPrefix("gs://"), !bucketMap.isEmpty, case let .success(local) = resolver.resolvePath(row.path) {
                row.path = local
            } else if !(ManifestParser.hasURIScheme(row.path) || row.path.hasPrefix("/")) {
                row.path = root.path + "/" + row.path
            }
            return row
        })
        let folder = folder(jobsDirectory: jobsDirectory, id: id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: folder.appendingPathComponent("upload.csv"))
        let manifest = folder.appendingPathComponent("manifest.csv")
        try Data(text.utf8).write(to: manifest)
        let parse = ParseNotes(rowsRead: parsed.rowsRead, rejected: parsed.rejected, notices: notices + parsed.notices, warnings: parsed.warnings,
                               paths: Dictionary(parsed.rows.map { ($0.line, $0.path) }, uniquingKeysWith: { a, _ in a }))
        try JSONEncoder().encode(parse).write(to: folder.appendingPathComponent("parse.json"))
        return DatasetRecord(id: id, root: root.path, manifest: manifest.path, multiLabel: multiLabel, name: name,
                             version: version, parentDatasetID: parentDatasetID)
    }

    /// `rows` as manifest text, `SET,path,labels…`, each row on its own line (blank lines fill the gaps).
    static func render(_ rows: [ManifestRow]) -> String {
        var text = ""
        var line = 1
        for row in rows {
            while line < row.line {
                text += "\n"
                line += 1
            }
            let set: String = switch row.set {
            case let .some(.partition(partition)): partition.rawValue
            case .some(.unassigned), .none: "UNASSIGNED"
            }
            let rendered = ([set, row.path] + row.labels).map(csvEscaped).joined(separator: ",") + "\n"
            text += rendered
            line += rendered.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        return text
    }

    struct ParseNotes: Codable {
        var rowsRead: Int
        var rejected: [RejectedRow]
        var notices: [String]
        var warnings: [String]
        /// Line → the image reference as the user wrote it.
        var paths: [Int: String]
    }

    /// The import options of a dataset: image paths may point anywhere under its root.
    public static func importOptions(for record: DatasetRecord, maxPixels: Int = 100_000_000) -> ImportOptions {
        var options = ImportOptions()
        options.multiLabel = record.multiLabel
        options.extraRoots = [URL(fileURLWithPath: record.root, isDirectory: true)]
        options.maxPixels = maxPixels
        return options
    }

    /// Imports the dataset (decoding every image and writing the decoded-dataset cache) and returns
    /// the summary the user sees: paths and line numbers as in the upload. Keeps what it made in `store`
    /// (`DatasetArtifacts`): the per-image results (`DatasetImageIndex`) and the decoded dataset. A
    /// worker that cannot see the server's files imports the copy the store keeps
    /// (`DatasetArtifacts.localRecord`), and removes it after. `progress` is called from the
    /// importer's threads with (images decoded, images to decode).
    /// - Throws: I/O errors; what `DatasetArtifacts.localRecord` throws; `StoreError` when the store does
    ///   not take what the import made.
    public static func runImport(_ record: DatasetRecord, store: any JobStore, jobsDirectory: URL, maxPixels: Int = 100_000_000,
                                 progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ImportSummary {
        let local = try DatasetArtifacts.localRecord(for: record, store: store, jobsDirectory: jobsDirectory)
        // A mirror of the server's files serves this import only: jobs open the decoded images, the server reads its own files.
        defer { if local.manifest != record.manifest { try? FileManager.default.removeItem(at: folder(jobsDirectory: jobsDirectory, id: record.id)) } }
        var options = importOptions(for: local, maxPixels: maxPixels)
        options.progress = progress
        let result = try DatasetImporter(options: options).importManifest(at: URL(fileURLWithPath: local.manifest))
        try DatasetImageIndex.write(result.images.map { image in
            var image = image
            image.path = DatasetArtifacts.serverPath(image.path, local: local, record: record)
            return image
        }, for: local)
        var summary = result.summary
        var decoded: URL?
        if summary.imported > 0, summary.working != nil {
            let cache = try DatasetCache.open(for: result, in: jobsDirectory.appendingPathComponent("cache"), maxPixels: maxPixels)
            decoded = cache.dataset.url
            summary.cache = local.manifest == record.manifest ? cache.dataset.url.path : nil
        }
        // The settings a job on this dataset imports with (`JobRunner` gives it the record's, not this machine's, root).
        try DatasetArtifacts.keep(images: DatasetImageIndex.url(for: local), decoded: decoded,
                                  settings: importOptions(for: record, maxPixels: maxPixels), of: record, store: store)
        let folder = URL(fileURLWithPath: local.manifest).deletingLastPathComponent()
        if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("parse.json").path),
           let notes = try? JSONDecoder().decode(ParseNotes.self, from: data) {
            summary.rejected = summary.rejected.map { row in
                var row = row
                row.path = notes.paths[row.line] ?? row.path
                return row
            }
            summary.rejected = (summary.rejected + notes.rejected).sorted { $0.line < $1.line }
            summary.rejectedByReason = summary.rejected.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
            summary.rows = notes.rowsRead
            summary.notices = notes.notices + summary.notices.filter { !notes.notices.contains($0) }
            summary.warnings = notes.warnings + summary.warnings.filter { !notes.warnings.contains($0) }
        }
        summary.manifest = URL(fileURLWithPath: record.manifest).deletingLastPathComponent().appendingPathComponent("upload.csv").path
        return summary
    }

    /// Removes the files of the deleted dataset `id` (its record already gone from `store`): its folder,
    /// but only its own manifest files while another version's images are in it (a version made by
    /// labelling reads its parent's images where they are), and the folder of an earlier, deleted version
    /// whose images no dataset reads any more. Keeps everything when the store cannot be read.
    public static func removeFiles(of id: String, root: String, store: any JobStore, jobsDirectory: URL) {
        guard let others = try? store.datasets() else { return }
        let files = FileManager.default
        func inUse(_ folder: URL) -> Bool { others.contains { $0.root == folder.path || $0.root.hasPrefix(folder.path + "/") } }
        let own = folder(jobsDirectory: jobsDirectory, id: id)
        if inUse(own) {
            for name in ["upload.csv", "manifest.csv", "parse.json", "images.json"] { try? files.removeItem(at: own.appendingPathComponent(name)) }
        } else {
            try? files.removeItem(at: own)
        }
        let datasets = jobsDirectory.appendingPathComponent("datasets", isDirectory: true).path + "/"
        guard root.hasPrefix(datasets), let owner = root.dropFirst(datasets.count).split(separator: "/").first.map(String.init),
              owner != id, !others.contains(where: { $0.id == owner }) else { return }
        let earlier = folder(jobsDirectory: jobsDirectory, id: owner)
        if !inUse(earlier) { try? files.removeItem(at: earlier) }
    }
}
