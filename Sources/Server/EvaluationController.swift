import Datasets
import Evaluation
import Foundation
import Hummingbird
import ImageIO
import JobService

/// `/v1/jobs/{id}/report/…`: a model's TEST evaluation looked at after the job, from every TEST
/// example's stored scores (`test_scores.json`): the metrics (and a single-label model's confusion
/// matrix) at any score threshold, each label's precision–recall curve, and the examples behind a confusion-matrix
/// cell or a label's errors, paged, with their images.
struct EvaluationController: APIController {
    let store: any JobStore
    let cache: TestScoresCache

    /// Examples per page when the request names none, and the most it may ask for.
    static let defaultPageSize = 50, maximumPageSize = 100

    static let routes: [Route<Self>] = [
        Route(.get, "/v1/jobs/{id}/report/threshold") { evaluation, request, context in
            try evaluation.atThreshold(context.id(), request)
        },
        Route(.get, "/v1/jobs/{id}/report/curves") { evaluation, _, context in try evaluation.curves(context.id()) },
        Route(.get, "/v1/jobs/{id}/report/examples") { evaluation, request, context in
            try evaluation.examples(context.id(), request)
        },
        Route(.get, "/v1/jobs/{id}/report/examples/{index}/image") { evaluation, _, context in
            try evaluation.image(context.id(), index: context.parameters.require("index"))
        },
    ]

    /// The metrics and confusion matrix at `?threshold=` (default: the report's score threshold).
    func atThreshold(_ id: String, _ request: Request) throws -> Response {
        let entry = try cache.entry(id, store: store)
        let threshold = try request.fractionParameter("threshold") ?? entry.defaultThreshold
        return try .json(JSONBody.values(entry.scores.evaluation(at: threshold)))
    }

    /// Each label's precision–recall curve at the 101 thresholds of `confidence_metrics`.
    func curves(_ id: String) throws -> Response {
        let entry = try cache.entry(id, store: store)
        return try .json(JSONBody.values(LabelCurveList(labels: entry.curves)))
    }

    /// A page of the examples a query selects, most confident first (`TestScores.indices`).
    /// - Throws: 400 for a query that mixes the two kinds of selection, an unknown label, a bad page size or token.
    func examples(_ id: String, _ request: Request) throws -> Response {
        let entry = try cache.entry(id, store: store)
        let threshold = try request.fractionParameter("threshold") ?? entry.defaultThreshold
        let selection = try Self.selection(request, labels: entry.scores.labels)
        if case .cell = selection, entry.scores.multiLabel {
            throw APIError.badRequest("a multi-label model has no confusion matrix: select a label's errors with label and error, or true_label alone")
        }
        let selected = entry.scores.indices(selection, threshold: threshold)
        let size = try Self.pageSize(request.uri.queryParameters.get("page_size"))
        let start = try Self.offset(request.uri.queryParameters.get("page_token"), total: selected.count)
        let page = selected[start..<min(selected.count, start + size)]
        let focus: Int? = switch selection {
        case let .falsePositives(c), let .falseNegatives(c): c
        default: nil
        }
        let examples = page.map { ExampleView(index: $0, example: entry.scores.examples[$0], labels: entry.scores.labels,
                                              threshold: threshold, focus: focus) }
        let next = page.endIndex < selected.count ? String(page.endIndex) : nil
        return try .json(JSONBody.values(ExamplePage(examples: examples, total: selected.count, threshold: threshold, nextPageToken: next)))
    }

    /// The image of TEST example `index` as the model saw it (the working resolution), as PNG.
    func image(_ id: String, index: String) throws -> Response {
        let entry = try cache.entry(id, store: store)
        guard let position = Int(index), entry.scores.examples.indices.contains(position) else {
            throw APIError.notFound("no TEST example '\(index)' in job '\(id)': indices run from 0 to \(entry.scores.examples.count - 1)")
        }
        let dataset = try cache.dataset(id, store: store)
        let image = entry.scores.examples[position].image
        guard dataset.count > image else { throw APIError.notFound("job '\(id)' has no image for TEST example \(position)") }
        let r = dataset.resolution
        let png = try PNGEncoder.encode(Image(width: r.width, height: r.height, channels: r.channels, pixels: Array(dataset.pixels(image))))
        // A finished job's TEST images never change: the browser may keep them.
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=86400"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// The selection of the request's query: `true_label` (with `predicted_label`: a confusion-matrix cell,
    /// an empty `predicted_label` being the "no prediction" column), or `label` with `error`
    /// (`false_positive` or `false_negative`).
    static func selection(_ request: Request, labels: [String]) throws -> ExampleSelection {
        func index(_ name: String) throws -> Int? {
            guard let value = request.formParameter(name) else { return nil }
            guard let index = labels.firstIndex(of: value) else {
                throw APIError.badRequest("query parameter \(name): no label '\(value)' in this model (its labels: \(labels.joined(separator: ", ")))")
            }
            return index
        }
        let error = request.formParameter("error")
        if error != nil || request.formParameter("label") != nil {
            guard request.formParameter("true_label") == nil, request.formParameter("predicted_label") == nil else {
                throw APIError.badRequest("use either label and error, or true_label and predicted_label, not both")
            }
            guard let label = try index("label") else { throw APIError.badRequest("query parameter error needs label") }
            switch error {
            case "false_positive": return .falsePositives(label)
            case "false_negative": return .falseNegatives(label)
            default: throw APIError.badRequest("query parameter error must be false_positive or false_negative, got '\(error ?? "")'")
            }
        }
        let trueLabel = try index("true_label")
        guard let predicted = request.formParameter("predicted_label") else { return .all(trueLabel: trueLabel) }
        guard let trueLabel else { throw APIError.badRequest("query parameter predicted_label needs true_label (a confusion-matrix cell)") }
        return .cell(trueLabel: trueLabel, predicted: predicted.isEmpty ? nil : try index("predicted_label"))
    }

    static func pageSize(_ value: String?) throws -> Int {
        guard let value else { return defaultPageSize }
        guard let size = Int(value), (1...maximumPageSize).contains(size) else {
            throw APIError.badRequest("query parameter page_size must be a whole number from 1 to \(maximumPageSize), got '\(value)'")
        }
        return size
    }

    /// The position a page token stands for: the `next_page_token` of the page before.
    static func offset(_ token: String?, total: Int) throws -> Int {
        guard let token else { return 0 }
        guard let offset = Int(token), (0...total).contains(offset) else {
            throw APIError.badRequest("page_token '\(token)' is not one this query returned; start again without it")
        }
        return offset
    }
}

/// The stored scores of finished jobs, decoded once each (a few at a time: a 10,000-example TEST set
/// of 10 labels is about 1.5 MB of JSON), with their curves and decoded datasets.
final class TestScoresCache: @unchecked Sendable {
    struct Entry {
        var scores: TestScores
        var curves: [LabelCurve]
        /// The report's `score_threshold`.
        var defaultThreshold: Double
    }

