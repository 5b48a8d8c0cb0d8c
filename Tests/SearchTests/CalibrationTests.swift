import Foundation
import Testing
import Training
@testable import Search

@Suite struct CalibrationTests {
    // Probes as `bench calibration` measured them on Fashion-MNIST (seconds per training image).
    let small = 8_500_000.0, vgg = 38_200_000.0, resnet = 59_900_000.0

    @Test func theCalibrationFitsALineThroughTheSeedsProbes() {
        let line = CostModel(secondsPerImage: 150e-6, secondsPerImageFLOP: 4e-11)
        let probes = [small, vgg, resnet].map { (flops: $0, secondsPerImage: line.secondsPerImage(flops: $0)) }
        let model = ArchitectureSearch.costModel(probes: probes)
        #expect(abs(model.secondsPerImage - 150e-6) < 1e-9)
        #expect(abs(model.secondsPerImageFLOP - 4e-11) < 1e-15)
        // Probes no line fits (per FLOP, the small network cheapest): the median seconds per image × FLOP.
        let noisy = [(flops: small, secondsPerImage: 200e-6), (flops: vgg, secondsPerImage: 1700e-6), (flops: resnet, secondsPerImage: 2700e-6)]
        let fallback = ArchitectureSearch.costModel(probes: noisy)
        #expect(fallback.secondsPerImage == 0)
        #expect(abs(fallback.secondsPerImageFLOP - 1700e-6 / vgg) < 1e-18)
    }

    let calibrated = CostModel(secondsPerImage: 150e-6, secondsPerImageFLOP: 4e-11)

    /// A 3-per-class Fashion-MNIST slice in `scratch`, its search space, the starting architectures
    /// and their forward FLOPs per image.
    func slice(in scratch: URL) throws -> (Trainer, SearchSpace, [Candidate], [Double]) {
        let trainer = try sliceTrainer(in: scratch, perClass: 3, seed: 1)
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        let seeds = space.startingArchitectures()
        let flops = try seeds.map { Double(try $0.architecture.architecture(inputShape: space.inputShape, classes: 10, name: "s").forwardFLOPsPerImage()) }
        return (trainer, space, seeds, flops)
    }

    @Test func oneTrialRescalesTheCalibratedLineAndKeepsItsPerImageTerm() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cost-model-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (trainer, space, seeds, flops) = try slice(in: scratch)
        // The `small` seed's trial ran at 1.5× the calibrated price (the machine got slower).
        let images = 50_000, scored = 9_000
        let seconds = 1.5 * calibrated.seconds(flops: flops[2], trainImages: Double(images), scoredImages: Double(scored))
        let trial = TrialRecord(id: 1, rung: 2, candidate: seeds[2], architecture: seeds[2].summary, parameters: 1, flops: Int(flops[2]),
                                epochs: 1, trainImages: images, validationScore: 0.9, validationImages: scored, seconds: seconds,
                                endedAt: seconds, stopReason: .completed, error: nil)
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: calibrated,
                                        previousTrials: [trial])
        let vggEpoch = search.estimatedSeconds(seeds[0], images: images, epochs: 1, validationImages: 0)
        let expected = 1.5 * calibrated.seconds(flops: flops[0], trainImages: Double(images))
        #expect(abs(vggEpoch / expected - 1) < 1e-6, "the calibrated line, 1.5× as high")
        // In proportion to FLOPs from the `small` trial alone, as before, `vgg-bn` would cost more.
        let proportional = seconds / (Double(images) + Double(scored) / 3) / flops[2] * flops[0] * Double(images)
        #expect(proportional > 1.2 * vggEpoch)
    }

    /// The search prices the best candidate's final epochs as the final training will (decision
    /// 0037): at the rate of its trial over an epoch's worth of TRAIN, not by the cost model.
    @Test func aTrialOverAllOfTrainPricesItsCandidatesFinalEpoch() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("final-epoch-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (trainer, space, seeds, flops) = try slice(in: scratch)
        let train = trainer.splits.train.count, validation = trainer.splits.validation.count
        func trial(_ id: Int, _ seed: Int, images: Int, seconds: Double) -> TrialRecord {
            TrialRecord(id: id, rung: 0, candidate: seeds[seed], architecture: seeds[seed].summary, parameters: 1, flops: Int(flops[seed]),
                        epochs: 1, trainImages: images, validationScore: 0.5, validationImages: validation, seconds: seconds,
                        endedAt: Double(id), stopReason: .completed, error: nil)
        }
        // `small` over all of TRAIN at 1 s; `vgg-bn` over a third of it.
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: calibrated,
                                        previousTrials: [trial(1, 2, images: train, seconds: 1), trial(2, 0, images: train / 3, seconds: 1)])
        let perImage = 1 / (Double(train) + Double(validation) / 3)
        #expect(abs(search.finalEpochSeconds(seeds[2]) / (perImage * (Double(train) + Double(validation) / 3)) - 1) < 1e-12)
        let priced = search.estimatedSeconds(seeds[0], images: train, epochs: 1, validationImages: validation)
        #expect(search.finalEpochSeconds(seeds[0]) == priced, "a trial over a third of TRAIN leaves the cost model's price")
    }
}
