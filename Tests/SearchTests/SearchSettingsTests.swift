import Datasets
import Foundation
import NN
import Tensors
import Testing
import Training
@testable import Search

/// A trainer over a Fashion-MNIST slice of `perClass` images per class in each of TRAIN,
/// VALIDATION and TEST, imported into `scratch`.
func sliceTrainer(in scratch: URL, perClass: Int, seed: UInt64) throws -> Trainer {
    let prepared = try FashionMNISTExport.write(to: scratch, perClass: perClass, seed: seed)
    let dataset = try DatasetCache.open(for: try DatasetImporter().importManifest(at: prepared.manifest),
                                        in: scratch.appendingPathComponent("cache")).dataset
    return Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
}

/// What the search tests that start from recorded trials share: a trainer over a Fashion-MNIST
/// slice in a scratch folder (`remove()` deletes it), the 28×28 search space and its seeds.
struct RecordedSearchFixture {
    let scratch: URL
    let trainer: Trainer
    let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
    var seeds: [Candidate] { space.startingArchitectures() }

    init(_ name: String, seed: UInt64) throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("search-\(name)-\(UUID())")
        do {
            trainer = try sliceTrainer(in: scratch, perClass: 1, seed: seed)
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }

    func remove() { try? FileManager.default.removeItem(at: scratch) }
}

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
        let seeds = space.startingArchitectures()
        let small = try flops(seeds[2])
        #expect(try flops(seeds[0]) > small && flops(seeds[1]) > small)
        var settings = SearchSettings()
        settings.maximumFLOPs = small  // only candidates as cheap as the `small` seed
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("search-cap-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let trainer = try sliceTrainer(in: scratch, perClass: 3, seed: 1)
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9))
        var queue = seeds
        // Queued seeds go first; then every proposal is within the cap.
        #expect((0..<3).map { _ in search.nextJob(seeds: &queue).0.origin } == seeds.map(\.origin))
        for _ in 0..<30 { #expect(try flops(search.nextJob(seeds: &queue).0) <= small) }
        #expect(try flops(space.smallest) < small)
        // The seeds queued are those within the cap, or the cheapest when none is.
        #expect(search.startingArchitecturesToTry() == [seeds[2]])
        var none = settings
        none.maximumFLOPs = 1
        #expect(ArchitectureSearch(trainer: trainer, space: space, settings: none, initialCost: CostModel(secondsPerImageFLOP: 1e-9)).startingArchitecturesToTry() == [seeds[2]])
        #expect(ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9)).startingArchitecturesToTry()
            == seeds)

        // The budget-derived cap follows the cost model: 8 final epochs of TRAIN (+ a third of VALIDATION).
        var budgeted = SearchSettings()
        budgeted.finalTrainingSeconds = 100
        let priced = ArchitectureSearch(trainer: trainer, space: space, settings: budgeted, initialCost: CostModel(secondsPerImageFLOP: 1e-9))
        let images = Double(trainer.splits.train.count + trainer.splits.validation.count / 3)
        #expect(priced.maximumFLOPs == Int(100 / (8 * 1e-9 * images)))
    }
}

@Suite struct ViabilityTests {
    @Test func everyProposalHasAHeadThatCanClassify() {
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        // What a 10-minute search drew before (7–37 % VALIDATION): one or two 16-wide stages, average-pooled.
        #expect(!space.isViable(ArchitectureGenes(stages: 1, blocksPerStage: 1, width: 16, head: .globalAvgPool)))
        #expect(!space.isViable(ArchitectureGenes(stages: 2, blocksPerStage: 1, width: 16, head: .globalAvgPool)))
        #expect(!space.isViable(ArchitectureGenes(stages: 1, blocksPerStage: 3, width: 64, head: .globalAvgPool)))
        #expect(space.isViable(ArchitectureGenes(stages: 3, blocksPerStage: 1, width: 16, head: .globalAvgPool)))
        #expect(space.isViable(ArchitectureGenes(stages: 1, blocksPerStage: 1, width: 16, head: .dense)))
        // Many classes need as many channels to pool.
        let wide = SearchSpace(inputShape: [3, 32, 32], classes: 100, imbalanced: false)
        #expect(!wide.isViable(ArchitectureGenes(stages: 2, blocksPerStage: 1, width: 32, head: .globalAvgPool)))
        #expect(wide.isViable(ArchitectureGenes(stages: 3, blocksPerStage: 1, width: 32, head: .globalAvgPool)))

        var generator = SeededGenerator(seed: 11)
        let samples = (0..<200).map { _ in space.random(using: &generator) }
        #expect(samples.allSatisfy { space.isViable($0.architecture) })
        #expect(samples.contains { $0.architecture.head == .globalAvgPool }, "the head stays a gene")
        let parents = space.startingArchitectures() + [space.smallest] + samples.prefix(40)
        let children = (0..<400).map { space.mutate(parents[$0 % parents.count], using: &generator) }
        #expect(children.allSatisfy { space.isViable($0.architecture) })
        #expect((space.startingArchitectures() + [space.smallest]).allSatisfy { space.isViable($0.architecture) })
    }
}

