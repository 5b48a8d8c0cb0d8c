import Foundation
import NN
import Training

/// The final model as an ensemble: when the final training ends by itself (VALIDATION accuracy
/// plateaued, or its epochs ran) with time left, more networks of the same architecture are trained
/// from other random seeds, and their class scores are averaged (`Ensemble`). Of the members trained,
/// the first `k` whose average scores highest on VALIDATION are kept; a tie keeps fewer, since each
/// member multiplies the inference work.
///
/// Networks of one architecture started from different random weights make different errors, so
/// their average is more accurate than any one (Lakshminarayanan et al. 2017,
/// https://arxiv.org/abs/1612.01474; Fort et al. 2019, https://arxiv.org/abs/1912.02757).
/// See docs/decisions/0020-budget-left-by-the-final-training.md.
public struct FinalEnsemble {
    /// `TrainingJobOptions.maximumEnsembleMembers`'s default.
    public static let defaultMaximumMembers = 5
    /// A member is trained only when the time left is at least this share of the first member's
    /// training: a member cut short by the deadline adds little.
    public static let minimumShareOfFirst = 0.8

    /// The members' training outcomes, the first (the final training) first.
    public private(set) var members: [TrainingOutcome]

    public init(first: TrainingOutcome) { members = [first] }

    /// Whether another member fits in `seconds`.
    public func fitsAnother(in seconds: Double) -> Bool {
        seconds >= Self.minimumShareOfFirst * members[0].seconds
    }

    /// The random seed of member `index` (0: the job's own).
    public static func seed(member index: Int, jobSeed: UInt64) -> UInt64 {
        jobSeed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
    }

    public mutating func append(_ member: TrainingOutcome) {
        precondition(member.normalization == members[0].normalization, "members are trained on one TRAIN: one input normalisation")
        members.append(member)
    }

    /// The network averaging the first `count` members (the first member's own network for 1).
    public func network(members count: Int) -> Sequential {
        count == 1 ? members[0].network : Sequential(Ensemble(members: members.prefix(count).map(\.network)))
    }

    /// The architecture of `network(members:)`: `spec` itself for one member.
    /// - Throws: `NNError` when `spec` cannot be an ensemble member.
    public static func architecture(_ spec: ArchitectureSpec, members count: Int) throws -> ArchitectureSpec {
        count == 1 ? spec : try ArchitectureSpec.ensemble(Array(repeating: spec, count: count), name: spec.name)
    }

    /// The number of first members to keep: the one with the highest `validationScore`, the
    /// fewest on a tie.
    /// - Parameter validationScore: VALIDATION accuracy of a network.
    public func kept(validationScore: (Sequential) -> Double) -> (count: Int, validationScore: Double) {
        var best = (count: 1, validationScore: validationScore(network(members: 1)))
        for count in members.indices.dropFirst().map({ $0 + 1 }) {
            let accuracy = validationScore(network(members: count))
            if accuracy > best.validationScore { best = (count, accuracy) }
        }
        return best
    }
}
