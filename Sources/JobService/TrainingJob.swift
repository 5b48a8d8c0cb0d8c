import Datasets
import Evaluation
import Foundation
import ImageIO
import NN
import Search
import Tensors
import Training

/// Settings of one `autovision train` job.
public struct TrainingJobOptions: Sendable {
    public var manifest: URL
    public var budget: Budget
    public var seed: UInt64 = 0
    public var jobsDirectory = URL(fileURLWithPath: "Jobs")
    public var importOptions = ImportOptions()
    /// Share of the budget for the search; the rest trains the final model and evaluates it.
    /// `nil`: 25 % up to 15 minutes, 45 % up to an hour, 50 % beyond.
    ///
    /// Short budgets need most of their time for the final model: a short search's one-epoch top
    /// rung cannot tell candidates apart at the final horizon.
    /// See docs/decisions/0001-search-share-of-the-budget.md.
    public var searchFraction: Double?

    var effectiveSearchFraction: Double {
        searchFraction ?? (budget.seconds <= 900 ? 0.25 : budget.seconds <= 3600 ? 0.45 : 0.5)
    }
    /// Score threshold of the report's precision/recall (AutoML shows 0.5).
    public var scoreThreshold = 0.5
    /// Search settings (rung sizes etc.); the seed is set from `seed`.
    public var search = SearchSettings()
    /// Skip the search and train this seed architecture (`vgg-bn`, `resnet`, `small`) with the
    /// whole budget: the baseline the search must beat.
    public var fixedSeed: String?
    /// Skip the search and train this candidate with the whole budget (e.g. a trial of an earlier
    /// job's search log, to see what the search's pick makes without the search). Takes precedence
    /// over `fixedSeed`. A bare candidate trains as it is; one with its trial's size is planned as
    /// the search's final would be (`FinalTrainingPlan`: over a long final training, the
    /// augmentation floor its short trial did without).
    public var fixedCandidate: GivenCandidate?
    /// Whether the final model may average each prediction over flipped or shifted views of the
    /// image (`TestTimeAugmentation`), when that raises VALIDATION accuracy. It multiplies the
    /// inference work by 2 or 5; `false` keeps one forward pass per prediction, for a service that
    /// needs the throughput more. See docs/decisions/0016-test-time-augmentation.md.
    public var testTimeAugmentation = true
    /// Most networks the final model may average (`FinalEnsemble`): when the final training ends
    /// early with time left, more are trained with other random seeds, and kept when they raise
    /// VALIDATION accuracy. Each multiplies the inference work; 1 keeps a single network.
    public var maximumEnsembleMembers = FinalEnsemble.defaultMaximumMembers

    public init(manifest: URL, budget: Budget) {
        self.manifest = manifest
        self.budget = budget
    }
}

/// Progress of a job, for a terminal or the service.
public enum JobEvent: Sendable {
    case message(String)
    case trial(Search.TrialRecord)
    case epoch(EpochRecord)
}

/// The main job: import a manifest, search architectures within the budget, train the best one
/// with what is left, evaluate it once on TEST and write the report.
///
/// Budget semantics (as AutoML Vision's node hours, in wall-clock time on this machine): the clock
/// starts after the import (which is timed and reported separately) and covers calibration,
/// search, final training and evaluation. The final training stops early when VALIDATION accuracy
/// has converged, and only the time used is charged.
public final class TrainingJob {
    public let options: TrainingJobOptions
    public let folder: JobFolder
    public private(set) var record: JobRecord
    private let onEvent: (JobEvent) -> Void