@Suite struct TrialFidelityTests {
    @Test func withALongFinalTrainingEveryCandidateTrainsWithTheAugmentationFloor() {
        var space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        #expect(space.startingArchitectures().contains { $0.cropPadding == 0 || $0.erasingProbability == 0 }, "the seeds as defined lack some augmentation")
        space.augmentationFloor = .longTraining
        let floor = AugmentationFloor.longTraining
        let satisfies = { (candidate: Candidate) in
            candidate.cropPadding >= floor.cropPadding && candidate.erasingProbability >= floor.erasingProbability
        }
        var generator = SeededGenerator(seed: 5)
        var candidates = space.startingArchitectures() + [space.smallest]
        for _ in 0..<40 { candidates.append(space.random(using: &generator)) }
        for parent in candidates.prefix(20) { candidates.append(space.mutate(parent, using: &generator)) }
        #expect(candidates.allSatisfy(satisfies))
        // Stronger augmentation drawn by the search is kept, not lowered to the floor.
        #expect(candidates.contains { $0.cropPadding == 4 } && candidates.contains { $0.erasingProbability == 0.5 })
        // The seeds keep everything else (architecture, optimizer, flips).
        let plain = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false).startingArchitectures()
        for (raised, seed) in zip(space.startingArchitectures(), plain) {
            #expect(raised.architecture == seed.architecture && raised.optimizer == seed.optimizer && raised.horizontalFlip == seed.horizontalFlip)
        }
        // The final training then trains the candidate exactly as its trials did.
        let plan = FinalTrainingPlan(candidate: space.startingArchitectures()[2], trialImageEpochs: 300_000, trainImages: 50_000, epochs: 42, seed: 0)
        #expect(plan.candidate == space.startingArchitectures()[2])
        #expect(plan.notes.count == 1, "only the fresh start is noted: \(plan.notes)")
    }

    @Test func topRungTrialsAreScoredOnAllOfValidationAndLowerRungsOnTheSubset() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("search-fidelity-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let trainer = try sliceTrainer(in: scratch, perClass: 3, seed: 2)
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false, trainImages: trainer.splits.train.count)
        var settings = SearchSettings()
        settings.validationImages = 10
        settings.baseImageEpochs = 10
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9))
        let candidate = space.smallest
        let deadline = Date().addingTimeInterval(600)
        let low = search.runTrial(candidate, rung: 0, images: 10, epochs: 1, deadline: deadline, shouldStop: { false }, since: Date()).0
        let top = search.runTrial(candidate, rung: settings.rungs - 1, images: 30, epochs: 1, deadline: deadline, shouldStop: { false },
                                  since: Date()).0
        #expect(low.error == nil && top.error == nil)
        #expect(trainer.splits.validation.count == 30)
        #expect(low.validationImages == 10 && top.validationImages == 30)
        // Accuracies are fractions of the images scored.
        #expect((low.validationScore * 10 - (low.validationScore * 10).rounded()).magnitude < 1e-9)
        #expect((top.validationScore * 30 - (top.validationScore * 30).rounded()).magnitude < 1e-9)
        // The cost model prices the scoring of each rung with its own VALIDATION images.
        #expect(search.estimatedSeconds(candidate, rung: settings.rungs - 1) > search.estimatedSeconds(candidate, images: 30, epochs: 1))

        // Search logs written before `validation_images` existed still decode.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(top)) as! [String: Any]
        json["validation_images"] = nil
        let old = try JSONDecoder().decode(TrialRecord.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.validationImages == nil && old.id == top.id)
    }
}

