@testable import Server
import Testing

/// An endpoint's traffic split (`VertexTrafficSplit`): the rules Vertex AI's `deployModel`,
/// `undeployModel` and `PATCH` requests are held to, and the odds predictions are drawn with.
/// (`Scripts/clients/vertex_check.py` runs the SDK's deploy, update and undeploy against a server.)
struct VertexTrafficSplitTests {
    @Test func theDeployingKeyNamesTheModelDeployedAndZerosAreDropped() throws {
        let split = try VertexTrafficSplit(requested: ["a": 70, "0": 30, "b": 0], deployed: ["a", "b", "c"], deploying: "c")
        #expect(split.percentages == ["a": 70, "c": 30])
        #expect(split.percent(of: "b") == 0 && split.removing("a").percentages == ["c": 30])
    }

    @Test(arguments: [
        (["a": 60, "b": 30], "adds up to 90 %"),
        (["a": 120, "b": -20], "a percent is 0 to 100"),
        (["a": 50, "x": 50], "names 'x', which is not deployed"),
        (["0": 100], "names '0', which is not deployed"),  // "0" only means something in deployModel
    ])
    func aSplitThatIsNotOneHundredPercentOfDeployedModelsIsRefused(requested: [String: Int], message: String) {
        #expect {
            _ = try VertexTrafficSplit(requested: requested, deployed: ["a", "b"])
        } throws: { error in
            (error as? APIError)?.status == .badRequest && (error as? APIError)?.detail.contains(message) == true
        }
    }

    @Test func eachRollGoesToOneModelInProportion() throws {
        let split = try VertexTrafficSplit(requested: ["b": 30, "a": 70], deployed: ["a", "b"])
        let answers = (0..<100).map { split.model(forRoll: $0) }
        #expect(answers.filter { $0 == "a" }.count == 70 && answers.filter { $0 == "b" }.count == 30)
        #expect(VertexTrafficSplit().model(forRoll: 0) == nil, "an empty split sends no traffic")
        #expect(VertexTrafficSplit(all: "a").model(forRoll: 99) == "a")
    }

    /// 20,000 draws at 30 %: the count of "b" is within 5 standard deviations (±324) of 6,000.
    @Test func drawsFollowTheSplit() throws {
        let split = try VertexTrafficSplit(requested: ["a": 70, "b": 30], deployed: ["a", "b"])
        let count = (0..<20_000).count { _ in split.drawModel() == "b" }
        #expect(abs(count - 6_000) <= 324, "\(count)")
    }
}
