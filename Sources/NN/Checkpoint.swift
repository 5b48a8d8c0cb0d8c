import Foundation
import Tensors

/// A trained model in one versioned binary file: weights, BatchNorm statistics, the architecture
/// (JSON), the input normalisation and the label names. Weights are large, hence not JSON.
///
/// Layout (little-endian), version 1:
/// ```
/// bytes 0..<8   magic "AVCK\r\n\u{1A}\n" (detects text-mode mangling, like PNG's)
/// UInt32        format version (1)
/// UInt32        header length H
/// H bytes       header JSON: architecture, normalization, labelNames, metadata, precision (absent:
///               fp32, as every checkpoint written before it had), tensor shapes
/// 4·Σcount      Float32 values of every tensor, in `Layer.parameters` then `Layer.buffers` order
/// UInt32        CRC-32 (IEEE) of all preceding bytes
/// ```
public struct Checkpoint: Equatable, Sendable {
    public static let magic: [UInt8] = [0x41, 0x56, 0x43, 0x4B, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let formatVersion: UInt32 = 1

    public var architecture: ArchitectureSpec
    public var normalization: ChannelNormalization?
    public var labelNames: [String]
    /// Free-form facts (training recipe, accuracy, date).
    public var metadata: [String: String]
    /// Parameters then buffers, in the network's fixed order.
    public var tensors: [Tensor]
    /// The arithmetic the network was trained in, and is served in (`Precision`).
    public var precision: Precision

    public init(
        network: any Layer, architecture: ArchitectureSpec, normalization: ChannelNormalization? = nil,
        labelNames: [String], metadata: [String: String] = [:]
    ) {
        self.architecture = architecture
        self.normalization = normalization
        self.labelNames = labelNames
        self.metadata = metadata
        tensors = network.parameters.map(\.value) + network.buffers.map(\.value)
        precision = network.precision
    }

    private struct Header: Codable {
        var architecture: ArchitectureSpec
        var normalization: ChannelNormalization?
        var labelNames: [String]
        var metadata: [String: String]
        var precision: Precision?
        var shapes: [Shape]
    }

    /// Builds the network of `architecture` and loads the weights into it.
    public func makeNetwork() throws -> Sequential {
        let network = try architecture.build(seed: 0, precision: precision)
        try load(into: network)
        return network
    }

    /// Copies the weights into an existing network of the same architecture.
    public func load(into network: any Layer) throws {
        let parameters = network.parameters, buffers = network.buffers
        guard parameters.count + buffers.count == tensors.count else {
            throw NNError.checkpointMismatch("\(tensors.count) tensors for \(parameters.count) parameters and \(buffers.count) buffers")
        }
        for (index, parameter) in parameters.enumerated() {
            guard parameter.value.shape == tensors[index].shape else {
                throw NNError.checkpointMismatch("tensor \(index) is \(tensors[index].shape), parameter \(parameter.name) is \(parameter.value.shape)")
            }
            parameter.value = tensors[index]
        }
        for (offset, buffer) in buffers.enumerated() {
            let tensor = tensors[parameters.count + offset]
            guard buffer.value.shape == tensor.shape else {
                throw NNError.checkpointMismatch("tensor \(parameters.count + offset) is \(tensor.shape), buffer \(buffer.name) is \(buffer.value.shape)")
            }
            buffer.value = tensor
        }
    }

    // MARK: Encoding

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = try encoder.encode(Header(
            architecture: architecture, normalization: normalization, labelNames: labelNames, metadata: metadata,
            precision: precision == .fp32 ? nil : precision, shapes: tensors.map(\.shape)))
        var bytes = [UInt8]()
        bytes.reserveCapacity(20 + header.count + 4 * tensors.reduce(0) { $0 + $1.count })
        bytes += Self.magic
        Self.append(Self.formatVersion, to: &bytes)
        Self.append(UInt32(header.count), to: &bytes)
        bytes += header
        for tensor in tensors {
            for value in tensor.storage { Self.append(value.bitPattern, to: &bytes) }
        }
        Self.append(bytes.withUnsafeBytes { CRC32.checksum($0) }, to: &bytes)
        return Data(bytes)
    }

    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    public static func read(from url: URL) throws -> Checkpoint {
        try decode(try Data(contentsOf: url), path: url.path)
    }

