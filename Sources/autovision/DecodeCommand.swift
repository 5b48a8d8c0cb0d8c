import ArgumentParser
import Foundation
import ImageIO

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode one image exactly as import and prediction do, and show what the service sees.",
        discussion: "The output PNG has the decoded 8-bit pixels at native size, EXIF orientation applied and alpha composited onto white.")

    @Argument(help: "A PNG or JPEG file.") var image: String
    @Option(help: "Write the decoded pixels here as PNG.") var output: String?
    @Option(help: "Largest image accepted, in pixels.") var maxPixels = 100_000_000
    @Flag(help: "Print the result as one line of JSON last.") var json = false

    func validate() throws { try Validate.range(maxPixels, 1...Int(Int32.max), "--max-pixels") }

    struct Report: Encodable {
        var path: String
        var format: String
        var source: String
        var width: Int
        var height: Int
        var channels: Int
        var orientation: Int
        var output: String?
    }

    func run() throws {
        do {
            let decoded = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image), options: DecodeOptions(maxPixels: maxPixels))
            let picture = decoded.image
            print("\(image): \(decoded.sourceDescription), \(decoded.sourceWidth)×\(decoded.sourceHeight) stored")
            print("  decoded \(picture.width)×\(picture.height), \(picture.channels) channel\(picture.channels == 1 ? "" : "s"), "
                + "EXIF orientation \(decoded.orientation)\(decoded.orientation == 1 ? " (none)" : " applied")"
                + (decoded.hadAlpha ? ", alpha composited onto white" : ""))
            if let output {
                try Data(PNGEncoder.encode(picture)).write(to: URL(fileURLWithPath: output))
                print("  wrote \(output)")
            }
            if json {
                try Console.printJSON(Report(
                    path: image, format: decoded.format.rawValue, source: decoded.sourceDescription, width: picture.width,
                    height: picture.height, channels: picture.channels, orientation: decoded.orientation, output: output))
            }
        } catch let error as ImageDecodingError {
            Console.log("error: \(image): \(error)")
            if json { try Console.printJSON(ErrorJSON(error: error.description)) }
            throw ExitCode.failure
        }
    }
}
