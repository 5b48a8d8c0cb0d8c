import Crypto
import Dispatch
import Foundation
import ImageIO
import ManifestParsing
import Tensors

/// Errors of the decoded-dataset cache.
public enum DatasetCacheError: Error, CustomStringConvertible {
    case corrupt(path: String, reason: String)
    case io(path: String, reason: String)
    case nothingToCache
    public var description: String {
        switch self {
        case let .corrupt(path, reason): "dataset cache \(path) is corrupt: \(reason)"
        case let .io(path, reason): "dataset cache \(path): \(reason)"
        case .nothingToCache: "no labelled image to cache"
        }
    }
}

/// Header of a cache file, stored as JSON after the magic and version.
public struct DatasetCacheHeader: Codable, Sendable, Equatable {
    public var key: String
    public var count: Int
    public var resolution: WorkingResolution
    public var labels: [String]
    public var multiLabel: Bool
    /// For multi-label datasets, the label indices of each image (single-label uses the Int32 array).
    public var multiLabels: [[Int]]?
    public var manifestSHA256: String
    public var pixelOffset: Int
}

/// Decoded, resized training images (UInt8) with labels and partitions in one binary file,
/// read through `mmap` so a dataset larger than memory still trains.
///
/// Layout (little-endian): `"AVDSCACH"`, UInt32 version, UInt32 header length, header JSON,
/// then at `header.pixelOffset` (64-byte aligned): labels `Int32[count]`, partitions
/// `UInt8[count]`, source lines `Int32[count]`, padding to 64 bytes, pixels
/// `UInt8[count, H, W, C]` (HWC per image), and a trailing CRC-32 of everything before it.
/// The file name is the cache key: SHA-256 over the manifest's hash, every image's content hash,
/// partition and labels, and the working resolution (with its fit when images are resized) — any
/// change gives a new file.
public final class DecodedDataset: @unchecked Sendable {
    public static let magic = Array("AVDSCACH".utf8)
    public static let version: UInt32 = 1

    public let url: URL
    public let header: DatasetCacheHeader
    private let base: UnsafeMutableRawPointer
    private let length: Int
    /// Label index of each image (single-label datasets).
    public let labels: UnsafeBufferPointer<Int32>
    /// Partition of each image.
    public let partitions: [Partition]
    /// Manifest line of each image.
    public let lines: UnsafeBufferPointer<Int32>
    private let pixelsStart: Int

    public var count: Int { header.count }
    public var resolution: WorkingResolution { header.resolution }
    /// Bytes per image: `height × width × channels`.
    public var imageSize: Int { header.resolution.width * header.resolution.height * header.resolution.channels }

