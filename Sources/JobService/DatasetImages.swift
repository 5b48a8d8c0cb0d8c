import Datasets
import Foundation

/// One distinct image of an imported dataset, as the import found it: what the image browser lists
/// (`GET /v1/datasets/{id}/images`) and where its thumbnail is read from.
///
/// An image is known by its manifest line (the first line naming it): labelling keeps every row on its
/// line, so an image has the same line, and ID, in every version of a dataset.
public struct DatasetImage: Codable, Sendable, Equatable {
    /// The first manifest line naming the image.
    public var line: Int
    /// Absolute path of the file on the server (never sent to clients).
    public var path: String
    /// The partition the image is in: its row's set, or the one its content hash chose.
    public var partition: Partition
    /// `true` when the row had no set or `UNASSIGNED`, and the content hash chose the partition.
    public var autoAssigned: Bool
    /// Empty for an unlabeled image.
    public var labels: [String]
    /// Pixels of the file as decoded (EXIF orientation applied).
    public var width: Int
    public var height: Int

    enum CodingKeys: String, CodingKey { case line, path, partition, autoAssigned = "auto_assigned", labels, width, height }

    /// The image's ID in the API: its manifest line, as a string.
    public var id: String { String(line) }

    public init(_ image: ImportedImage) {
        line = image.line
        path = image.path
        partition = image.partition
        autoAssigned = image.autoAssigned
        labels = image.labels
        width = image.width
        height = image.height
    }
}

/// The per-image results of a dataset's import, kept as `images.json` next to its manifest
/// (`JOBS_DIR/datasets/ID/`): written by the import, read by the image browser.
public enum DatasetImageIndex {
    /// `images.json` in the folder of `record`'s manifest.
    public static func url(for record: DatasetRecord) -> URL {
        URL(fileURLWithPath: record.manifest).deletingLastPathComponent().appendingPathComponent("images.json")
    }

    /// Writes the imported images (manifest order) for `record`, atomically.
    static func write(_ images: [ImportedImage], for record: DatasetRecord) throws {
        try JSONEncoder().encode(images.map(DatasetImage.init)).write(to: url(for: record), options: .atomic)
    }

    /// The images of `record`'s import, in manifest order: from the file beside its manifest, or, when
    /// a worker on another machine imported it, from `store` (`DatasetArtifacts.images`). `nil` when its
    /// import wrote none (a dataset imported before the index existed, or one still importing or failed).
    /// - Throws: `JobError.io` when the index exists but cannot be read or decoded; `StoreError`.
    public static func read(for record: DatasetRecord, store: any JobStore) throws -> [DatasetImage]? {
        var url = url(for: record)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard let stored = try store.datasetArtifactFile(datasetID: record.id, name: DatasetArtifacts.images) else { return nil }
            url = stored
        }
        do {
            return try JSONDecoder().decode([DatasetImage].self, from: Data(contentsOf: url))
        } catch {
            throw JobError.io("the image index \(url.path) of dataset '\(record.id)' cannot be read: \(error)")
        }
    }
}

/// Why a labelling request is refused; each message names what to change.
public enum LabellingError: Error, CustomStringConvertible, Equatable {
    /// The label is not one a manifest row can carry.
    case invalidLabel(String)
    /// Image IDs that are not images of the dataset.
    case unknownImages([String])
    /// Images that have a label already (only unlabeled images can be labelled).
    case alreadyLabelled([String])
    /// The dataset is not `ready`.
    case notReady(id: String, state: DatasetState)

    public var description: String {
        switch self {
        case let .invalidLabel(reason): reason
        case let .unknownImages(ids): "no image(s) \(Self.list(ids)) in the dataset"
        case let .alreadyLabelled(ids): "image(s) \(Self.list(ids)) already have a label: only unlabeled images can be labelled"
        case let .notReady(id, state): "dataset '\(id)' is \(state.rawValue): only a ready dataset's images can be labelled"
        }
    }

    static func list(_ ids: [String]) -> String {
        ids.prefix(10).map { "'\($0)'" }.joined(separator: ", ") + (ids.count > 10 ? " and \(ids.count - 10) more" : "")
    }
}

/// Labelling unlabeled images of a dataset: a new dataset (a new version) whose manifest is the parent's
/// with those rows labelled, every row on its line; the job runner imports it like an upload.
public enum DatasetLabelling {
    /// Longest label accepted, in UTF-8 bytes.
    public static let maximumLabelBytes = 256

