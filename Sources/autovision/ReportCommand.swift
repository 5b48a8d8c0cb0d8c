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

    func run() throws {
        let folder = JobFolder(jobsDirectory: URL(fileURLWithPath: jobsDir), id: jobID)
        guard folder.exists else { throw JobError.notFound(jobID) }
        guard let data = FileManager.default.contents(atPath: folder.reportURL.path) else {
            let record = try folder.readRecord()
            Console.log("error: job \(jobID) has no report (state: \(record.state.rawValue)\(record.failureReason.map { ", \($0)" } ?? ""))")
            throw ExitCode.failure
        }
        switch format {
        case .json:
            let report = try EvaluationReport.decode(from: data)
            print(String(decoding: try report.jsonData(pretty: false), as: UTF8.self))
        case .html:
            print(String(decoding: FileManager.default.contents(atPath: folder.reportHTMLURL.path) ?? Data(), as: UTF8.self))
        case .text:
            print(try EvaluationReport.decode(from: data).terminalSummary(), terminator: "")
        }
    }
}