    /// Parses a checkpoint; `path` only names the source in errors.
    public static func decode(_ data: Data, path: String = "checkpoint") throws -> Checkpoint {
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            if bytes.count < magic.count && bytes == Array(magic.prefix(bytes.count)) {
                throw NNError.checkpointTruncated(path: path, expectedBytes: 16, actualBytes: bytes.count)
            }
            throw NNError.checkpointNotACheckpoint(path: path)
        }
        guard bytes.count >= 16 else { throw NNError.checkpointTruncated(path: path, expectedBytes: 16, actualBytes: bytes.count) }
        let version = readUInt32(bytes, at: 8)
        guard version >= 1 && version <= formatVersion else {
            throw NNError.checkpointUnsupportedVersion(found: version, supported: formatVersion)
        }
        let headerLength = Int(readUInt32(bytes, at: 12))
        guard bytes.count >= 16 + headerLength else {
            throw NNError.checkpointTruncated(path: path, expectedBytes: 16 + headerLength + 4, actualBytes: bytes.count)
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<(16 + headerLength)]))
        } catch let error as NNError {
            throw error
        } catch {
            throw NNError.checkpointCorrupt(path: path, reason: "unreadable header (\(error))")
        }
        // The shapes come from the file: checked before any arithmetic on them could trap, and the
        // tensors are allocated only once the file is known to hold their values.
        let totalValues = try valueCount(of: header.shapes, path: path)
        let (valueBytes, overflow) = totalValues.multipliedReportingOverflow(by: 4)
        guard !overflow, valueBytes <= Int.max - (16 + headerLength + 4) else { throw tooManyValues(path) }
        let expected = 16 + headerLength + valueBytes + 4
        guard bytes.count >= expected else {
            throw NNError.checkpointTruncated(path: path, expectedBytes: expected, actualBytes: bytes.count)
        }
        guard bytes.count == expected else {
            throw NNError.checkpointCorrupt(path: path, reason: "\(bytes.count - expected) unexpected trailing bytes")
        }
        let stored = readUInt32(bytes, at: expected - 4)
        let computed = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(expected - 4)])) }
        guard stored == computed else {
            throw NNError.checkpointCorrupt(
                path: path, reason: String(format: "checksum mismatch (stored %08x, computed %08x)", stored, computed))
        }
        var offset = 16 + headerLength
        var tensors = [Tensor]()
        for shape in header.shapes {
            var values = [Float](repeating: 0, count: shape.count)
            for i in 0..<values.count {
                values[i] = Float(bitPattern: readUInt32(bytes, at: offset))
                offset += 4
            }
            tensors.append(Tensor(shape: shape, values: values))
        }
        var checkpoint = Checkpoint(
            architecture: header.architecture, normalization: header.normalization, labelNames: header.labelNames,
            metadata: header.metadata, tensors: [])
        checkpoint.tensors = tensors
        checkpoint.precision = header.precision ?? .fp32
        return checkpoint
    }

    /// The number of values of all `shapes` together.
    /// - Throws: `NNError.checkpointCorrupt` for a negative dimension, or a count beyond `Int`.
    private static func valueCount(of shapes: [Shape], path: String) throws -> Int {
        var total = 0
        for (index, shape) in shapes.enumerated() {
            let dimensions = shape.dimensions
            if let negative = dimensions.first(where: { $0 < 0 }) {
                throw NNError.checkpointCorrupt(path: path, reason: "tensor \(index) has the negative dimension \(negative) (\(dimensions))")
            }
            var count = dimensions.contains(0) ? 0 : 1
            var overflow = false
            for dimension in dimensions where !overflow && count > 0 {
                (count, overflow) = count.multipliedReportingOverflow(by: dimension)
            }
            if !overflow { (total, overflow) = total.addingReportingOverflow(count) }
            if overflow { throw tooManyValues(path) }
        }
        return total
    }

    private static func tooManyValues(_ path: String) -> NNError {
        .checkpointCorrupt(path: path, reason: "its header declares more values than a file can hold")
    }

    private init(architecture: ArchitectureSpec, normalization: ChannelNormalization?, labelNames: [String], metadata: [String: String], tensors: [Tensor]) {
        self.architecture = architecture
        self.normalization = normalization
        self.labelNames = labelNames
        self.metadata = metadata
        self.tensors = tensors
        precision = .fp32
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8 & 0xFF))
        bytes.append(UInt8(value >> 16 & 0xFF))
        bytes.append(UInt8(value >> 24))
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}

