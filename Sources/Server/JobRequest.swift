import Foundation
import Search

/// The body of `POST /v1/jobs`, checked field by field before anything is converted: each refusal is
/// a 400 naming the field and what it accepts, and the accepted values are exactly the OpenAPI
/// document's (`JobRequest`), so a schema-valid request is never refused for its shape.
struct JobRequest: Decodable {
    var datasetID: String
    var budgetSeconds: Double
    var seed: Int64?
    var testTimeAugmentation: Bool?
    var ensembleMembers: Int?

    /// The largest budget a request may ask: 7 days.
    static let maxBudgetSeconds: Double = 7 * 86_400
    /// A budget as text: hours (≤ 2 digits), then minutes and seconds (≤ 2 digits each), or minutes
    /// (≤ 4 digits) then seconds, or seconds (≤ 5 digits); the first figure is not 0. At most 9999m99s,
    /// under 7 days, so every such text is in range. The OpenAPI document's `pattern`, verbatim.
    static let budgetPattern = #"^([1-9][0-9]?h([0-9]{1,2}m)?([0-9]{1,2}s)?|[1-9][0-9]{0,3}m([0-9]{1,2}s)?|[1-9][0-9]{0,4}s)$"#
    static let help = "send {\"dataset_id\":\"…\",\"budget\":\"10m\"} (budget: \"90s\", \"10m\", \"1h\", \"1h30m\", or a number of seconds "
        + "from 1 to \(Int(maxBudgetSeconds)); \"seed\" (an integer from 0 to \(Int64.max)), \"test_time_augmentation\" (true or false) and \"ensemble_members\" (1 to 16) optional)"

    enum CodingKeys: String, CodingKey {
        case datasetID = "dataset_id", budget, seed, testTimeAugmentation = "test_time_augmentation", ensembleMembers = "ensemble_members"
    }

    /// Decodes a request body, once.
    /// - Throws: `APIError` 400 for an empty body, one that is not a JSON object, or a field out of range (naming it).
    static func parse(_ body: [UInt8]) throws -> JobRequest {
        guard !body.isEmpty else { throw APIError.badRequest("the request body is empty: \(help)") }
        do {
            return try JSONDecoder().decode(JobRequest.self, from: Data(body))
        } catch let error as APIError {
            throw error
        } catch {
            // A field's refusal is an APIError (`init(from:)`); the decoder's own errors mean the body is no JSON object.
            throw APIError.badRequest("the body is not a JSON object: \(help)")
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let datasetID = try? container.decode(String.self, forKey: .datasetID) else {
            throw APIError.badRequest("missing or invalid \"dataset_id\" (a string, the ID of an uploaded dataset): \(Self.help)")
        }
        self.datasetID = datasetID
        if let text = try? container.decode(String.self, forKey: .budget) {
            let pattern = try Regex(Self.budgetPattern)
            guard text.wholeMatch(of: pattern) != nil, let budget = try? Budget(parsing: text) else {
                throw APIError.badRequest("\"budget\" '\(text)' is not a duration: use \"90s\", \"10m\", \"1h\" or \"1h30m\" "
                    + "(a number of seconds up to \(Int(Self.maxBudgetSeconds)) for more)")
            }
            budgetSeconds = budget.seconds
        } else if let number = try? container.decode(Double.self, forKey: .budget) {
            guard number.isFinite, number >= 1, number <= Self.maxBudgetSeconds else {
                throw APIError.badRequest("\"budget\" must be between 1 and \(Int(Self.maxBudgetSeconds)) seconds (7 days), got \(number)")
            }
            budgetSeconds = number
        } else {
            throw APIError.badRequest("missing or invalid \"budget\": \(Self.help)")
        }
        // Present means a value: `null` is refused as the document does not allow it.
        if container.contains(.seed) {
            guard let seed = try? container.decode(Int64.self, forKey: .seed), seed >= 0 else {
                throw APIError.badRequest("\"seed\" must be an integer from 0 to \(Int64.max)")
            }
            self.seed = seed
        }
        if container.contains(.testTimeAugmentation) {
            guard let flag = try? container.decode(Bool.self, forKey: .testTimeAugmentation) else {
                throw APIError.badRequest("\"test_time_augmentation\" must be true or false")
            }
            testTimeAugmentation = flag
        }
        if container.contains(.ensembleMembers) {
            guard let members = try? container.decode(Int.self, forKey: .ensembleMembers), (1...16).contains(members) else {
                throw APIError.badRequest("\"ensemble_members\" must be an integer from 1 to 16")
            }
            ensembleMembers = members
        }
    }
}
