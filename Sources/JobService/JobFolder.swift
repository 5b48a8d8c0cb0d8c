import Datasets
import Foundation
import Search

/// The files of one job, `JOBS_DIR/JOB_ID/`:
/// `job.json` (state), `import.json` (import summary and manifest hash), `plan.json` (the job's
/// plan), `search.jsonl` (one line per finished trial, appended), `model.ckpt` (the final model), `report.json`, `report.html`.
/// Every file but the append-only log is written to a temporary name and renamed, so a killed
/// process never leaves a half-written file under the real name.
public struct JobFolder: Sendable {
    public let url: URL
    public var id: String { url.lastPathComponent }

    public init(jobsDirectory: URL, id: String) {
        url = jobsDirectory.appendingPathComponent(id, isDirectory: true)
    }

    public var recordURL: URL { url.appendingPathComponent("job.json") }
    public var importURL: URL { url.appendingPathComponent("import.json") }
    public var searchLogURL: URL { url.appendingPathComponent("search.jsonl") }
    /// The final model: the one `predict` and the server use.
    public var modelURL: URL { url.appendingPathComponent(Self.modelName) }
    /// The search's best trial (its weights seed the final training); replaced, never piled up.
    public var bestTrialURL: URL { url.appendingPathComponent(Self.bestTrialName) }
    /// Artifact names (`JobStore.writeArtifact`): the served model, the search's best trial, and the
    /// final training's network before its evaluation.
    public static let modelName = "model.ckpt", bestTrialName = "best-trial.ckpt", finalTrainingName = "final.ckpt"
    /// The job's decoded dataset (`DecodedDataset`), kept by the import unit for the later ones.
    public static let datasetName = "dataset.avcache"
    /// Every TEST example's scores (`TestScores`), written with the report.
    public static let testScoresName = "test_scores.json"
    /// The job's plan, made before its first trial (`JobPlan`).
    public var planURL: URL { url.appendingPathComponent("plan.json") }
    public var reportURL: URL { url.appendingPathComponent("report.json") }
    public var reportHTMLURL: URL { url.appendingPathComponent("report.html") }

    public func create() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: recordURL.path) }

    public func readRecord() throws -> JobRecord {
        guard let data = FileManager.default.contents(atPath: recordURL.path) else { throw JobError.notFound(id) }
        return try Self.decoder.decode(JobRecord.self, from: data)
    }

    public func write(_ record: JobRecord) throws { try writeAtomically(try Self.encoder.encode(record), to: recordURL) }

    /// Writes `data` to `destination` under a temporary name, then renames it (`FileWriting.write`).
    /// - Throws: Foundation's error when the bytes cannot be written; `JobError.io` when the rename fails.
    public func writeAtomically(_ data: Data, to destination: URL) throws {
        do {
            try FileWriting.write(data, to: destination)
        } catch let failure as FileWriting.RenameFailure {
            throw JobError.io(failure.description)
        }
    }

    public func writePlan(_ plan: JobPlan) throws {
        try writeAtomically(try Self.encoder.encode(plan), to: planURL)
    }

    /// The kept plan, or `nil` when there is none.
    /// - Throws: `JobError.failed` when the file is there but unreadable or its values impossible.
    public func readPlan() throws -> JobPlan? {
        guard let data = FileManager.default.contents(atPath: planURL.path) else { return nil }
        guard let plan = try? Self.decoder.decode(JobPlan.self, from: data) else {
            throw JobError.failed("\(planURL.lastPathComponent) of job \(id) is unreadable; the job cannot resume")
        }
        if let problem = plan.problem { throw JobError.failed("\(planURL.lastPathComponent) of job \(id): \(problem)") }
        return plan
    }

    /// Appends one JSON line to the search log.
    public func appendSearchLog(_ line: some Encodable) throws {
        var data = try Self.lineEncoder.encode(line)
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: searchLogURL.path) {
            _ = FileManager.default.createFile(atPath: searchLogURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: searchLogURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }

    /// The trials of the search log, in order. A last line without its newline (the process was
    /// killed while appending it) was never written and is left out.
    /// - Throws: `JobError.failed` naming the first line that is not a trial record, or a log whose
    ///   trial IDs are not 1, 2, 3, …
    public func readSearchLog() throws -> [Search.TrialRecord] {
        guard let data = FileManager.default.contents(atPath: searchLogURL.path) else { return [] }
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or a line cut off while it was appended
        var trials: [Search.TrialRecord] = []
        for (index, line) in lines.enumerated() {
            let trial: Search.TrialRecord
            do { trial = try JSONDecoder().decode(Search.TrialRecord.self, from: Data(line)) } catch {
                throw JobError.failed("\(searchLogURL.lastPathComponent) line \(index + 1) of job \(id) is not a trial record; the job cannot resume")
            }
            if let problem = trial.problem { throw JobError.failed("\(searchLogURL.lastPathComponent) line \(index + 1) of job \(id): \(problem)") }
            guard trial.id == index + 1 else {
                throw JobError.failed("\(searchLogURL.lastPathComponent) line \(index + 1) of job \(id) holds trial \(trial.id); the job cannot resume")
            }
            trials.append(trial)
        }
        return trials
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
    static let lineEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Every job folder under `jobsDirectory`, newest first.
    public static func all(in jobsDirectory: URL) -> [JobFolder] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobsDirectory.path)) ?? []
        return names.sorted(by: >).map { JobFolder(jobsDirectory: jobsDirectory, id: $0) }.filter(\.exists)
    }
}
