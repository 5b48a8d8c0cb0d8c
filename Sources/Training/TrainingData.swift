import Datasets
import NN
import Tensors

/// The TRAIN / VALIDATION / TEST image indices of a decoded dataset, with VALIDATION or TEST carved
/// from TRAIN when the manifest has none.
///
/// Carving is deterministic and depends on image content only: TRAIN images are ordered by a hash
/// of their pixels (FNV-1a, 64 bit); the first 10 % (at least one image) become VALIDATION and the
/// next 10 % TEST, so even a tiny dataset gets both.
public struct TrainingSplits: Sendable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]
    /// What was carved, for the report.
    public var notes: [String] = []

    public init(dataset: DecodedDataset) {
        train = dataset.indices(of: .train)
        validation = dataset.indices(of: .validation)
        test = dataset.indices(of: .test)
        let carveValidation = validation.isEmpty, carveTest = test.isEmpty
        guard carveValidation || carveTest, train.count >= 3 else { return }
        let share = max(1, train.count / 10)
        var byHash = train.map { (hash: Self.contentHash(dataset.pixels($0)), index: $0) }
        byHash.sort { ($0.hash, $0.index) < ($1.hash, $1.index) }
        var ordered = byHash.map(\.index)
        if carveValidation {
            validation = ordered.prefix(share).sorted()
            ordered.removeFirst(share)
        }
        if carveTest {
            test = ordered.prefix(share).sorted()
            ordered.removeFirst(share)
        }
        train = ordered.sorted()
        if carveValidation { notes.append("the manifest has no VALIDATION images: \(validation.count) were carved from TRAIN (10 %, by content hash)") }
        if carveTest { notes.append("the manifest has no TEST images: \(test.count) were carved from TRAIN (10 %, by content hash)") }
    }

    /// FNV-1a over the pixel bytes.
    static func contentHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}

/// The label sets of a multi-label dataset as 0/1 rows, `[count, K]` (`DecodedDataset`'s
/// `header.multiLabels`, the label indices of each image).
public struct MultiHotLabels: Sendable {
    /// K, the number of labels.
    public let labelCount: Int
    /// Row-major `[count, K]`: 1 where the image has the label.
    public let values: [UInt8]

    /// `nil` for a single-label dataset.
    public init?(dataset: DecodedDataset) {
        guard dataset.header.multiLabel, let sets = dataset.header.multiLabels else { return nil }
        let k = dataset.header.labels.count
        var values = [UInt8](repeating: 0, count: sets.count * k)
        for (i, set) in sets.enumerated() { for label in set { values[i * k + label] = 1 } }
        labelCount = k
        self.values = values
    }

    /// Whether image `index` has `label`.
    public func has(_ index: Int, _ label: Int) -> Bool { values[index * labelCount + label] != 0 }

    /// The 0/1 rows of `indices`, row-major `[indices.count, K]`.
    public func rows(_ indices: [Int]) -> [UInt8] {
        indices.flatMap { i in values[i * labelCount ..< (i + 1) * labelCount] }
    }

    /// Images among `indices` with each label, `[K]`.
    public func counts(_ indices: [Int]) -> [Int] {
        var counts = [Int](repeating: 0, count: labelCount)
        for i in indices { for k in 0..<labelCount where has(i, k) { counts[k] += 1 } }
        return counts
    }
}

/// Turns cached uint8 images (`[H, W, C]` each) into float batches `[N, C, H, W]` with pixels
/// scaled to `[0, 1]` and, when given, the per-channel normalisation applied.
public struct BatchLoader: @unchecked Sendable {
    public let dataset: DecodedDataset
    public let normalization: ChannelNormalization?
    /// The label sets, for a multi-label dataset.
    public let multiHot: MultiHotLabels?

    public init(dataset: DecodedDataset, normalization: ChannelNormalization?, multiHot: MultiHotLabels? = nil) {
        self.dataset = dataset
        self.normalization = normalization
        self.multiHot = multiHot ?? MultiHotLabels(dataset: dataset)
    }

    /// Input shape `[C, H, W]`.
    public var inputShape: [Int] {
        let r = dataset.resolution
        return [r.channels, r.height, r.width]
    }

    /// Fills `batch` (resized to `[indices.count, C, H, W]`) and `labels` for `indices`.
    public func fill(_ batch: inout Tensor, labels: inout [Int], indices: ArraySlice<Int>) {
        let r = dataset.resolution
        let channels = r.channels, plane = r.width * r.height
        batch.resize(to: Shape([indices.count, channels, r.height, r.width]))
        labels.removeAll(keepingCapacity: true)
        batch.withUnsafeMutablePointer { x in
            for (n, index) in indices.enumerated() {
                let pixels = dataset.pixels(index)
                Preprocessing.writeScaledCHW(pixels, channels: channels, plane: plane, to: x + n * channels * plane)
                labels.append(Int(dataset.labels[index]))
            }
        }
        normalization?.apply(to: &batch)
    }

    /// Fills `targets` (resized to `[indices.count, K]`) with the 0/1 label sets of `indices`
    /// (a multi-label dataset; precondition).
    public func fillTargets(_ targets: inout Tensor, indices: ArraySlice<Int>) {
        guard let multiHot else { preconditionFailure("fillTargets on a single-label dataset") }
        let k = multiHot.labelCount
        targets.resize(to: Shape([indices.count, k]))
        targets.withUnsafeMutablePointer { t in
            for (n, index) in indices.enumerated() {
                for c in 0..<k { t[n * k + c] = multiHot.has(index, c) ? 1 : 0 }
            }
        }
    }

    /// Per-channel mean and standard deviation of `indices` (TRAIN), on pixels scaled to `[0, 1]`.
    public static func fitNormalization(dataset: DecodedDataset, indices: [Int]) -> ChannelNormalization {
        let channels = dataset.resolution.channels
        var sums = [Double](repeating: 0, count: channels), squares = sums
        for index in indices {
            let pixels = dataset.pixels(index)
            var s = [UInt64](repeating: 0, count: channels), q = s
            for (i, value) in pixels.enumerated() {
                s[i % channels] += UInt64(value)
                q[i % channels] += UInt64(value) * UInt64(value)
            }
            for c in 0..<channels {
                sums[c] += Double(s[c])
                squares[c] += Double(q[c])
            }
        }
        let count = Double(max(1, indices.count * dataset.resolution.width * dataset.resolution.height))
        return ChannelNormalization(channelSums: sums, squares: squares, count: count, scale: 255)
    }
}