    /// Maps and verifies a cache file (magic, version, header and CRC-32).
    /// - Throws: `DatasetCacheError.corrupt` for any inconsistency, `.io` when it cannot be opened.
    public init(contentsOf url: URL, verifyChecksum: Bool = true) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DatasetCacheError.io(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DatasetCacheError.io(path: url.path, reason: "cannot stat") }
        let length = Int(info.st_size)
        guard length >= 20 else { throw DatasetCacheError.corrupt(path: url.path, reason: "file too short") }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw DatasetCacheError.io(path: url.path, reason: "mmap failed")
        }
        let bytes = UnsafeRawBufferPointer(start: mapped, count: length)
        func fail(_ reason: String) -> DatasetCacheError {
            munmap(mapped, length)
            return .corrupt(path: url.path, reason: reason)
        }
        guard Array(bytes[0..<8]) == Self.magic else { throw fail("bad magic") }
        guard bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == Self.version else { throw fail("unknown version") }
        let headerLength = Int(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard 16 + headerLength <= length,
              let header = try? JSONDecoder().decode(DatasetCacheHeader.self, from: Data(bytes[16..<16 + headerLength]))
        else { throw fail("unreadable header") }
        let n = header.count
        let r = header.resolution
        if let problem = Self.problem(with: header, headerEnd: 16 + headerLength, fileLength: length) { throw fail(problem) }
        let pixelsStart = Self.align(header.pixelOffset + n * 9)
        guard header.pixelOffset % 64 == 0, pixelsStart + n * r.width * r.height * r.channels + 4 == length else {
            throw fail("size does not match its header")
        }
        if verifyChecksum {
            let stored = bytes.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)
            guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<length - 4])) == stored else { throw fail("checksum mismatch") }
        }
        let storedLabels = UnsafeBufferPointer(start: (mapped + header.pixelOffset).assumingMemoryBound(to: Int32.self), count: n)
        if let bad = storedLabels.firstIndex(where: { $0 < 0 || Int($0) >= header.labels.count }) {
            throw fail("image \(bad) has label index \(storedLabels[bad]), outside the \(header.labels.count) labels")
        }
        self.base = mapped
        self.length = length
        self.header = header
        self.pixelsStart = pixelsStart
        labels = storedLabels
        partitions = (0..<n).map { i in
            switch bytes[header.pixelOffset + 4 * n + i] { case 0: .train; case 1: .validation; default: .test }
        }
        lines = UnsafeBufferPointer(start: (mapped + header.pixelOffset + 5 * n).assumingMemoryBound(to: Int32.self), count: n)
    }

    /// Why `header` cannot describe a file of `fileLength` bytes, or `nil`: every count and size is
    /// checked before it is multiplied, so a damaged header fails the job instead of trapping.
    static func problem(with header: DatasetCacheHeader, headerEnd: Int, fileLength: Int) -> String? {
        let r = header.resolution
        guard (1...65_536).contains(r.width), (1...65_536).contains(r.height), r.channels == 1 || r.channels == 3 else {
            return "resolution \(r.width)x\(r.height)x\(r.channels) is not a working resolution"
        }
        guard header.count >= 1, header.count <= fileLength / (r.width * r.height * r.channels) else {
            return "\(header.count) images cannot fit in \(fileLength) bytes"
        }
        guard header.pixelOffset >= headerEnd, header.pixelOffset <= fileLength else {
            return "pixel offset \(header.pixelOffset) is outside the file"
        }
        guard !header.labels.isEmpty else { return "no labels" }
        if let multiLabels = header.multiLabels {
            guard multiLabels.count == header.count,
                  multiLabels.allSatisfy({ $0.allSatisfy { (0..<header.labels.count).contains($0) } })
            else { return "multi-label indices do not match the \(header.labels.count) labels" }
        }
        return nil
    }

    deinit { munmap(base, length) }

    /// Pixels of image `index`: `[H, W, C]` UInt8.
    public func pixels(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: (base + pixelsStart + index * imageSize).assumingMemoryBound(to: UInt8.self), count: imageSize)
    }

    /// Indices of the images in `partition`, in manifest order.
    public func indices(of partition: Partition) -> [Int] { partitions.indices.filter { partitions[$0] == partition } }

    static func align(_ offset: Int) -> Int { (offset + 63) / 64 * 64 }
}

/// Builds or reuses the decoded-dataset cache of an import.
public enum DatasetCache {
    /// The cache key of an import at a working resolution.
    public static func key(for result: ImportResult, resolution: WorkingResolution) -> String {
        var hasher = SHA256()
        // The fit changes the pixels only when images are resized: it is part of the key then (a cache
        // of centre crops is never reused for a letterbox import), and left out for native-size
        // datasets, whose existing caches stay valid. Keys of centre-crop caches are unchanged.
        let fit = resolution.resized && resolution.fit != .centerCrop ? ";fit=\(resolution.fit.rawValue)" : ""
        hasher.update(data: Array("v\(DecodedDataset.version);\(result.summary.manifestSHA256);\(resolution.width)x\(resolution.height)x\(resolution.channels)\(fit)".utf8))
        for image in result.images where !image.labels.isEmpty {
            hasher.update(data: Array("\n\(image.contentHash),\(image.partition.rawValue),\(image.labels.joined(separator: "\u{1F}"))".utf8))
        }
        return hex(Array(hasher.finalize()))
    }

