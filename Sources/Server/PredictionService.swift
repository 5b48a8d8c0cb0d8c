import Dispatch
import Foundation
import ImageIO
import JobService
import Metrics
import PredictionAPI
import Tensors

/// Loads models on first use and answers predictions, micro-batching concurrent requests.
///
/// Each model is loaded as `modelInstances` `Predictor`s (a network reuses its buffers, so one runs
/// one forward pass at a time), as Triton's instance groups do. Decoding runs on the caller's side, in
/// parallel; the forward passes are queued, and an idle instance takes whatever requests are waiting
/// as one batch: no timer, so a lone request is not delayed, and a busy model gets larger batches.
/// With several instances each forward pass runs on one core (`Threading.serially`), so the cores stay
/// busy through a pass's serial parts, where one instance split across the cores leaves them idle.
final class PredictionService: @unchecked Sendable {
    let store: any JobStore
    let jobsDirectory: URL
    let maxPixels: Int
    let maxBatchSize: Int
    let modelInstances: Int
    private let lock = NSLock()
    private var handles: [String: ModelHandle] = [:]
    /// Images per forward pass (`autovision_prediction_batch_size`, a histogram).
    private let batchSizes: Recorder

    init(store: any JobStore, jobsDirectory: URL, maxPixels: Int, maxBatchSize: Int, modelInstances: Int, metricsFactory: any MetricsFactory) {
        self.store = store
        self.jobsDirectory = jobsDirectory
        self.maxPixels = maxPixels
        self.maxBatchSize = maxBatchSize
        self.modelInstances = max(1, modelInstances)
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
        let record = try requireModel(id)
        let predictors = try (0..<modelInstances).map { _ in
            let predictor = try Predictor(store: store, jobID: id)
            predictor.maxPixels = maxPixels
            return predictor
        }
        let batchSizes = self.batchSizes
        let handle = ModelHandle(id: id, record: record, predictors: predictors, maxBatchSize: maxBatchSize) { size in
            batchSizes.record(size)
        }
        lock.lock()
        defer { lock.unlock() }
        if let existing = handles[id] { return existing }
        handles[id] = handle
        return handle
    }

    /// The stored model of job `id`, without loading it: 404 when there is no such job, 409 while the job
    /// has no model (with its state).
    func requireModel(_ id: String) throws -> ModelRecord {
        if let record = try store.model(id) { return record }
        if let job = try store.job(id) {
            let state = job.state == .failed ? "failed: \(job.failureReason ?? "see GET /v1/jobs/\(id)")" : job.state.rawValue
            throw APIError.conflict("job '\(id)' has no model yet (state: \(state)); a model is served once its job succeeded")
        }
        throw APIError.notFound("no model '\(id)': a model's ID is its job's ID (list them with GET /v1/models)")
    }

    func evict(_ id: String) {
        lock.lock()
        handles[id] = nil
        lock.unlock()
    }
}

/// One loaded model: its instances and the queue of requests waiting for one.
final class ModelHandle: @unchecked Sendable {
    let id: String
    let record: ModelRecord
    /// The model's instances; `predictors[0]` also answers what does not touch a network.
    private let predictors: [Predictor]
    private var predictor: Predictor { predictors[0] }
    private let maxBatchSize: Int
    private let onBatch: @Sendable (Int) -> Void
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var pending: [(inputs: [[Float]], continuation: CheckedContinuation<[[Prediction]], Never>)] = []
    /// Indices into `predictors` of the instances not in a forward pass.
    private var idle: [Int]
    /// Inputs in `pending`.
    private var pendingInputs = 0
    /// Pixels (in all of a request's images, each a PNG) that `inputs(for:)` decodes without leaving the task.
    static let inlineDecodePixels = 256 * 256

    /// - Parameter predictors: one or more instances of the same model.
    init(id: String, record: ModelRecord, predictors: [Predictor], maxBatchSize: Int, onBatch: @escaping @Sendable (Int) -> Void) {
        precondition(!predictors.isEmpty, "a model needs an instance")
        self.id = id
        self.record = record
        self.predictors = predictors
        self.maxBatchSize = max(1, maxBatchSize)
        self.onBatch = onBatch
        idle = Array(predictors.indices.reversed())
        queue = DispatchQueue(label: "autovision.model.\(id)", attributes: .concurrent)
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

    /// Decodes images exactly as the import did; throws the first image's error. PNGs of up to
    /// `inlineDecodePixels` in all decode on the calling task, other images on a global queue.
    func inputs(for images: [[UInt8]]) async throws -> [[Float]] {
        // A small image decodes in less time than the two thread hops off the task and back (a
        // 28×28 PNG: +4 % requests/s, docs/benchmarks.md); a large one, or a small file declaring
        // a large image, must not hold one of the few threads of Swift's cooperative pool.
        let limit = Self.inlineDecodePixels
        if images.reduce(0, { min($0 + (ImageDecoder.declaredPNGPixels($1) ?? limit + 1), limit + 1) }) <= limit {
            return try images.map { try predictor.input(for: $0) }
        }
        return try await withCheckedThrowingContinuation { continuation in
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
            pendingInputs += inputs.count
            let instance = idleInstanceToStart()
            lock.unlock()
            if let instance { queue.async { self.drain(on: instance) } }
        }
    }

    /// An idle instance to start on the waiting requests (taken from `idle`), or nil. With every
    /// instance idle one starts at once, so a lone request is not delayed; while one is busy, another
    /// starts only once a quarter batch waits: started on each request, it would run batches of one
    /// (measured: 1.35 images a batch, and 25 % fewer requests a second than one instance).
    /// Call with `lock` held.
    private func idleInstanceToStart() -> Int? {
        guard !pending.isEmpty, !idle.isEmpty else { return nil }
        guard idle.count == predictors.count || pendingInputs >= max(1, maxBatchSize / 4) else { return nil }
        return idle.popLast()
    }

    /// Runs the waiting requests on instance `instance`, a batch at a time, until none is waiting.
    private func drain(on instance: Int) {
        while true {
            lock.lock()
            guard !pending.isEmpty else {
                idle.append(instance)
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
            pendingInputs -= count
            let another = idleInstanceToStart()
            lock.unlock()
            if let another { queue.async { self.drain(on: another) } }
            let batch = taken.flatMap(\.inputs)
            // One instance uses every core; several run one core each (`Threading.serially`).
            let results = predictors.count == 1 ? predictor.predict(inputs: batch)
                : Threading.serially { predictors[instance].predict(inputs: batch) }
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