@Suite struct BestTrialTests {
    /// A finished top-rung trial with the given accuracy on 10,000 VALIDATION images and FLOPs.
    func trial(_ id: Int, rung: Int = 2, accuracy: Double, flops: Int, candidate: Candidate) -> TrialRecord {
        TrialRecord(id: id, rung: rung, candidate: candidate, architecture: candidate.summary, parameters: 1, flops: flops, epochs: 1,
                    trainImages: 1000, validationScore: accuracy, validationImages: 10_000, seconds: 1, endedAt: Double(id),
                    stopReason: .completed, error: nil)
    }

    /// Trials decided while others train (issue 21, item 4): a starting architecture or a promotion in
    /// flight is taken, nothing is proposed before a starting architecture has finished, and a search whose
    /// time is spent waits for its trials in flight rather than ending.
    @Test func decisionsCountTheTrialsInFlightAsTaken() throws {
        let fixture = try RecordedSearchFixture("in-flight", seed: 5)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        var settings = SearchSettings()
        settings.proposalFinalEpochs = nil
        let search = { (trials: [TrialRecord]) in
            ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-12), previousTrials: trials)
        }
        var inFlight: [PlannedTrial] = []
        for _ in seeds {
            guard case let .trial(next) = search([]).decide(remaining: 1e12, inFlight: inFlight) else { Issue.record("a seed is left"); return }
            inFlight.append(next)
        }
        #expect(Set(inFlight.map(\.candidate.origin)) == Set(seeds.map(\.origin)), "each starting architecture once: \(inFlight.map(\.candidate.summary))")
        #expect(search([]).decide(remaining: 1e12, inFlight: inFlight) == .wait, "no proposal before a starting architecture has finished")

        var generator = SeededGenerator(seed: 9)
        let proposals = (0..<3).map { _ in space.random(using: &generator) }
        let trials = (seeds.enumerated().map { trial($0.offset + 1, accuracy: 0.80, flops: 1000, candidate: $0.element) }
            + proposals.enumerated().map { trial($0.offset + 4, rung: 0, accuracy: 0.70 + 0.01 * Double($0.offset), flops: 1000, candidate: $0.element) })
            .map { trial in
                var trial = trial
                trial.baselineScore = 0.1  // the fixture's few VALIDATION images would give a baseline of their own
                return trial
            }
        guard case let .trial(promotion) = search(trials).decide(remaining: 1e12) else { Issue.record("a promotion"); return }
        #expect(promotion.parent == 6 && promotion.rung == 1, "the best of rung 0 goes up")
        guard case let .trial(beside) = search(trials).decide(remaining: 1e12, inFlight: [promotion]) else { Issue.record("a proposal"); return }
        #expect(beside.parent == nil && beside.rung == 0 && !proposals.contains(beside.candidate), "the promotion in flight is taken")
        guard case let .trial(third) = search(trials).decide(remaining: 1e12, inFlight: [promotion, beside]) else { Issue.record("a proposal"); return }
        #expect(third.candidate != beside.candidate, "a candidate in flight is not proposed again")

        #expect(search(trials).decide(remaining: 0) == .ended(.budget))
        #expect(search(trials).decide(remaining: 0, inFlight: [promotion]) == .wait, "the trials in flight finish first")
    }

    @Test func withALongFinalTrainingTheLargestTrialWithinOneStandardErrorOfTheLeaderIsPicked() throws {
        let fixture = try RecordedSearchFixture("best", seed: 3)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        // The 10-minute Fashion-MNIST search: standard error of 87.42 % on 10,000 images is 0.33 points.
        let trials = [
            trial(1, accuracy: 0.8710, flops: 24_000_000, candidate: seeds[0]),
            trial(2, accuracy: 0.8380, flops: 40_000_000, candidate: seeds[1]),  // larger, but outside the noise
            trial(3, rung: 1, accuracy: 0.8800, flops: 90_000_000, candidate: seeds[1]),  // lower rung: not comparable
            trial(4, accuracy: 0.8742, flops: 8_000_000, candidate: seeds[2]),
        ]
        var settings = SearchSettings()
        let plain = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9), previousTrials: trials)
        #expect(plain.bestTrial()?.id == 4, "the most accurate, when the final training is not long")
        settings.favourCapacityWithinNoise = true
        let favouring = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                           previousTrials: trials)
        #expect(favouring.bestTrial()?.id == 1)
        // 0.34 points behind is beyond one standard error, within a seed's two: the larger seed still wins.
        var behind = trials
        behind[0].validationScore = 0.8708
        let within = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9), previousTrials: behind)
        #expect(within.bestTrial()?.id == 1)
        // 0.72 points behind is beyond two: the leader stays.
        behind[0].validationScore = 0.8670
        let beyond = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9), previousTrials: behind)
        #expect(beyond.bestTrial()?.id == 4)
        // A kept checkpoint of a trial that is no longer the best is not offered as its weights.
        let network = try seeds[2].architecture.architecture(inputShape: [1, 28, 28], classes: 10, name: "t").build(seed: 0)
        let stale = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                       previousTrials: trials, previousBest: (4, network))
        #expect(!stale.hasBestNetwork)
    }

    /// The README's 10-minute job on Zen 4 (2026-12-06): after two epochs `small` led `vgg-bn` by 0.45
    /// points (1.5 standard errors); trained for the rest of the budget, `vgg-bn` alone reached 94.6 %
    /// TEST, the search's `small` 93.3 %. A proposal as large and as far behind gets no such margin.
    @Test func withALongFinalTrainingALargerSeedWithinTwoStandardErrorsIsPicked() throws {
        let fixture = try RecordedSearchFixture("larger-seed", seed: 5)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        var generator = SeededGenerator(seed: 3)
        var proposal = space.random(using: &generator)
        proposal.origin = .random
        let trials = [
            trial(1, accuracy: 0.8948, flops: 38_189_056, candidate: seeds[0]),
            trial(2, rung: 1, accuracy: 0.811, flops: 59_900_000, candidate: seeds[1]),
            trial(3, accuracy: 0.8993, flops: 8_482_304, candidate: seeds[2]),
        ]
        var settings = SearchSettings()
        let search = { (trials: [TrialRecord]) in
            ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9), previousTrials: trials)
        }
        #expect(search(trials).bestTrial()?.id == 3, "the most accurate, when the final training is not long")
        settings.favourCapacityWithinNoise = true
        #expect(search(trials).bestTrial()?.id == 1)
        var asProposal = trials
        asProposal[0].candidate = proposal
        #expect(search(asProposal).bestTrial()?.id == 3, "a proposal gets one standard error, not a seed's two")
        var farBehind = trials
        farBehind[0].validationScore = 0.8930  // 2.1 standard errors
        #expect(search(farBehind).bestTrial()?.id == 3)
    }

    @Test func aProposalReplacesTheBestSeedOnlyWhenItLeadsByMoreThanTwoStandardErrors() throws {
        let fixture = try RecordedSearchFixture("incumbent", seed: 4)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        var generator = SeededGenerator(seed: 2)
        let proposal = space.random(using: &generator)
        // The 10-minute search on the slower machine: `small` 89.08 %, a proposal 89.63 % (1.8
        // standard errors ahead on 10,000 images), `vgg-bn` higher only at a lower rung.
        let trials = [
            trial(1, rung: 1, accuracy: 0.90, flops: 38_000_000, candidate: seeds[0]),
            trial(2, accuracy: 0.8908, flops: 8_000_000, candidate: seeds[2]),
            trial(3, accuracy: 0.8963, flops: 7_700_000, candidate: proposal),
        ]
        for favour in [false, true] {
            var settings = SearchSettings()
            settings.favourCapacityWithinNoise = favour
            let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                            previousTrials: trials)
            #expect(search.bestTrial()?.id == 2)
            var ahead = trials
            ahead[2].validationScore = 0.8980  // 2.4 standard errors
            let beaten = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                            previousTrials: ahead)
            #expect(beaten.bestTrial()?.id == 3)
            settings.seedMarginStandardErrors = 0
            let plain = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                           previousTrials: trials)
            #expect(plain.bestTrial()?.id == 3)
        }
    }

    /// The 10-minute job on the slower machine whose calibration admitted `vgg-bn`: its one-epoch
    /// trial led at the top rung, `small` had reached rung 1. Once the trials price `vgg-bn` over the
    /// FLOP cap (the final could not give it 8 epochs), `small` is the pick.
    @Test func aTrialOverTheFLOPCapIsNotPickedWhileOneWithinItIs() throws {
        let fixture = try RecordedSearchFixture("over-cap", seed: 9)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trials = [trial(1, accuracy: 0.8695, flops: 38_000_000, candidate: seeds[0]),
                      trial(2, rung: 1, accuracy: 0.8690, flops: 8_000_000, candidate: seeds[2])]
        var settings = SearchSettings()
        let search = { ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                          previousTrials: trials) }
        #expect(search().bestTrial()?.id == 1)  // no cap
        settings.maximumFLOPs = 20_000_000
        #expect(search().bestTrial()?.id == 2)
        settings.maximumFLOPs = 1_000_000  // none within it: the leader still
        #expect(search().bestTrial()?.id == 1)
    }
}

