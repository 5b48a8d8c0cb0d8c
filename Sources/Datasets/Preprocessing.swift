import ImageIO

/// The one path from an image file to a model's input, shared by the import (the training pixels in
/// the dataset cache) and serving (`Predictor`), so a model always sees an image prepared exactly as
/// its training images were.
///
/// Steps: decode (`ImageDecoder`: EXIF orientation applied, alpha composited onto a white matte,
/// 16-bit samples scaled to 8 bits, gray sources kept gray) → fit to the working size and channel
/// conversion (`fitted(to:)`, on ImageIO's `Image.fitted`: BT.601 luma or gray replicated) →
/// `[C, H, W]` floats in `[0, 1]` (`writeScaledCHW`). Per-channel normalisation comes after, inside the model.
public enum Preprocessing {
    /// Decode settings of every image the service reads: white matte, channels from the source.
    /// - Parameter maxPixels: the largest accepted `width × height`, checked from the header.
    public static func decodeOptions(maxPixels: Int) -> DecodeOptions {
        DecodeOptions(maxPixels: maxPixels, matte: .white, outputChannels: nil)
    }

    /// The pixels a model with working resolution `resolution` sees for an encoded PNG or JPEG:
    /// `[H, W, C]` UInt8 with `H, W, C` those of `resolution`.
    /// - Throws: `ImageDecodingError` for bytes that are not a decodable image within `maxPixels`.
    public static func pixels(encoded bytes: some Collection<UInt8>, resolution: WorkingResolution,
                              maxPixels: Int) throws(ImageDecodingError) -> Image {
        let decoded = try ImageDecoder.decode(bytes, options: decodeOptions(maxPixels: maxPixels))
        return decoded.image.fitted(to: resolution)
    }

    /// Writes `[H, W, C]` UInt8 pixels as `[C, H, W]` floats scaled to `[0, 1]` (`value / 255`).
    /// - Parameters:
    ///   - pixels: `plane × channels` samples, HWC.
    ///   - output: room for `channels × plane` floats.
    ///   - plane: `H × W`.
    @inlinable
    public static func writeScaledCHW(_ pixels: UnsafeBufferPointer<UInt8>, channels: Int, plane: Int,
                                      to output: UnsafeMutablePointer<Float>) {
        precondition(pixels.count == channels * plane, "expected \(channels * plane) samples, got \(pixels.count)")
        for c in 0..<channels {
            let out = output + c * plane
            for p in 0..<plane { out[p] = Float(pixels[p * channels + c]) * (1 / 255) }
        }
    }
}
