import Foundation
import Hummingbird
import JobService

/// `GET /healthz`, `/readyz`, `/metrics` and `/openapi.json`: the service's own state and description.
struct HealthController: APIController {
    let store: any JobStore
    let runner: JobRunner
    /// Whether this server runs jobs: one that does is ready only while its runner runs.
    let runsJobs: Bool
    let metrics: ServiceMetrics

    static let routes: [Route<Self>] = [
        Route(.get, "/healthz") { _, _, _ in try .json(JSONBody.values(Health(status: "ok"))) },
        Route(.get, "/readyz") { health, _, _ in try health.ready() },
        Route(.get, "/metrics") { health, _, _ in health.prometheusText() },
        Route(.get, "/openapi.json") { _, _, _ in try Self.openAPIDocument() },
    ]

    /// `GET /healthz`: the process answers.
    struct Health: Encodable {
        var status: String
    }

    /// `GET /readyz`: how many jobs run, never which (it needs no token, and a job's ID is the key to its model and report).
    struct Readiness: Encodable {
        var status = "ready"
        var runningJobs: Int

        enum CodingKeys: String, CodingKey { case status, runningJobs = "running_jobs" }
    }

    /// 503 while the store cannot be read or, on a server that runs jobs, the runner is not running.
    func ready() throws -> Response {
        try requireReady()
        return try .json(JSONBody.values(Readiness(runningJobs: runner.runningJobs.count)))
    }

    /// Throws the 503 of `ready()` while the server is not ready (also `GET /v2/health/ready`).
    func requireReady() throws {
        guard (try? store.jobs()) != nil else { throw APIError(.serviceUnavailable, "the job store cannot be read") }
        guard runner.isRunning || !runsJobs else {
            throw APIError(.serviceUnavailable, "the job runner is not running (starting or shutting down)")
        }
    }

    /// Prometheus text format 0.0.4, the job gauges counted from the store now.
    func prometheusText() -> Response {
        let text = metrics.render(jobs: try? store.jobs())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: text))
    }

    /// The OpenAPI document this build was made with, as its bytes.
    static func openAPIDocument() throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = FileManager.default.contents(atPath: url.path)
        else { throw APIError.notFound("the OpenAPI document is missing from this build") }
        return .json(data)
    }
}
