import Foundation
import Search
import Testing

@Suite struct SearchRegimeTests {
    // 1 ms an image whatever the network: an epoch of 50,000 TRAIN images scored on 9,000 is 53 s.
    let calibration = CostModel(secondsPerImage: 1e-3, secondsPerImageFLOP: 0)

    func decide(searchSeconds: Double, finalSeconds: Double, settings: SearchSettings = SearchSettings(), search: Bool = true) -> SearchRegime {
        SearchRegime.decide(calibration: calibration, seedFLOPs: 1e7, settings: settings, searchSeconds: searchSeconds,
                            finalSeconds: finalSeconds, trainImages: 50_000, validationImages: 9_000, search: search)
    }

    @Test func aLongFinalTrainingFavoursCapacityAndFloorsTheAugmentation() {
        // Rung 0 takes 1/40 of the search: 100,000 images; the top rung 900,000 (18 epochs). The
        // final's 100 epochs are 5.6× that and over 30 epochs.
        let long = decide(searchSeconds: 4_000, finalSeconds: 5_300)
        #expect(long.baseImageEpochs == 100_000)
        #expect(long.favourCapacityWithinNoise && long.augmentationFloor == .longTraining)
        #expect(long.costModel == calibration)
        // 25 final epochs, 12.5× the top rung's 2: capacity is favoured, but no floor under 30 epochs.
        let shorter = decide(searchSeconds: 400, finalSeconds: 1_325)
        #expect(shorter.baseImageEpochs == 10_000)
        #expect(shorter.favourCapacityWithinNoise && shorter.augmentationFloor == .none)
        // A final as long as the top rung's trials: neither.
        let even = decide(searchSeconds: 4_000, finalSeconds: 1_000)
        #expect(!even.favourCapacityWithinNoise && even.augmentationFloor == .none)
        // Trials are at least 8,000 images.
        #expect(decide(searchSeconds: 40, finalSeconds: 100).baseImageEpochs == 8_000)
    }

    @Test func aSeedTrainedWithoutSearchIsNeitherFavouredNorFloored() {
        let baseline = decide(searchSeconds: 4_000, finalSeconds: 5_300, search: false)
        #expect(!baseline.favourCapacityWithinNoise && baseline.augmentationFloor == .none)
    }

    @Test func aSetBaseImageEpochsIsKeptAndTheRegimeRoundTripsThroughJSON() throws {
        var settings = SearchSettings()
        settings.baseImageEpochs = 5_000
        let regime = decide(searchSeconds: 4_000, finalSeconds: 5_300, settings: settings)
        #expect(regime.baseImageEpochs == 5_000)
        var applied = SearchSettings()
        var space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        regime.apply(to: &applied, space: &space)
        #expect(applied.baseImageEpochs == 5_000 && applied.favourCapacityWithinNoise == regime.favourCapacityWithinNoise)
        #expect(space.augmentationFloor == regime.augmentationFloor)
        let data = try JSONEncoder().encode(regime)
        #expect(try JSONDecoder().decode(SearchRegime.self, from: data) == regime)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys.sorted()
        #expect(keys == ["augmentation_floor", "base_image_epochs", "cost_model", "favour_capacity_within_noise"])
    }
    /// Decision 0001's corners (25 % up to 15 minutes, 45 % at an hour, 50 % from two hours) joined
    /// by straight lines (0042): a longer budget never leaves the final training less time.
    @Test func theSearchShareIsContinuousAndALongerBudgetNeverShortensTheFinal() {
        let share = { JobPlanner.defaultSearchShare(budgetSeconds: $0) }
        #expect(share(60) == 0.25 && share(600) == 0.25 && share(900) == 0.25)
        #expect(abs(share(1_200) - (0.25 + 0.2 / 9)) < 1e-12)  // 20 minutes
        #expect(share(3_600) == 0.45 && share(5_400) == 0.475 && share(7_200) == 0.5 && share(36_000) == 0.5)
        var previousFinal = 0.0
        for budget in stride(from: 60.0, through: 10_800, by: 30) {
            let final = budget * (1 - share(budget))
            #expect(final > previousFinal, "\(budget) s")
            previousFinal = final
        }
    }
}