@Suite struct EvolutionTests {
    @Test func theSeedsAreParentsOfMutationsThoughTheySkipTheLowRungs() throws {
        let fixture = try RecordedSearchFixture("evolution", seed: 5)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        var generator = SeededGenerator(seed: 9)
        let samples = (0..<3).map { _ in space.random(using: &generator) }
        let trial = BestTrialTests().trial
        // As in a search: the seeds at the top rung, then three random samples at rung 0, the
        // best of which was promoted to rung 1.
        let trials = [
            trial(1, 2, 0.871, 38_000_000, seeds[0]), trial(2, 2, 0.838, 60_000_000, seeds[1]),
            trial(3, 2, 0.861, 9_000_000, seeds[2]), trial(4, 0, 0.80, 5_000_000, samples[0]),
            trial(5, 0, 0.75, 5_000_000, samples[1]), trial(6, 0, 0.70, 5_000_000, samples[2]),
            trial(7, 1, 0.84, 5_000_000, samples[0]),
        ]
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                        previousTrials: trials)
        let population = search.population()
        #expect(population.map(\.id) == [1, 2, 3, 7, 5, 6], "one member per candidate, with its best trial")
        /// Whether `child` is `parent` with only training genes, or only architecture genes, changed.
        func isChild(_ child: Candidate, of parent: Candidate) -> Bool {
            var rest = parent
            rest.architecture = child.architecture
            rest.origin = child.origin
            return child.architecture == parent.architecture || rest == child
        }
        var queue: [Candidate] = []
        let proposals = (0..<40).map { _ in search.nextJob(seeds: &queue) }
        #expect(proposals.allSatisfy { $0.rung == 0 && $0.parent == nil })
        let ofSeeds = proposals.filter { proposal in seeds.contains { isChild(proposal.0, of: $0) } }
        // A tournament of 4 draws from 6 members holds a seed with probability 15/16, and seeds
        // outrank the rest (a higher rung). Before the seeds were members, none of these mutated one.
        #expect(ofSeeds.count >= 30, "\(ofSeeds.count) of 40 proposals mutate a seed")

