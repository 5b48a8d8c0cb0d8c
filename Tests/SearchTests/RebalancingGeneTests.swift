import Foundation
import Tensors
import Testing
import Training
@testable import Search

/// The class-imbalance gene: none, class weighting or class sampling, never two at once, open only
/// when TRAIN is imbalanced, and no class sampling for multi-label data.
struct RebalancingGeneTests {
    func drawn(_ space: SearchSpace) -> Set<Rebalancing> {
        var generator = SeededGenerator(seed: 5)
        var seen = Set<Rebalancing>()
        var parent = space.startingArchitectures()[0]
        for _ in 0..<300 {
            seen.insert(space.random(using: &generator).rebalancing)
            let child = space.mutate(parent, using: &generator)
            seen.insert(child.rebalancing)
            parent = child
        }
        return seen
    }

    @Test func anImbalancedSpaceTriesEveryValueAndNeverTwoCorrectionsAtOnce() {
        let space = SearchSpace(inputShape: [3, 32, 32], classes: 10, imbalanced: true, trainImages: 1_500)
        let seen = drawn(space)
        #expect(seen == Set(space.rebalancings))
        #expect(seen.contains(.weighting) && seen.contains(.sampling(.squareRoot)))
        #expect(!seen.contains { $0.classWeighting && $0.classSampling != .natural })
        #expect(space.startingArchitectures().allSatisfy { $0.rebalancing == .none }, "the seeds keep none")
    }

    @Test func aBalancedSpaceNeverRebalances() {
        #expect(drawn(SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)) == [.none])
    }

    @Test func aMultiLabelSpaceNeverSamplesClassesAndRefusesACandidateThatDoes() {
        var space = SearchSpace(inputShape: [3, 32, 32], classes: 6, imbalanced: true, trainImages: 2_400)
        space.singleLabel = false
        #expect(drawn(space) == [.none, .weighting])
        let sampled = space.startingArchitectures()[2].with(rebalancing: .sampling(.balanced))
        #expect(space.problem(with: sampled)?.contains("classSampling") == true)
    }

    @Test func aMutationOfTheGeneChangesItsValue() {
        let space = SearchSpace(inputShape: [3, 32, 32], classes: 10, imbalanced: true, trainImages: 1_500)
        var generator = SeededGenerator(seed: 9)
        let parent = space.startingArchitectures()[1]
        for _ in 0..<200 {
            let child = space.mutate(parent, using: &generator)
            var sameElse = child
            sameElse.rebalancing = parent.rebalancing
            sameElse.origin = parent.origin
            // A mutation changes one gene: when only the rebalancing differs, it did change.
            if sameElse == parent { #expect(child.rebalancing != parent.rebalancing) }
        }
    }

    /// Search logs written before class sampling existed have no `classSampling`: they read as natural.
    @Test func aCandidateWithoutClassSamplingReadsAsNatural() throws {
        let candidate = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: true).startingArchitectures()[0]
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(candidate)) as! [String: Any]
        #expect(object["classSampling"] as? String == "natural")
        object["classSampling"] = nil
        let old = try JSONDecoder().decode(Candidate.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old == candidate)
        var sampled = candidate
        sampled.classSampling = .squareRoot
        #expect(try JSONDecoder().decode(Candidate.self, from: try JSONEncoder().encode(sampled)).classSampling == .squareRoot)
        #expect(sampled.summary.hasSuffix(" sampled square_root") && sampled.trainingConfig(epochs: 1, seed: 0).classSampling == .squareRoot)
    }
}
