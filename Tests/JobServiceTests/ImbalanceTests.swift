import Foundation
import ImageIO
import JobService
import Search
import Testing
import TestSupport

/// Issue 19: on a 700:1 clip-art collection (no partition column) a 5-minute job served a model
/// below the majority-class baseline. These jobs reproduce it on a small synthetic set of the same
/// shape: one class of hundreds of images, several of at most 3, mixed sizes, no partition column.
/// Heavy: run in release.
@Suite(.serialized) struct ImbalanceTests {
    static let root = processScratchDirectory(prefix: "autovision-imbalance-tests-")

    /// Images per class: `big` 420, `medium` 60, `small` 12, and four classes of 3 or 2 (210:1).
    static let classSizes: [(label: String, count: Int)] = [
        ("big", 420), ("medium", 60), ("small", 12), ("rare1", 3), ("rare2", 3), ("rare3", 3), ("rare4", 2),
    ]

    /// A manifest of `path,label` rows (no partition column) over PNGs of three sizes. Each class is
    /// a colour with noise and a bar whose position depends on the class: easy to learn, so a model
    /// below the majority baseline is the loss's or the selection's fault, not the data's.
    static func manifest() throws -> URL {
        let folder = root.appendingPathComponent("imbalanced")
        let manifest = folder.appendingPathComponent("manifest.csv")
        if FileManager.default.fileExists(atPath: manifest.path) { return manifest }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        var generator = SplitMix64(seed: 19)
        var rows: [String] = []
        let sizes = [(16, 16), (20, 16), (24, 24)]
        for (k, (label, count)) in classSizes.enumerated() {
            let colour: [Int] = [(k * 97) % 256, (k * 53 + 80) % 256, (k * 151 + 30) % 256]
            for i in 0..<count {
                let (width, height) = sizes[(i + k) % sizes.count]
                var pixels = [UInt8](repeating: 0, count: width * height * 3)
                for y in 0..<height {
                    for x in 0..<width {
                        let bar = (x * 7 / width) == k
                        for c in 0..<3 {
                            let base = bar ? 255 - colour[c] : colour[c]
                            let noise = Int(generator.next() % 41) - 20
                            pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, base + noise)))
                        }
                    }
                }
                let path = "images/\(label)_\(i).png"
                try Data(try PNGEncoder.encode(Image(width: width, height: height, channels: 3, pixels: pixels)))
                    .write(to: folder.appendingPathComponent(path))
                rows.append("\(path),\(label)")
            }
        }
        try (rows.joined(separator: "\n") + "\n").write(to: manifest, atomically: true, encoding: .utf8)
        return manifest
    }

    /// Accuracy of always answering the most frequent class of `support` (examples per class).
    static func baselineScore(_ support: [Int]) -> Double {
        Double(support.max() ?? 0) / Double(max(1, support.reduce(0, +)))
    }

    /// The issue's job: a search, then a final training, on an extreme imbalance. The served model
    /// must beat answering the largest class on TEST. (On c4f700f this job passed: at this budget
    /// every seed trial landed on one rung, where accuracy decides; the rung fault is pinned by
    /// `BaselineSelectionTests` with the issue's numbers.)
    @Test func aSearchJobOnAnExtremeImbalanceBeatsTheMajorityBaseline() throws {
        // 60 s, 40 % of it for the search: the suite runs in parallel with other heavy tests, and at
        // 40 s (25 %) a loaded machine spent the search's share on the calibration alone.
        var options = TrainingJobOptions(manifest: try Self.manifest(), budget: Budget(seconds: 60))
        options.searchFraction = 0.4
        options.jobsDirectory = Self.root.appendingPathComponent("jobs")
        var messages: [String] = []
        let job = try TrainingJob(options: options, store: InMemoryJobStore(jobsDirectory: options.jobsDirectory)) { event in
            if case let .message(text) = event { messages.append(text) }
        }
        let report = try #require(try job.run())
        let baseline = Self.baselineScore(report.test!.perClass.map(\.support))
        let trials = try job.folder.readSearchLog().map { "\($0.id) r\($0.rung) \(String(format: "%.4f", $0.validationScore)) \($0.architecture)" }
        print("imbalance search job: TEST \(report.test!.accuracy), majority baseline \(baseline), "
            + "VALIDATION \(report.model?.validationScore ?? -1); trials:\n  " + trials.joined(separator: "\n  ")
            + "\nlog:\n  " + messages.joined(separator: "\n  "))
        #expect(report.test!.accuracy > baseline, "TEST \(report.test!.accuracy) against the majority baseline \(baseline); \(messages)")
    }

    /// A candidate with label smoothing and class weighting (what the search turned on for an
    /// imbalanced TRAIN) trained alone: the loss itself must not send every prediction to a rare class.
    /// On c4f700f (PyTorch's per-component weighting) it scored 17.4 % TEST and 9.8 % VALIDATION in
    /// 30 s against an 82.6 % TEST majority-class baseline (0.0 % in 15 s); the loaded machine of a
    /// parallel test run needs the 45 s to reach more than a few epochs.
    @Test func aBalancedSmoothedCandidateBeatsTheMajorityBaseline() throws {
        let space = SearchSpace(inputShape: [3, 16, 16], classes: Self.classSizes.count, imbalanced: true)
        var candidate = space.startingArchitectures()[0]  // vgg-bn: label smoothing 0.1
        candidate.classWeighting = true
        candidate.labelSmoothing = 0.1
        var options = TrainingJobOptions(manifest: try Self.manifest(), budget: Budget(seconds: 45))
        options.jobsDirectory = Self.root.appendingPathComponent("jobs")
        options.fixedCandidate = GivenCandidate(candidate: candidate)
        var log: [String] = []
        let job = try TrainingJob(options: options, store: InMemoryJobStore(jobsDirectory: options.jobsDirectory)) { event in
            switch event {
            case let .message(text): log.append(text)
            case let .epoch(epoch):
                log.append(String(format: "epoch %d: train loss %.3f, train accuracy %.3f, VALIDATION %.3f", epoch.epoch, epoch.trainLoss,
                                  epoch.trainAccuracy, epoch.validationScore))
            default: break
            }
        }
        let report = try #require(try job.run())
        let baseline = Self.baselineScore(report.test!.perClass.map(\.support))
        print("imbalance balanced+smoothed candidate: TEST \(report.test!.accuracy), majority baseline \(baseline), "
            + "VALIDATION \(report.model?.validationScore ?? -1)\n  " + log.joined(separator: "\n  "))
        #expect(report.test!.accuracy > baseline, "TEST \(report.test!.accuracy) against the majority baseline \(baseline)")
    }
}
