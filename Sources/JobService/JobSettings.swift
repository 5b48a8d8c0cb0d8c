import Datasets
import Foundation
import Search
import Tensors

/// The options a job was started with that its record's own fields do not hold, kept in the store
/// (`jobs.settings`, JSON) and in `job.json`, so a job resumed by another process — the server
/// resuming a job `autovision train` started — runs with every option it started with.
///
/// `nil` fields take `TrainingJobOptions`' defaults; a job created over HTTP keeps its dataset's
/// import options (`importOptions == nil`).
public struct JobSettings: Codable, Sendable, Equatable {
    /// The import options of a job started from a manifest.
    public struct ImportSettings: Codable, Sendable, Equatable {
        public var multiLabel: Bool
        /// `--allow-root` folders, absolute paths.
        public var extraRoots: [String]
        /// `--map gs://BUCKET=DIR`: bucket → absolute folder path.
        public var bucketMap: [String: String]
        public var maxPixels: Int
        public var maxFileBytes: Int
        public var maxManifestBytes: Int
        public var workingSize: Int
        public var minTrainImagesPerLabel: Int
        public var imbalanceRatio: Double

        enum CodingKeys: String, CodingKey {
            case multiLabel = "multi_label", extraRoots = "extra_roots", bucketMap = "bucket_map", maxPixels = "max_pixels"
            case maxFileBytes = "max_file_bytes", maxManifestBytes = "max_manifest_bytes", workingSize = "working_size"
            case minTrainImagesPerLabel = "min_train_images_per_label", imbalanceRatio = "imbalance_ratio"
        }

        public init(_ options: ImportOptions) {
            multiLabel = options.multiLabel
            extraRoots = options.extraRoots.map { $0.standardizedFileURL.path }
            bucketMap = options.bucketMap.mapValues { $0.standardizedFileURL.path }
            maxPixels = options.maxPixels
            maxFileBytes = options.maxFileBytes
            maxManifestBytes = options.maxManifestBytes
            workingSize = options.workingSize
            minTrainImagesPerLabel = options.minTrainImagesPerLabel
            imbalanceRatio = options.imbalanceRatio
        }

        public var options: ImportOptions {
            var options = ImportOptions()
            options.multiLabel = multiLabel
            options.extraRoots = extraRoots.map { URL(fileURLWithPath: $0, isDirectory: true) }
            options.bucketMap = bucketMap.mapValues { URL(fileURLWithPath: $0, isDirectory: true) }
            options.maxPixels = maxPixels
            options.maxFileBytes = maxFileBytes
            options.maxManifestBytes = maxManifestBytes
            options.workingSize = workingSize
            options.minTrainImagesPerLabel = minTrainImagesPerLabel
            options.imbalanceRatio = imbalanceRatio
            return options
        }
    }

    public var scoreThreshold: Double?
    public var searchFraction: Double?
    /// `--architecture NAME`: the starting architecture trained without a search.
    public var startingArchitecture: String?
    /// `--candidate FILE`: the candidate, and its trial's images × epochs when the file was a search-log line.
    public var fixedCandidate: Candidate?
    public var fixedCandidateTrialImageEpochs: Int?
    public var importOptions: ImportSettings?
    /// `--ensemble-members N` (`TrainingJobOptions.maximumEnsembleMembers`).
    public var maximumEnsembleMembers: Int?
    /// `false`: no plateau stop in the final training (`TrainingJobOptions.earlyStopping`; Vertex AI's `disableEarlyStopping`).
    public var earlyStopping: Bool?
    /// `--precision` as resolved when the job was created; absent in jobs created before it, which trained in fp32.
    public var precision: Precision?

    enum CodingKeys: String, CodingKey {
        case scoreThreshold = "score_threshold", searchFraction = "search_fraction", startingArchitecture = "baseline"
        case fixedCandidate = "candidate", fixedCandidateTrialImageEpochs = "candidate_trial_image_epochs"
        case importOptions = "import_options", maximumEnsembleMembers = "maximum_ensemble_members"
        case earlyStopping = "early_stopping", precision
    }

    public init() {}

    /// The settings of a job started from a manifest with `options`.
    public init(_ options: TrainingJobOptions) {
        scoreThreshold = options.scoreThreshold
        searchFraction = options.searchFraction
        startingArchitecture = options.startingArchitecture
        fixedCandidate = options.fixedCandidate?.candidate
        fixedCandidateTrialImageEpochs = options.fixedCandidate?.trialImageEpochs
        importOptions = ImportSettings(options.importOptions)
        maximumEnsembleMembers = options.maximumEnsembleMembers
        if !options.earlyStopping { earlyStopping = false }
        precision = options.precision
    }
}

extension TrainingJobOptions {
    /// The options of a job to resume from its stored record: budget, seed, test-time augmentation
    /// and `settings` as it started. A job without import settings (created over HTTP) takes
    /// `datasetImportOptions`.
    public init(resuming record: JobRecord, jobsDirectory: URL, datasetImportOptions: ImportOptions?) {
        self.init(manifest: URL(fileURLWithPath: record.manifest), budget: Budget(seconds: record.budgetSeconds))
        seed = record.seed
        testTimeAugmentation = record.testTimeAugmentation ?? true
        self.jobsDirectory = jobsDirectory
        let settings = record.settings ?? JobSettings()
        if let value = settings.scoreThreshold { scoreThreshold = value }
        searchFraction = settings.searchFraction
        startingArchitecture = settings.startingArchitecture
        fixedCandidate = settings.fixedCandidate.map { GivenCandidate(candidate: $0, trialImageEpochs: settings.fixedCandidateTrialImageEpochs) }
        if let stored = settings.importOptions?.options ?? datasetImportOptions { importOptions = stored }
        if let members = settings.maximumEnsembleMembers { maximumEnsembleMembers = members }
        if let flag = settings.earlyStopping { earlyStopping = flag }
        precision = settings.precision ?? .fp32
    }
}
