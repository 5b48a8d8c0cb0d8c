import Datasets
import Foundation
import NN
import Testing
import Training
@testable import Search

@Suite struct SearchSettingsTests {
    @Test func rungsGrowByTheReductionFactorAndPreferMoreImagesOverMoreEpochs() {
        var settings = SearchSettings()
        settings.baseImageEpochs = 8000
        #expect(settings.rung(0, trainImages: 50000) == (8000, 1))
        #expect(settings.rung(1, trainImages: 50000) == (24000, 1))
        #expect(settings.rung(2, trainImages: 50000) == (50000, 1))  // 72,000 image-epochs: one pass over all of TRAIN
        #expect(settings.rung(0, trainImages: 600) == (600, 13))  // a small TRAIN is passed over several times
        settings.baseImageEpochs = 69000
        #expect(settings.rung(1, trainImages: 50000) == (50000, 4))
        #expect(settings.rung(2, trainImages: 50000) == (50000, 12))
    }

    @Test func theFLOPCapKeepsEveryProposalAffordable() throws {
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        let flops = { (candidate: Candidate) in
            try candidate.architecture.architecture(inputShape: space.inputShape, classes: 10, name: "t").forwardFLOPsPerImage()
        }
        let seeds = space.seeds()
        let small = try flops(seeds[2])
        #expect(try flops(seeds[0]) > small && flops(seeds[1]) > small)
        var settings = SearchSettings()
        settings.maximumFLOPs = small  // only candidates as cheap as the `small` seed
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("search-cap-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prepared = try FashionMNISTExport.write(to: scratch, perClass: 3, seed: 1)
        let dataset = try DatasetCache.open(for: try DatasetImporter().importManifest(at: prepared.manifest),
                                            in: scratch.appendingPathComponent("cache")).dataset
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialSecondsPerImageFLOP: 1e-9)
        var queue = seeds
        // Seeds are known-good and always tried; the cap applies to proposals.
        #expect((0..<3).map { _ in search.nextJob(seeds: &queue).0.origin } == seeds.map(\.origin))
        for _ in 0..<30 { #expect(try flops(search.nextJob(seeds: &queue).0) <= small) }
        #expect(try flops(space.smallest) < small)

        // The budget-derived cap follows the cost model: 8 final epochs of TRAIN (+ a third of VALIDATION).
        var budgeted = SearchSettings()
        budgeted.finalTrainingSeconds = 100
        let priced = ArchitectureSearch(trainer: trainer, space: space, settings: budgeted, initialSecondsPerImageFLOP: 1e-9)
        let images = Double(trainer.splits.train.count + trainer.splits.validation.count / 3)
        #expect(priced.maximumFLOPs == Int(100 / (8 * 1e-9 * images)))
    }
}