        // With only the seeds tried, every other proposal mutates one; before, all were random samples.
        let seedsOnly = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                           previousTrials: Array(trials.prefix(3)))
        let early = (0..<40).map { _ in seedsOnly.nextJob(seeds: &queue).0 }
        #expect(early.allSatisfy { $0.origin == .random || $0.origin == .mutation })
        let mutations = early.filter { $0.origin == .mutation }
        #expect(mutations.count == 20 && mutations.allSatisfy { child in seeds.contains { isChild(child, of: $0) } })
        // No proposal repeats a tried candidate, whatever its origin.
        #expect(!proposals.contains { search.wasTried($0.0) } && !early.contains(where: seedsOnly.wasTried))
        var again = samples[1]
        again.origin = .mutation
        #expect(search.wasTried(again) && !seedsOnly.wasTried(again))
    }
}

@Suite struct DeadlineTests {
    @Test func onlyJobsThatCanReachTheBestTrialsRungBeforeTheDeadlineStart() throws {
        let fixture = try RecordedSearchFixture("deadline", seed: 6)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trial = BestTrialTests().trial
        let atTheTop = [trial(1, 2, 0.871, 38_000_000, seeds[0]), trial(2, 0, 0.80, 9_000_000, seeds[2])]
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                        previousTrials: atTheTop)
        let candidate = space.smallest
        let climb = (0..<3).map { search.estimatedSeconds(candidate, rung: $0) }
        #expect(climb[0] > 0 && climb[2] > climb[0])
        // The best trial is at the top rung: a new candidate must be able to get there.
        #expect(!search.canChallengeTheBest(candidate, from: 0, within: 0.99 * climb.reduce(0, +)))
        #expect(search.canChallengeTheBest(candidate, from: 0, within: 1.01 * climb.reduce(0, +)))
        #expect(search.canChallengeTheBest(candidate, from: 2, within: 1.01 * climb[2]))  // a promotion to the top rung
        #expect(!search.canChallengeTheBest(candidate, from: 1, within: 1.01 * climb[1]))  // one that would stop short of it
        // Proposals are drawn among those that can; the cheapest is the fallback.
        var queue: [Candidate] = []
        let remaining = 3 * climb.reduce(0, +)
        for _ in 0..<20 {
            let (proposal, rung, _) = search.nextJob(seeds: &queue, remaining: remaining)
            #expect(rung == 0 && search.canChallengeTheBest(proposal, from: 0, within: remaining))
        }
        // Without a deadline the same draws include candidates too slow to climb in that time.
        let unbounded = (0..<20).map { _ in search.nextJob(seeds: &queue).0 }
        #expect(unbounded.contains { !search.canChallengeTheBest($0, from: 0, within: remaining) })
        // With the best trial at rung 0 (a budget too small to climb), rung 0 is all a challenger needs.
        let atTheBottom = ArchitectureSearch(trainer: trainer, space: space, settings: SearchSettings(), initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                             previousTrials: [trial(1, 0, 0.80, 38_000_000, seeds[0])])
        let cost = atTheBottom.estimatedSeconds(candidate, rung: 0)
        #expect(atTheBottom.canChallengeTheBest(candidate, from: 0, within: 1.01 * cost))
        #expect(!atTheBottom.canChallengeTheBest(candidate, from: 0, within: 0.99 * cost))
    }

    @Test func whenOnlyTheCheapestFallbackIsLeftAndWasTriedTheSearchEnds() throws {
        let fixture = try RecordedSearchFixture("fallback", seed: 7)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trial = BestTrialTests().trial
        var settings = SearchSettings()
        settings.maximumFLOPs = 1  // no proposal fits: `nextJob` falls back to `space.smallest`
        let tried = [trial(1, 2, 0.871, 38_000_000, seeds[0]), trial(2, 2, 0.838, 60_000_000, seeds[1]),
                     trial(3, 2, 0.861, 9_000_000, seeds[2]), trial(4, 0, 0.2, 500_000, space.smallest)]
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                        previousTrials: tried)
        var queue: [Candidate] = []
        #expect(search.nextJob(seeds: &queue).0 == space.smallest)
        // Before, the search trained that fallback again and again until its deadline.
        let result = try search.run(deadline: Date().addingTimeInterval(600))
        #expect(result.trials.count == tried.count && result.stopReason == .budget)
    }
}

