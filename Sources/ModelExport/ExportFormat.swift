/// The formats a trained model can be exported to.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// One ONNX file (opset 17, IR version 8): `ONNXExporter`.
    case onnx
    /// A Triton model repository folder, `NAME/config.pbtxt`, `NAME/labels.txt`, `NAME/1/model.onnx`:
    /// `TritonRepository`.
    case triton
    /// A Core ML NeuralNetwork classifier, one `.mlmodel` file: `CoreMLExporter`.
    case coreml

    /// The names accepted on the command line and in `?format=`, comma-separated.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Why a model could not be exported.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// `format` is not one of `ExportFormat.allCases`.
    case unknownFormat(String)
    /// The network holds a layer this exporter has no translation for (its type name).
    case unsupportedLayer(String)
    /// The model's description contradicts itself (e.g. a BatchNorm of other width than its input).
    case inconsistentModel(String)
    /// A multi-label model (a sigmoid per label): the exporters write softmax classifiers only.
    case multiLabel
    /// Writing the output failed (path and reason).
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownFormat(name): "unknown export format '\(name)' (formats: \(ExportFormat.names))"
        case let .unsupportedLayer(name): "the network has a layer the exporter cannot translate: \(name)"
        case let .inconsistentModel(reason): "the model cannot be exported: \(reason)"
        case .multiLabel: "multi-label models cannot be exported yet: the exporters write single-label (softmax) classifiers"
        case let .cannotWrite(path, reason): "cannot write \(path): \(reason)"
        }
    }
}
