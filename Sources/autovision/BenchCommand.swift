import ArgumentParser
import Benchmarks
import Foundation
import NN
import Tensors

/// `autovision bench …`: measurements of our own engine (not tests).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the training engine.",
        subcommands: [TrainBenchmark.self, ConvolutionsBenchmark.self, PredictBenchmark.self, CalibrationBenchmark.self, WorkersBenchmark.self])

    /// `autovision bench convolutions --model small|medium`: `Benchmarks.ConvolutionBenchmark`, each
    /// convolution's training step by Winograd and by im2col, side by side.
    struct ConvolutionsBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "convolutions",
            abstract: "Each convolution of a reference model: a training step (batch 128) by Winograd and by im2col, alternating.")

        @Option(help: "Reference model: small, medium.")
        var model: String = "medium"

        @Option(help: "Rounds; each times both paths once, in alternating order.")
        var rounds: Int = 15

        func validate() throws {
            guard ["small", "medium"].contains(model) else { throw ValidationError("--model must be small or medium") }
            try Validate.range(rounds, 1...10_000, "--rounds")
        }

        func run() throws {
            BLASRuntime.relaunchWithFastestKernelsIfNeeded()
            var benchmark = ConvolutionBenchmark(model: model)
            benchmark.rounds = rounds
            print("model \(model), batch \(benchmark.batchSize), \(rounds) rounds; ms per training step (forward + backward), median")
            for row in try benchmark.run() {
                let note = row.winogradApplies ? String(format: "%.2f× by Winograd", row.ratio) : "Winograd does not apply"
                print("  \(row.layer.padding(toLength: 22, withPad: " ", startingAt: 0)) im2col \(String(format: "%7.2f", row.im2colMilliseconds)) ms  Winograd \(String(format: "%7.2f", row.winogradMilliseconds)) ms  \(note)")
            }
        }
    }

    /// `autovision bench train --model small|medium|mlp [--epochs N] [--json]`: runs
    /// `Benchmarks.TrainingBenchmark` (the reference recipe of `shared/reference/README.md`).
    struct TrainBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Training and inference throughput (and, with --epochs, TEST accuracy) of a reference model.")

        @Option(help: "Reference model: \(ArchitectureSpec.referenceNames.joined(separator: ", ")).")
        var model: String = "small"

        @Option(help: "Train this many full epochs (Adam 1e-3) and report TEST accuracy.")
        var epochs: Int?

        @Flag(help: "Print one JSON line instead of text.")
        var json = false

        @Option(help: "Threading policy: 'batch' (batch-parallel, 1-thread BLAS) or 'blas' (threaded BLAS). Default: the engine's.")
        var threading: String?

        @Option(help: "Worker / BLAS thread count (default: all cores).")
        var threads: Int?

        @Option(help: "Seed for initialisation and shuffling.")
        var seed: UInt64 = 0

        @Option(help: "Batches timed in throughput mode (the median is over batches 2…this).")
        var timedBatches: Int = 120

        @Option(help: "With --epochs: write the trained model to this checkpoint file.")
        var checkpoint: String?

        @OptionGroup var precision: PrecisionArguments

        @Flag(help: "Also print where the timed training steps' time goes: the share of each kind of layer, of GEMM and im2col, and the GEMM's GFLOP/s against one core's measured peak.")
        var profile = false

        func validate() throws {
            guard ArchitectureSpec.referenceNames.contains(model) else {
                throw ValidationError("unknown model '\(model)'; choose one of \(ArchitectureSpec.referenceNames.joined(separator: ", "))")
            }
            if let epochs { try Validate.range(epochs, 1...10_000, "--epochs") }
            if let threads { try Validate.range(threads, 1...1024, "--threads") }
            if let threading, !["batch", "blas"].contains(threading) { throw ValidationError("--threading must be 'batch' or 'blas'") }
            try Validate.range(timedBatches, 3...100_000, "--timed-batches")
            if checkpoint != nil && epochs == nil { throw ValidationError("--checkpoint needs --epochs") }
        }

        func run() throws {
            // Debian's OpenBLAS picks AVX2 kernels on Zen 4; re-exec once with the AVX-512 ones
            // (AUTOVISION_BLAS_KERNELS=auto keeps OpenBLAS's own choice).
            BLASRuntime.relaunchWithFastestKernelsIfNeeded()
            let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
            switch threading {
            case "batch": Threading.configure(.batchParallel(workers: cores))
            case "blas": Threading.configure(.threadedBLAS(threads: cores))
            default: if threads != nil { Threading.configure(.batchParallel(workers: cores)) }
            }
            let log: (String) -> Void = { message in
                if !json { print(message) } else { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            }
            let checkpointURL = checkpoint.map { URL(fileURLWithPath: $0) }
            var benchmark = TrainingBenchmark(
                model: model, epochs: epochs, seed: seed, timedBatches: timedBatches, checkpoint: checkpointURL, log: log)
            benchmark.precision = try precision.resolved()
            benchmark.profile = profile
            let result = try benchmark.run()
            if json {
                print(String(decoding: try result.jsonLine(), as: UTF8.self))
            } else {
                print(result.summary)
            }
        }
    }
}

extension TrainingBenchmarkResult {
    /// The result as one line of JSON (sorted keys).
    func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// The result as text, one measurement a line.
    var summary: String {
        var lines = [
            "model \(model): \(parameters) parameters, \(String(format: "%.1f", Double(forwardFLOPsPerImage) / 1e6)) MFLOP/image forward; \(threading); OpenBLAS \(blasKernels) kernels; \(precision) products",
            String(format: "train: %.0f img/s (median, batches 2-%@ of batch %d, ≈ %.1f GFLOP/s at 3× forward)",
                   trainImagesPerSecond, "\(batchSize == 128 ? "120" : "?")", batchSize,
                   trainImagesPerSecond * 3 * Double(forwardFLOPsPerImage) / 1e9),
            String(format: "inference: %.0f img/s (best of 5 passes over TEST, batch 256)", inferenceImagesPerSecond),
        ]
        if let testAccuracy, let epochs {
            lines.append(String(format: "TEST accuracy after %d epochs (Adam 1e-3): %.4f", epochs, testAccuracy))
        }
        lines.append(String(format: "peak RSS: %.0f MB", peakResidentMegabytes))
        if let profile { lines.append(profile.summary) }
        return lines.joined(separator: "\n")
    }
}