    /// - Parameter resuming: the store's record of this job when it ran before and was
    ///   interrupted (process killed, service shut down): the job goes on from the trials in its
    ///   search log and its best trial's checkpoint, with the budget it has left.
    public init(options: TrainingJobOptions, id: String = JobRecord.newID(), resuming: JobRecord? = nil,
                onEvent: @escaping (JobEvent) -> Void = { _ in }) throws {
        self.options = options
        folder = JobFolder(jobsDirectory: options.jobsDirectory, id: id)
        record = resuming ?? JobRecord(id: id, manifest: options.manifest.path, budgetSeconds: options.budget.seconds, seed: options.seed)
        if resuming == nil {
            if !options.testTimeAugmentation { record.testTimeAugmentation = false }
            record.settings = JobSettings(options)
        }
        self.onEvent = onEvent
        try folder.create()
        try folder.write(record)
    }

    public var id: String { record.id }

    private func update(_ change: (inout JobRecord) -> Void) {
        change(&record)
        record.updatedAt = Date()
        try? folder.write(record)
    }

    private func say(_ message: String) { onEvent(.message(message)) }

    /// A seed architecture's name (`small`), or another candidate's summary, for the job's log.
    static func name(_ candidate: Candidate) -> String {
        candidate.origin.hasPrefix("seed:") ? String(candidate.origin.dropFirst(5)) : candidate.summary
    }