    private let lock = NSLock()
    private var entries: [(id: String, entry: Entry)] = []
    private var datasets: [(id: String, dataset: DecodedDataset)] = []
    let capacity = 4

    /// Job `id`'s scores: 404 for no such job, 409 before it succeeds or for a job without stored
    /// scores (one finished before they were kept).
    func entry(_ id: String, store: any JobStore) throws -> Entry {
        let record = try store.requireJob(id)  // asked each time: a deleted job's entry is never answered
        if let hit = lock.withLock({ entries.first { $0.id == id }?.entry }) { return hit }
        guard record.state == .succeeded else {
            throw APIError.conflict("job '\(id)' has no evaluation yet (state: \(record.state.rawValue)); it is written when the job succeeds")
        }
        guard let data = try store.readArtifact(jobID: id, name: JobFolder.testScoresName) else {
            throw APIError.conflict("job '\(id)' kept no per-example TEST scores: it finished before they were kept; "
                + "its report (GET /v1/jobs/\(id)/report) has the rest")
        }
        let scores = try TestScores.decode(data)
        let report = try store.readArtifact(jobID: id, name: "report.json").flatMap { try? EvaluationReport.decode(from: $0) }
        let entry = Entry(scores: scores, curves: scores.curves(), defaultThreshold: report?.test?.scoreThreshold ?? 0.5)
        lock.withLock {
            entries.removeAll { $0.id == id }
            entries.append((id, entry))
            if entries.count > capacity { entries.removeFirst() }
        }
        return entry
    }

    /// Job `id`'s decoded dataset, mapped (its checksum was checked when the job read it).
    func dataset(_ id: String, store: any JobStore) throws -> DecodedDataset {
        if let hit = lock.withLock({ datasets.first { $0.id == id }?.dataset }) { return hit }
        guard let file = try store.artifactFile(jobID: id, name: JobFolder.datasetName) else {
            throw APIError.notFound("job '\(id)' no longer has its images")
        }
        let dataset = try DecodedDataset(contentsOf: file, verifyChecksum: false)
        lock.withLock {
            datasets.removeAll { $0.id == id }
            datasets.append((id, dataset))
            if datasets.count > capacity { datasets.removeFirst() }
        }
        return dataset
    }

}

/// `GET /v1/jobs/{id}/report/curves`.
struct LabelCurveList: Encodable {
    var labels: [LabelCurve]
}

/// `GET /v1/jobs/{id}/report/examples`.
struct ExamplePage: Encodable {
    var examples: [ExampleView]
    /// How many examples the query selects, over all pages.
    var total: Int
    var threshold: Double
    /// `null` on the last page, not left out.
    @NullWhenAbsent var nextPageToken: String?

    enum CodingKeys: String, CodingKey {
        case examples, total, threshold
        case nextPageToken = "next_page_token"
    }
}

/// One TEST example as the examples route lists it.
struct ExampleView: Encodable {
    struct Score: Encodable {
        var label: String
        var score: Float
    }

    /// Its position in TEST: the `{index}` of its image's route.
    var index: Int
    /// Its line in the dataset's manifest.
    var line: Int
    /// Its true labels (one for a single-label model).
    var labels: [String]
    /// Its top label when that label's score reaches the threshold, else `null` (not left out).
    @NullWhenAbsent var predictedLabel: String?
    /// Its three highest-scoring labels, highest first, and the selected label's when it is not among them.
    var scores: [Score]

    enum CodingKeys: String, CodingKey {
        case index, line, labels, scores
        case predictedLabel = "predicted_label"
    }

    init(index: Int, example: TestScores.Example, labels: [String], threshold: Double, focus: Int?) {
        self.index = index
        line = example.line
        self.labels = example.labels.map { labels[$0] }
        var ranked = example.scores.indices.sorted { (example.scores[$0], -$0) > (example.scores[$1], -$1) }.prefix(3).map { $0 }
        if let focus, !ranked.contains(focus) { ranked.append(focus) }
        let top = ranked[0]
        predictedLabel = Double(example.scores[top]) >= threshold ? labels[top] : nil
        scores = ranked.map { Score(label: labels[$0], score: example.scores[$0]) }
    }
}