    /// Returns the cache for `result`, writing it when missing or corrupt.
    /// - Parameters:
    ///   - directory: where cache files live (created if needed).
    ///   - rebuilt: set to `true` when a file had to be (re)written.
    /// - Throws: `DatasetCacheError` when writing fails or nothing is labelled.
    public static func open(for result: ImportResult, in directory: URL, maxPixels: Int = 100_000_000,
                            maxFileBytes: Int = FileReading.defaultMaxImageBytes,
                            progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> (dataset: DecodedDataset, reused: Bool) {
        guard let resolution = result.summary.working else { throw DatasetCacheError.nothingToCache }
        let key = key(for: result, resolution: resolution)
        let url = directory.appendingPathComponent("\(key.prefix(32)).avcache")
        if FileManager.default.fileExists(atPath: url.path) {
            if let existing = try? DecodedDataset(contentsOf: url), existing.header.key == key { return (existing, true) }
            try? FileManager.default.removeItem(at: url)  // corrupt or stale: rebuild
        }
        try write(result, resolution: resolution, key: key, to: url, maxPixels: maxPixels, maxFileBytes: maxFileBytes, progress: progress)
        return (try DecodedDataset(contentsOf: url), false)
    }

    static func write(_ result: ImportResult, resolution: WorkingResolution, key: String, to url: URL, maxPixels: Int, maxFileBytes: Int,
                      progress: (@Sendable (Int, Int) -> Void)?) throws {
        let pairs = result.images.indices.filter { !result.images[$0].labels.isEmpty }
        guard !pairs.isEmpty else { throw DatasetCacheError.nothingToCache }
        let images = pairs.map { result.images[$0] }
        let labels = result.summary.labels
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let n = images.count
        var header = DatasetCacheHeader(
            key: key, count: n, resolution: resolution, labels: labels, multiLabel: result.summary.multiLabel,
            multiLabels: result.summary.multiLabel ? images.map { $0.labels.map { labelIndex[$0]! } } : nil,
            manifestSHA256: result.summary.manifestSHA256, pixelOffset: 0)
        // The header's length depends on pixelOffset's digits: fix the offset with a generous bound first.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // same dataset, same bytes
        header.pixelOffset = DecodedDataset.align(16 + (try encoder.encode(header)).count + 32)
        let headerData = try encoder.encode(header)

        var prefix = [UInt8](repeating: 0, count: header.pixelOffset)
        prefix.replaceSubrange(0..<8, with: DecodedDataset.magic)
        withUnsafeBytes(of: DecodedDataset.version.littleEndian) { prefix.replaceSubrange(8..<12, with: $0) }
        withUnsafeBytes(of: UInt32(headerData.count).littleEndian) { prefix.replaceSubrange(12..<16, with: $0) }
        prefix.replaceSubrange(16..<16 + headerData.count, with: headerData)
        for image in images { withUnsafeBytes(of: Int32(labelIndex[image.labels[0]]!).littleEndian) { prefix.append(contentsOf: $0) } }
        for image in images { prefix.append(image.partition == .train ? 0 : image.partition == .validation ? 1 : 2) }
        for image in images { withUnsafeBytes(of: Int32(image.line).littleEndian) { prefix.append(contentsOf: $0) } }
        prefix.append(contentsOf: [UInt8](repeating: 0, count: DecodedDataset.align(prefix.count) - prefix.count))

        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            try FileWriting.replace(url) { temporary in
                guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
                      let handle = try? FileHandle(forWritingTo: temporary)
                else { throw DatasetCacheError.io(path: temporary.path, reason: "cannot create") }
                defer { try? handle.close() }
                var crc = prefix.withUnsafeBytes { CRC32.checksum($0) }
                try handle.write(contentsOf: prefix)
                // Convert in parallel, one chunk at a time, so memory stays at one chunk of pixels.
                let chunk = 2048
                for start in stride(from: 0, to: n, by: chunk) {
                    let end = min(n, start + chunk)
                    let block = try fittedPixels(result, pairs: Array(pairs[start..<end]), resolution: resolution,
                                                 maxPixels: maxPixels, maxFileBytes: maxFileBytes)
                    crc = block.withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
                    try handle.write(contentsOf: block)
                    progress?(end, n)
                }
                try handle.write(contentsOf: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
                try handle.synchronize()
                try handle.close()
            }
        } catch let failure as FileWriting.RenameFailure {
            throw DatasetCacheError.io(path: failure.path, reason: failure.reason)
        }
    }

    /// The pixels of `result.images[pairs]` at `resolution`, decoded in parallel (or taken from the
    /// import's kept decodes): `[pairs.count, H, W, C]` UInt8.
    /// - Throws: `DatasetCacheError.io` for an image that changed or vanished since the import read it.
    static func fittedPixels(_ result: ImportResult, pairs: [Int], resolution: WorkingResolution,
                             maxPixels: Int, maxFileBytes: Int) throws -> [UInt8] {
        let slots = ResultSlots<Result<[UInt8], DatasetCacheError>>(count: pairs.count)
        DispatchQueue.concurrentPerform(iterations: pairs.count) { offset in
            let image = result.images[pairs[offset]]
            let decoded: Image
            if let kept = result.decoded?[pairs[offset]] {
                decoded = kept
            } else {
                guard let data = try? FileReading.read(image.path, maxBytes: maxFileBytes).get(),
                      let again = try? ImageDecoder.decode(data, options: Preprocessing.decodeOptions(maxPixels: maxPixels)).image
                else {
                    slots[offset] = .failure(.io(path: image.path, reason: "image changed or vanished since it was validated; import again"))
                    return
                }
                decoded = again
            }
            slots[offset] = .success(decoded.fitted(to: resolution).pixels)
        }
        var block = [UInt8]()
        block.reserveCapacity(pairs.count * resolution.width * resolution.height * resolution.channels)
        for pixels in slots.values() { block.append(contentsOf: try pixels.get()) }
        return block
    }
}
