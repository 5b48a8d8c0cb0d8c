import PredictionAPI

/// Parses the input as a prediction request body under each kind of Content-Type the service sees, and as
/// an Open Inference Protocol v2 inference request.
/// Any body may be refused with `PredictionRequestError`; none may crash, and an accepted one must hold
/// the numbers the server relies on within their ranges (it slices answers with them). Empty images
/// may pass: the server answers them 400 when it decodes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPredictionRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: start, count: count))
    for contentType in ["application/json", "application/json; charset=utf-8", "text/plain", nil, "image/gif", "multipart/form-data"] {
        guard let request = try? PredictionRequest.parse(body: body, contentType: contentType) else { continue }
        switch request {
        case let .raw(bytes):
            precondition(bytes == body, "raw bytes changed")
        case let .automl(_, threshold, maxPredictions):
            precondition(threshold.map { PredictionRequest.thresholdRange.contains($0) } ?? true, "score_threshold \(threshold!)")
            precondition(maxPredictions.map(PredictionRequest.maxPredictionsRange.contains) ?? true, "max_predictions \(maxPredictions!)")
        case let .vertex(images, threshold, maxPredictions):
            precondition(!images.isEmpty, "no Vertex instance")
            precondition(threshold.map { PredictionRequest.thresholdRange.contains($0) } ?? true, "confidenceThreshold \(threshold!)")
            precondition(PredictionRequest.maxPredictionsRange.contains(maxPredictions), "maxPredictions \(maxPredictions)")
        }
    }
    // The Open Inference Protocol v2 body: JSON alone, and split where a length the first byte picks says
    // (binary data after it). An accepted input holds exactly as many images as its shape has elements.
    for headerLength in [nil, body.first.map { "\(min(Int($0), body.count))" }] {
        guard let request = try? InferenceRequest.parse(body: body, headerLength: headerLength ?? nil) else { continue }
        _ = try? request.outputs()
        if let count = try? request.imageCount(), let images = try? request.images() {
            precondition(images.count == count, "\(images.count) images for \(count) elements")
        }
    }
    return 0
}
