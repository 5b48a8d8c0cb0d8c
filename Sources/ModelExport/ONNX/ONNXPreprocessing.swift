import NN

/// The input steps of the exported graph, as `Preprocessing.writeScaledCHW` and
/// `ChannelNormalization.apply` compute them: uint8 → float, `× 1/255`, then `(x − mean[c]) × 1/std[c]`.
enum ONNXPreprocessing {
    /// Appends Cast, Mul and (with a normalisation) Sub and Mul with `[1, C, 1, 1]` constants;
    /// returns the name of the normalised float `[N, C, H, W]`.
    static func emit(into graph: inout ONNXGraphBuilder, input: String, normalization: ChannelNormalization?, channels: Int) -> String {
        let float = graph.node("Cast", [input], [ONNXAttribute.int("to", Onnx_TensorProto.DataType.float.rawValue)])
        let scaled = graph.node("Mul", [float, graph.scalar("pixel_scale", 1 / 255)])
        guard let normalization else { return scaled }
        let shape = [1, channels, 1, 1]
        let centred = graph.node("Sub", [scaled, graph.floats("mean", normalization.mean, shape: shape)])
        let inverse = normalization.standardDeviation.map { 1 / $0 }
        return graph.node("Mul", [centred, graph.floats("inverse_std", inverse, shape: shape)])
    }
}