    /// Runs the whole job.
    /// - Parameter shouldStop: polled between batches; `true` (Ctrl-C, cancel) ends the job as
    ///   `cancelled`, leaving a consistent folder.
    /// - Returns: the evaluation report, or `nil` when cancelled.
    /// - Throws: `JobError` / `SearchError` / `ManifestError` with a message for the user; the job's
    ///   record is marked `failed` with the same reason first.
    @discardableResult
    public func run(shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> EvaluationReport? {
        do {
            return try execute(shouldStop: shouldStop)
        } catch {
            update {
                $0.state = .failed
                $0.failureReason = "\(error)"
            }
            throw error
        }
    }

    private func execute(shouldStop: @escaping @Sendable () -> Bool) throws -> EvaluationReport? {
        // 1. Import (timed apart from the budget).
        update { $0.state = .importing }
        say("importing \(options.manifest.path)")
        let imported = try DatasetImporter(options: options.importOptions).importManifest(at: options.manifest)
        try folder.writeAtomically(try JSONEncoder.sorted.encode(imported.summary), to: folder.importURL)
        update {
            $0.manifestSHA256 = imported.summary.manifestSHA256
            $0.importSeconds = imported.summary.importSeconds
        }
        if imported.summary.multiLabel { throw JobError.multiLabelNotSupported }
        guard imported.summary.imported > 0, imported.summary.working != nil else {
            throw JobError.nothingImported("no labelled image imported (\(imported.summary.rejected.count) rows rejected; run autovision import to see why)")
        }
        say("imported \(imported.summary.images) images in \(String(format: "%.1f", imported.summary.importSeconds)) s "
            + "(\(imported.summary.rejected.count) rows rejected)")
        let cache = try DatasetCache.open(for: imported, in: options.jobsDirectory.appendingPathComponent("cache"),
                                          maxPixels: options.importOptions.maxPixels)
        let dataset = cache.dataset
        let splits = TrainingSplits(dataset: dataset)
        for note in splits.notes { say(note) }
        guard !splits.train.isEmpty else { throw SearchError.noTrainingImages }
        guard !splits.validation.isEmpty, !splits.test.isEmpty else {
            throw JobError.nothingImported("too few images to train and evaluate: give VALIDATION and TEST images, or at least 3 TRAIN images")
        }
        let trainer = Trainer(dataset: dataset, splits: splits)
        let labels = dataset.header.labels
        var counts = [Int](repeating: 0, count: labels.count)
        for index in splits.train { counts[Int(dataset.labels[index])] += 1 }
        let present = counts.filter { $0 > 0 }
        // The majority-class baseline: always answering TRAIN's most frequent class. Every model must
        // beat it on VALIDATION to be picked or served without a warning (issue 19).
        let majorityClass = counts.indices.max { counts[$0] < counts[$1] } ?? 0
        let validationBaseline = Double(splits.validation.filter { Int(dataset.labels[$0]) == majorityClass }.count)
            / Double(max(1, splits.validation.count))
        // A 3:1 imbalance opens the class-weighting gene to the search; the trials decide whether to weight.
        var space = SearchSpace(inputShape: BatchLoader(dataset: dataset, normalization: nil).inputShape, classes: labels.count,
                                imbalanced: (present.max() ?? 0) > 3 * (present.min() ?? 0), trainImages: splits.train.count)

        // 2. The budget clock starts now (or goes on, for a job resumed after an interruption).
        let seeds = space.seeds()
        // Without a search: the candidate given, or the seed architecture named.
        var baseline = options.fixedCandidate?.candidate
        if let candidate = baseline, let problem = space.problem(with: candidate) {
            throw JobError.failed("the candidate cannot train on these images: \(problem)")
        }
        if baseline == nil, let name = options.fixedSeed {
            guard let seed = seeds.first(where: { $0.origin == "seed:\(name)" }) else {
                throw JobError.failed("unknown seed architecture '\(name)' (known: \(seeds.map(Self.name).joined(separator: ", ")))")
            }
            baseline = seed
        }
        let baselineDescription = options.fixedCandidate != nil ? "candidate" : "seed architecture"
        let previousTrials = baseline == nil && record.usedSeconds > 0 ? try folder.readSearchLog() : []
        if let (trial, problem) = previousTrials.lazy.compactMap({ trial in space.problem(with: trial.candidate).map { (trial, $0) } }).first {
            throw JobError.failed("trial \(trial.id) of \(folder.searchLogURL.lastPathComponent) cannot have been made by this job's search (\(problem)); the job cannot resume")
        }
        let usedBefore = previousTrials.isEmpty ? 0 : record.usedSeconds
        let start = Date().addingTimeInterval(-usedBefore)
        let end = start.addingTimeInterval(options.budget.seconds)
        var settings = options.search
        settings.seed = options.seed
        settings.finalTrainingSeconds = options.budget.seconds * (1 - options.effectiveSearchFraction)
        // A resumed job searches under the regime the interrupted run decided (`SearchRegime`).
        let keptRegime = previousTrials.isEmpty ? nil : try folder.readSearchRegime()
        let regime: SearchRegime
        if let keptRegime {
            regime = keptRegime
        } else {
            let calibrationStart = Date()
            let probed = baseline.map { [$0] } ?? seeds  // a job without a search prices only its seed
            let calibration = try ArchitectureSearch.calibrate(trainer: trainer, seeds: probed, space: space)
            let pricedEpochs = try probed.map { seed in
                let flops = Double(try seed.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "seed")
                    .forwardFLOPsPerImage())
                let epoch = calibration.seconds(flops: flops, trainImages: Double(splits.train.count), scoredImages: Double(splits.validation.count))
                return "\(Self.name(seed)) ~\(Budget.format(epoch))"
            }
            say("timed a few batches of \(baseline == nil ? "each seed architecture" : "the \(baselineDescription)") in \(String(format: "%.1f", Date().timeIntervalSince(calibrationStart))) s; "
                + "priced epochs: \(pricedEpochs.joined(separator: ", "))")
            let seedFLOPs = Double(try seeds[0].architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "seed")
                .forwardFLOPsPerImage())
            regime = SearchRegime.decide(calibration: calibration, seedFLOPs: seedFLOPs, settings: settings,
                                         searchSeconds: options.budget.seconds * options.effectiveSearchFraction,
                                         finalSeconds: settings.finalTrainingSeconds!, trainImages: splits.train.count,
                                         validationImages: splits.validation.count, search: baseline == nil)
            try? folder.writeSearchRegime(regime)  // without it, a resumed job calibrates again
        }
        regime.apply(to: &settings, space: &space)
        var cost = regime.costModel
        var previousBest: (trialID: Int, network: Sequential)?
        if !previousTrials.isEmpty, let checkpoint = try? Checkpoint.read(from: folder.bestTrialURL),
           let trialID = checkpoint.metadata["trial"].flatMap(Int.init), let network = try? checkpoint.makeNetwork() {
            previousBest = (trialID, network)
        }
        let search = ArchitectureSearch(trainer: trainer, space: space, settings: settings, initialCost: regime.costModel,
                                        previousTrials: previousTrials, previousBest: previousBest)
        if !previousTrials.isEmpty {
            say("resuming after an interruption: \(previousTrials.count) finished trials kept, \(Budget.format(usedBefore)) of the budget used"
                + (keptRegime != nil ? ", its search regime kept" : "") + (search.hasBestNetwork ? ", the best trial's weights restored" : ""))
        }
        let rungZero = settings.rung(0, trainImages: splits.train.count)
        // At least the cheapest trial and one final epoch (priced for the first seed), or, without a
        // search, one epoch of the seed trained.
        let cheapest = baseline == nil ? seeds.map { search.estimatedSeconds($0, images: rungZero.images, epochs: rungZero.epochs) }.min()! : 0
        let oneFinalEpoch = search.estimatedSeconds(baseline ?? seeds[0], images: splits.train.count, epochs: 1)
        let needed = Date().timeIntervalSince(start) + cheapest + oneFinalEpoch + 2
        if needed > options.budget.seconds {
            if usedBefore > 0 {
                throw JobError.failed("interrupted after using \(Budget.format(usedBefore)) of the \(options.budget) budget, too little is left "
                    + "to finish; submit the job again")
            }
            throw SearchError.budgetTooSmall(requested: options.budget.seconds, needed: needed)
        }