    /// `label` trimmed as the manifest parser trims it, checked by parsing a manifest row that carries it.
    /// - Throws: `LabellingError.invalidLabel` for an empty label, one with control characters (a new line
    ///   would move every later row's line), a longer one than `maximumLabelBytes`, or one the parser reads
    ///   as something else than one label.
    public static func validLabel(_ label: String, multiLabel: Bool) throws -> String {
        let trimmed = label.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw LabellingError.invalidLabel("the label is empty") }
        guard trimmed.utf8.count <= maximumLabelBytes else {
            throw LabellingError.invalidLabel("the label is longer than \(maximumLabelBytes) bytes")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw LabellingError.invalidLabel("the label has a control character (a new line, a tab, …)")
        }
        let row = "TRAIN,/image.png," + csvEscaped(trimmed) + "\n"
        let parsed = try? ManifestParser(multiLabel: multiLabel, isImageReference: { $0.hasSuffix(".png") }).parse(Array(row.utf8))
        guard let parsed, parsed.rows.count == 1, parsed.rows[0].labels == [trimmed] else {
            throw LabellingError.invalidLabel("'\(trimmed)' cannot be a manifest label")
        }
        return trimmed
    }

    /// Registers a new version of `parent` (state `importing`, version + 1) in which the images
    /// `imageIDs` (IDs of `images`, the parent's image index) are labelled `label`.
    /// - Throws: `LabellingError` for a parent that is not ready, unknown or labelled images, or a bad
    ///   label; `ManifestError` or I/O errors from registering the new manifest.
    public static func newVersion(of parent: DatasetRecord, images: [DatasetImage], imageIDs: [String], label: String,
                                  jobsDirectory: URL) throws -> DatasetRecord {
        guard parent.state == .ready else { throw LabellingError.notReady(id: parent.id, state: parent.state) }
        let label = try validLabel(label, multiLabel: parent.multiLabel)
        let byID = Dictionary(images.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let unknown = imageIDs.filter { byID[$0] == nil }
        guard unknown.isEmpty else { throw LabellingError.unknownImages(unknown) }
        let labelled = imageIDs.filter { !(byID[$0]!.labels.isEmpty) }
        guard labelled.isEmpty else { throw LabellingError.alreadyLabelled(labelled) }

        let lines = Set(imageIDs.map { byID[$0]!.line })
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: parent.manifest)))
        let parsed = try ManifestParser(multiLabel: parent.multiLabel, isImageReference: { _ in true }).parse(bytes)
        let rows = parsed.rows.map { row in
            var row = row
            if lines.contains(row.line) { row.labels = [label] }
            return row
        }
        let record = try DatasetUpload.register(manifest: Array(DatasetUpload.render(rows).utf8), root: URL(fileURLWithPath: parent.root, isDirectory: true),
                                                multiLabel: parent.multiLabel, name: parent.name, jobsDirectory: jobsDirectory,
                                                version: parent.version + 1, parentDatasetID: parent.id)
        // The parent's parse notes (rows its parser rejected, the paths as the user wrote them) hold for every line.
        let parentNotes = URL(fileURLWithPath: parent.manifest).deletingLastPathComponent().appendingPathComponent("parse.json")
        let notes = URL(fileURLWithPath: record.manifest).deletingLastPathComponent().appendingPathComponent("parse.json")
        if let data = FileManager.default.contents(atPath: parentNotes.path) { try data.write(to: notes, options: .atomic) }
        return record
    }
}

/// Writes a running import's progress to the store at most once per `interval` seconds (and its last
/// value always), only while the dataset is still importing. Called from the importer's threads.
final class ImportProgressWriter: @unchecked Sendable {
    private let store: any JobStore
    private let id: String
    private let interval: TimeInterval
    private let lock = NSLock()
    private var lastWrite = Date.distantPast

    init(store: any JobStore, id: String, interval: TimeInterval = 1) {
        self.store = store
        self.id = id
        self.interval = interval
    }

    func report(done: Int, total: Int) {
        lock.lock()
        let now = Date()
        guard done == total || now.timeIntervalSince(lastWrite) >= interval else { return lock.unlock() }
        lastWrite = now
        lock.unlock()
        _ = try? store.updateDataset(id) { record in
            guard record.state == .importing else { return }
            record.importProgress = ImportProgress(imagesDone: done, imagesTotal: total)
        }
    }
}
