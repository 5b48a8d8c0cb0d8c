import Energy
import Foundation

/// A job's evaluation report: the TEST metrics plus the sections other modules fill in (dataset,
/// search log, budget, machine, model, energy). Written as `Jobs/JOB_ID/report.json`, rendered as HTML and
/// as a terminal summary.
///
/// JSON keys are snake_case and stable: every key is always present, `null` when a section or value
/// is absent or undefined. Fractions are in [0, 1]; times in seconds; NaN never reaches JSON.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var jobID: String?
    /// ISO 8601 timestamp (UTC) of the report.
    public var createdAt: String
    /// The TEST metrics of a single-label model; `nil` for a multi-label one.
    public var test: TestEvaluation?
    /// The TEST metrics of a multi-label model (JSON: under `test` too, with `multi_label: true`).
    public var multiLabelTest: MultiLabelEvaluation?
    public var dataset: DatasetSummary?
    public var search: SearchLog?
    public var budget: BudgetSummary?
    public var machine: MachineInfo?
    public var model: ModelSummary?
    /// `energy`: what the job's work units used and its CO2e, summed over every worker that ran one
    /// (kWh, gCO2e, the method — `rapl` or `cpu-time estimate` — and the per-core watts and grid
    /// intensity used; `EnergyUse`). `null` in reports written before it.
    public var energy: EnergyUse?
    /// What the reader must know before using the model, e.g. that it is no better than always
    /// answering the most frequent class (`baselineWarnings`). Empty when there is nothing to say.
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case createdAt = "created_at"
        case test, dataset, search, budget, machine, model, warnings, energy
        case multiLabel = "multi_label"
    }

    /// Whether the model gives each label its own score (`multiLabelTest`).
    public var multiLabel: Bool { multiLabelTest != nil }

    /// A multi-label model's report; the other parameters as the single-label initialiser's.
    public init(multiLabelTest: MultiLabelEvaluation, jobID: String? = nil, createdAt: Date = Date(), dataset: DatasetSummary? = nil,
                search: SearchLog? = nil, budget: BudgetSummary? = nil, machine: MachineInfo? = nil, model: ModelSummary? = nil,
                energy: EnergyUse? = nil, warnings: [String] = []) {
        self.init(test: nil, multiLabelTest: multiLabelTest, jobID: jobID, createdAt: createdAt, dataset: dataset, search: search,
                  budget: budget, machine: machine, model: model, energy: energy, warnings: warnings)
    }

    public init(
        test: TestEvaluation?, multiLabelTest: MultiLabelEvaluation? = nil, jobID: String? = nil, createdAt: Date = Date(),
        dataset: DatasetSummary? = nil, search: SearchLog? = nil, budget: BudgetSummary? = nil,
        machine: MachineInfo? = nil, model: ModelSummary? = nil, energy: EnergyUse? = nil, warnings: [String] = []
    ) {
        self.test = test
        self.multiLabelTest = multiLabelTest
        self.jobID = jobID
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
        self.dataset = dataset
        self.search = search
        self.budget = budget
        self.machine = machine
        self.model = model
        self.energy = energy
        self.warnings = []
        self.warnings = warnings + baselineWarnings()
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jobID = try c.decodeIfPresent(String.self, forKey: .jobID)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        if try c.decodeIfPresent(Bool.self, forKey: .multiLabel) == true {
            multiLabelTest = try c.decode(MultiLabelEvaluation.self, forKey: .test)
        } else {
            test = try c.decode(TestEvaluation.self, forKey: .test)
        }
        dataset = try c.decodeIfPresent(DatasetSummary.self, forKey: .dataset)
        search = try c.decodeIfPresent(SearchLog.self, forKey: .search)
        budget = try c.decodeIfPresent(BudgetSummary.self, forKey: .budget)
        machine = try c.decodeIfPresent(MachineInfo.self, forKey: .machine)
        model = try c.decodeIfPresent(ModelSummary.self, forKey: .model)
        energy = try c.decodeIfPresent(EnergyUse.self, forKey: .energy)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
    }

    /// A warning for each of TEST and VALIDATION on which the model's accuracy (multi-label: mean AP)
    /// is at or below the baseline's: such a model has learned nothing a constant answer could not, and
    /// a job must say so wherever its accuracy is shown (issue 19: a served model scored 0.12 %
    /// TEST where always answering the largest class scored 26.6 %, and nothing said so).
    public func baselineWarnings() -> [String] {
        var warnings: [String] = []
        if let multiLabelTest {
            if let score = multiLabelTest.meanAveragePrecision, let baseline = multiLabelTest.baseline.meanAveragePrecision, score <= baseline {
                warnings.append("the model is no better than scoring each label by its TRAIN prevalence: TEST mean AP "
                    + "\(Format.percent(score, digits: 2)) against \(Format.percent(baseline, digits: 2)) for that baseline")
            }
            if let model, let score = model.validationScore, let baseline = model.validationBaselineScore, score <= baseline {
                warnings.append("the model is no better than scoring each label by its TRAIN prevalence on VALIDATION: mean AP "
                    + "\(Format.percent(score, digits: 2)) against \(Format.percent(baseline, digits: 2)) for that baseline")
            }
            return warnings
        }
        if let test, let baseline = test.baseline, test.examples > 0, test.accuracy <= baseline.accuracy {
            warnings.append("the model is no better than always answering '\(baseline.majorityClass)': TEST accuracy "
                + "\(Format.percent(test.accuracy, digits: 2)) against \(Format.percent(baseline.accuracy, digits: 2)) for that majority-class baseline")
        }
        if let model, let accuracy = model.validationScore, let baseline = model.validationBaselineScore, accuracy <= baseline {
            warnings.append("the model is no better than always answering the most frequent class on VALIDATION: "
                + "\(Format.percent(accuracy, digits: 2)) against \(Format.percent(baseline, digits: 2)) for that majority-class baseline")
        }
        return warnings
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(jobID, forKey: .jobID)
        try c.encode(createdAt, forKey: .createdAt)
        if let multiLabelTest { try c.encode(multiLabelTest, forKey: .test) } else { try c.encodeOrNull(test, forKey: .test) }
        try c.encode(multiLabel, forKey: .multiLabel)
        try c.encodeOrNull(dataset, forKey: .dataset)
        try c.encodeOrNull(search, forKey: .search)
        try c.encodeOrNull(budget, forKey: .budget)
        try c.encodeOrNull(machine, forKey: .machine)
        try c.encodeOrNull(model, forKey: .model)
        try c.encodeOrNull(energy, forKey: .energy)
        try c.encode(warnings, forKey: .warnings)
    }

    /// The report as UTF-8 JSON with sorted keys (pretty-printed by default).
    /// - Throws: `EvaluationError.json` if encoding fails (it should not: non-finite numbers are nulled).
    public func jsonData(pretty: Bool = true) throws(EvaluationError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(self) } catch { throw .json(String(describing: error)) }
    }

    /// Reads a report written by `jsonData()`.
    /// - Throws: `EvaluationError.json` when the data is not a report.
    public static func decode(from data: Data) throws(EvaluationError) -> EvaluationReport {
        do { return try JSONDecoder().decode(EvaluationReport.self, from: data) } catch { throw .json(String(describing: error)) }
    }
}

