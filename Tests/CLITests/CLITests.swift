import Foundation
import Testing

/// Runs the built `autovision` executable, as a user does.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var lastLineJSON: [String: Any]? {
        guard let line = stdout.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object
    }
}

func autovision(_ arguments: String...) throws -> CommandResult { try autovisionArguments(arguments) }

func autovisionArguments(_ arguments: [String]) throws -> CommandResult {
    // The test bundle sits next to the products in .build/<configuration>/.
    var products = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: products.appendingPathComponent("autovision").path), products.path != "/" {
        products.deleteLastPathComponent()
    }
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("autovision")
        if FileManager.default.fileExists(atPath: candidate.path) { products = candidate.deletingLastPathComponent() }
    }
    let process = Process()
    process.executableURL = products.appendingPathComponent("autovision")
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

let intake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/intake").path

@Suite struct CLITests {
    @Test func importPrintsATableAndOneJSONLineLast() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("cli-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let result = try autovision("import", "\(intake)/03-corrupt-truncated-empty/manifest.csv", "--json", "--cache-dir", cache)
        #expect(result.status == 0)
        #expect(result.stdout.contains("TRAIN  VALIDATION  TEST"))
        let json = try #require(result.lastLineJSON)
        #expect(json["rows"] as? Int == 11)
        #expect(json["imported"] as? Int == 6)
        let rejected = try #require(json["rejected"] as? [[String: Any]])
        #expect(rejected.map { $0["line"] as? Int } == [4, 5, 9, 10, 11])
        #expect(rejected.allSatisfy { $0["path"] is String && $0["reason"] is String })
        let partitions = try #require(json["partitions"] as? [String: [String: Int]])
        #expect(partitions["TRAIN"] == ["cat": 3, "dog": 3])
        #expect(json["multi_label"] as? Bool == false)
        #expect(json["warnings"] is [String])
        #expect(!result.stdout.contains("decoding images"), "progress goes to stderr")
    }

    /// `bench workers` end to end on a small scale: two worker counts on one SQLite store, each worker
    /// finishing simulated trials of the same search.
    @Test func benchWorkersMeasuresTrialsPerHourAndTheScaling() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-cli-bench-workers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try autovision("bench", "workers", "--store", "sqlite:\(folder.path)/store/autovision.sqlite", "--workers", "1,2",
                                    "--seconds", "3", "--trial-seconds", "0.5", "--scratch", folder.path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for count in ["1 worker:", "2 workers:"] {
            let line = try #require(lines.first { $0.hasPrefix(count) }, "\(result.stdout)")
            let trials = Int(line.split(separator: " ")[2]) ?? 0
            #expect(trials >= 2, "trials were finished in the window: \(line)")
            #expect(line.contains("trials/h; store and search overhead "))
        }
        #expect(lines.last?.hasPrefix("  N = 2: ") == true, "the scaling last: \(result.stdout)")
    }

