import Datasets
import Foundation
import Search
import Training

/// `bench calibration`: how well the search's cost model, calibrated before any trial as a job
/// calibrates it, prices one real epoch of each starting architecture.
///
/// The search sizes its rungs, its FLOP cap and its augmentation floor from that estimate before
/// any trial has run, so an estimate off by 2× changes what a job tries. Each calibration takes the
/// steps of `ArchitectureSearch.calibrate` (one probe per starting architecture, then
/// `costModel(probes:)`), its probes kept to price the architectures two ways: the job's line
/// through all of them, and (for comparison) the first architecture's probe alone, in proportion to
/// FLOPs. The measured epoch is one epoch over all of TRAIN with the architecture's own training
/// configuration, then scoring all of VALIDATION, timed whole, as the final training runs it.
public struct CostModelBenchmark {
    /// One calibration, as a job makes it.
    public struct Calibration: Sendable {
        /// Wall-clock seconds the calibration took.
        public var seconds: Double
        /// The job's cost model: the line through every probe.
        public var model: CostModel
        /// The first starting architecture's probe alone, in proportion to FLOPs.
        public var firstProbeAlone: CostModel
        /// Each probe's seconds per image, in `startingArchitectures` order.
        public var probeSecondsPerImage: [Double]
    }

    /// One starting architecture: its epoch as priced by every calibration, and as measured.
    public struct ArchitectureMeasurement: Sendable {
        /// The architecture's description (`Candidate.origin`).
        public var name: String
        /// Multiply–adds of one forward pass on one image.
        public var flops: Double
        /// Seconds of one epoch priced by each calibration's cost model, ascending.
        public var pricedSeconds: [Double]
        /// The same priced by each calibration's first probe alone, ascending.
        public var firstProbeAloneSeconds: [Double]
        /// Seconds of the measured epoch; `nil` when epochs were not measured.
        public var measuredSeconds: Double?
    }

    public let splits: TrainingSplits
    public let space: SearchSpace
    /// The architectures a search starts from (`SearchSpace.startingArchitectures`).
    public let startingArchitectures: [Candidate]
    let trainer: Trainer
    let flops: [Double]

    /// - Throws: `NNError` when a starting architecture cannot be built for the dataset's input.
    public init(dataset: DecodedDataset) throws {
        splits = TrainingSplits(dataset: dataset)
        trainer = Trainer(dataset: dataset, splits: splits)
        space = SearchSpace(inputShape: BatchLoader(dataset: dataset, normalization: nil).inputShape,
                            classes: dataset.header.labels.count, imbalanced: false, trainImages: splits.train.count)
        startingArchitectures = space.startingArchitectures()
        let space = space
        flops = try startingArchitectures.map {
            Double(try $0.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "seed").forwardFLOPsPerImage())
        }
    }

    /// Calibrates `repeats` times, then prices each starting architecture and, with
    /// `measureEpochs`, trains one epoch of it; reports each result as soon as it is known.
    /// - Parameters:
    ///   - calibrated: called with the 1-based run number and each calibration.
    ///   - measured: called with each starting architecture's measurement, in order.
    /// - Throws: `TrainingError` or `NNError` from a probe or a measured epoch.
    public func run(repeats: Int, measureEpochs: Bool, calibrated: (Int, Calibration) -> Void,
                    measured: (ArchitectureMeasurement) -> Void) throws {
        var calibrations: [Calibration] = []
        for run in 1...repeats {
            let calibration = try calibrate()
            calibrations.append(calibration)
            calibrated(run, calibration)
        }
        for index in startingArchitectures.indices {
            measured(try measure(index, calibrations: calibrations, measureEpoch: measureEpochs))
        }
    }

    /// One calibration: a probe per starting architecture, then the job's cost model.
    public func calibrate() throws -> Calibration {
        let started = Date()
        let probes = try zip(startingArchitectures, flops).map { candidate, flops in
            (flops: flops, secondsPerImage: try ArchitectureSearch.probeSecondsPerImage(trainer: trainer, candidate: candidate, space: space))
        }
        return Calibration(
            seconds: Date().timeIntervalSince(started), model: ArchitectureSearch.costModel(probes: probes),
            firstProbeAlone: CostModel(secondsPerImageFLOP: probes[0].secondsPerImage / probes[0].flops),
            probeSecondsPerImage: probes.map(\.secondsPerImage))
    }

    /// Starting architecture `index` priced by `calibrations` and, with `measureEpoch`, trained for one epoch.
    public func measure(_ index: Int, calibrations: [Calibration], measureEpoch: Bool) throws -> ArchitectureMeasurement {
        let candidate = startingArchitectures[index], flops = flops[index]
        let batch = min(candidate.batchSize, splits.train.count)
        let trained = Double(splits.train.count / batch * batch)
        func epochs(_ models: [CostModel]) -> [Double] {
            models.map { $0.seconds(flops: flops, trainImages: trained, scoredImages: Double(splits.validation.count)) }.sorted()
        }
        var measurement = ArchitectureMeasurement(
            name: candidate.origin.description, flops: flops, pricedSeconds: epochs(calibrations.map(\.model)),
            firstProbeAloneSeconds: epochs(calibrations.map(\.firstProbeAlone)), measuredSeconds: nil)
        if measureEpoch {
            let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: candidate.origin.description)
            let started = Date()
            _ = try trainer.train(spec, config: candidate.trainingConfig(epochs: 1, seed: 0))
            measurement.measuredSeconds = Date().timeIntervalSince(started)
        }
        return measurement
    }
}
