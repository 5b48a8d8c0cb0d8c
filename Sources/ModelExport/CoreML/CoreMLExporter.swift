import Foundation
import NN
import SwiftProtobuf

/// Writes a model as a Core ML NeuralNetwork classifier (`.mlmodel`, the protobuf `Model` of
/// apple/coremltools `mlmodel/format/Model.proto`, specification version 4, or 5 with GELU):
/// - input `image`: an image of the working resolution (grayscale or RGB); its preprocessing
///   scaler computes `pixel · channelScale + bias` = `(pixel / 255 − mean) / std` when every
///   channel has one std (gray models always), else `pixel / 255 − mean[c]` followed by a scale
///   layer of `1 / std[c]`;
/// - the network's layers (`CoreMLLayerEmitter`), then a softmax whose output is `probabilities`;
/// - outputs `probabilities` (a dictionary label → probability) and `classLabel` (the top label),
///   with the labels as `stringClassLabels`; metadata `labels`, `working_resolution`, `fit`,
///   `test_time_augmentation`.
/// Test-time augmentation is not in the Core ML model: it runs the image itself only
/// (docs/decisions/0025-export-graph.md).
public enum CoreMLExporter {
    public static let inputName = "image"
    public static let probabilitiesName = "probabilities"
    public static let labelName = "classLabel"

    /// The serialised `Model`.
    /// - Throws: `ExportError` for a network the exporter cannot translate; a protobuf encoding error.
    public static func export(_ model: ExportableModel) throws -> Data {
        try modelSpec(model).deterministicData()
    }

    static func modelSpec(_ model: ExportableModel) throws -> CoreML_Specification_Model {
        var emitter = CoreMLLayerEmitter()
        var classifier = CoreML_Specification_NeuralNetworkClassifier()
        var input = inputName
        classifier.preprocessing = [preprocessing(model.normalization, channels: model.resolution.channels, emitter: &emitter, input: &input)]
        let scores = emitter.emit(try InferenceLowering.lower(model.network), input: input)
        emitter.layer("softmax", [scores], output: probabilitiesName) { $0.softmax = .init() }
        classifier.layers = emitter.layers
        classifier.stringClassLabels.vector = model.labels

        var spec = CoreML_Specification_Model()
        spec.specificationVersion = emitter.needsVersion5 ? 5 : 4
        spec.description_p = description(model)
        spec.neuralNetworkClassifier = classifier
        return spec
    }

    /// The image scaler, and the scale layer of `1 / std[c]` when the stds differ (then `input`
    /// becomes that layer's output).
    private static func preprocessing(_ normalization: ChannelNormalization?, channels: Int,
                                      emitter: inout CoreMLLayerEmitter, input: inout String) -> CoreML_Specification_NeuralNetworkPreprocessing {
        let mean = normalization?.mean ?? [Float](repeating: 0, count: channels)
        let std = normalization?.standardDeviation ?? [Float](repeating: 1, count: channels)
        let uniform = std.allSatisfy { $0 == std[0] }
        var scaler = CoreML_Specification_NeuralNetworkImageScaler()
        scaler.channelScale = uniform ? 1 / (255 * std[0]) : 1 / 255
        let bias = uniform ? mean.map { -$0 / std[0] } : mean.map { -$0 }
        if channels == 1 {
            scaler.grayBias = bias[0]
        } else {
            (scaler.redBias, scaler.greenBias, scaler.blueBias) = (bias[0], bias[1], bias[2])
        }
        if !uniform {
            input = emitter.affine(input, scale: std.map { 1 / $0 }, shift: [Float](repeating: 0, count: channels))
        }
        var step = CoreML_Specification_NeuralNetworkPreprocessing()
        step.featureName = inputName
        step.scaler = scaler
        return step
    }

    private static func description(_ model: ExportableModel) -> CoreML_Specification_ModelDescription {
        var image = CoreML_Specification_ImageFeatureType()
        image.width = Int64(model.resolution.width)
        image.height = Int64(model.resolution.height)
        image.colorSpace = model.resolution.channels == 1 ? .grayscale : .rgb
        var description = CoreML_Specification_ModelDescription()
        description.input = [feature(inputName, "the image at \(model.resolution.width)×\(model.resolution.height), fitted by \(model.fit)") {
            $0.imageType = image
        }]
        description.output = [
            feature(probabilitiesName, "softmax probability of each label") { $0.dictionaryType.stringKeyType = .init() },
            feature(labelName, "the most probable label") { $0.stringType = .init() },
        ]
        description.predictedFeatureName = labelName
        description.predictedProbabilitiesName = probabilitiesName
        description.metadata.author = "autovision"
        description.metadata.shortDescription = "AutoVision model \(model.name)"
        description.metadata.userDefined = Dictionary(uniqueKeysWithValues: ONNXExporter.metadata(model))
        return description
    }

    private static func feature(_ name: String, _ summary: String,
                                _ type: (inout CoreML_Specification_FeatureType) -> Void) -> CoreML_Specification_FeatureDescription {
        var feature = CoreML_Specification_FeatureDescription()
        feature.name = name
        feature.shortDescription = summary
        type(&feature.type)
        return feature
    }
}
