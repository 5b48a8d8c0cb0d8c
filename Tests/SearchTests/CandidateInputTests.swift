import Foundation
import Tensors
import Testing
@testable import Search

/// A candidate given from outside the search (`train --candidate FILE`): read from a search-log
/// line or a bare candidate object, and checked against the space before anything trains.
@Suite struct CandidateInputTests {
    let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)

    @Test func aSearchLogLineAndABareCandidateDecodeToTheSameCandidate() throws {
        var candidate = space.startingArchitectures()[2]
        candidate.architecture.stages = 3
        candidate.origin = .mutation
        let encoder = JSONEncoder()
        let bare = try encoder.encode(candidate)
        // A search.jsonl line: the trial's fields around the candidate.
        let line = #"{"id": 15, "rung": 2, "architecture": "3x1 plain", "validation_accuracy": 0.9217, "train_images": 50000, "#
            + #""epochs": 3, "candidate": "# + String(decoding: bare, as: UTF8.self) + "}"
        #expect(try GivenCandidate.decode(json: bare) == GivenCandidate(candidate: candidate, trialImageEpochs: nil))
        #expect(try GivenCandidate.decode(json: Data(line.utf8)) == GivenCandidate(candidate: candidate, trialImageEpochs: 150_000))
        #expect(throws: DecodingError.self) { try GivenCandidate.decode(json: Data(#"{"id": 15, "candidate": {"width": 32}}"#.utf8)) }
        #expect(throws: (any Error).self) { try GivenCandidate.decode(json: Data("not json".utf8)) }
    }

    /// Search logs keep the origin as one string; logs written before starting architectures had
    /// their name say `seed:NAME`, which still reads.
    @Test func anOriginIsCodedAsOneStringAndOldLogsStillRead() throws {
        let origins: [CandidateOrigin] = [.startingArchitecture("vgg-bn"), .random, .mutation, .smallest]
        let encoded = try origins.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        #expect(encoded == [#""starting:vgg-bn""#, #""random""#, #""mutation""#, #""smallest""#])
        for (origin, json) in zip(origins, encoded) { #expect(try JSONDecoder().decode(CandidateOrigin.self, from: Data(json.utf8)) == origin) }
        #expect(try JSONDecoder().decode(CandidateOrigin.self, from: Data(#""seed:resnet""#.utf8)) == .startingArchitecture("resnet"))
        for bad in [#""seed:""#, #""lenet""#, #""other:x""#, "3"] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(CandidateOrigin.self, from: Data(bad.utf8)) }
        }
    }

    @Test func candidatesOfTheSpaceCanTrainAndOutOfRangeOnesSayWhy() {
        var generator = SeededGenerator(seed: 3)
        for candidate in space.startingArchitectures() + (0..<50).map({ _ in space.random(using: &generator) }) {
            #expect(space.problem(with: candidate) == nil, "\(candidate.summary)")
        }
        var deep = space.startingArchitectures()[2]
        deep.architecture.stages = 5
        #expect(space.problem(with: deep) == "stages must be 1–3 for 28×28 images, not 5")
        var broken = space.startingArchitectures()[0]
        broken.learningRate = -0.1
        broken.batchSize = 0
        broken.architecture.kernelSize = 4
        #expect(space.problem(with: broken) == "kernelSize must be 1, 3, 5 or 7; learningRate must be positive; batchSize must be 1–4096")
        var pooled = space.startingArchitectures()[2]
        pooled.architecture.head = .globalAvgPool
        pooled.architecture.stages = 1
        #expect(space.problem(with: pooled)?.contains("global-average-pool head needs at least 2 stages") == true)
    }
}
