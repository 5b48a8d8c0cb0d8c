import JobService

// The answers of `POST /v1/models/{id}/predict`, one per request shape (openapi.json's
// `RawPredictions`, `AutoMLResponse`, `VertexResponse`); render them with `JSONBody.values`.
// Predictions are sorted by score, highest first; a label's ID is its index in the model's labels.

/// An image's bytes in, every label's score out; for a multi-label model also `labels`, the labels
/// whose score reaches its threshold (each label's own, or the request's `?threshold=`).
struct RawPredictions: Encodable {
    var modelID: String
    var predictions: [Prediction]
    var labels: [Prediction]?

    enum CodingKeys: String, CodingKey { case modelID = "model_id", predictions, labels }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(modelID, forKey: .modelID)
        try container.encodePredictions(predictions, forKey: .predictions)
        if let labels { try container.encodePredictions(labels, forKey: .labels) }
    }
}

extension KeyedEncodingContainer {
    /// Writes `predictions` as `[{"label", "score"}]`, as `Prediction`'s own `Encodable` does, in nested
    /// containers of this encoder: JSONEncoder makes a new encoder for each nested value, and that made
    /// it the largest cost of a prediction's response after the network (docs/benchmarks.md).
    mutating func encodePredictions(_ predictions: [Prediction], forKey key: Key) throws {
        var list = nestedUnkeyedContainer(forKey: key)
        for prediction in predictions {
            var object = list.nestedContainer(keyedBy: PredictionKeys.self)
            try object.encode(prediction.label, forKey: .label)
            try object.encode(prediction.score, forKey: .score)
        }
    }
}

private enum PredictionKeys: String, CodingKey { case label, score }

/// AutoML Vision's answer: the predictions at or above the score threshold, at most `max_predictions`.
struct AutoMLPredictions: Encodable {
    struct Annotation: Encodable {
        struct Classification: Encodable {
            var score: Double
        }

        var annotationSpecId: String
        var displayName: String
        var classification: Classification
    }

    var payload: [Annotation]

    init(_ predictions: [Prediction], labels: [String]) {
        payload = predictions.map {
            Annotation(annotationSpecId: labelID($0.label, in: labels), displayName: $0.label, classification: .init(score: $0.score))
        }
    }
}

/// Vertex AI's answer: per instance, the predictions at or above the confidence threshold, at most `maxPredictions`.
struct VertexPredictions: Encodable {
    struct Instance: Encodable {
        var ids: [String]
        var displayNames: [String]
        var confidences: [Double]

        init(_ predictions: [Prediction], labels: [String]) {
            ids = predictions.map { labelID($0.label, in: labels) }
            displayNames = predictions.map(\.label)
            confidences = predictions.map(\.score)
        }
    }

    var predictions: [Instance]
    var deployedModelId: String
}

/// A label's ID as AutoML and Vertex AI give it: its index in the model's labels, as a string.
private func labelID(_ label: String, in labels: [String]) -> String {
    "\(labels.firstIndex(of: label) ?? 0)"
}
