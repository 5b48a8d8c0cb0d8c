import Datasets
import Foundation
import ImageIO
import JobService
import NN
import Testing

/// Serving fits images the way the model was trained: letterboxed for new models, centre-cropped
/// for checkpoints whose `working_resolution` predates the fit.
@Suite struct PredictorFitTests {
    /// A job folder holding an untrained tiny model with `workingResolution` as its metadata.
    static func job(workingResolution json: String) throws -> (JobFolder, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-predictor-fit-\(UUID().uuidString)")
        let folder = JobFolder(jobsDirectory: root, id: "job")
        try folder.create()
        let spec = ArchitectureSpec(name: "tiny", inputShape: [1, 8, 8], classes: 2, layers: [.flatten, .dense(units: 2)])
        let checkpoint = Checkpoint(network: try spec.build(seed: 1), architecture: spec, labelNames: ["a", "b"],
                                    metadata: ["working_resolution": json])
        try folder.writeAtomically(try checkpoint.encoded(), to: folder.modelURL)
        return (folder, root)
    }

    /// 24×8 gray, mid-gray with a white column near the left edge: a centre crop loses the column.
    static func wideImage() throws -> (Image, [UInt8]) {
        var image = Image(width: 24, height: 8, channels: 1, repeating: 100)
        for y in 0..<8 { image[x: 1, y: y, channel: 0] = 255 }
        return (image, try PNGEncoder.encode(image))
    }

    @Test func anOldCheckpointIsServedWithACentreCrop() throws {
        let (folder, root) = try Self.job(workingResolution: #"{"channels":1,"height":8,"resized":true,"width":8}"#)
        defer { try? FileManager.default.removeItem(at: root) }
        let predictor = try Predictor(folder: folder)
        #expect(predictor.resolution.fit == .centerCrop)
        let (image, bytes) = try Self.wideImage()
        let expected = ImageResize.resize(ImageResize.centerCropSquare(image), width: 8, height: 8).pixels.map { Float($0) / 255 }
        let input = try predictor.input(for: bytes)
        #expect(zip(input, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(input.allSatisfy { abs($0 - Float(100) / 255) < 1e-6 }, "the centre crop does not see the column")
        #expect(try predictor.predict(images: [bytes]).count == 1)
    }

    @Test func aLetterboxCheckpointIsServedLetterboxed() throws {
        let resolution = WorkingResolution(width: 8, height: 8, channels: 1, resized: true, fit: .letterbox)
        let (folder, root) = try Self.job(workingResolution: String(decoding: try JSONEncoder().encode(resolution), as: UTF8.self))
        defer { try? FileManager.default.removeItem(at: root) }
        let predictor = try Predictor(folder: folder)
        #expect(predictor.resolution == resolution)
        let (image, bytes) = try Self.wideImage()
        let expected = ImageResize.letterbox(image, width: 8, height: 8).pixels.map { Float($0) / 255 }
        let input = try predictor.input(for: bytes)
        #expect(zip(input, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(input.contains { $0 > Float(100) / 255 + 0.01 }, "the column near the edge is still there")
        #expect(try predictor.predict(images: [bytes]).count == 1)
    }
}
