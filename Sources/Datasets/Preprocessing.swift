import ImageIO

/// The one path from an image file to a model's input, shared by the import (the training pixels in
/// the dataset cache) and serving (`Predictor`), so a model always sees an image prepared exactly as
/// its training images were.
///
/// Steps: decode (`ImageDecoder`: EXIF orientation applied, alpha composited onto a white matte,
/// 16-bit samples scaled to 8 bits, gray sources kept gray) → fit to the working size
/// (`conform(_:to:)`) → channel conversion (BT.601 luma or gray replicated) → `[C, H, W]` floats in
/// `[0, 1]` (`writeScaledCHW`). Per-channel normalisation comes after, inside the model.
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
        return conform(decoded.image, to: resolution)
    }

    /// Brings one decoded image to the working resolution.
    ///
    /// An image of another size than the working size is letterboxed (`ImageResize.letterbox`: area
    /// averaging down, bilinear up, margins padded with the mean of the touching edges), whether the
    /// import resized its images or kept their native size: a native-size model (every training image
    /// already that size, so unchanged here) then reads any other size as the import would have fitted
    /// it. Checkpoints written before letterboxing (`fit == .centerCrop`) keep the centre crop.
    /// - Returns: an image of `resolution.width × resolution.height × resolution.channels`.
    /// - Precondition: `image` is not empty (decoders never return an empty image).
    public static func conform(_ image: Image, to resolution: WorkingResolution) -> Image {
        var result = image
        if image.width != resolution.width || image.height != resolution.height {
            if resolution.resized && resolution.fit == .centerCrop {
                result = ImageResize.resize(ImageResize.centerCropSquare(result), width: resolution.width, height: resolution.height)
            } else {
                result = ImageResize.letterbox(result, width: resolution.width, height: resolution.height)
            }
        }
        if result.channels != resolution.channels { result = result.converted(toChannels: resolution.channels) }
        return result
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

extension Image {
    /// The same pixels with 1 (BT.601 luma, rounded) or 3 (gray replicated) channels.
    func converted(toChannels target: Int) -> Image {
        guard target != channels else { return self }
        let count = width * height
        var out = [UInt8](repeating: 0, count: count * target)
        if target == 3 {
            for i in 0..<count { let v = pixels[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        } else {
            for i in 0..<count {
                let r = Int(pixels[3 * i]), g = Int(pixels[3 * i + 1]), b = Int(pixels[3 * i + 2])
                out[i] = UInt8((299 * r + 587 * g + 114 * b + 500) / 1000)
            }
        }
        return Image(width: width, height: height, channels: target, pixels: out)
    }
}
