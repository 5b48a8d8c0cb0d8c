import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
import Search
@testable import Server
import Testing

/// The exact bytes of the JSON resources, pinned when the routes moved into controllers (issue 20):
/// field names, absent keys, numbers (in stored records, a 17-digit one without exponent:
/// `0.000015263620298355818`, a shorter one with: `1.5e-05`), dates, key order (labels in
/// Foundation's numeric, caseless order: `class2` before `class10`) and the jobs directory shown as
/// `JOBS_DIR`. Clients parse these bodies; a refactor must not change them.
@Suite(.serialized) struct ResponseBytesTests {
    /// 2026-01-01T00:00:00Z; record `n` is created `n` minutes later (lists are newest first).
    static func date(_ minutes: Int) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + Double(minutes) * 60) }

    /// Two datasets, four jobs (one per kind of state: queued, running, succeeded, failed), one
    /// model and one trial, with the values whose rendering could drift: tiny and inexact numbers,
    /// labels that sort differently by code point, strings naming the jobs directory.
    static func populate(_ store: some JobStore, jobs: URL) throws -> String {
        var ready = DatasetRecord(id: "ds-a", root: "/srv/data/fm", manifest: "\(jobs.path)/datasets/ds-a/manifest.csv", multiLabel: false,
                                  name: "Fashion \"10\" café", now: date(0))
        ready.state = .ready
        ready.images = 11
        ready.labels = ["Bag", "class10", "class2", "café"]
        ready.summary = try JSONDecoder().decode(ImportSummary.self, from: Data(#"""
            {"manifest":"\#(jobs.path)/datasets/ds-a/manifest.csv","manifest_sha256":"0f1e","multi_label":false,"rows":12,"imported":11,
             "rejected":[{"line":4,"path":"\#(jobs.path)/datasets/ds-a/files/x.png","reason":"not an image","kind":"undecodable image"}],
             "rejected_by_reason":{"undecodable image":1,"Unknown set":0},"images":11,"unlabeled":0,"auto_assigned":2,
             "labels":["Bag","class10","class2","café"],"partitions":{"TRAIN":{"class2":3,"class10":4,"Bag":1,"café":2,"_x":1},"TEST":{}},
             "working":{"width":28,"height":28,"channels":1,"resized":false,"fit":"letterbox"},"warnings":["a/b"],"notices":[],
             "import_seconds":0.000015,"cache":"\#(jobs.path)/cache/0f1e.bin","cache_reused":true}
            """#.utf8))
        ready.updatedAt = date(1)
        try store.insertDataset(ready)
        var failed = DatasetRecord(id: "ds-b", root: "\(jobs.path)/datasets/ds-b/files", manifest: "\(jobs.path)/datasets/ds-b/manifest.csv",
                                   multiLabel: true, now: date(2))
        failed.state = .failed
        failed.failureReason = "cannot read \(jobs.path)/datasets/ds-b/files/x.png"
        try store.insertDataset(failed)

        var queued = JobRecord(id: "job-queued", manifest: "\(jobs.path)/datasets/ds-a/manifest.csv", budgetSeconds: 600, seed: 7, now: date(3))
        queued.datasetID = "ds-a"
        queued.testTimeAugmentation = false
        var members = JobSettings()
        members.maximumEnsembleMembers = 2
        queued.settings = members
        try store.insertJob(queued)

        var running = JobRecord(id: "job-running", manifest: "/srv/data/fm/manifest.csv", budgetSeconds: 35, seed: UInt64(Int64.max), now: date(4))
        running.state = .searching
        running.progress = 1.5263620298355818e-05
        running.usedSeconds = 12.5
        running.importSeconds = 0.25
        running.trialsDone = 3
        running.bestValidationScore = 0.1 + 0.2
        var settings = JobSettings()
        settings.searchFraction = 0.5
        settings.startingArchitecture = "small"
        settings.importOptions = JobSettings.ImportSettings(ImportOptions())  // the CLI's folders stay on the server
        running.settings = settings
        try store.insertJob(running)

        var succeeded = JobRecord(id: "job-succeeded", manifest: "/srv/data/fm/manifest.csv", budgetSeconds: 90, seed: 0, now: date(5))
        succeeded.state = .succeeded
        succeeded.manifestSHA256 = "0f1e"
        succeeded.progress = 1
        succeeded.usedSeconds = 88.25
        succeeded.trialsDone = 1
        succeeded.bestValidationScore = 1.0 / 3
        succeeded.testAccuracy = 0.8125
        succeeded.stopReason = "budget reached"
        succeeded.resumes = 1
        succeeded.warning = "no better than the majority class"
        try store.insertJob(succeeded)
        try store.completeJob(succeeded, model: ModelRecord(id: "job-succeeded", labels: ["Bag", "class10", "class2", "café"], width: 28, height: 28,
                                                            channels: 1, architecture: "2x1 plain w32 | dense 128", parameters: 123_456,
                                                            testAccuracy: 0.8125, createdAt: date(6)))
        let candidate = try String(decoding: JSONEncoder().encode(SearchSpace(inputShape: [1, 28, 28], classes: 4, imbalanced: false).startingArchitectures()[2]),
                                   as: UTF8.self)
        let trial = #"{"id":1,"rung":0,"candidate":\#(candidate),"architecture":"2x1 plain w32","parameters":123456,"flops":654321,"epochs":2,"#
            + #""train_images":40,"validation_accuracy":1.5263620298355818e-05,"validation_images":8,"seconds":1.5,"ended_at":2.25,"stop_reason":"completed"}"#
        try store.addTrial(jobID: "job-succeeded", JSONDecoder().decode(Search.TrialRecord.self, from: Data(trial.utf8)))

        var failedJob = JobRecord(id: "job-failed", manifest: "/srv/data/fm/manifest.csv", budgetSeconds: 60, seed: 1, now: date(7))
        failedJob.state = .failed
        failedJob.failureReason = "cannot write \(jobs.path)/job-failed/model.ckpt"
        failedJob.stopReason = "failed"
        try store.insertJob(failedJob)
        return trial
    }

    static let dataset = #"{"created_at":"2026-01-01T00:00:00Z","id":"ds-a","images":11,"labels":["Bag","class10","class2","café"],"#
        + #""manifest":"JOBS_DIR/datasets/ds-a/manifest.csv","multi_label":false,"name":"Fashion \"10\" café","root":"/srv/data/fm","#
        + #""state":"ready","summary":{"auto_assigned":2,"cache":"JOBS_DIR/cache/0f1e.bin","cache_reused":true,"images":11,"#
        + #""import_seconds":1.5e-05,"imported":11,"labels":["Bag","class10","class2","café"],"manifest":"JOBS_DIR/datasets/ds-a/manifest.csv","#
        + #""manifest_sha256":"0f1e","multi_label":false,"notices":[],"partitions":{"TEST":{},"TRAIN":{"_x":1,"Bag":1,"café":2,"class2":3,"class10":4}},"#
        + #""rejected":[{"kind":"undecodable image","line":4,"path":"JOBS_DIR/datasets/ds-a/files/x.png","reason":"not an image"}],"#
        + #""rejected_by_reason":{"undecodable image":1,"Unknown set":0},"rows":12,"unlabeled":0,"warnings":["a/b"],"#
        + #""working":{"channels":1,"fit":"letterbox","height":28,"resized":false,"width":28}},"updated_at":"2026-01-01T00:01:00Z","#
        + #""upload":"JOBS_DIR/datasets/ds-a/upload.csv","version":1}"#
    static let failedDataset = #"{"created_at":"2026-01-01T00:02:00Z","failure_reason":"cannot read JOBS_DIR/datasets/ds-b/files/x.png","#
        + #""id":"ds-b","manifest":"JOBS_DIR/datasets/ds-b/manifest.csv","multi_label":true,"root":"JOBS_DIR/datasets/ds-b/files","#
        + #""state":"failed","updated_at":"2026-01-01T00:02:00Z","upload":"JOBS_DIR/datasets/ds-b/upload.csv","version":1}"#
    static let queuedJob = #"{"budget_seconds":600,"created_at":"2026-01-01T00:03:00Z","dataset_id":"ds-a","dataset_version":1,"id":"job-queued","#
        + #""manifest":"JOBS_DIR/datasets/ds-a/manifest.csv","progress":0,"seed":7,"settings":{"maximum_ensemble_members":2},"state":"queued","#
        + #""test_time_augmentation":false,"trials_done":0,"updated_at":"2026-01-01T00:03:00Z","used_seconds":0}"#
    static let cancelledJob = #"{"budget_seconds":600,"created_at":"2026-01-01T00:03:00Z","dataset_id":"ds-a","dataset_version":1,"eta_seconds":0,"id":"job-queued","#
        + #""manifest":"JOBS_DIR/datasets/ds-a/manifest.csv","progress":0,"seed":7,"settings":{"maximum_ensemble_members":2},"state":"cancelled","#
        + #""stop_reason":"cancelled before it started","test_time_augmentation":false,"trials_done":0,"updated_at":"2026-01-01T00:03:00Z","used_seconds":0}"#
    static let runningJob = #"{"best_validation_accuracy":0.30000000000000004,"budget_seconds":35,"created_at":"2026-01-01T00:04:00Z","#
        + #""eta_seconds":22.5,"id":"job-running","import_seconds":0.25,"manifest":"/srv/data/fm/manifest.csv","multi_label":false,"progress":0.000015263620298355818,"#
        + #""seed":9223372036854775807,"settings":{"baseline":"small","search_fraction":0.5},"state":"searching","trials_done":3,"#
        + #""updated_at":"2026-01-01T00:04:00Z","used_seconds":12.5}"#
    static let succeededJob = #"{"best_validation_accuracy":0.3333333333333333,"budget_seconds":90,"created_at":"2026-01-01T00:05:00Z","#
        + #""eta_seconds":0,"id":"job-succeeded","manifest":"/srv/data/fm/manifest.csv","manifest_sha256":"0f1e","model":"/v1/models/job-succeeded","#
        + #""progress":1,"report":"/v1/jobs/job-succeeded/report","resumes":1,"seed":0,"state":"succeeded","stop_reason":"budget reached","#
        + #""test_accuracy":0.8125,"trials_done":1,"updated_at":"NOW","used_seconds":88.25,"#
        + #""warning":"no better than the majority class"}"#
    static let failedJob = #"{"budget_seconds":60,"created_at":"2026-01-01T00:07:00Z","eta_seconds":0,"#
        + #""failure_reason":"cannot write JOBS_DIR/job-failed/model.ckpt","id":"job-failed","manifest":"/srv/data/fm/manifest.csv","#
        + #""progress":0,"seed":1,"state":"failed","stop_reason":"failed","trials_done":0,"updated_at":"2026-01-01T00:07:00Z","used_seconds":0}"#
    static let model = #"{"architecture":"2x1 plain w32 | dense 128","channels":1,"created_at":"2026-01-01T00:06:00Z","height":28,"#
        + #""id":"job-succeeded","input_size":{"channels":1,"height":28,"width":28},"job":"/v1/jobs/job-succeeded","#
        + #""labels":["Bag","class10","class2","café"],"parameters":123456,"test_accuracy":0.8125,"width":28}"#

    @Test func storedResourcesAreServedByteForByte() async throws {
        let jobs = try Support.folder("bytes-jobs")
        let trial = try Self.populate(try SQLiteJobStore(jobsDirectory: jobs), jobs: jobs)
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            let expected: [(String, String)] = [
                ("/healthz", #"{"status":"ok"}"#),
                ("/readyz", #"{"running_jobs":0,"status":"ready"}"#),
                ("/v1/datasets/ds-a", Self.dataset),
                ("/v1/datasets/ds-b", Self.failedDataset),
                ("/v1/datasets", #"{"datasets":["# + Self.failedDataset + "," + Self.dataset + "]}"),
                ("/v1/jobs/job-queued", Self.queuedJob),
                ("/v1/jobs/job-running", Self.runningJob),
                ("/v1/jobs/job-succeeded", Self.succeededJob),
                ("/v1/jobs/job-failed", Self.failedJob),
                ("/v1/jobs", #"{"jobs":["# + [Self.failedJob, Self.succeededJob, Self.runningJob, Self.queuedJob].joined(separator: ",") + "]}"),
                ("/v1/models/job-succeeded", Self.model),
                ("/v1/models", #"{"models":["# + Self.model + "]}"),
            ]
            for (uri, body) in expected {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .ok, "\(uri)")
                #expect(response.headers[.contentType] == "application/json", "\(uri)")
                #expect(Self.maskingCompletion(String(buffer: response.body)) == body, "\(uri)")
            }

            // A trial is served as stored: the same object as the search-log line it was read from.
            let trials = try await client.execute(uri: "/v1/jobs/job-succeeded/trials", method: .get)
            let text = String(buffer: trials.body)
            #expect(text.hasPrefix(#"{"job_id":"job-succeeded","trials":[{"architecture":"2x1 plain w32","candidate":{"#), "\(text)")
            #expect(text.contains(#""validation_accuracy":0.000015263620298355818,"#), "\(text)")
            let served = try #require((try Support.json(trials)["trials"] as? [Any])?.first as? NSDictionary)
            let stored = try JSONSerialization.jsonObject(with: Data(trial.utf8)) as? NSDictionary
            #expect(served == stored, "\(text)")

            // Cancelling answers the job as it now is (202); only its state and update time changed.
            let cancelled = try await client.execute(uri: "/v1/jobs/job-queued/cancel", method: .post)
            #expect(cancelled.status == .accepted)
            let body = String(buffer: cancelled.body).replacing(/"updated_at":"[^"]*"/, with: #""updated_at":"2026-01-01T00:03:00Z""#)
            #expect(body == Self.cancelledJob, "\(String(buffer: cancelled.body))")
        }
    }

    @Test func createdResourcesAreAnsweredByteForByte() async throws {
        let jobs = try Support.folder("bytes-created-jobs")
        let data = try Support.folder("bytes-created-data")
        var configuration = Support.configuration(jobs: jobs, dataRoots: [data])
        configuration.runJobs = false
        configuration.precision = .bf16  // `auto` would depend on the CPU
        try await buildApplication(configuration: configuration).test(.router) { client in
            let upload = try await client.execute(uri: "/v1/datasets?root=\(data.path)&name=shapes", method: .post, headers: Support.headers("text/csv"),
                                                  body: ByteBuffer(string: "TRAIN,a.png,cat\n"))
            #expect(upload.status == .created)
            let id = try #require(try Support.json(upload)["id"] as? String)
            #expect(upload.headers[.location] == "/v1/datasets/\(id)")
            #expect(Self.masked(String(buffer: upload.body)) == #"{"created_at":"DATE","id":"ID","manifest":"JOBS_DIR/datasets/ID/manifest.csv","#
                + #""multi_label":false,"name":"shapes","root":"\#(data.resolvingSymlinksInPath().path)","state":"importing","updated_at":"DATE","#
                + #""upload":"JOBS_DIR/datasets/ID/upload.csv","version":1}"#, "\(String(buffer: upload.body))")

            let created = try await client.execute(uri: "/v1/jobs", method: .post,
                                                   body: ByteBuffer(string: #"{"dataset_id":"\#(id)","budget":"1h30m","seed":3,"ensemble_members":4}"#))
            #expect(created.status == .accepted)
            let jobID = try #require(try Support.json(created)["id"] as? String)
            #expect(created.headers[.location] == "/v1/jobs/\(jobID)")
            #expect(Self.masked(String(buffer: created.body)) == #"{"budget_seconds":5400,"created_at":"DATE","dataset_id":"ID","dataset_version":1,"id":"ID","#
                + #""manifest":"JOBS_DIR/datasets/ID/manifest.csv","progress":0,"seed":3,"settings":{"maximum_ensemble_members":4,"precision":"bf16"},"#
                + #""state":"queued","trials_done":0,"updated_at":"DATE","used_seconds":0}"#, "\(String(buffer: created.body))")
        }
    }

    /// The three prediction answers, as the dictionaries built before the controllers wrote them:
    /// scores as Swift writes a Double (`1.5263620298355818e-05`), labels' IDs as their index.
    @Test func predictionAnswersAreWrittenByteForByte() throws {
        let labels = ["cat", "dog \"x\"/é", "bird", "zero", "one"]
        // Sorted by score, as a model answers; `Prediction` is built by decoding (its memberwise init is JobService's own).
        let scores = try JSONDecoder().decode([Prediction].self, from: Data(#"""
            [{"label":"one","score":1},{"label":"cat","score":0.999981164932251},{"label":"dog \"x\"/é","score":1.5263620298355818e-05},
             {"label":"bird","score":3.4e-06},{"label":"zero","score":0}]
            """#.utf8))
        let raw = try JSONBody.values(RawPredictions(modelID: "job-1", predictions: scores))
        #expect(String(decoding: raw, as: UTF8.self) == #"{"model_id":"job-1","predictions":[{"label":"one","score":1},"#
            + #"{"label":"cat","score":0.999981164932251},{"label":"dog \"x\"/é","score":1.5263620298355818e-05},"#
            + #"{"label":"bird","score":3.4e-06},{"label":"zero","score":0}]}"#)
        let automl = try JSONBody.values(AutoMLPredictions(Array(scores.prefix(4)), labels: labels))
        #expect(String(decoding: automl, as: UTF8.self) == #"{"payload":[{"annotationSpecId":"4","classification":{"score":1},"displayName":"one"},"#
            + #"{"annotationSpecId":"0","classification":{"score":0.999981164932251},"displayName":"cat"},"#
            + #"{"annotationSpecId":"1","classification":{"score":1.5263620298355818e-05},"displayName":"dog \"x\"/é"},"#
            + #"{"annotationSpecId":"2","classification":{"score":3.4e-06},"displayName":"bird"}]}"#)
        let vertex = try JSONBody.values(VertexPredictions(predictions: [Array(scores.prefix(4)), Array(scores.prefix(4).reversed())].map {
            VertexPredictions.Instance($0, labels: labels)
        }, deployedModelId: "job-1"))
        #expect(String(decoding: vertex, as: UTF8.self) == #"{"deployedModelId":"job-1","predictions":[{"confidences":[1,0.999981164932251,"#
            + #"1.5263620298355818e-05,3.4e-06],"displayNames":["one","cat","dog \"x\"/é","bird"],"ids":["4","0","1","2"]},"#
            + #"{"confidences":[3.4e-06,1.5263620298355818e-05,0.999981164932251,1],"displayNames":["bird","dog \"x\"/é","cat","one"],"#
            + #""ids":["2","1","0","4"]}]}"#)
    }

    /// `buildApplication(configuration:store:)` serves the store it is given, whatever the jobs directory holds.
    @Test func theApplicationServesAnInjectedStore() async throws {
        let store = try SQLiteJobStore(jobsDirectory: try Support.folder("injected-store"))
        _ = try Self.populate(store, jobs: try Support.folder("injected-store"))
        var configuration = Support.configuration(jobs: try Support.folder("injected-jobs"))
        configuration.runJobs = false
        try await buildApplication(configuration: configuration, store: store).test(.router) { client in
            let jobs = try #require(try Support.json(try await client.execute(uri: "/v1/jobs", method: .get))["jobs"] as? [[String: Any]])
            #expect(jobs.compactMap { $0["id"] as? String } == ["job-failed", "job-succeeded", "job-running", "job-queued"])
            let model = try await client.execute(uri: "/v1/models/job-succeeded", method: .get)
            #expect(String(buffer: model.body) == Self.model)
        }
        #expect(try SQLiteJobStore(jobsDirectory: configuration.jobsDirectory).jobs().isEmpty)
    }

    /// `body` with the update time `completeJob` gave the succeeded job (the test's own time) as `NOW`.
    static func maskingCompletion(_ body: String) -> String {
        body.replacing(/"updated_at":"[^"]*","used_seconds":88.25/, with: #""updated_at":"NOW","used_seconds":88.25"#)
    }

    /// `body` with generated IDs as `ID` and dates as `DATE`.
    static func masked(_ body: String) -> String {
        body.replacing(/(ds-)?[0-9]{8}-[0-9]{6}-[0-9a-f]{6}/, with: "ID").replacing(/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/, with: "DATE")
    }
}
