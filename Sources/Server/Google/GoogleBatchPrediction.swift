import Foundation
import Hummingbird
import JobService

/// Batch prediction over images named by `gs://` URIs (`serve --map`), for Vertex AI's
/// `batchPredictionJobs` and AutoML's `models/ID:batchPredict`. A batch is a resource of kind
/// `batch_prediction_job`; it runs in the server, one image at a time through the model's batching
/// queue, and writes one JSON line per image under the output prefix. A batch the server was
/// stopped in is failed when the server starts again (`failInterrupted`).
final class GoogleBatchPredictions: Sendable {
    let store: any JobStore
    let predictions: PredictionService
    let bucketMap: [String: URL]
    let maxImageBytes: Int

    static let kind = "batch_prediction_job"
    /// The largest file of instances a batch reads (a line per image).
    static let maxInstancesFileBytes = 64 << 20

    /// Which API started a batch: it decides the input and output formats.
    enum API: String, Codable { case vertex, automl }

    /// A batch as stored.
    struct Batch: Codable {
        var id: String
        var api: API
        var displayName: String
        var modelID: String
        var inputURIs: [String]
        var outputPrefix: String
        var state: String
        var outputDirectory: String?
        var failure: String?
        var succeeded = 0
        var failed = 0
        var createTime: Date
        var updateTime: Date
    }

    init(store: any JobStore, predictions: PredictionService, bucketMap: [String: URL], maxImageBytes: Int) {
        self.store = store
        self.predictions = predictions
        self.bucketMap = bucketMap
        self.maxImageBytes = maxImageBytes
    }

    func batch(_ id: String) throws -> Batch? {
        try store.document(Batch.self, kind: Self.kind, id: id)
    }

    func batches() throws -> [Batch] {
        try store.documents(Batch.self, kind: Self.kind)
    }

    func save(_ batch: Batch) throws { try store.saveResource(kind: Self.kind, id: batch.id, JSONBody.values(batch)) }

    /// Marks the batches a stopped server left running as failed.
    func failInterrupted() {
        for var batch in (try? batches()) ?? [] where batch.state == "JOB_STATE_RUNNING" || batch.state == "JOB_STATE_PENDING" {
            batch.state = "JOB_STATE_FAILED"
            batch.failure = "the server stopped during the batch: start it again"
            batch.updateTime = Date()
            try? save(batch)
        }
    }

    /// Checks the model and the files, stores the batch (running) and starts it.
    /// - Throws: 404/409 for the model (`PredictionService.requireModel`), 400 for URIs outside the mapped buckets.
    func start(api: API, displayName: String, modelID: String, inputURIs: [String], outputPrefix: String) throws -> Batch {
        _ = try predictions.requireModel(modelID)
        guard !inputURIs.isEmpty else { throw APIError.badRequest("no input file: name one gs:// file of instances") }
        for uri in inputURIs { _ = try localPath(uri) }
        _ = try localPath(outputPrefix)
        let now = Date()
        let batch = Batch(id: newResourceID(prefix: "bp"), api: api, displayName: displayName, modelID: modelID, inputURIs: inputURIs,
                          outputPrefix: outputPrefix, state: "JOB_STATE_RUNNING", createTime: now, updateTime: now)
        try save(batch)
        Task.detached { await self.run(batch) }
        return batch
    }

    /// The local path of `gs://BUCKET/OBJECT` (`BucketMap.resolve`).
    func localPath(_ uri: String) throws -> URL { try BucketMap(folders: bucketMap).resolve(uri).url }

    private func run(_ started: Batch) async {
        var batch = started
        do {
            let handle = try predictions.handle(for: batch.modelID)
            let stamp = ISO8601DateFormatter().string(from: batch.createTime).replacingOccurrences(of: ":", with: "")
            let folderURI = batch.outputPrefix.trimmingSuffix("/") + "/prediction-\(batch.modelID)-\(stamp)"
            let folder = try localPath(folderURI)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var lines: [String] = []
            for instance in try instances(of: batch) {
                let line = await predictionLine(instance, api: batch.api, handle: handle)
                if line["error"] == nil { batch.succeeded += 1 } else { batch.failed += 1 }
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            }
            let name = batch.api == .vertex ? "predictions_00001.jsonl" : "image_classification_1.jsonl"
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent(name), options: .atomic)
            batch.outputDirectory = folderURI
            batch.state = "JOB_STATE_SUCCEEDED"
        } catch {
            batch.state = "JOB_STATE_FAILED"
            batch.failure = APIError.from(error).detail
        }
        batch.updateTime = Date()
        try? save(batch)
    }

    /// The output line of one instance: its prediction, or the error that stopped it.
    private func predictionLine(_ instance: Instance, api: API, handle: ModelHandle) async -> [String: Any] {
        do {
            let inputs = try await handle.decodedInputs([try readImage(instance.uri)], names: [instance.uri])
            return Self.line(api: api, instance: instance, predictions: await handle.predict(inputs)[0], labels: handle.labels)
        } catch {
            return Self.errorLine(api: api, instance: instance, message: APIError.from(error).detail)
        }
    }

    struct Instance {
        var uri: String
        /// The JSON line as given (Vertex), echoed in the output.
        var object: [String: Any]?
    }

    /// Vertex: JSON lines `{"content": "gs://…", "mimeType": …}`; AutoML: CSV lines whose first field is the image's URI.
    func instances(of batch: Batch) throws -> [Instance] {
        try batch.inputURIs.flatMap { uri -> [Instance] in
            let bytes = try BucketMap(folders: bucketMap).contents(of: uri, limit: Self.maxInstancesFileBytes)
            guard let text = String(validating: bytes, as: UTF8.self) else { throw APIError.badRequest("\(uri) is not UTF-8 text") }
            return text.split(whereSeparator: \.isNewline).compactMap { line -> Instance? in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty else { return nil }
                if batch.api == .automl { return Instance(uri: String(trimmed.split(separator: ",").first ?? ""), object: nil) }
                let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any]
                return Instance(uri: object?["content"] as? String ?? trimmed, object: object ?? ["content": trimmed])
            }
        }
    }

    func readImage(_ uri: String) throws -> [UInt8] { try BucketMap(folders: bucketMap).contents(of: uri, limit: maxImageBytes) }

    /// Vertex: `{"instance": …, "prediction": {"ids", "displayNames", "confidences"}}`; AutoML: `{"ID": uri, "annotations": [...]}`.
    static func line(api: API, instance: Instance, predictions: [Prediction], labels: [String]) -> [String: Any] {
        let ids = predictions.map { String(labels.firstIndex(of: $0.label) ?? 0) }
        switch api {
        case .vertex:
            return ["instance": instance.object ?? ["content": instance.uri],
                    "prediction": ["ids": ids, "displayNames": predictions.map(\.label), "confidences": predictions.map(\.score)]]
        case .automl:
            return ["ID": instance.uri, "annotations": zip(ids, predictions).map { id, prediction in
                ["annotation_spec_id": id, "display_name": prediction.label, "classification": ["score": prediction.score]] as [String: Any]
            }]
        }
    }

    static func errorLine(api: API, instance: Instance, message: String) -> [String: Any] {
        switch api {
        case .vertex: ["instance": instance.object ?? ["content": instance.uri], "error": ["code": 3, "message": message]]
        case .automl: ["ID": instance.uri, "error": ["code": 3, "message": message]]
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
