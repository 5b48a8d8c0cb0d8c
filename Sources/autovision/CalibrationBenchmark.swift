import ArgumentParser
import Datasets
import Foundation
import Search
import Tensors
import Training

/// `autovision bench calibration [MANIFEST]`: how well the search's cost model, calibrated before
/// any trial as a job calibrates it, prices one real epoch of each seed architecture.
///
/// The search sizes its rungs, its FLOP cap and its augmentation floor from that estimate before
/// any trial has run, so an estimate off by 2× changes what a job tries. For each seed this
/// prints the priced epoch (the spread over `--repeats` calibrations) against the epoch measured
/// in the same run: one epoch over all of TRAIN with the seed's own training configuration, then
/// scoring all of VALIDATION, timed whole, as the final training runs it.
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
        let splits = TrainingSplits(dataset: dataset)
        let trainer = Trainer(dataset: dataset, splits: splits)
        let space = SearchSpace(inputShape: BatchLoader(dataset: dataset, normalization: nil).inputShape,
                                classes: dataset.header.labels.count, imbalanced: false, trainImages: splits.train.count)
        let seeds = space.startingArchitectures()
        print("\(splits.train.count) TRAIN, \(splits.validation.count) VALIDATION images; OpenBLAS \(BLASRuntime.coreName) kernels")

        // Each calibration takes the steps of `ArchitectureSearch.calibrate` (one probe per seed, then
        // `costModel(probes:)`), its probes kept to price the seeds two ways: the job's line through
        // all of them, and (for comparison) the first seed's probe alone, in proportion to FLOPs.
        let flops = try seeds.map { Double(try $0.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "seed")
            .forwardFLOPsPerImage()) }
        var models: [CostModel] = []
        var proportional: [CostModel] = []
        for run in 1...repeats {
            let started = Date()
            let probes = try zip(seeds, flops).map { seed, flops in
                (flops: flops, secondsPerImage: try ArchitectureSearch.probeSecondsPerImage(trainer: trainer, candidate: seed, space: space))
            }
            let model = ArchitectureSearch.costModel(probes: probes)
            models.append(model)
            proportional.append(CostModel(secondsPerImageFLOP: probes[0].secondsPerImage / probes[0].flops))
            print(String(format: "calibration %d (%.1f s): %.3g s/image + %.3g s/image/FLOP; probes: ", run, Date().timeIntervalSince(started),
                         model.secondsPerImage, model.secondsPerImageFLOP)
                + probes.map { String(format: "%.1f µs/image", $0.secondsPerImage * 1e6) }.joined(separator: ", "))
        }
        for (seed, flops) in zip(seeds, flops) {
            let spec = seed.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: seed.origin.description)
            let batch = min(seed.batchSize, splits.train.count)
            let trained = Double(splits.train.count / batch * batch)
            func epochs(_ models: [CostModel]) -> [Double] {
                models.map { $0.seconds(flops: flops, trainImages: trained, scoredImages: Double(splits.validation.count)) }.sorted()
            }
            let priced = epochs(models), old = epochs(proportional)
            var line = String(format: "%@ (%.1f MFLOPs): priced epoch %.1f s (%.1f–%.1f); first seed's probe alone: %.1f s (%.1f–%.1f)",
                              seed.origin.description, flops / 1e6, priced[priced.count / 2], priced.first!, priced.last!,
                              old[old.count / 2], old.first!, old.last!)
            if !noEpochs {
                let started = Date()
                _ = try trainer.train(spec, config: seed.trainingConfig(epochs: 1, seed: 0))
                let measured = Date().timeIntervalSince(started)
                line += String(format: "; measured %.1f s: priced / measured %.2f (%.2f–%.2f), first seed's alone %.2f (%.2f–%.2f)",
                               measured, priced[priced.count / 2] / measured, priced.first! / measured, priced.last! / measured,
                               old[old.count / 2] / measured, old.first! / measured, old.last! / measured)
            }
            print(line)
        }
    }
}
