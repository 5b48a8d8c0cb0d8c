import Datasets
import Foundation
import JobService
import NN
@testable import Search
import Testing

/// Files the service reads back (a model's checkpoint, a search log) are checked field by field:
/// a damaged or inconsistent one fails that job or model with the reason, never the process.
@Suite struct StoredFileValidationTests {
    static func folder() throws -> (JobFolder, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-stored-files-\(UUID().uuidString)")
        let folder = JobFolder(jobsDirectory: root, id: "job")
        try folder.create()
        return (folder, root)
    }

    static func writeModel(_ folder: JobFolder, spec: ArchitectureSpec, labels: [String], resolution: String) throws {
        let checkpoint = Checkpoint(network: try spec.build(seed: 1), architecture: spec, labelNames: labels,
                                    metadata: ["working_resolution": resolution])
        try folder.writeAtomically(try checkpoint.encoded(), to: folder.modelURL)
    }

    static let tiny = ArchitectureSpec(name: "tiny", inputShape: [1, 8, 8], classes: 2, layers: [.flatten, .dense(units: 2)])
    static let resolution8 = #"{"channels":1,"fit":"letterbox","height":8,"resized":false,"width":8}"#

    @Test func aModelWhoseLabelsDoNotMatchItsOutputsIsRefused() throws {
        let (folder, root) = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeModel(folder, spec: Self.tiny, labels: ["a", "b", "c"], resolution: Self.resolution8)
        #expect { try Predictor(folder: folder) } throws: { "\($0)".contains("3 label names for 2 outputs") }
    }

    @Test func aModelWhoseWorkingResolutionIsNotItsInputIsRefused() throws {
        let (folder, root) = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeModel(folder, spec: Self.tiny, labels: ["a", "b"],
                            resolution: #"{"channels":3,"fit":"letterbox","height":28,"resized":true,"width":28}"#)
        #expect { try Predictor(folder: folder) } throws: { "\($0)".contains("is not the network's input") }
    }

    /// Sizes far beyond any real network are refused from the description, before anything is allocated
    /// or multiplied (a dense layer of 2^40 units; a convolution of 2^20 filters; an input of 2^40 pixels).
    @Test func anArchitectureBeyondAnySizeIsRefusedNotAllocated() {
        let cases = [
            ArchitectureSpec(name: "wide", inputShape: [1, 8, 8], classes: 2, layers: [.flatten, .dense(units: 1 << 40), .dense(units: 2)]),
            ArchitectureSpec(name: "filters", inputShape: [1, 8, 8], classes: 2, layers: [.conv2d(filters: 1 << 20, kernelSize: 3), .flatten, .dense(units: 2)]),
            ArchitectureSpec(name: "input", inputShape: [1, 1 << 20, 1 << 20], classes: 2, layers: [.flatten, .dense(units: 2)]),
            ArchitectureSpec(name: "kernel", inputShape: [3, 8, 8], classes: 2, layers: [.conv2d(filters: 60_000, kernelSize: 60_001), .flatten, .dense(units: 2)]),
        ]
        for spec in cases {
            #expect(throws: NNError.self, "\(spec.name)") { try spec.validate() }
            #expect(throws: NNError.self, "\(spec.name)") { _ = try spec.build(seed: 0) }
        }
    }

    @Test func aDamagedSearchLogFailsTheResumeWithItsLine() throws {
        let (folder, root) = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false, trainImages: 1000)
        let trial = TrialRecord(id: 1, rung: 0, candidate: space.startingArchitectures()[0], architecture: "seed", parameters: 10, flops: 100, epochs: 1,
                                trainImages: 100, validationScore: 0.5, validationImages: 50, seconds: 2, endedAt: 2,
                                stopReason: .completed, error: nil)
        try folder.appendSearchLog(trial)
        #expect(try folder.readSearchLog().map(\.id) == [1])
        // A line cut off by a kill while it was appended was never written.
        let handle = try FileHandle(forWritingTo: folder.searchLogURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"id":2,"rung":0,"cand"#.utf8))
        try handle.close()
        #expect(try folder.readSearchLog().map(\.id) == [1])
        // A complete line that is not a trial, or a trial with impossible values, fails with its line.
        try Data((String(decoding: try Data(contentsOf: folder.searchLogURL), as: UTF8.self) + "\n").utf8).write(to: folder.searchLogURL)
        #expect { try folder.readSearchLog() } throws: { "\($0)".contains("line 2") }
        var impossible = trial
        impossible.id = 2
        impossible.validationScore = 7
        try Data().write(to: folder.searchLogURL)
        try folder.appendSearchLog(trial)
        try folder.appendSearchLog(impossible)
        #expect { try folder.readSearchLog() } throws: { "\($0)".contains("line 2") && "\($0)".contains("validation accuracy 7") }
        // A candidate out of every gene's range.
        var huge = trial.candidate
        huge.architecture.blocksPerStage = 1_000_000_000
        #expect(space.problem(with: huge)?.contains("blocksPerStage") == true)
    }
}