@Suite struct ResumeTests {
    /// A resumed job may decide the augmentation floor differently (a new calibration); the seeds
    /// its first run trained are still not trained again.
    @Test func aSeedTriedWithAnotherAugmentationFloorIsNotTriedAgain() throws {
        let fixture = try RecordedSearchFixture("resume-seeds", seed: 10)
        defer { fixture.remove() }
        var floored = fixture.space
        floored.augmentationFloor = .longTraining
        let trial = BestTrialTests().trial
        let before = [trial(1, 1, 0.69, 38_000_000, floored.startingArchitectures()[0]), trial(2, 1, 0.64, 9_000_000, floored.startingArchitectures()[2])]
        #expect(fixture.space.startingArchitectures()[2] != floored.startingArchitectures()[2])
        let resumed = ArchitectureSearch(trainer: fixture.trainer, space: fixture.space, settings: SearchSettings(),
                                         initialCost: CostModel(secondsPerImageFLOP: 1e-9), previousTrials: before)
        #expect(resumed.startingArchitecturesNotTried().map(\.origin) == [.startingArchitecture("resnet")])
    }
}

@Suite struct FinalTrainingFirstTests {
    /// When the final training could not give the best candidate `proposalFinalEpochs` epochs, the
    /// search ends once the seeds are scored; with more it goes on to proposals.
    @Test func whenTheFinalTrainingWouldBeShortOfEpochsTheSearchEndsOnceTheSeedsAreScored() throws {
        let fixture = try RecordedSearchFixture("final-first", seed: 8)
        defer { fixture.remove() }
        let (trainer, space, seeds) = (fixture.trainer, fixture.space, fixture.seeds)
        let trial = BestTrialTests().trial
        let scored = [trial(1, 2, 0.871, 38_000_000, seeds[0]), trial(2, 2, 0.838, 60_000_000, seeds[1]),
                      trial(3, 2, 0.861, 9_000_000, seeds[2])]
        var settings = SearchSettings()
        let search = { ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: CostModel(secondsPerImageFLOP: 1e-9),
                                          previousTrials: scored) }
        #expect(search().bestTrial()?.id == 1)
        let epoch = search().estimatedSeconds(seeds[0], images: trainer.splits.train.count, epochs: 1,
                                              validationImages: trainer.splits.validation.count)
        settings.finalTrainingSeconds = 29 * epoch
        #expect(try #require(search().finalEpochs(seeds[0])) < 30)
        let short = try search().run(deadline: Date().addingTimeInterval(600))
        #expect(short.stopReason == .finalTrainingFirst && short.trials.count == scored.count && short.best.id == 1)

