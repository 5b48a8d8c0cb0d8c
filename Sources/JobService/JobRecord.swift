import Energy
import Foundation

/// The life cycle of a training job.
///
/// `queued → importing → searching → training → evaluating → succeeded`, or `failed` /
/// `cancelled` from any state before `succeeded`.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, importing, searching, training, evaluating, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// What the store knows about a job; exported to `job.json` in the job's folder.
public struct JobRecord: Codable, Sendable, Equatable {
    public var id: String
    public var state: JobState
    public var manifest: String
    /// The service's dataset this job trains on; `nil` for a job started from a manifest (`autovision train`).
    public var datasetID: String?
    public var manifestSHA256: String?
    public var budgetSeconds: Double
    public var seed: UInt64
    public var createdAt: Date
    public var updatedAt: Date
    /// 0–1, of the budget (worker time).
    public var progress: Double = 0
    /// Seconds of the budget used so far (import excluded).
    public var usedSeconds: Double = 0
    public var importSeconds: Double?
    public var trialsDone = 0
    public var bestValidationScore: Double?
    public var testAccuracy: Double?
    /// `budget reached`, `converged`, `cancelled`, … once finished.
    public var stopReason: String?
    public var failureReason: String?
    /// Times the job was resumed after its process stopped (killed, crashed, server shut down).
    public var resumes: Int?
    /// `false` when the user turned test-time augmentation off (`TrainingJobOptions.testTimeAugmentation`);
    /// `nil` (every job before the option, and the default) means on.
    public var testTimeAugmentation: Bool?
    /// The other options the job started with (`JobSettings`); `nil` for jobs before them and jobs created over HTTP.
    public var settings: JobSettings?
    /// Set when the job succeeded with a model no better than always answering the most frequent
    /// class (the report's `warnings`, joined): such a model must not be served unawares.
    public var warning: String?
    /// Energy the job's work units used and its CO2e, summed over every worker that ran one (each
    /// unit adds its own with the write that ends it); `nil` before its first unit ended.
    public var energy: EnergyUse?

    enum CodingKeys: String, CodingKey {
        case id, state, manifest, datasetID = "dataset_id", manifestSHA256 = "manifest_sha256", budgetSeconds = "budget_seconds", seed
        case createdAt = "created_at", updatedAt = "updated_at", progress, usedSeconds = "used_seconds"
        case importSeconds = "import_seconds", trialsDone = "trials_done", bestValidationScore = "best_validation_accuracy"
        case testAccuracy = "test_accuracy", stopReason = "stop_reason", failureReason = "failure_reason", resumes
        case testTimeAugmentation = "test_time_augmentation", settings, warning, energy
    }

    public init(id: String, manifest: String, budgetSeconds: Double, seed: UInt64, now: Date = Date()) {
        self.id = id
        state = .queued
        self.manifest = manifest
        self.budgetSeconds = budgetSeconds
        self.seed = seed
        createdAt = now
        updatedAt = now
    }

    /// A new, sortable, unique job ID: `YYYYMMDD-HHMMSS-xxxxxx`.
    public static func newID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(6).lowercased()
        return "\(formatter.string(from: now))-\(suffix)"
    }
}

/// Errors of the job service.
public enum JobError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case noModel(String)
    case nothingImported(String)
    case failed(String)
    case invalidImage(String)
    case io(String)

    public var description: String {
        switch self {
        case let .notFound(id): "no job '\(id)' in the job store (list them with: autovision jobs list)"
        case let .noModel(id): "job '\(id)' has no trained model yet"
        case let .nothingImported(reason): "nothing to train on: \(reason)"
        case let .failed(reason): reason
        case let .invalidImage(reason): reason
        case let .io(reason): reason
        }
    }
}
