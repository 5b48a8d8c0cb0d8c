import Crypto
import Dispatch
import Foundation
import ImageIO
import ManifestParsing

/// Settings of one manifest import.
public struct ImportOptions: Sendable {
    /// Multi-label classification; otherwise single-label (AutoML's default `MULTICLASS`).
    public var multiLabel = false
    /// Folders besides the manifest's own that image paths may point into (`--allow-root`).
    public var extraRoots: [URL] = []
    /// `gs://BUCKET` → local folder (`--map gs://BUCKET=DIR`).
    public var bucketMap: [String: URL] = [:]
    /// Largest image accepted, in pixels, checked from the header before decoding (`--max-pixels`).
    public var maxPixels = 100_000_000
    /// Largest manifest accepted, in bytes, checked from its size before it is read.
    public var maxManifestBytes = 64 << 20
    /// Largest image file accepted, in bytes, checked from its size before it is read (`--max-file-bytes`).
    public var maxFileBytes = FileReading.defaultMaxImageBytes
    /// Side of the square working resolution used when images differ in size or exceed 128 pixels.
    public var workingSize = 64
    /// Fewer TRAIN images than this for a label draws a warning.
    public var minTrainImagesPerLabel = 10
    /// Largest / smallest TRAIN count above this ratio draws an imbalance warning.
    public var imbalanceRatio = 10.0
    /// Decoded pixels kept in memory between the validation pass and the cache (bytes); above it
    /// images are decoded a second time instead, so memory stays bounded for any dataset size.
    public var retainBudgetBytes = 512 << 20
    /// Called from worker threads with (images done, images total).
    public var progress: (@Sendable (Int, Int) -> Void)?

    public init() {}
}

/// One distinct image of an imported dataset.
public struct ImportedImage: Sendable {
    /// First manifest line naming this image, and the reference as written there.
    public var line: Int
    public var reference: String
    /// Absolute, normalised path of the file.
    public var path: String
    public var url: URL { URL(fileURLWithPath: path, isDirectory: false) }
    public var partition: Partition
    /// `true` when the row had no set or `UNASSIGNED` and the content hash chose the partition.
    public var autoAssigned: Bool
    /// Empty for an unlabeled image (counted, not trained on).
    public var labels: [String]
    /// SHA-256 of the file's bytes, hex.
    public var contentHash: String
    public var width: Int
    public var height: Int
    public var isGrayscale: Bool
    public var format: ImageFormat
}

/// The outcome of an import: what the user sees, and what training reads.
public struct ImportResult: Sendable {
    public var summary: ImportSummary
    /// Distinct images that imported, in manifest order.
    public var images: [ImportedImage]
    /// Decoded pixels of `images` (same order) when they fit `retainBudgetBytes`, else `nil`.
    public var decoded: [Image]?
}

/// Imports an AutoML Vision manifest: parses it, resolves and fully decodes every image (in
/// parallel), assigns partitions, and reports rejected rows and warnings.
///
/// Unassigned rows are split 80/10/10 into TRAIN/VALIDATION/TEST by the SHA-256 of the image
/// content, so the split is the same on every run and does not depend on row order (Vertex AI
/// also splits unassigned images 80/10/10).
public struct DatasetImporter: Sendable {
    public var options: ImportOptions

    public init(options: ImportOptions = ImportOptions()) {
        self.options = options
    }

