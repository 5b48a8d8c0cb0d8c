import ImageIO

/// Decodes the input as the service does (format sniffed from the bytes; PNG, JPEG, or a typed
/// refusal) with the import's and the predictor's default limit of 100 Mpx. Any input may fail with
/// `ImageDecodingError`; none may crash, and a decoded image must hold exactly width × height ×
/// channels samples, and a decoded PNG's header declares its size (`ImageDecoder.declaredPNGPixels`). A decoded
/// input is decoded again forced to RGB and to luma.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageDecoder(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    // The server's pre-decode size check reads the PNG header alone; it must never crash either.
    let declared = ImageDecoder.declaredPNGPixels(Array(bytes))
    guard let decoded = try? ImageDecoder.decode(bytes, options: DecodeOptions()) else { return 0 }
    check(decoded)
    // libpng also decodes some files whose IHDR is not the first chunk; the header reader says nil then.
    if decoded.sourceDescription.hasPrefix("PNG"), let declared {
        precondition(declared == decoded.image.width * decoded.image.height, "IHDR declares \(declared) pixels")
    }
    for channels in [1, 3] {
        if let forced = try? ImageDecoder.decode(bytes, options: DecodeOptions(outputChannels: channels)) {
            check(forced)
            precondition(forced.image.channels == channels, "asked for \(channels) channels, got \(forced.image.channels)")
        }
    }
    return 0
}

func check(_ decoded: DecodedImage) {
    let image = decoded.image
    precondition(image.width > 0 && image.height > 0, "empty image \(image.width)×\(image.height)")
    precondition(image.pixels.count == image.width * image.height * image.channels, "pixel count does not match the size")
    precondition((1...8).contains(decoded.orientation), "orientation \(decoded.orientation)")
}
