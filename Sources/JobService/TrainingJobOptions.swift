import Datasets
import Energy
import Foundation
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
    /// Share of the budget for the search, 0–1; the rest trains the final model and evaluates it.
    /// `nil` takes `JobPlanner.defaultSearchShare`.
    public var searchFraction: Double?
    /// Score threshold of the report's precision/recall (AutoML shows 0.5).
    public var scoreThreshold = 0.5
    /// Search settings (rung sizes etc.); the seed is set from `seed`.
    public var search = SearchSettings()
    /// Skip the search and train this starting architecture (`vgg-bn`, `resnet`, `small`) with the
    /// whole budget: what the search must beat.
    public var startingArchitecture: String?
    /// Skip the search and train this candidate with the whole budget (e.g. a trial of an earlier
    /// job's search log, to see what the search's pick makes without the search). Takes precedence
    /// over `startingArchitecture`. A bare candidate trains as it is; one with its trial's size is planned as
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
    /// Whether the final training may stop when VALIDATION accuracy plateaus; `false` trains every
    /// planned epoch (the budget still ends it).
    public var earlyStopping = true
    /// The arithmetic of every network the job trains and serves (`Precision`); `auto` on the
    /// command line resolves to `Precision.automatic` where the job is created.
    public var precision = Precision.automatic
    /// How the worker running the job's units measures their energy (per-core watts, grid intensity):
    /// a setting of the machine, not of the job, so it is not kept in `JobSettings`.
    public var energy = EnergySettings()

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