    /// Imports the manifest at `manifestURL`.
    /// - Throws: `ManifestError` when the file cannot be read or is not UTF-8. A manifest whose
    ///   rows are all rejected does not throw: check `summary.imported`.
    public func importManifest(at manifestURL: URL) throws -> ImportResult {
        let started = Date()
        let bytes: [UInt8]
        switch FileReading.read(manifestURL.path, maxBytes: options.maxManifestBytes) {
        case let .success(contents): bytes = contents
        case let .failure(failure): throw ManifestError.unreadable(path: manifestURL.path, reason: failure.description)
        }
        let resolver = PathResolver(
            manifestDirectory: manifestURL.deletingLastPathComponent(),
            extraRoots: options.extraRoots, bucketMap: options.bucketMap)
        let parser = ManifestParser(multiLabel: options.multiLabel, isImageReference: { resolver.namesImage($0) })
        let parsed = try parser.parse(bytes)

        var summary = ImportSummary(manifest: manifestURL.path, manifestSHA256: sha256Hex(bytes), multiLabel: options.multiLabel)
        summary.rows = parsed.rowsRead
        summary.notices = parsed.notices
        summary.warnings = parsed.warnings
        var rejected = parsed.rejected

        // Resolve references and merge rows that name the same file.
        struct Entry { var row: ManifestRow; var path: String; var lines: [Int] }
        var entries: [Entry] = []
        var indexByPath: [String: Int] = [:]
        var duplicateRows: [Int] = []
        var mergedRows: [Int] = []
        let rows = parsed.rows
        let resolved = ResultSlots<Result<String, PathError>>(count: rows.count)
        DispatchQueue.concurrentPerform(iterations: (rows.count + 1023) / 1024) { chunk in
            for i in chunk * 1024 ..< min(rows.count, (chunk + 1) * 1024) { resolved[i] = resolver.resolvePath(rows[i].path) }
        }
        for (i, row) in rows.enumerated() {
            let path: String
            switch resolved[i] {
            case let .success(resolvedPath): path = resolvedPath
            case let .failure(error):
                let kind = if case .outsideAllowedRoots = error { "path not allowed" } else { "unsupported reference" }
                rejected.append(RejectedRow(line: row.line, path: row.path, reason: error.description, kind: kind))
                continue
            }
            guard let index = indexByPath[path] else {
                indexByPath[path] = entries.count
                entries.append(Entry(row: row, path: path, lines: [row.line]))
                continue
            }
            let earlier = entries[index].row
            if (earlier.set ?? .unassigned) != (row.set ?? .unassigned) {
                rejected.append(RejectedRow(
                    line: row.line, path: row.path,
                    reason: "image already listed in \(describe(earlier.set)) on line \(earlier.line); one image cannot be in two sets",
                    kind: "image in two sets"))
            } else if Set(earlier.labels) == Set(row.labels) || row.labels.isEmpty {
                duplicateRows.append(row.line)
                entries[index].lines.append(row.line)
            } else if earlier.labels.isEmpty {
                entries[index].row.labels = row.labels
                entries[index].lines.append(row.line)
            } else if options.multiLabel {
                for label in row.labels where !entries[index].row.labels.contains(label) { entries[index].row.labels.append(label) }
                mergedRows.append(row.line)
                entries[index].lines.append(row.line)
            } else {
                rejected.append(RejectedRow(
                    line: row.line, path: row.path,
                    reason: "image is labelled '\(earlier.labels[0])' on line \(earlier.line) and '\(row.labels[0])' on line \(row.line); "
                        + "a single-label dataset allows one label per image (import with --multi-label if both apply)",
                    kind: "conflicting labels"))
            }
        }
        if !duplicateRows.isEmpty {
            summary.warnings.append("duplicate rows collapsed into one (\(describeLines(duplicateRows)))")
        }
        if !mergedRows.isEmpty {
            summary.notices.append("images listed more than once had their labels merged (\(describeLines(mergedRows)))")
        }

        // Read, hash and fully decode every distinct image on all cores.
        let outcomes = decodeAll(entries.map(\.path), resolver: resolver)
        var images: [ImportedImage] = []
        var decoded: [Image]? = []
        for (entry, outcome) in zip(entries, outcomes) {
            switch outcome {
            case let .failure(failure):
                for line in entry.lines {
                    rejected.append(RejectedRow(line: line, path: entry.row.path, reason: failure.reason, kind: failure.kind))
                }
            case let .success(success):
                let assigned: Partition
                var auto = false
                if case let .partition(partition) = entry.row.set ?? .unassigned {
                    assigned = partition
                } else {
                    assigned = Self.automaticPartition(contentHash: success.hash)
                    auto = true
                }
                images.append(ImportedImage(
                    line: entry.row.line, reference: entry.row.path, path: entry.path, partition: assigned, autoAssigned: auto,
                    labels: entry.row.labels, contentHash: success.hashHex, width: success.image.image.width,
                    height: success.image.image.height, isGrayscale: success.image.isGrayscale, format: success.image.format))
                if let image = success.retained { decoded?.append(image) } else { decoded = nil }
                summary.imported += entry.lines.count
            }
        }

        rejected.sort { ($0.line, $0.path) < ($1.line, $1.path) }
        summary.rejected = rejected
        summary.finish(images: images, options: options)
        summary.importSeconds = Date().timeIntervalSince(started)
        return ImportResult(summary: summary, images: images, decoded: decoded)
    }

    /// TRAIN for 80 % of hash values, VALIDATION and TEST for 10 % each.
    static func automaticPartition(contentHash: [UInt8]) -> Partition {
        let value = contentHash.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch value % 10 {
        case 0..<8: return .train
        case 8: return .validation
        default: return .test
        }
    }

