import Foundation
@testable import Search
import Tensors
import Testing

/// Issue 19: the search picked a 0.13 % VALIDATION trial at the top rung over a 26.05 % one a rung
/// below, on a set where always answering the largest class scored 26.6 %.
@Suite struct BaselineSelectionTests {
    @Test func aTrialAtOrBelowTheMajorityBaselineIsNeverPickedOverOneAboveIt() throws {
        let fixture = try RecordedSearchFixture("baseline", seed: 6)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trial = BestTrialTests().trial
        var trials = [
            trial(1, 2, 0.0013, 38_000_000, seeds[0]),  // the balanced, smoothed seeds of the issue
            trial(2, 2, 0.0013, 60_000_000, seeds[1]),
            trial(3, 1, 0.2605, 9_000_000, seeds[2]),
        ]
        for i in trials.indices { trials[i].baselineScore = 0.266 }
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                        previousTrials: trials)
        #expect(!search.beatsBaseline(trials[0]) && !search.beatsBaseline(trials[2]))
        // None beats the baseline: the most accurate, whatever its rung, and it is not promoted.
        #expect(search.bestTrial()?.id == 3)
        var lowRung = trials
        for id in 4...6 {
            var generator = SeededGenerator(seed: UInt64(id))
            var sample = trial(id, 0, 0.05 * Double(id - 3), 5_000_000, space.random(using: &generator))
            sample.baselineScore = 0.266
            lowRung.append(sample)
        }
        let promoting = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                           previousTrials: lowRung)
        var queue: [Candidate] = []
        #expect(promoting.nextJob(seeds: &queue).parent == nil, "the top third of rung 0 is at or below the baseline: not promoted")

        var above = trials
        above[2].validationScore = 0.40
        let picked = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                        previousTrials: above)
        #expect(picked.bestTrial()?.id == 3)
        #expect(picked.score(above[2]) > picked.score(above[0]), "tournaments and convergence rank it first too")
    }

    @Test func aLowerRungTrialFarMoreAccurateBeatsAHigherRungOneFarWorse() throws {
        let fixture = try RecordedSearchFixture("footing", seed: 7)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trial = BestTrialTests().trial
        // Both above a 10 % baseline; 2,000 images at rung 1 (standard error of 90 %: 0.67 points).
        var trials = [trial(1, 2, 0.50, 38_000_000, seeds[0]), trial(2, 1, 0.90, 9_000_000, seeds[2])]
        trials[1].validationImages = 2000
        for i in trials.indices { trials[i].baselineScore = 0.10 }
        let make = { (trials: [TrialRecord]) in
            ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                               previousTrials: trials)
        }
        #expect(make(trials).bestTrial()?.id == 2)
        // Within two standard errors of the most accurate, the higher rung still wins (it trained longer).
        trials[0].validationScore = 0.89
        #expect(make(trials).bestTrial()?.id == 1)
    }
}
