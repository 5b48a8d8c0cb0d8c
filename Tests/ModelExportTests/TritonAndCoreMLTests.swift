import Foundation
import NN
import Testing
@testable import ModelExport

@Suite struct TritonRepositoryTests {
    @Test func filesAndConfig() throws {
        let model = try ExportFixtures.model()
        let files = try TritonRepository.files(model)
        #expect(files.map(\.path) == ["job-1/config.pbtxt", "job-1/labels.txt", "job-1/1/model.onnx"])
        #expect(String(decoding: files[1].contents, as: UTF8.self) == "cat\ndog/puppy\némeu \"bird\"\n")
        let config = TritonRepository.config(model)
        for line in ["name: \"job-1\"", "platform: \"onnxruntime_onnx\"", "data_type: TYPE_UINT8", "dims: [ 1, 8, 8 ]",
                     "dims: [ 3 ]", "label_filename: \"labels.txt\"", "dynamic_batching {"] {
            #expect(config.contains(line), "config.pbtxt lacks \(line)")
        }
    }

    @Test func zipHoldsTheRepository() throws {
        let download = try ModelExporter.download(try ExportFixtures.model(), format: .triton)
        #expect(download.contentType == "application/zip" && download.filename == "job-1-triton.zip")
        #expect(download.data.prefix(2) == Data("PK".utf8))
    }
}

@Suite struct CoreMLExporterTests {
    @Test func classifierLayersScalerAndLabels() throws {
        let spec = try CoreML_Specification_Model(serializedBytes: try CoreMLExporter.export(try ExportFixtures.model()))
        #expect(spec.specificationVersion == 4)
        let classifier = spec.neuralNetworkClassifier
        #expect(classifier.stringClassLabels.vector == ["cat", "dog/puppy", "émeu \"bird\""])
        let kinds = classifier.layers.map { String(describing: $0.layer!).prefix { $0 != "(" } }
        #expect(kinds == ["convolution", "activation", "convolution", "activation", "convolution", "add", "scale", "pooling",
                          "flatten", "innerProduct", "activation", "multiply", "innerProduct", "softmax"])
        #expect(classifier.layers.last?.output == ["probabilities"])
        // (pixel / 255 − 0.25) / 0.5 = pixel · 1/127.5 − 0.5
        let scaler = classifier.preprocessing[0].scaler
        #expect(abs(scaler.channelScale - 1 / 127.5) < 1e-9 && scaler.grayBias == -0.5)
        let image = spec.description_p.input[0].type.imageType
        #expect(image.width == 8 && image.height == 8 && image.colorSpace == .grayscale)
        #expect(spec.description_p.predictedProbabilitiesName == "probabilities")
    }

    /// `userDefined` is a map: its entries are written in key order, so an export is reproducible.
    @Test func theSameModelGivesTheSameBytes() throws {
        let model = try ExportFixtures.model()
        let first = try CoreMLExporter.export(model)
        var spec = try CoreML_Specification_Model(serializedBytes: first)
        spec.description_p.metadata.userDefined = Dictionary(uniqueKeysWithValues: spec.description_p.metadata.userDefined.reversed())
        #expect(try spec.deterministicData() == first)
        #expect(try CoreMLExporter.export(model) == first)
    }

    @Test func colourWithPerChannelStdsAddsAScaleLayer() throws {
        let normalization = ChannelNormalization(mean: [0.1, 0.2, 0.3], standardDeviation: [0.5, 0.25, 0.2])
        let model = try ExportFixtures.model(spec: ExportFixtures.residualSpec(channels: 3), normalization: normalization)
        let spec = try CoreML_Specification_Model(serializedBytes: try CoreMLExporter.export(model))
        let classifier = spec.neuralNetworkClassifier
        #expect(classifier.preprocessing[0].scaler.redBias == -0.1 && classifier.preprocessing[0].scaler.blueBias == -0.3)
        #expect(classifier.layers[0].scale.scale.floatValue == [2, 4, 5])
        #expect(spec.description_p.input[0].type.imageType.colorSpace == .rgb)
    }
}

@Suite struct ExportFormatTests {
    @Test func formatsAreNamedAsOnTheCommandLine() {
        #expect(ExportFormat.allCases.map(\.rawValue) == ["onnx", "triton", "coreml"])
        #expect("\(ExportError.unknownFormat("tflite"))" == "unknown export format 'tflite' (formats: onnx, triton, coreml)")
    }
}
