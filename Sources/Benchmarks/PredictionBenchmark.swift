import Foundation
import JobService

/// `bench predict`: the in-process rate of batched prediction (decode, preprocess, network) that
/// the HTTP service's rate is compared with.
public enum PredictionBenchmark {
    /// Images per second of `predictor` on batches of `batchSize` copies of `image`, after one
    /// warm-up batch, over at least `seconds` of wall-clock time (whole batches).
    /// - Parameters:
    ///   - image: an encoded PNG or JPEG.
    ///   - batchSize: images per batch, ≥ 1.
    ///   - seconds: how long to run, > 0.
    /// - Throws: `ImageDecodingError` when `image` is not a decodable image.
    public static func imagesPerSecond(_ predictor: Predictor, image: [UInt8], batchSize: Int, seconds: Double) throws -> Double {
        let batch = [[UInt8]](repeating: image, count: batchSize)
        _ = try predictor.predict(images: batch)  // warm-up
        let start = Date()
        var images = 0
        while Date().timeIntervalSince(start) < seconds {
            _ = try predictor.predict(images: batch)
            images += batchSize
        }
        return Double(images) / Date().timeIntervalSince(start)
    }
}
