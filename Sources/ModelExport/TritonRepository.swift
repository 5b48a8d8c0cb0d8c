/// A Triton Inference Server model repository for one model
/// (https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_repository.html):
/// `NAME/config.pbtxt`, `NAME/labels.txt` (one label a line, the output's order) and
/// `NAME/1/model.onnx` (`ONNXExporter`), served by the ONNX Runtime backend with dynamic batching.
public enum TritonRepository {
    /// The largest batch Triton forms (`max_batch_size`); the ONNX batch axis is symbolic.
    public static let maxBatchSize = 64

    /// The repository's files, paths relative to its root (`NAME/…`).
    /// - Throws: as `ONNXExporter.export`.
    public static func files(_ model: ExportableModel) throws -> [ExportedFile] {
        [
            ExportedFile(path: "\(model.name)/config.pbtxt", contents: Array(config(model).utf8)),
            ExportedFile(path: "\(model.name)/labels.txt", contents: Array(model.labels.map { $0 + "\n" }.joined().utf8)),
            ExportedFile(path: "\(model.name)/1/model.onnx", contents: Array(try ONNXExporter.export(model))),
        ]
    }

    /// `config.pbtxt` (protobuf text of Triton's `ModelConfig`): the uint8 `[C, H, W]` input, the
    /// `[classes]` probabilities with `labels.txt` as label file (Triton's classification
    /// extension), dynamic batching.
    public static func config(_ model: ExportableModel) -> String {
        let r = model.resolution
        return """
        name: "\(model.name)"
        platform: "onnxruntime_onnx"
        max_batch_size: \(maxBatchSize)
        input [
          {
            name: "\(ONNXExporter.inputName)"
            data_type: TYPE_UINT8
            format: FORMAT_NCHW
            dims: [ \(r.channels), \(r.height), \(r.width) ]
          }
        ]
        output [
          {
            name: "\(ONNXExporter.outputName)"
            data_type: TYPE_FP32
            dims: [ \(model.labels.count) ]
            label_filename: "labels.txt"
          }
        ]
        dynamic_batching {
          max_queue_delay_microseconds: 1000
        }
        parameters {
          key: "fit"
          value: { string_value: "\(model.fit)" }
        }

        """
    }
}
