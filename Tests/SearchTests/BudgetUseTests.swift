import Foundation
@testable import Search
import Testing

/// Issue 19: a small dataset's final training cannot use a large share of the budget (it stops at
/// `FinalTrainingPlan.maximumEpochs` or on a plateau); the search takes the time it could not use.
@Suite struct BudgetUseTests {
    @Test func theSearchRunsPastItsShareIntoTimeTheFinalTrainingCannotUse() throws {
        let fixture = try RecordedSearchFixture("budget-use", seed: 8)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let done = BestTrialTests().trial(1, rung: 0, accuracy: 0.5, flops: 2_000_000, candidate: seeds[2])
        let make = {
            ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                               previousTrials: [done])
        }
        let search = make()
        let ceiling = search.finalTrainingCeilingSeconds(seeds[2])
        // The trial trained on at least all of TRAIN, so its own rate prices the final's epoch (decision 0037).
        let train = trainer.splits.train.count
        let perImage = try #require(done.finalSecondsPerImage(trainImages: train, scoredImages: 0))
        let epoch = perImage * (Double(train) + Double(trainer.splits.validation.count) / 3)
        #expect(abs(ceiling - 1.5 * Double(FinalTrainingPlan.maximumEpochs) * epoch) < 1e-9)

        let now = Date()
        #expect(search.deadline(now, budgetEnd: nil) == now)
        #expect(search.deadline(now, budgetEnd: now.addingTimeInterval(ceiling / 2)) == now, "the final training needs all of it")
        let far = now.addingTimeInterval(ceiling + 3600)
        #expect(abs(search.deadline(now, budgetEnd: far).timeIntervalSince(now) - 3600) < 1e-6)
        let fresh = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9))
        #expect(fresh.deadline(now, budgetEnd: far) == now, "before any trial there is no candidate to price")

        // Its share spent, the search trains nothing more unless the final training leaves time over.
        #expect(try make().run(deadline: Date()).trials.count == 1)
        let extended = try make().run(deadline: Date(), budgetEnd: Date().addingTimeInterval(ceiling + 6))
        #expect(extended.trials.count > 1)
    }
}
