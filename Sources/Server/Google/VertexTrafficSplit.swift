import Foundation

/// Vertex AI's traffic split of an endpoint (`Endpoint.traffic_split`): deployed-model ID → the percent
/// of the endpoint's predictions that model answers. Percentages are whole numbers from 0 to 100 that add
/// up to 100, or the split is empty and the endpoint answers none. A deployed model the split does not
/// name answers none; entries of 0 are dropped.
struct VertexTrafficSplit: Equatable, Sendable {
    private(set) var percentages: [String: Int]

    /// The key that names the model being deployed in a `deployModel` request's split.
    static let deployingKey = "0"

    init() { percentages = [:] }

    /// All traffic to `modelID`.
    init(all modelID: String) { percentages = [modelID: 100] }

    /// A split a client sent, checked against the endpoint's deployed models.
    /// - Parameters:
    ///   - requested: deployed-model ID → percent; the key "0" names `deploying`.
    ///   - deployed: the IDs of the models the endpoint will have.
    ///   - deploying: the ID of the model a `deployModel` request deploys.
    /// - Throws: `APIError.badRequest` for an unknown ID, a percent outside 0...100, or a sum other than 100.
    init(requested: [String: Int], deployed: [String], deploying: String? = nil) throws {
        var percentages: [String: Int] = [:]
        for (key, percent) in requested {
            let id = key == Self.deployingKey ? deploying ?? key : key
            guard deployed.contains(id) else {
                throw APIError.badRequest("trafficSplit names '\(key)', which is not deployed to this endpoint (deployed: \(deployed.joined(separator: ", ")))")
            }
            guard (0...100).contains(percent) else { throw APIError.badRequest("trafficSplit gives '\(key)' \(percent) %: a percent is 0 to 100") }
            if percent > 0 { percentages[id, default: 0] += percent }
        }
        let total = percentages.values.reduce(0, +)
        guard total == 100 else { throw APIError.badRequest("trafficSplit adds up to \(total) %: the percentages must add up to 100") }
        self.percentages = percentages
    }

    /// Whether the split sends no traffic to any model.
    var isEmpty: Bool { percentages.isEmpty }

    /// The percent of the traffic `modelID` answers.
    func percent(of modelID: String) -> Int { percentages[modelID] ?? 0 }

    /// The split without `modelID` (which then answers none; the others keep their percentages).
    func removing(_ modelID: String) -> Self {
        var split = self
        split.percentages[modelID] = nil
        return split
    }

    /// The deployed model that answers one prediction, drawn with the split's odds (`roll` in 0..<100);
    /// nil for an empty split.
    func model(forRoll roll: Int) -> String? {
        var cumulative = 0
        for (id, percent) in percentages.sorted(by: { $0.key < $1.key }) {
            cumulative += percent
            if roll < cumulative { return id }
        }
        return nil
    }

    /// The deployed model that answers one prediction, drawn at random with the split's odds.
    func drawModel() -> String? { model(forRoll: Int.random(in: 0..<100)) }
}

extension VertexTrafficSplit: Codable {
    init(from decoder: any Decoder) throws { percentages = try [String: Int](from: decoder) }
    func encode(to encoder: any Encoder) throws { try percentages.encode(to: encoder) }
}
