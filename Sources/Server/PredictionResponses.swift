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
}

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
