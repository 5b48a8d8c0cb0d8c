import Dispatch
import Foundation
import ImageIO
import JobService
import Metrics
import PredictionAPI

/// Loads models on first use and answers predictions, micro-batching concurrent requests.
///
/// Each model has one serial queue that owns its `Predictor` (whose network reuses buffers).
/// Decoding runs on the caller's side, in parallel; the forward passes are queued, and whatever
/// requests are waiting when the queue gets to them run as one batch: no timer, so a lone
/// request is not delayed, and a busy model gets larger batches.
final class PredictionService: @unchecked Sendable {
    let store: any JobStore
    let jobsDirectory: URL
    let maxPixels: Int
    let maxBatchSize: Int
    private let lock = NSLock()
    private var handles: [String: ModelHandle] = [:]
    /// Images per forward pass (`autovision_prediction_batch_size`, a histogram).
    private let batchSizes: Recorder

    init(store: any JobStore, jobsDirectory: URL, maxPixels: Int, maxBatchSize: Int, metricsFactory: any MetricsFactory) {
        self.store = store
        self.jobsDirectory = jobsDirectory
        self.maxPixels = maxPixels
        self.maxBatchSize = maxBatchSize
        batchSizes = Recorder(label: ServiceMetrics.predictionBatchSize, factory: metricsFactory)
    }

    /// The model of job `id`: 404 when there is no such job, 409 while it has no model.
    func handle(for id: String) throws -> ModelHandle {
        lock.lock()
        if let handle = handles[id] {
            lock.unlock()
            return handle
        }
        lock.unlock()
        guard let record = try store.model(id) else {
            if let job = try store.job(id) {
                let state = job.state == .failed ? "failed: \(job.failureReason ?? "see GET /v1/jobs/\(id)")" : job.state.rawValue
                throw APIError.conflict("job '\(id)' has no model yet (state: \(state)); a model is served once its job succeeded")
            }
            throw APIError.notFound("no model '\(id)': a model's ID is its job's ID (list them with GET /v1/models)")
        }
        let predictor = try Predictor(store: store, jobID: id)
        predictor.maxPixels = maxPixels
        let batchSizes = self.batchSizes
        let handle = ModelHandle(id: id, record: record, predictor: predictor, maxBatchSize: maxBatchSize) { size in
            batchSizes.record(size)
        }
        lock.lock()
        defer { lock.unlock() }
        if let existing = handles[id] { return existing }
        handles[id] = handle
        return handle
    }

    func evict(_ id: String) {
        lock.lock()
        handles[id] = nil
        lock.unlock()
    }
}

/// One loaded model and its batching queue.
final class ModelHandle: @unchecked Sendable {
    let id: String
    let record: ModelRecord
    private let predictor: Predictor
    private let maxBatchSize: Int
    private let onBatch: @Sendable (Int) -> Void
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var pending: [(inputs: [[Float]], continuation: CheckedContinuation<[[Prediction]], Never>)] = []
    private var draining = false

    init(id: String, record: ModelRecord, predictor: Predictor, maxBatchSize: Int, onBatch: @escaping @Sendable (Int) -> Void) {
        self.id = id
        self.record = record
        self.predictor = predictor
        self.maxBatchSize = max(1, maxBatchSize)
        self.onBatch = onBatch
        queue = DispatchQueue(label: "autovision.model.\(id)")
    }

    var labels: [String] { record.labels }
    /// Whether the model scores each label on its own (`Predictor.multiLabel`).
    var multiLabel: Bool { predictor.multiLabel }

    /// The labels of one image's predictions that reach their threshold (`Predictor.predictedLabels`):
    /// `threshold` for every label when given, else the model's own — a multi-label model's per-label
    /// thresholds, or `PredictionRequest.defaultThreshold` for a single-label model.
    func kept(_ predictions: [Prediction], threshold: Double?) -> [Prediction] {
        guard multiLabel else { return predictions.filter { $0.score >= threshold ?? PredictionRequest.defaultThreshold } }
        return predictor.predictedLabels(predictions, threshold: threshold)
    }

    /// Decodes images exactly as the import did (off the event loop); throws the first image's error.
    func inputs(for images: [[UInt8]]) async throws -> [[Float]] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try images.map { try self.predictor.input(for: $0) })
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Class probabilities for each input, sorted by score; batched with concurrent callers. More
    /// inputs than `maxBatchSize` are split into batches of at most that size, run one after another,
    /// so no request makes a forward pass (and its buffers) larger than the server was configured for.
    func predict(_ inputs: [[Float]]) async -> [[Prediction]] {
        guard !inputs.isEmpty else { return [] }
        if inputs.count > maxBatchSize {
            var results: [[Prediction]] = []
            for start in stride(from: 0, to: inputs.count, by: maxBatchSize) {
                results += await predict(Array(inputs[start..<min(start + maxBatchSize, inputs.count)]))
            }
            return results
        }
        return await withCheckedContinuation { continuation in
            lock.lock()
            pending.append((inputs, continuation))
            let start = !draining
            draining = true
            lock.unlock()
            if start { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            lock.lock()
            guard !pending.isEmpty else {
                draining = false
                lock.unlock()
                return
            }
            var taken: [(inputs: [[Float]], continuation: CheckedContinuation<[[Prediction]], Never>)] = []
            var count = 0
            // Every entry holds at most maxBatchSize inputs (see predict), so no batch exceeds it.
            while let next = pending.first, taken.isEmpty || count + next.inputs.count <= maxBatchSize {
                taken.append(pending.removeFirst())
                count += next.inputs.count
            }
            lock.unlock()
            let results = predictor.predict(inputs: taken.flatMap(\.inputs))
            onBatch(count)
            var offset = 0
            for item in taken {
                item.continuation.resume(returning: Array(results[offset..<offset + item.inputs.count]))
                offset += item.inputs.count
            }
        }
    }
}

extension ModelHandle {
    /// The model inputs of `images`, as every prediction route decodes them; an image that does not decode
    /// is named by `names` (one per image) in its `APIError` (see `APIError.imageError`).
    func decodedInputs(_ images: [[UInt8]], names: [String]) async throws -> [[Float]] {
        for (index, bytes) in images.enumerated() where bytes.isEmpty {
            throw APIError.imageError(.emptyFile, what: names[index])
        }
        do {
            return try await inputs(for: images)
        } catch let error as ImageDecodingError {
            // Name the failing image when there are several.
            if images.count > 1 {
                for (index, bytes) in images.enumerated() {
                    do { _ = try await inputs(for: [bytes]) } catch let error as ImageDecodingError {
                        throw APIError.imageError(error, what: names[index])
                    }
                }
            }
            throw APIError.imageError(error, what: names[0])
        }
    }
}
