/// How an image of another aspect ratio than its target is made to fit.
public enum ImageFit: String, Codable, Sendable {
    /// Resize the longer side to fit, pad the shorter one (`ImageResize.letterbox`).
    case letterbox = "letterbox"
    /// Crop the largest centred square, then resize (`ImageResize.centerCropSquare`, `ImageResize.resize`).
    case centerCrop = "center_crop"
}

extension Image {
    /// This image brought to `width × height × channels`: resized with `fit` when its size differs
    /// (area averaging down, bilinear up; see `ImageResize.letterbox` for the padding), then
    /// converted to `channels` (`converted(toChannels:)`). An image already that size keeps its
    /// pixels, whatever `fit` is.
    /// - Returns: an image of `height × width × channels` samples, HWC.
    /// - Precondition: the image is not empty (decoders never return one); `width, height > 0`;
    ///   `channels` is 1 or 3.
    public func fitted(width: Int, height: Int, channels: Int, fit: ImageFit) -> Image {
        var result = self
        if self.width != width || self.height != height {
            switch fit {
            case .centerCrop: result = ImageResize.resize(ImageResize.centerCropSquare(result), width: width, height: height)
            case .letterbox: result = ImageResize.letterbox(result, width: width, height: height)
            }
        }
        if result.channels != channels { result = result.converted(toChannels: channels) }
        return result
    }

    /// The same pixels with 1 channel (ITU-R BT.601 luma, `(299R + 587G + 114B + 500) / 1000`) or
    /// 3 (gray replicated); `self` when it already has `target` channels.
    /// - Precondition: `target` is 1 or 3.
    public func converted(toChannels target: Int) -> Image {
        guard target != channels else { return self }
        let converted = target == 3 ? PixelMath.grayToRGB(pixels) : PixelMath.rgbToLuma(pixels)
        return Image(width: width, height: height, channels: target, pixels: converted)
    }
}