/// `dataset`: what the model was trained and tested on, as the caller (the import step) describes it.
public struct DatasetSummary: Codable, Sendable, Equatable {
    /// The manifest path or URI (and, if the caller likes, its content hash).
    public var manifest: String
    /// Example counts per partition (`TRAIN`, `VALIDATION`, `TEST`) and label.
    public var partitions: [String: [String: Int]]
    /// Free-form remarks, e.g. "VALIDATION carved from TRAIN (10 %, seed 42)".
    public var notes: [String]

    public init(manifest: String, partitions: [String: [String: Int]] = [:], notes: [String] = []) {
        self.manifest = manifest
        self.partitions = partitions
        self.notes = notes
    }
}

/// `search`: the architecture search log.
public struct SearchLog: Codable, Sendable, Equatable {
    /// The strategy, e.g. "ASHA + regularized evolution".
    public var strategy: String
    /// Every trial in the order it finished.
    public var trials: [TrialSummary]
    /// The trial whose candidate the final training trained (`ArchitectureSearch.bestTrial()`): not
    /// always the most accurate, see docs/search.md. `nil` without a search, and in reports written before it.
    public var pickedTrial: Int?

    enum CodingKeys: String, CodingKey { case strategy, trials, pickedTrial = "picked_trial" }

    public init(strategy: String, trials: [TrialSummary] = [], pickedTrial: Int? = nil) {
        self.strategy = strategy
        self.trials = trials
        self.pickedTrial = pickedTrial
    }
}

