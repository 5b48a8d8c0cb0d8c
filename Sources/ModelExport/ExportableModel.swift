import Datasets
import Foundation
import NN

/// What every export needs of a trained model: its network and how its input is made.
public struct ExportableModel {
    /// A name for the exported model (the job ID): the Triton model name, the graph's doc string.
    public var name: String
    public var network: Sequential
    /// Class labels in output order.
    public var labels: [String]
    /// The working resolution: the network's input is `[channels, height, width]`.
    public var resolution: WorkingResolution
    /// Per-channel normalisation of pixels scaled to `[0, 1]`, or `nil` for none.
    public var normalization: ChannelNormalization?
    public var testTimeAugmentation: TestTimeAugmentation
    /// Softmax (single-label) or a sigmoid per label (multi-label: not exported yet).
    public var output: OutputActivation

    public init(name: String, network: Sequential, labels: [String], resolution: WorkingResolution,
                normalization: ChannelNormalization?, testTimeAugmentation: TestTimeAugmentation, output: OutputActivation = .softmax) {
        self.output = output
        self.name = name
        self.network = network
        self.labels = labels
        self.resolution = resolution
        self.normalization = normalization
        self.testTimeAugmentation = testTimeAugmentation
    }

    /// How an image of another size than the working resolution is fitted before it is the input
    /// (`WorkingResolution.fitOfOtherSizes`): `letterbox` or `center_crop`.
    public var fit: String { resolution.fitOfOtherSizes.rawValue }

    /// The labels as a JSON array (the `labels` metadata of an ONNX model).
    var labelsJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(labels)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// `{"channels":C,"height":H,"width":W}`.
    var resolutionJSON: String {
        "{\"channels\":\(resolution.channels),\"height\":\(resolution.height),\"width\":\(resolution.width)}"
    }
}