        update { $0.state = .searching }
        let best: Candidate
        var warmStart: Sequential?
        var bestTrialImageEpochs = options.fixedCandidate?.trialImageEpochs
        let trials: [Search.TrialRecord]
        let strategy: String
        if let baseline {
            say("no search: training the \(baselineDescription) \(Self.name(baseline)) with the whole budget")
            best = baseline
            trials = []
            strategy = "none: the \(baselineDescription) \(Self.name(baseline)) trained with the whole budget"
        } else {
            let searchEnd = start.addingTimeInterval(options.budget.seconds * options.effectiveSearchFraction)
            let rungs = (0..<settings.rungs).map { settings.rung($0, trainImages: splits.train.count) }.map { "\($0.images) images × \($0.epochs)" }
            say("searching until \(Budget.format(options.budget.seconds * options.effectiveSearchFraction)) of the \(options.budget) budget "
                + "(rungs: \(rungs.joined(separator: ", ")); proposals under ~\(search.maximumFLOPs.map { String($0 / 1_000_000) } ?? "any") MFLOPs per image"
                + (space.augmentationFloor == .none ? "" : "; every candidate trains with at least ±\(space.augmentationFloor.cropPadding) px "
                    + "translation and p \(space.augmentationFloor.erasingProbability) erasing, as the long final training will") + ")")
            let normalization = BatchLoader.fitNormalization(dataset: dataset, indices: splits.train)
            let recordTrial = { (trial: Search.TrialRecord) in
                try? self.folder.appendSearchLog(trial)
                self.update {
                    $0.trialsDone += 1
                    if trial.error == nil { $0.bestValidationAccuracy = max($0.bestValidationAccuracy ?? 0, trial.validationAccuracy) }
                    $0.usedSeconds = Date().timeIntervalSince(start)
                    $0.progress = min(1, $0.usedSeconds / self.options.budget.seconds)
                }
                self.onEvent(.trial(trial))
            }
            let checkpointBest = { (trial: Search.TrialRecord, network: Sequential) in
                // The best trial so far is checkpointed as it finishes: a resumed job starts from it.
                let trialSpec = trial.candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes,
                                                                          name: "trial-\(trial.id)")
                let checkpoint = Checkpoint(
                    network: network, architecture: trialSpec, normalization: normalization, labelNames: labels,
                    metadata: ["job_id": self.id, "trial": String(trial.id), "candidate": trial.candidate.summary,
                               "validation_accuracy": String(trial.validationAccuracy)])
                if let data = try? checkpoint.encoded() { try? self.folder.writeAtomically(data, to: self.folder.bestTrialURL) }
            }
            let result: SearchResult?
            do {
                result = try search.run(deadline: searchEnd, budgetEnd: end, shouldStop: shouldStop, onTrial: recordTrial,
                                        onNewBest: checkpointBest)
            } catch SearchError.cancelled {
                return cancel(start: start)
            } catch SearchError.noTrialFinished where !shouldStop() && end.timeIntervalSinceNow > oneFinalEpoch {
                // The search's share ran out before a trial finished (on a loaded machine the calibration can
                // take most of a short budget's share): the cheapest seed trains with the rest of the budget,
                // rather than the job failing with most of its budget unused.
                result = nil
            }
            if let result {
                if result.stopReason == .cancelled || shouldStop() { return cancel(start: start) }
                let ended = switch result.stopReason {
                case .converged: "converged"
                case .finalTrainingFirst: "ended once the seed architectures were scored (the final training needs the rest of the budget: "
                    + "it would give the best candidate fewer than \(settings.proposalFinalEpochs ?? 0) epochs)"
                default: "used its share of the budget"
                }
                let count = result.trials.count
                if Date() > searchEnd.addingTimeInterval(1) {
                    say("the search ran \(Budget.format(Date().timeIntervalSince(searchEnd))) past its share: the final training of its best "
                        + "candidate needs at most ~\(Budget.format(search.finalTrainingCeilingSeconds(result.best.candidate))) "
                        + "(\(FinalTrainingPlan.maximumEpochs) epochs), so the rest of the budget went to more trials")
                }
                say("search \(ended) after \(count) trial\(count == 1 ? "" : "s"); "
                    + "best: trial \(result.best.id) (\(result.best.architecture)), validation \(percent(result.best.validationAccuracy)) "
                    + "against \(percent(search.baselineAccuracy(result.best))) for always answering '\(labels[majorityClass])'")
                if !search.beatsBaseline(result.best) {
                    say("warning: no trial beat always answering '\(labels[majorityClass])', the most frequent class, on VALIDATION")
                }
                best = result.best.candidate
                warmStart = result.bestNetwork
                bestTrialImageEpochs = result.best.trainImages * result.best.epochs
                trials = result.trials
                cost = result.costModel
                strategy = "ASHA (asynchronous successive halving) with regularized evolution; \(result.trials.count) trials; "
                    + "search stopped: \(result.stopReason.rawValue)"
            } else {
                let price = { (seed: Candidate) in search.estimatedSeconds(seed, images: rungZero.images, epochs: rungZero.epochs) }
                best = seeds.min { price($0) < price($1) }!
                say("the search's share of the budget ran out before a trial finished; training the seed architecture "
                    + "\(Self.name(best)) with the rest of the budget")
                trials = []
                strategy = "none: the search's share ran out before a trial finished; the seed architecture \(Self.name(best)) "
                    + "trained with the rest of the budget"
            }
        }

        // 3. Final training of the best candidate with what is left.
        update { $0.state = .training }
        let spec = best.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "final")
        let flops = Double(try spec.forwardFLOPsPerImage())
        let epochSeconds = max(1e-3, cost.seconds(flops: flops, trainImages: Double(splits.train.count),
                                                  scoredImages: Double(splits.validation.count)))
        // VALIDATION once per test-time augmentation on offer, then TEST once (at most the costliest's
        // views). Translations are on offer when the candidate has them or its final training may
        // be long enough for `FinalTrainingPlan` to add them.
        let mayTranslate = best.cropPadding > 0
            || end.timeIntervalSinceNow / epochSeconds >= Double(FinalTrainingPlan.regularizationEpochs)
        let priced = testTimeAugmentations(horizontalFlip: best.horizontalFlip, translation: mayTranslate).map(\.views)
        let scoredImages = priced.reduce(0, +) * splits.validation.count + priced.max()! * splits.test.count
        let evaluationReserve = cost.seconds(flops: flops, trainImages: 0, scoredImages: Double(scoredImages)) + 2
        let trainingEnd = end.addingTimeInterval(-evaluationReserve)
        let epochs = max(1, min(FinalTrainingPlan.maximumEpochs, Int(trainingEnd.timeIntervalSinceNow / epochSeconds)))
        let plan = FinalTrainingPlan(candidate: best, trialImageEpochs: bestTrialImageEpochs, trainImages: splits.train.count,
                                     epochs: epochs, seed: options.seed)
        var config = plan.config
        config.patience = max(3, epochs / 4)
        if !plan.warmStart { warmStart = nil }
        for note in plan.notes { say(note) }
        say("training the final model for up to \(epochs) epochs (~\(Budget.format(epochSeconds)) each)"
            + (warmStart != nil ? ", starting from the best trial's weights" : ""))
        var planned = epochs
        let onEpoch = { (epoch: EpochRecord) in
            self.update {
                $0.usedSeconds = Date().timeIntervalSince(start)
                $0.progress = min(1, $0.usedSeconds / self.options.budget.seconds)
                $0.bestValidationAccuracy = max($0.bestValidationAccuracy ?? 0, epoch.validationAccuracy)
            }
            self.onEvent(.epoch(epoch))
        }
        let outcome = try trainer.train(spec, config: config, deadline: trainingEnd, shouldStop: shouldStop, onEpoch: onEpoch, replan: { epoch in
            // The cost model is an estimate: once epochs are measured, fill the time that is left.
            let perEpoch = epoch.seconds / Double(epoch.epoch)
            let fits = epoch.epoch + Int(0.97 * trainingEnd.timeIntervalSinceNow / perEpoch)
            guard fits > planned else { return nil }
            planned = min(FinalTrainingPlan.maximumEpochs, fits)
            self.say("epochs take ~\(Budget.format(perEpoch)): planning \(planned) epochs")
            return planned
        }, initialNetwork: warmStart, onCoolDown: { epoch, epochs, plateau in
            self.say("after epoch \(epoch): " + (plateau ? "validation accuracy has plateaued" : "the budget is nearly used")
                + "; annealing the learning rate over \(epochs) more epoch\(epochs == 1 ? "" : "s")")
        }, baseline: validationBaseline)
        if outcome.stopReason == .cancelled { return cancel(start: start) }
        if outcome.stopReason == .noBetterThanBaseline {
            say("stopped the final training after \(outcome.history.count) epochs: VALIDATION accuracy \(percent(outcome.bestValidationAccuracy)) "
                + "is no better than always answering '\(labels[majorityClass])' (\(percent(validationBaseline)))")
        }

        // 3b. Time the final training left trains more members of the final model (`FinalEnsemble`).
        var ensemble = FinalEnsemble(first: outcome)
        let endedByItself = outcome.stopReason == .converged || outcome.stopReason == .completed
        while endedByItself, ensemble.members.count < options.maximumEnsembleMembers, !shouldStop() {
            let count = ensemble.members.count
            // Each member adds its share of the evaluation's inference work.
            let memberEnd = end.addingTimeInterval(-Double(count + 1) * evaluationReserve)
            guard ensemble.fitsAnother(in: memberEnd.timeIntervalSinceNow) else { break }
            var memberConfig = config
            memberConfig.epochs = planned
            memberConfig.seed = FinalEnsemble.seed(member: count, jobSeed: options.seed)
            say("\(Budget.format(memberEnd.timeIntervalSinceNow)) left after the final training: training ensemble member \(count + 1) "
                + "(the same architecture from other random weights) for up to \(planned) epochs")
            let member = try trainer.train(spec, config: memberConfig, deadline: memberEnd, shouldStop: shouldStop, onEpoch: onEpoch,
                                           baseline: validationBaseline)
            if member.stopReason == .cancelled { return cancel(start: start) }
            ensemble.append(member)
        }
        let ensembleMembers = ensemble.kept { trainer.accuracy($0, normalization: outcome.normalization, indices: splits.validation) }
        let network = ensemble.network(members: ensembleMembers.count)
        let finalSpec = try FinalEnsemble.architecture(spec, members: ensembleMembers.count)
        if ensemble.members.count > 1 {
            say("keeping \(ensembleMembers.count) of the \(ensemble.members.count) networks trained: their average scores \(percent(ensembleMembers.validationAccuracy)) "
                + "on VALIDATION (the final training's network alone: \(percent(outcome.bestValidationAccuracy)))")
        }
        let left = end.timeIntervalSinceNow - Double(ensemble.members.count) * evaluationReserve
        if left > 0.2 * options.budget.seconds, endedByItself {
            let why = ensemble.members.count >= options.maximumEnsembleMembers
                ? "the final model has its most networks (\(options.maximumEnsembleMembers))"
                : ensemble.members.count > 1 ? "another ensemble member would not fit"
                : outcome.stopReason == .converged ? "VALIDATION accuracy stopped improving"
                : "it reached \(planned >= FinalTrainingPlan.maximumEpochs ? "its ceiling of" : "the planned") \(planned) epochs"
            say("the final training ended with \(Budget.format(left)) of the budget left: \(why); the time left is not charged")
        }

        // 4. Evaluation: the test-time augmentation is picked on VALIDATION; TEST is used once, here.
        update { $0.state = .evaluating }
        let offered = testTimeAugmentations(horizontalFlip: plan.candidate.horizontalFlip, translation: plan.candidate.cropPadding > 0)
        if !options.testTimeAugmentation, plan.candidate.horizontalFlip || plan.candidate.cropPadding > 0 {
            say("test-time augmentation is off: single-view predictions")
        }
        var testTimeAugmentation = TestTimeAugmentation.none
        var validationAccuracy = -1.0
        for policy in offered {
            let value = trainer.accuracy(network, normalization: outcome.normalization, indices: splits.validation,
                                         testTimeAugmentation: policy)
            // Cheapest first: a costlier policy multiplies the inference work, so it must raise VALIDATION accuracy to be kept.
            if value > validationAccuracy { (testTimeAugmentation, validationAccuracy) = (policy, value) }
        }
        if offered.count > 1 {
            let tried = offered.dropFirst().map { $0 == .horizontalFlip ? "mirror images" : "one-pixel shifts" }.joined(separator: " or ")
            let decision = switch testTimeAugmentation {
            case .none: "kept single-view predictions: averaging with \(tried) did not raise VALIDATION accuracy (\(percent(validationAccuracy)))"
            case .horizontalFlip: "averaging each prediction with the mirror image's (the model trained with flips): VALIDATION \(percent(validationAccuracy))"
            case .shifts: "averaging each prediction over the image and its four one-pixel shifts (the model trained with translations): "
                + "VALIDATION \(percent(validationAccuracy))"
            }
            say(decision)
        }
        let resolution = dataset.resolution
        let checkpoint = Checkpoint(
            network: network, architecture: finalSpec, normalization: outcome.normalization, labelNames: labels,
            metadata: [
                "job_id": id, "working_resolution": String(decoding: try JSONEncoder.sorted.encode(resolution), as: UTF8.self),
                "candidate": plan.candidate.summary, "validation_accuracy": String(validationAccuracy),
                "ensemble_members": String(ensembleMembers.count),
                TestTimeAugmentation.metadataKey: testTimeAugmentation.rawValue,
            ])
        try folder.writeAtomically(try checkpoint.encoded(), to: folder.modelURL)
        let probabilities = trainer.probabilities(network, normalization: outcome.normalization, indices: splits.test,
                                                  testTimeAugmentation: testTimeAugmentation)
        var test = try TestEvaluation(
            probabilities: probabilities, labels: splits.test.map { Int(dataset.labels[$0]) }, classNames: labels,
            scoreThreshold: options.scoreThreshold,
            references: splits.test.map { "manifest line \(dataset.lines[$0])" }, majorityClass: majorityClass)
        test.attachThumbnails { index in
            let pixels = Array(dataset.pixels(splits.test[index]))
            let image = Image(width: resolution.width, height: resolution.height, channels: resolution.channels, pixels: pixels)
            return (try? PNGEncoder.encode(image)).map { Data($0) }
        }
        let used = Date().timeIntervalSince(start)
        let stopReason = switch outcome.stopReason {
        case .deadline: "budget reached"
        case .converged: "converged"
        case .noBetterThanBaseline: "no better than the majority-class baseline"
        default: planned >= FinalTrainingPlan.maximumEpochs ? "reached the ceiling of \(planned) epochs" : "completed the planned epochs"
        }
        var notes = splits.notes
        notes += imported.summary.warnings
        let report = EvaluationReport(
            test: test, jobID: id,
            dataset: DatasetSummary(manifest: options.manifest.path, partitions: imported.summary.partitions, notes: notes),
            search: SearchLog(
                strategy: strategy,
                trials: trials.map {
                    Evaluation.TrialRecord(id: $0.id, architecture: $0.architecture, parameters: $0.parameters, flops: $0.flops,
                                           epochs: $0.epochs, validationAccuracy: $0.error == nil ? $0.validationAccuracy : nil,
                                           seconds: $0.seconds)
                }),
            budget: BudgetSummary(requestedSeconds: options.budget.seconds, usedSeconds: used, stopReason: stopReason,
                                  importSeconds: imported.summary.importSeconds),
            machine: MachineInfo.current(),
            model: ModelSummary(architecture: plan.candidate.summary + (ensembleMembers.count > 1 ? " (ensemble of \(ensembleMembers.count))" : ""),
                                parameters: try finalSpec.parameterCount(), flops: try finalSpec.forwardFLOPsPerImage(),
                                testTimeAugmentation: testTimeAugmentation.rawValue, validationAccuracy: validationAccuracy,
                                validationBaselineAccuracy: validationBaseline))
        for warning in report.warnings { say("warning: \(warning)") }
        try folder.writeAtomically(try report.jsonData(), to: folder.reportURL)
        try folder.writeAtomically(Data(report.html().utf8), to: folder.reportHTMLURL)
        update {
            $0.state = .succeeded
            $0.usedSeconds = used
            $0.progress = 1
            $0.testAccuracy = test.accuracy
            $0.stopReason = stopReason
            $0.bestValidationAccuracy = outcome.bestValidationAccuracy
            $0.warning = report.warnings.isEmpty ? nil : report.warnings.joined(separator: "; ")
        }
        return report
    }

    /// The test-time augmentations the final model may use, cheapest first: those that suit its
    /// training augmentation, or none when the options turn them off.
    private func testTimeAugmentations(horizontalFlip: Bool, translation: Bool) -> [TestTimeAugmentation] {
        options.testTimeAugmentation ? TestTimeAugmentation.offered(horizontalFlip: horizontalFlip, translation: translation) : [.none]
    }

    private func cancel(start: Date) -> EvaluationReport? {
        update {
            $0.state = .cancelled
            $0.stopReason = "cancelled"
            $0.usedSeconds = Date().timeIntervalSince(start)
        }
        say("job \(id) cancelled: its folder keeps the import summary and the search log; no model was written")
        return nil
    }
}

func percent(_ value: Double) -> String { String(format: "%.2f %%", value * 100) }

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
