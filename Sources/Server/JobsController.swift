import Foundation
import Hummingbird
import JobService
import Search
import Tensors

/// `/v1/jobs`: create (202, queued for the runner), list, show, cancel and delete jobs, and read
/// a job's trials and report.
struct JobsController: APIController {
    let store: any JobStore
    let runner: JobRunner
    let predictions: PredictionService
    let jobsDirectory: URL
    /// `serve --max-budget`: a larger requested budget is lowered to it.
    let maxBudgetSeconds: Double?
    /// `serve --precision`, resolved: the arithmetic of the jobs created here.
    let precision: Precision
    let redaction: PathRedaction

    static let routes: [Route<Self>] = [
        Route(.post, "/v1/jobs") { jobs, request, _ in try await jobs.create(request) },
        Route(.get, "/v1/jobs") { jobs, _, _ in try jobs.list() },
        Route(.get, "/v1/jobs/{id}") { jobs, _, context in try jobs.show(context.id()) },
        Route(.delete, "/v1/jobs/{id}") { jobs, _, context in try jobs.delete(context.id()) },
        Route(.post, "/v1/jobs/{id}/cancel") { jobs, _, context in try jobs.cancel(context.id()) },
        Route(.get, "/v1/jobs/{id}/trials") { jobs, _, context in try jobs.trials(context.id()) },
        Route(.get, "/v1/jobs/{id}/report") { jobs, _, context in try jobs.report(context.id(), html: false) },
        Route(.get, "/v1/jobs/{id}/report.html") { jobs, _, context in try jobs.report(context.id(), html: true) },
    ]

    /// `record` as a `Job` resource.
    func answer(_ record: JobRecord, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let version = try record.datasetID.flatMap { try store.dataset($0) }?.version
        return try .json(JSONBody.records(JobResource(record, datasetVersion: version), redaction: redaction), status: status, headers: headers)
    }

    func show(_ id: String) throws -> Response {
        try answer(store.requireJob(id))
    }

    func list() throws -> Response {
        let records = try store.jobs()
        var versions: [String: Int] = [:]
        for id in Set(records.compactMap(\.datasetID)) { versions[id] = try store.dataset(id)?.version }
        let jobs = records.map { JobResource($0, datasetVersion: $0.datasetID.flatMap { versions[$0] }) }
        return try .json(JSONBody.records(JobList(jobs: jobs), redaction: redaction))
    }

    /// `POST /v1/jobs`: any Content-Type (so `curl -d '{…}'` works); every field is checked before the
    /// dataset is looked up, and a budget above `maxBudgetSeconds` is lowered to it.
    /// - Throws: 400 for a malformed request, 404 for an unknown dataset, 409 for a failed one.
    func create(_ request: Request) async throws -> Response {
        let body = try await request.collectBody(limit: 1 << 20, what: "the job request")
        let parsed = try JobRequest.parse(body)
        let datasetID = parsed.datasetID
        let dataset = try store.requireDataset(datasetID)
        if dataset.state == .failed {
            throw APIError.conflict("dataset '\(datasetID)' failed to import (\(dataset.failureReason ?? "see GET /v1/datasets/\(datasetID)")): upload it again")
        }
        let budget = Budget(seconds: min(parsed.budgetSeconds, maxBudgetSeconds ?? .infinity))
        var record = JobRecord(id: JobRecord.newID(), manifest: dataset.manifest, budgetSeconds: budget.seconds, seed: UInt64(parsed.seed ?? 0))
        record.datasetID = datasetID
        if parsed.testTimeAugmentation == false { record.testTimeAugmentation = false }
        var settings = JobSettings()
        settings.maximumEnsembleMembers = parsed.ensembleMembers
        settings.precision = precision
        record.settings = settings
        try store.insertJob(record)
        runner.wake()
        return try answer(record, status: .accepted, headers: [.location: "/v1/jobs/\(record.id)"])
    }

    /// 202 with the job as it now is: a queued job is cancelled at once, a running one stops between batches.
    func cancel(_ id: String) throws -> Response {
        _ = try store.requireJob(id)
        try runner.cancel(id)
        return try answer(store.requireJob(id), status: .accepted)
    }

    /// 204; the job's folder (model, report, logs) goes with it. 409 while it runs.
    func delete(_ id: String) throws -> Response {
        _ = try store.requireJob(id)
        try store.deleteJob(id, withFolderIn: jobsDirectory)
        predictions.evict(id)
        return Response(status: .noContent)
    }

    func trials(_ id: String) throws -> Response {
        _ = try store.requireJob(id)
        return try .json(JSONBody.records(TrialList(jobID: id, trials: store.trials(jobID: id)), redaction: nil))
    }

    /// The evaluation report's bytes as the job wrote them (JSON, or the HTML page); 409 until the job succeeded.
    func report(_ id: String, html: Bool) throws -> Response {
        let record = try store.requireJob(id)
        let folder = JobFolder(jobsDirectory: jobsDirectory, id: id)
        let name = (html ? folder.reportHTMLURL : folder.reportURL).lastPathComponent
        guard record.state == .succeeded, let data = try store.readArtifact(jobID: id, name: name) else {
            throw APIError.conflict("job '\(id)' has no report (state: \(record.state.rawValue)\(record.failureReason.map { ", \($0)" } ?? "")); "
                + "the report is written when the job succeeds")
        }
        return Response(status: .ok, headers: [.contentType: html ? "text/html; charset=utf-8" : "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