/// One trial of the search as the report shows it (the search's own record is `Search.TrialRecord`).
public struct TrialSummary: Codable, Sendable, Equatable {
    public var id: Int
    /// A readable description of the architecture and its hyper-parameters.
    public var architecture: String
    /// Trainable parameter count.
    public var parameters: Int
    /// Multiply–add count of one forward pass on one image.
    public var flops: Int
    /// Epochs trained (the trial's fidelity).
    public var epochs: Int
    /// VALIDATION accuracy in [0, 1]; `nil` when the trial failed or was stopped before evaluating.
    public var validationScore: Double?
    /// Wall-clock seconds the trial took.
    public var seconds: Double
    /// Energy the trial's work unit used and its CO2e (`null` in reports written before it).
    public var energy: EnergyUse?
    /// The worker that ran it (`HOST:PID:RANDOM`); absent when no worker ran the job, and in reports
    /// written before it.
    public var worker: String?

    public init(id: Int, architecture: String, parameters: Int, flops: Int, epochs: Int, validationScore: Double?, seconds: Double,
                energy: EnergyUse? = nil, worker: String? = nil) {
        self.id = id
        self.architecture = architecture
        self.parameters = parameters
        self.flops = flops
        self.epochs = epochs
        self.validationScore = validationScore
        self.seconds = seconds
        self.energy = energy
        self.worker = worker
    }

    enum CodingKeys: String, CodingKey {
        case id, architecture, parameters, flops, epochs
        case validationScore = "validation_accuracy"
        case seconds, energy, worker
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        architecture = try c.decode(String.self, forKey: .architecture)
        parameters = try c.decode(Int.self, forKey: .parameters)
        flops = try c.decode(Int.self, forKey: .flops)
        epochs = try c.decode(Int.self, forKey: .epochs)
        validationScore = try c.decodeIfPresent(Double.self, forKey: .validationScore)
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        energy = try c.decodeIfPresent(EnergyUse.self, forKey: .energy)
        worker = try c.decodeIfPresent(String.self, forKey: .worker)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(flops, forKey: .flops)
        try c.encode(epochs, forKey: .epochs)
        try c.encodeFinite(validationScore, forKey: .validationScore)
        try c.encodeFinite(seconds, forKey: .seconds)
        try c.encodeOrNull(energy, forKey: .energy)
        try c.encodeIfPresent(worker, forKey: .worker)
    }
}

/// `budget`: requested versus used worker time (with one worker, wall-clock time), in seconds.
public struct BudgetSummary: Codable, Sendable, Equatable {
    /// The `--budget` value: search plus final training.
    public var requestedSeconds: Double
    /// Search plus final training actually used.
    public var usedSeconds: Double
    /// Why the job stopped, e.g. `"budget_reached"`, `"converged"`, `"interrupted"`.
    public var stopReason: String
    /// Dataset import time, timed separately and not charged to the budget.
    public var importSeconds: Double?
    /// Worker-seconds of `usedSeconds` by phase: the search (calibration and every trial, on
    /// whichever worker), the final training, the evaluation; `nil` in reports written before them.
    public var searchSeconds: Double?
    public var finalTrainingSeconds: Double?
    public var evaluationSeconds: Double?
    /// Seconds on the wall clock from the budget's start (after the import) to the report: below
    /// `usedSeconds` when trials ran in parallel on several workers; `nil` when not known (a job
    /// resumed from a store written before it was kept).
    public var wallClockSeconds: Double?

    public init(requestedSeconds: Double, usedSeconds: Double, stopReason: String, importSeconds: Double? = nil) {
        self.requestedSeconds = requestedSeconds
        self.usedSeconds = usedSeconds
        self.stopReason = stopReason
        self.importSeconds = importSeconds
    }

    enum CodingKeys: String, CodingKey {
        case requestedSeconds = "requested_seconds"
        case usedSeconds = "used_seconds"
        case stopReason = "stop_reason"
        case importSeconds = "import_seconds"
        case searchSeconds = "search_seconds", finalTrainingSeconds = "final_training_seconds", evaluationSeconds = "evaluation_seconds"
        case wallClockSeconds = "wall_clock_seconds"
    }