        settings.finalTrainingSeconds = 31 * epoch
        let long = try search().run(deadline: Date().addingTimeInterval(1))
        #expect(long.stopReason != .finalTrainingFirst)
        settings.proposalFinalEpochs = nil
        settings.finalTrainingSeconds = 29 * epoch
        #expect(try search().run(deadline: Date().addingTimeInterval(1)).stopReason != .finalTrainingFirst)
    }
}

@Suite struct CostModelTests {
    @Test func aLineThroughMeasuredTrialsPricesLargeNetworksBetterThanOneRatio() throws {
        // Top-rung trials of a 10-minute Fashion-MNIST search: (forward FLOPs, seconds per image
        // = seconds / (50,000 trained + 10,000 scored / 3)).
        let images = 50_000.0 + 10_000 / 3
        let measured: [(flops: Double, seconds: Double)] = [(8_482_304, 9.28), (7_687_168, 9.96), (59_912_704, 49.86), (7_687_168, 9.86)]
        let runs = measured.map { (flops: $0.flops, secondsPerImage: $0.seconds / images) }
        let ratios = runs.map { $0.secondsPerImage / $0.flops }.sorted()
        let median = CostModel(secondsPerImageFLOP: ratios[ratios.count / 2])
        let fitted = CostModel.fit(runs, fallback: median)
        #expect(fitted != median && fitted.secondsPerImage > 0)
        // The `vgg-bn` seed (38.2 MFLOPs) took 32.3 s for the same epoch; it was not in the fit.
        let vgg = 38_189_056.0
        let predicted = fitted.seconds(flops: vgg, trainImages: 50_000, scoredImages: 10_000)
        #expect((predicted - 32.3).magnitude < 0.1 * 32.3, "fitted: \(predicted) s")
        #expect(median.seconds(flops: vgg, trainImages: 50_000, scoredImages: 10_000) > 1.3 * 32.3, "one ratio prices it too high")
        // The FLOP cap inverts the model.
        let cap = try #require(fitted.maximumFLOPs(secondsPerImage: fitted.secondsPerImage(flops: vgg)))
        #expect((cap - vgg).magnitude < 1)
        #expect(fitted.maximumFLOPs(secondsPerImage: fitted.secondsPerImage / 2) == nil)
    }

    @Test func runsThatDoNotDetermineALineKeepTheFallback() {
        let fallback = CostModel(secondsPerImageFLOP: 2e-11)
        #expect(CostModel.fit([(1e7, 2e-4), (4e7, 6e-4)], fallback: fallback) == fallback, "two runs")
        #expect(CostModel.fit([(1e7, 2e-4), (1.1e7, 2.5e-4), (1.2e7, 2.2e-4)], fallback: fallback) == fallback, "alike in FLOPs")
        #expect(CostModel.fit([(1e7, 6e-4), (2e7, 4e-4), (4e7, 2e-4)], fallback: fallback) == fallback, "negative slope")
        #expect(CostModel.fit([(1e7, 1e-4), (2e7, 4e-4), (4e7, 10e-4)], fallback: fallback) == fallback, "negative intercept")
    }
}
