import ArgumentParser
import Datasets
import Foundation

struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "Prepare known datasets as AutoML Vision manifests.",
        subcommands: [Prepare.self])

    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a dataset's images as PNG files plus manifest.csv.",
            discussion: """
            fashion-mnist: reads the IDX files of the Debian package dataset-fashion-mnist and writes
            50,000 TRAIN / 10,000 VALIDATION (seeded, stratified) / 10,000 TEST images.
            fashion-mnist-pairs: a small multi-label set from the same files (import it with --multi-label):
            28x56 images of one or two items of four classes side by side, 400 TRAIN / 100 VALIDATION /
            100 TEST images, or --per-class N: 4N / N / N.
            """)

        @Argument(help: "Dataset name: fashion-mnist or fashion-mnist-pairs.") var name: String
        @Option(help: "Folder to write into.") var output: String = "Datasets/fashion-mnist"
        @Option(help: "Images per class in each partition (a slice for tests and demos).") var perClass: Int?
        @Option(help: "Seed of the TRAIN/VALIDATION split.") var seed: UInt64 = 0
        @Flag(help: "Print a one-line JSON summary last.") var json = false

        func validate() throws {
            guard ["fashion-mnist", "fashion-mnist-pairs"].contains(name) else {
                throw ValidationError("unknown dataset '\(name)' (known: fashion-mnist, fashion-mnist-pairs)")
            }
            if let perClass { try Validate.range(perClass, 1...60_000, "--per-class") }
        }

        func run() throws {
            if name == "fashion-mnist-pairs" {
                let n = perClass ?? 100
                let manifest = try FashionMNISTPairs.write(to: URL(fileURLWithPath: output), counts: [.train: 4 * n, .validation: n, .test: n],
                                                           seed: seed)
                print("Wrote \(manifest.path) (TRAIN \(4 * n), VALIDATION \(n), TEST \(n); multi-label)")
                if json { try Console.printJSON(["manifest": manifest.path] as [String: String]) }
                return
            }
            let result = try FashionMNISTExport.write(
                to: URL(fileURLWithPath: output), perClass: perClass, seed: seed, progress: Console.progress("writing PNG files"))
            let counts = Partition.allCases.map { "\($0.rawValue) \(result.counts[$0] ?? 0)" }.joined(separator: ", ")
            print("Wrote \(result.manifest.path) (\(counts))")
            if json {
                try Console.printJSON(["manifest": result.manifest.path] as [String: String])
            }
        }
    }
}
