import ArgumentParser
import Benchmarks
import Datasets
import Foundation
import Tensors

/// `autovision bench calibration [MANIFEST]`: runs `Benchmarks.CostModelBenchmark` on the imported
/// manifest and prints, for each starting architecture, the priced epoch (the spread over
/// `--repeats` calibrations) against the epoch measured in the same run.
struct CalibrationBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibration",
        abstract: "The search's pre-trial cost model against measured epochs of the seed architectures.")

    @Argument(help: "The manifest CSV file.") var manifest = "Datasets/fashion-mnist/manifest.csv"
    @Option(help: "Folder of the decoded-dataset cache.") var cacheDir = "Jobs/cache"
    @Option(help: "Calibrations to run (each as a job runs it).") var repeats = 3
    @Flag(help: "Price the seeds only; do not measure their epochs.") var noEpochs = false
    @OptionGroup var importArguments: ImportArguments

    func validate() throws {
        try Validate.range(repeats, 1...100, "--repeats")
    }

    func run() throws {
        BLASRuntime.relaunchWithFastestKernelsIfNeeded()
        let options = try importArguments.options()
        let imported = try DatasetImporter(options: options).importManifest(at: URL(fileURLWithPath: manifest))
        guard imported.summary.working != nil else { throw ValidationError("nothing imported from \(manifest)") }
        let dataset = try DatasetCache.open(for: imported, in: URL(fileURLWithPath: cacheDir), maxPixels: options.maxPixels).dataset
        let benchmark = try CostModelBenchmark(dataset: dataset)
        let splits = benchmark.splits
        print("\(splits.train.count) TRAIN, \(splits.validation.count) VALIDATION images; OpenBLAS \(BLASRuntime.coreName) kernels")
        try benchmark.run(repeats: repeats, measureEpochs: !noEpochs, calibrated: { run, calibration in
            print(String(format: "calibration %d (%.1f s): %.3g s/image + %.3g s/image/FLOP; probes: ", run, calibration.seconds,
                         calibration.model.secondsPerImage, calibration.model.secondsPerImageFLOP)
                + calibration.probeSecondsPerImage.map { String(format: "%.1f µs/image", $0 * 1e6) }.joined(separator: ", "))
        }, measured: { print(Self.line($0)) })
    }

    /// One starting architecture's line: its priced epoch (median and range) and, when measured, the ratios.
    static func line(_ measurement: CostModelBenchmark.ArchitectureMeasurement) -> String {
        let priced = measurement.pricedSeconds, old = measurement.firstProbeAloneSeconds
        var line = String(format: "%@ (%.1f MFLOPs): priced epoch %.1f s (%.1f–%.1f); first seed's probe alone: %.1f s (%.1f–%.1f)",
                          measurement.name, measurement.flops / 1e6, priced[priced.count / 2], priced.first!, priced.last!,
                          old[old.count / 2], old.first!, old.last!)
        if let measured = measurement.measuredSeconds {
            line += String(format: "; measured %.1f s: priced / measured %.2f (%.2f–%.2f), first seed's alone %.2f (%.2f–%.2f)",
                           measured, priced[priced.count / 2] / measured, priced.first! / measured, priced.last! / measured,
                           old[old.count / 2] / measured, old.first! / measured, old.last! / measured)
        }
        return line
    }
}