    @Test func nothingImportedExitsOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = folder.appendingPathComponent("m.csv")
        try Data("TRAIN,missing.png,cat\n".utf8).write(to: manifest)
        let result = try autovision("import", manifest.path, "--json", "--no-cache")
        #expect(result.status == 1)
        #expect(result.lastLineJSON?["imported"] as? Int == 0)
        #expect(result.stderr.contains("nothing imported"))
    }

    @Test func nonUTF8ManifestIsRefusedWithTheLine() throws {
        let result = try autovision("import", "\(intake)/10-csv-quoting-unicode-labels/manifest_cp1252.csv", "--json", "--no-cache")
        #expect(result.status == 1)
        #expect(result.stderr.contains("line 2"))
        #expect((result.lastLineJSON?["error"] as? String)?.contains("UTF-8") == true)
    }

    @Test func decodeShowsOrientationAndWritesWhatTheServiceSees() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("seen-\(UUID()).png").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try autovision("decode", "\(intake)/02-exif-orientation/images/orient6_red_top.jpg", "--output", output, "--json")
        #expect(result.status == 0)
        let json = try #require(result.lastLineJSON)
        #expect(json["format"] as? String == "jpeg")
        #expect(json["width"] as? Int == 24 && json["height"] as? Int == 40)
        #expect(json["orientation"] as? Int == 6)
        let again = try autovision("decode", output, "--json")
        #expect(again.lastLineJSON?["width"] as? Int == 24 && again.lastLineJSON?["orientation"] as? Int == 1)
    }

    @Test func aCandidateFileThatHoldsNoCandidateIsRefusedClearly() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cli-candidate-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"id": 3, "validation_accuracy": 0.9}"#.utf8).write(to: file)
        let manifest = "\(intake)/03-corrupt-truncated-empty/manifest.csv"
        let garbage = try autovision("train", manifest, "--candidate", file.path)
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("--candidate \(file.path) holds no candidate"), "\(garbage.stderr)")
        let missing = try autovision("train", manifest, "--candidate", file.path + ".missing")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read the --candidate file"), "\(missing.stderr)")
        let both = try autovision("train", manifest, "--candidate", file.path, "--architecture", "small")
        #expect(both.status != 0)
        #expect(both.stderr.contains("give --architecture or --candidate, not both"), "\(both.stderr)")
        let old = try autovision("train", manifest, "--candidate", file.path, "--baseline", "small")
        #expect(old.stderr.contains("give --architecture or --candidate, not both"), "--baseline is still taken, as an alias: \(old.stderr)")
    }

    @Test func exportNamesTheFormatsAndAMissingJob() throws {
        let format = try autovision("export", "JOB", "--format", "tflite")
        #expect(format.stderr.contains("unknown export format 'tflite' (formats: onnx, triton, coreml)"), "\(format.stderr)")
        let jobs = FileManager.default.temporaryDirectory.appendingPathComponent("cli-export-\(UUID())")
        defer { try? FileManager.default.removeItem(at: jobs) }
        let missing = try autovision("export", "20990101-000000-abcdef", "--jobs-dir", jobs.path)
        #expect(missing.status != 0 && !missing.stderr.contains("Fatal error"), "\(missing.stderr)")
    }

    @Test func decodeOfABadFileFailsClearly() throws {
        let result = try autovision("decode", "\(intake)/03-corrupt-truncated-empty/images/dog_html_error_page.jpg")
        #expect(result.status == 1)
        #expect(result.stderr.contains("HTML"))
    }

    /// Out-of-range option values get a one-line error and exit 64 (EX_USAGE), as values
    /// swift-argument-parser cannot parse do, before any work starts.
    @Test(arguments: [
        ["train", "m.csv", "--working-size", "0"], ["train", "m.csv", "--working-size", "100000"],
        ["train", "m.csv", "--budget", "inf"], ["train", "m.csv", "--budget", "1e300"], ["train", "m.csv", "--budget", "-5m"],
        ["train", "m.csv", "--budget", "0"], ["train", "m.csv", "--budget", "nan"], ["train", "m.csv", "--budget", "99999999h"],
        ["train", "m.csv", "--score-threshold", "2"], ["train", "m.csv", "--score-threshold", "nan"],
        ["train", "m.csv", "--max-pixels", "0"], ["import", "m.csv", "--max-pixels", "-1"], ["import", "m.csv", "--map", "s3://x"],
        ["predict", "JOB", "a.png", "--top-k", "0"], ["predict", "JOB", "--manifest", "m.csv", "--map", "s3://x"], ["decode", "a.png", "--max-pixels", "0"],
        ["serve", "--max-image-bytes", "0"], ["serve", "--port", "70000"], ["serve", "--host", ""],
        ["datasets", "prepare", "fashion-mnist", "--per-class", "0"], ["bench", "predict", "JOB", "a.png", "--seconds", "inf"],
        ["export", "JOB", "--format", "tflite"],
    ])
    func outOfRangeOptionsExitWithUsage(_ arguments: [String]) throws {
        let result = try autovisionArguments(arguments)
        #expect(result.status == 64, "\(arguments): exit \(result.status), \(result.stderr)")
        let error = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(error.hasPrefix("Error: "), "\(arguments): \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"), "\(arguments)")
    }
}