    struct DecodeSuccess: Sendable {
        var image: DecodedImage
        var hash: [UInt8]
        var hashHex: String
        var retained: Image?
    }
    struct DecodeFailure: Error, Sendable {
        var reason: String
        var kind: String
    }

    /// Decodes every file once, in parallel; keeps pixels while they fit the retain budget.
    func decodeAll(_ urls: [String], resolver: PathResolver) -> [Result<DecodeSuccess, DecodeFailure>] {
        let results = ResultSlots<Result<DecodeSuccess, DecodeFailure>>(count: urls.count)
        let retainedBytes = AtomicCounter()
        let done = AtomicCounter()
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(1, min(256, urls.count / (workers * 8) + 1))
        let chunks = (urls.count + chunk - 1) / chunk
        let options = self.options
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            for i in c * chunk ..< min(urls.count, (c + 1) * chunk) {
                results[i] = Self.decodeOne(urls[i], options: options, resolver: resolver, retainedBytes: retainedBytes)
                let finished = done.add(1)
                if let progress = options.progress, finished % 500 == 0 || finished == urls.count { progress(finished, urls.count) }
            }
        }
        return results.values()
    }

    static func decodeOne(_ path: String, options: ImportOptions, resolver: PathResolver,
                          retainedBytes: AtomicCounter) -> Result<DecodeSuccess, DecodeFailure> {
        let bytes: [UInt8]
        switch readFile(path, resolver: resolver, maxBytes: options.maxFileBytes) {
        case let .success(contents): bytes = contents
        case let .failure(failure): return .failure(failure)
        }
        do {
            let image = try ImageDecoder.decode(bytes, options: Preprocessing.decodeOptions(maxPixels: options.maxPixels))
            let hash = Array(SHA256.hash(data: bytes))
            let size = image.image.pixels.count
            let keep = retainedBytes.add(size) <= options.retainBudgetBytes
            return .success(DecodeSuccess(image: keep ? image : image.droppingPixels(), hash: hash, hashHex: hex(hash), retained: keep ? image.image : nil))
        } catch {
            return .failure(DecodeFailure(reason: error.description, kind: error.kind))
        }
    }

    /// Reads a whole image file (`FileReading`): a symbolic link is followed only into an allowed folder.
    static func readFile(_ path: String, resolver: PathResolver, maxBytes: Int) -> Result<[UInt8], DecodeFailure> {
        var result = FileReading.read(path, maxBytes: maxBytes, followSymbolicLinks: false)
        if case .failure(.symbolicLink) = result {
            if let refusal = resolver.checkSymbolicLink(path) {
                return .failure(DecodeFailure(reason: refusal.description, kind: "path not allowed"))
            }
            result = FileReading.read(path, maxBytes: maxBytes, followSymbolicLinks: true)
        }
        return result.mapError { failure in
            let reason = failure == .notFound ? "file not found: \(path)"
                : failure.kind == "file too large" ? "\(failure) (--max-file-bytes)" : failure.description
            return DecodeFailure(reason: reason, kind: failure.kind)
        }
    }

    private func describe(_ set: SetName?) -> String {
        switch set {
        case let .partition(partition)?: partition.rawValue
        case .unassigned?: "UNASSIGNED"
        case nil: "no set (unassigned)"
        }
    }
}

extension DecodedImage {
    /// The same description without pixel storage, so a summary of 100k images stays small.
    func droppingPixels() -> DecodedImage {
        var copy = self
        copy.image.pixels = []
        return copy
    }
}

extension ImageDecodingError {
    /// Short category used to count rejected rows by reason.
    var kind: String {
        switch self {
        case .emptyFile: "empty file"
        case .tooManyPixels: "too many pixels"
        case .unsupportedFormat, .notAnImage: "not a PNG or JPEG"
        case .truncated: "truncated image"
        default: "undecodable image"
        }
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String { hex(Array(SHA256.hash(data: bytes))) }
/// Lower-case hexadecimal (String(format:) costs a third of an import's time).
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
        for (i, byte) in bytes.enumerated() {
            buffer[2 * i] = digits[Int(byte >> 4)]
            buffer[2 * i + 1] = digits[Int(byte & 0x0F)]
        }
        return bytes.count * 2
    }
}

/// Write-once slots filled from `concurrentPerform` workers; each index is written by one worker.
final class ResultSlots<T>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }
    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
    subscript(index: Int) -> T {
        get { storage[index]! }
        set { storage[index] = newValue }
    }
    func values() -> [T] { storage.map { $0! } }
}

/// A lock-protected counter; `add` returns the new total.
final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add(_ amount: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += amount
        return value
    }
}