/// A trained classifier the service can call: a checkpoint's network, normalisation and labels.
public final class Classifier {
    public let architecture: ArchitectureSpec
    public let normalization: ChannelNormalization?
    public let labelNames: [String]
    public let network: Sequential
    /// Views averaged per image (the checkpoint's `TestTimeAugmentation.metadataKey`).
    public let testTimeAugmentation: TestTimeAugmentation
    /// Softmax (single-label) or a sigmoid per label (multi-label), as the checkpoint records.
    public let output: OutputActivation
    private var normalized = Tensor.empty

    /// - Throws: `NNError` when the network cannot be built from the checkpoint (an invalid
    ///   architecture, more weights than the file holds, tensors of other shapes), when the label
    ///   count differs from the network's output width, or when the metadata names an unknown
    ///   test-time augmentation.
    public init(checkpoint: Checkpoint) throws {
        let architecture = checkpoint.architecture
        guard checkpoint.labelNames.count == architecture.classes else {
            throw NNError.checkpointMismatch("\(checkpoint.labelNames.count) label names for \(architecture.classes) outputs")
        }
        // Checked before building, so a damaged description cannot allocate more than the file holds.
        let stored = checkpoint.tensors.reduce(0) { $0 + $1.count }
        guard try architecture.parameterCount() <= stored else {
            throw NNError.checkpointMismatch("the architecture has \(try architecture.parameterCount()) parameters, the file \(stored) values")
        }
        if let normalization = checkpoint.normalization {
            guard normalization.mean.count == architecture.inputShape[0], normalization.standardDeviation.count == architecture.inputShape[0] else {
                throw NNError.checkpointMismatch("normalisation for \(normalization.mean.count) channels, input has \(architecture.inputShape[0])")
            }
        }
        self.architecture = architecture
        normalization = checkpoint.normalization
        labelNames = checkpoint.labelNames
        network = try checkpoint.makeNetwork()
        testTimeAugmentation = try TestTimeAugmentation(checkpoint: checkpoint)
        output = try OutputActivation(checkpoint: checkpoint)
    }

    public convenience init(contentsOf url: URL) throws {
        try self.init(checkpoint: try Checkpoint.read(from: url))
    }

    /// Scores `[N, classes]` for images `[N, C, H, W]` with pixels scaled to `[0, 1]`: class
    /// probabilities, or each label's probability for a multi-label model (`output`). The checkpoint's
    /// normalisation and test-time augmentation are applied here.
    public func probabilities(for images: Tensor) -> Tensor {
        precondition(Array(images.shape.dimensions.dropFirst()) == architecture.inputShape,
                     "images \(images.shape) do not match the model input \(architecture.inputShape)")
        var input = images
        if let normalization {
            normalized = images
            normalization.apply(to: &normalized)
            input = normalized
        }
        return testTimeAugmentation.probabilities(of: input, network: network, output: output)
    }

    /// The most probable class of each image, with its name and probability.
    public func predict(_ images: Tensor) -> [(label: Int, name: String, probability: Float)] {
        let probabilities = probabilities(for: images)
        let classes = probabilities.shape[1]
        return probabilities.argmaxRows().enumerated().map { row, label in
            (label, label < labelNames.count ? labelNames[label] : "\(label)", probabilities[row * classes + label])
        }
    }
}
