import Testing
@testable import Search

@Suite struct FinalTrainingBudgetTests {
    let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
    let statistics = DatasetStatistics(trainImages: 50_000, validationImages: 10_000, testImages: 10_000,
                                       trainClassCounts: Array(repeating: 5_000, count: 10), validationBaselineScore: 0.1)
    let flops = 8_482_304

    func trial(trainImages: Int, epochs: Int = 1, seconds: Double, flops: Int? = nil) -> TrialRecord {
        let small = space.startingArchitectures()[2]
        return TrialRecord(id: 1, rung: 2, candidate: small, architecture: small.summary, parameters: 1, flops: flops ?? self.flops,
                           epochs: epochs, trainImages: trainImages, validationScore: 0.88, validationImages: 2_000, seconds: seconds,
                           endedAt: seconds, stopReason: .completed, error: nil)
    }

    func budget(_ bestTrial: TrialRecord?, cost: CostModel) -> FinalTrainingBudget {
        FinalTrainingBudget(cost: cost, forwardFLOPs: Double(flops), bestTrial: bestTrial, candidate: space.startingArchitectures()[2],
                            statistics: statistics, secondsLeft: 540, testTimeAugmentation: false)
    }

    // The 10-minute Fashion-MNIST job of 2026-12-06: the best trial trained `small` over all of TRAIN
    // in 15 s, a rung-0 trial of another network moved the cost model to ~23 s an epoch.
    @Test func aTrialOverAllOfTrainPricesTheFinalEpochByItsOwnRate() {
        let cost = CostModel(secondsPerImage: 1.5e-4, secondsPerImageFLOP: 3.6e-11)
        let best = trial(trainImages: 50_000, seconds: 15)
        let measured = budget(best, cost: cost)
        #expect(measured.measured)
        let perImage = 15 / (50_000 + 2_000 / 3.0)
        #expect(abs(measured.secondsPerImage / perImage - 1) < 1e-12)
        #expect(abs(measured.epochSeconds - perImage * (50_000 + 10_000 / 3.0)) < 1e-9)
        #expect(abs(measured.evaluationSeconds - (perImage * 20_000 / 3 + 2)) < 1e-9, "VALIDATION and TEST once each, without test-time views")
        #expect(measured.epochs == Int((540 - measured.evaluationSeconds) / measured.epochSeconds))
        let priced = budget(nil, cost: cost)
        #expect(!priced.measured)
        #expect(priced.secondsPerImage == cost.secondsPerImage(flops: Double(flops)))
        #expect(measured.epochs > priced.epochs, "the cost model priced the epoch higher than the trial ran it")
    }

    @Test func aTrialOverASubsetOrOfAnotherNetworkLeavesTheCostModelsPrice() {
        let cost = CostModel(secondsPerImage: 1.5e-4, secondsPerImageFLOP: 3.6e-11)
        let priced = budget(nil, cost: cost)
        // A rung-0 trial: 8,000 of TRAIN's 50,000 images, where fixed costs weigh more per image.
        #expect(budget(trial(trainImages: 8_000, seconds: 3), cost: cost) == priced)
        // Enough image-epochs over a subset count: 25,000 × 2 is all of TRAIN's worth.
        #expect(budget(trial(trainImages: 25_000, epochs: 2, seconds: 20), cost: cost).measured)
        #expect(budget(trial(trainImages: 50_000, seconds: 15, flops: flops + 1), cost: cost) == priced)
        #expect(budget(trial(trainImages: 50_000, epochs: 0, seconds: 1), cost: cost) == priced, "no epoch trained")
    }
}
