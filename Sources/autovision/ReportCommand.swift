import ArgumentParser
import Evaluation
import Foundation
import JobService

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Show a job's evaluation report (terminal summary, JSON or self-contained HTML).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, html }

    @Argument(help: "The job ID (autovision train prints it).") var jobID: String
    @Option(help: "text, json or html.") var format: Format = .text
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?

    func run() throws {
        let folder = JobFolder(jobsDirectory: URL(fileURLWithPath: jobsDir), id: jobID)
        let (record, data, html) = try store.map(reportInStore) ?? reportInFolder(folder)
        guard let data else {
            Console.log("error: job \(jobID) has no report (state: \(record.state.rawValue)\(record.failureReason.map { ", \($0)" } ?? ""))")
            throw ExitCode.failure
        }
        switch format {
        case .json:
            let report = try EvaluationReport.decode(from: data)
            print(String(decoding: try report.jsonData(pretty: false), as: UTF8.self))
        case .html:
            print(String(decoding: html() ?? Data(), as: UTF8.self))
        case .text:
            print(try EvaluationReport.decode(from: data).terminalSummary(), terminator: "")
        }
    }

    /// The job's record, its `report.json` when written, and a reader of its `report.html`.
    typealias Report = (record: JobRecord, json: Data?, html: () -> Data?)

    private func reportInFolder(_ folder: JobFolder) throws -> Report {
        guard folder.exists else { throw JobError.notFound(jobID) }
        return (try folder.readRecord(), FileManager.default.contents(atPath: folder.reportURL.path),
                { FileManager.default.contents(atPath: folder.reportHTMLURL.path) })
    }

    private func reportInStore(_ url: String) throws -> Report {
        let store = try StoreLocation.open(url, jobsDirectory: URL(fileURLWithPath: jobsDir))
        guard let record = try store.job(jobID) else { throw JobError.notFound(jobID) }
        return (record, try store.readArtifact(jobID: jobID, name: "report.json"), { try? store.readArtifact(jobID: jobID, name: "report.html") })
    }
}