    /// "search 20s, final training 50s, evaluation 8s; wall clock 1m 2s", or `nil` without phases.
    public var phasesDescription: String? {
        guard let searchSeconds, let finalTrainingSeconds, let evaluationSeconds else { return nil }
        return "search \(Format.duration(searchSeconds)), final training \(Format.duration(finalTrainingSeconds)), "
            + "evaluation \(Format.duration(evaluationSeconds))" + (wallClockSeconds.map { "; wall clock \(Format.duration($0))" } ?? "")
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requestedSeconds = try c.decodeIfPresent(Double.self, forKey: .requestedSeconds) ?? 0
        usedSeconds = try c.decodeIfPresent(Double.self, forKey: .usedSeconds) ?? 0
        stopReason = try c.decode(String.self, forKey: .stopReason)
        importSeconds = try c.decodeIfPresent(Double.self, forKey: .importSeconds)
        searchSeconds = try c.decodeIfPresent(Double.self, forKey: .searchSeconds)
        finalTrainingSeconds = try c.decodeIfPresent(Double.self, forKey: .finalTrainingSeconds)
        evaluationSeconds = try c.decodeIfPresent(Double.self, forKey: .evaluationSeconds)
        wallClockSeconds = try c.decodeIfPresent(Double.self, forKey: .wallClockSeconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeFinite(requestedSeconds, forKey: .requestedSeconds)
        try c.encodeFinite(usedSeconds, forKey: .usedSeconds)
        try c.encode(stopReason, forKey: .stopReason)
        try c.encodeFinite(importSeconds, forKey: .importSeconds)
        try c.encodeFinite(searchSeconds, forKey: .searchSeconds)
        try c.encodeFinite(finalTrainingSeconds, forKey: .finalTrainingSeconds)
        try c.encodeFinite(evaluationSeconds, forKey: .evaluationSeconds)
        try c.encodeFinite(wallClockSeconds, forKey: .wallClockSeconds)
    }
}

/// `model`: the final model.
public struct ModelSummary: Codable, Sendable, Equatable {
    /// A readable description of the architecture.
    public var architecture: String
    /// Trainable parameter count.
    public var parameters: Int
    /// Multiply–add count of one forward pass on one image.
    public var flops: Int
    /// Views averaged per prediction: `none`, `horizontal_flip` (each image and its mirror image)
    /// or `shifts` (the image and its four one-pixel shifts); see `NN.TestTimeAugmentation`.
    /// `nil` in reports written before it existed.
    public var testTimeAugmentation: String?
    /// VALIDATION accuracy (multi-label: mean AP) of the model as served (with its test-time
    /// augmentation), a fraction. JSON keys keep their names from before multi-label models.
    public var validationScore: Double?
    /// The same score of the baseline on VALIDATION (always answering TRAIN's most frequent class;
    /// multi-label: each label scored by its TRAIN prevalence), which `validationScore` must beat;
    /// `nil` in reports written before it.
    public var validationBaselineScore: Double?
    /// The arithmetic of its matrix products in training and serving: `fp32`, or `bf16` (bf16
    /// operands, fp32 sums and weights). `nil` in reports written before it: fp32.
    public var precision: String?

    enum CodingKeys: String, CodingKey {
        case architecture, parameters, flops, precision
        case testTimeAugmentation = "test_time_augmentation", validationScore = "validation_accuracy"
        case validationBaselineScore = "validation_baseline_accuracy"
    }

    /// The precision, for the summaries (`nil`: fp32, said by nobody).
    var precisionDescription: String? {
        precision == "bf16" ? "bf16 products (fp32 sums and weights)" : nil
    }

    /// How predictions are averaged, for the summaries (`nil`: one view).
    var testTimeAugmentationDescription: String? {
        switch testTimeAugmentation {
        case "horizontal_flip": "each prediction averaged with the mirror image's"
        case "shifts": "each prediction averaged over the image and its four one-pixel shifts"
        default: nil
        }
    }

    public init(architecture: String, parameters: Int, flops: Int, testTimeAugmentation: String? = nil, validationScore: Double? = nil,
                validationBaselineScore: Double? = nil, precision: String? = nil) {
        self.architecture = architecture
        self.precision = precision
        self.parameters = parameters
        self.flops = flops
        self.testTimeAugmentation = testTimeAugmentation
        self.validationScore = validationScore
        self.validationBaselineScore = validationBaselineScore
    }
}
