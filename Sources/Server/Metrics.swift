import Foundation
import Hummingbird
import JobService

/// Request counts and latency histograms by route and status, in Prometheus' text format.
///
/// Kept in-process and dependency-free for now; swift-metrics with swift-prometheus is the
/// intended backend once the service exports more than these series.
final class RequestMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private struct Series { var counts: [Int]; var sum: Double; var total: Int }
    private let lock = NSLock()
    private var series: [String: Series] = [:]  // `method="…",route="…",status="…"`

    func record(method: String, route: String, status: Int, seconds: Double) {
        let key = "method=\"\(method)\",route=\"\(route)\",status=\"\(status)\""
        lock.lock()
        defer { lock.unlock() }
        var entry = series[key] ?? Series(counts: [Int](repeating: 0, count: Self.buckets.count), sum: 0, total: 0)
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound { entry.counts[index] += 1 }
        entry.sum += seconds
        entry.total += 1
        series[key] = entry
    }

    func render(jobs: [JobRecord], batchSizes: [Int: Int]) -> String {
        var out = "# HELP autovision_http_requests_total HTTP requests by route and status.\n# TYPE autovision_http_requests_total counter\n"
        lock.lock()
        let snapshot = series.sorted { $0.key < $1.key }
        lock.unlock()
        for (key, entry) in snapshot { out += "autovision_http_requests_total{\(key)} \(entry.total)\n" }
        out += "# HELP autovision_http_request_duration_seconds HTTP request latency.\n# TYPE autovision_http_request_duration_seconds histogram\n"
        for (key, entry) in snapshot {
            for (index, bound) in Self.buckets.enumerated() {
                out += "autovision_http_request_duration_seconds_bucket{\(key),le=\"\(bound)\"} \(entry.counts[index])\n"
            }
            out += "autovision_http_request_duration_seconds_bucket{\(key),le=\"+Inf\"} \(entry.total)\n"
            out += "autovision_http_request_duration_seconds_sum{\(key)} \(entry.sum)\n"
            out += "autovision_http_request_duration_seconds_count{\(key)} \(entry.total)\n"
        }
        out += "# HELP autovision_jobs Jobs in the store by state.\n# TYPE autovision_jobs gauge\n"
        for state in JobState.allCases { out += "autovision_jobs{state=\"\(state.rawValue)\"} \(jobs.filter { $0.state == state }.count)\n" }
        out += "# HELP autovision_prediction_batches_total Forward passes by batch size (micro-batching).\n# TYPE autovision_prediction_batches_total counter\n"
        for (size, count) in batchSizes.sorted(by: { $0.key < $1.key }) { out += "autovision_prediction_batches_total{size=\"\(size)\"} \(count)\n" }
        return out
    }
}

/// Records every request's route, status and latency (after problem+json mapping, so errors count by their status).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = APIError.from(error).response()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: Int(response.status.code), seconds: seconds)
        return response
    }
}
