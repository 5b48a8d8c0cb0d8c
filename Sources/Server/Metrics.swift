import Dispatch
import Foundation
import Hummingbird
import JobService
import Metrics
import Prometheus
import Synchronization

/// The service's metrics: one Prometheus registry per application, filled through swift-metrics
/// and emitted by `GET /metrics` (text format 0.0.4).
///
/// Code records through swift-metrics' types (`Counter`, `Timer`, `Gauge`, `Recorder`) with this
/// `factory`, never through the global `MetricsSystem`: each application (several in one test
/// process) reads its own series, and the job runner and the prediction service take the factory
/// as a parameter, so the command-line tool, which has no server, keeps swift-metrics' no-op default.
///
/// Series (label values are bounded: route templates, a fixed set of methods, job states):
/// - `autovision_http_requests_total{method,route,status}` and
///   `autovision_http_request_duration_seconds{method,route,status}` (histogram), from `MetricsMiddleware`;
/// - `autovision_jobs{state}`, counted from the store at each scrape;
/// - `autovision_prediction_batch_size` (histogram), from `PredictionService`;
/// - `autovision_training_images_per_second` and `autovision_training_images_total`, from the job runner.
final class ServiceMetrics: Sendable {
    static let requests = "autovision_http_requests_total"
    static let requestDuration = "autovision_http_request_duration_seconds"
    static let jobs = "autovision_jobs"
    static let predictionBatchSize = "autovision_prediction_batch_size"

    let registry = PrometheusCollectorRegistry()
    let factory: any MetricsFactory

    init() {
        var help = [
            Self.requests: "HTTP requests by method, route template and status.",
            Self.requestDuration: "HTTP request latency in seconds by method, route template and status.",
            Self.jobs: "Jobs in the store by state (counted at each scrape).",
            Self.predictionBatchSize: "Images per forward pass of a served model (concurrent prediction requests are micro-batched).",
        ]
        help.merge(TrainingMetrics.help) { first, _ in first }
        factory = PrometheusHelpFactory(
            registry: registry, help: help,
            durationBuckets: [
                Self.requestDuration: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
                    .map { Duration.nanoseconds(Int64($0 * 1e9)) },
            ],
            valueBuckets: [Self.predictionBatchSize: [1, 2, 4, 8, 16, 32, 64, 128, 256]])
    }

    /// Methods are a closed set here, so a client inventing methods cannot grow the series.
    private static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private struct RequestSeries: Hashable {
        var method: String, route: String, status: Int
    }

    /// Each request series' counter and timer, made on its first request: making them looks the
    /// series up in the registry under its lock, a cost on every prediction otherwise.
    private let requestHandles = Mutex<[RequestSeries: (Metrics.Counter, Metrics.Timer)]>([:])

    func recordRequest(method: String, route: String, status: Int, nanoseconds: Int64) {
        let series = RequestSeries(method: Self.methods.contains(method) ? method : "other", route: route, status: status)
        let (counter, timer) = requestHandles.withLock { handles in
            if let made = handles[series] { return made }
            let dimensions = [("method", series.method), ("route", route), ("status", String(status))]
            let made = (Metrics.Counter(label: Self.requests, dimensions: dimensions, factory: factory),
                        Metrics.Timer(label: Self.requestDuration, dimensions: dimensions, factory: factory))
            handles[series] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text, after setting the job gauges from `jobs` (`nil`: the store could not be read, keep the last values).
    func render(jobs: [JobRecord]?) -> ByteBuffer {
        if let jobs {
            for state in JobState.allCases {
                Metrics.Gauge(label: Self.jobs, dimensions: [("state", state.rawValue)], factory: factory)
                    .record(jobs.count(where: { $0.state == state }))
            }
        }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}

/// swift-metrics → Prometheus, as swift-prometheus' `PrometheusMetricsFactory`, plus what that one
/// cannot set: each series' HELP text, and buckets per series for recorders as well as timers.
///
/// A label missing from `help` gets no HELP line; from the bucket tables, swift-prometheus' default buckets.
struct PrometheusHelpFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let help: [String: String]
    let durationBuckets: [String: [Duration]]
    let valueBuckets: [String: [Double]]
    private static let defaults = PrometheusMetricsFactory()

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = valueBuckets[label] ?? Self.defaults.defaultValueHistogramBuckets
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = durationBuckets[label] ?? Self.defaults.defaultDurationHistogramBuckets
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

/// Records every request's route template, status and latency (after problem+json mapping, so
/// errors count by their status). Paths no route matches count as route `unmatched`, never by their path.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await next(request, context)
            record(request, context: context, status: response.status, since: start)
            return response
        } catch {
            // Rethrown, not rendered here: `ProblemMiddleware` renders every error (redacted, logged, in the route's shape).
            record(request, context: context, status: APIError.from(error).status, since: start)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: HTTPResponse.Status, since start: UInt64) {
        let nanoseconds = Int64(DispatchTime.now().uptimeNanoseconds - start)
        // A matched route's template (`/v1/jobs/{id}`); Hummingbird names the others `NotFound`.
        let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: Int(status.code), nanoseconds: nanoseconds)
    }
}
