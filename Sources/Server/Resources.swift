import Foundation
import JobService
import Search

// The resources the API answers with, as openapi.json's schemas name them. A resource is its stored
// record's own encoding (an absent optional is an absent key, never `null`) with the fields the
// HTTP layer adds; render them with `JSONBody.records`.

/// `Dataset`: the stored record and `upload`, the path of the manifest as uploaded.
struct DatasetResource: Encodable {
    var record: DatasetRecord
    var upload: String

    init(_ record: DatasetRecord, jobsDirectory: URL) {
        self.record = record
        upload = DatasetUpload.folder(jobsDirectory: jobsDirectory, id: record.id).appendingPathComponent("upload.csv").path
    }

    enum CodingKeys: String, CodingKey { case upload }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(upload, forKey: .upload)
    }
}

/// `GET /v1/datasets`: newest first.
struct DatasetList: Encodable {
    var datasets: [DatasetResource]
}

/// `Job`: the stored record, without the folders a command-line job was allowed to read
/// (`settings.import_options`: they stay on the server) but whether it is multi-label (`multi_label`,
/// for a job started from a manifest; a job created over HTTP is its dataset's kind), with
/// `eta_seconds` and, once the job succeeded, the links to its model and report.
struct JobResource: Encodable {
    var record: JobRecord
    /// Seconds of budget left while the job runs, 0 once finished; absent while queued.
    var etaSeconds: Double?
    var model: String?
    var report: String?
    var multiLabel: Bool?
    /// The version of the dataset the job trains on (`Dataset.version`), when that dataset still exists.
    var datasetVersion: Int?

    init(_ record: JobRecord, datasetVersion: Int? = nil) {
        self.record = record
        self.datasetVersion = datasetVersion
        multiLabel = record.settings?.importOptions?.multiLabel
        self.record.settings?.importOptions = nil
        let running = !record.state.isFinished && record.state != .queued
        etaSeconds = running ? max(0, record.budgetSeconds - record.usedSeconds) : (record.state == .queued ? nil : 0)
        if record.state == .succeeded {
            model = "/v1/models/\(record.id)"
            report = "/v1/jobs/\(record.id)/report"
        }
    }

    enum CodingKeys: String, CodingKey {
        case etaSeconds = "eta_seconds", model, report, multiLabel = "multi_label", datasetVersion = "dataset_version"
    }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(etaSeconds, forKey: .etaSeconds)
        try container.encodeIfPresent(model, forKey: .model)
        try container.encodeIfPresent(report, forKey: .report)
        try container.encodeIfPresent(multiLabel, forKey: .multiLabel)
        try container.encodeIfPresent(datasetVersion, forKey: .datasetVersion)
    }
}

/// `GET /v1/jobs`: newest first.
struct JobList: Encodable {
    var jobs: [JobResource]
}

/// `GET /v1/jobs/{id}/trials`: the search's trials as the store records them.
struct TrialList: Encodable {
    var jobID: String
    var trials: [Search.TrialRecord]

    enum CodingKeys: String, CodingKey { case jobID = "job_id", trials }
}

/// `Model`: the stored record, its input size as one object, and the link to its job.
struct ModelResource: Encodable {
    struct InputSize: Encodable {
        var width: Int
        var height: Int
        var channels: Int
    }

    var record: ModelRecord
    var inputSize: InputSize
    var job: String

    init(_ record: ModelRecord) {
        self.record = record
        inputSize = InputSize(width: record.width, height: record.height, channels: record.channels)
        job = "/v1/jobs/\(record.id)"
    }

    enum CodingKeys: String, CodingKey { case inputSize = "input_size", job }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(inputSize, forKey: .inputSize)
        try container.encode(job, forKey: .job)
    }
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    var models: [ModelResource]
}
