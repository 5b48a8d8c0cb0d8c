import Datasets
import Foundation
import ImageIO
import JobService
import NN
import Search
import Tensors
import Testing
import TestSupport
import Training

/// Serving prepares an image by the very function that made the training pixels (`Preprocessing`):
/// the network's input for a file is, bit for bit, what the import stored for it, at any size,
/// channel count, alpha, bit depth or EXIF orientation, for resized and native-size models alike.
@Suite(.serialized) struct PreprocessingTests {
    static let root = processScratchDirectory(prefix: "autovision-preprocessing-tests-")

    static func intake(_ relative: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/intake/\(relative)")
    }

    /// A job folder holding an untrained network for `resolution` (`classes` outputs), as `TrainingJob` writes it.
    static func model(for resolution: WorkingResolution, labels: [String], normalization: ChannelNormalization? = nil,
                      in jobs: URL) throws -> JobFolder {
        let folder = JobFolder(jobsDirectory: jobs, id: "model-\(UUID().uuidString.prefix(8))")
        try folder.create()
        let spec = ArchitectureSpec(
            name: "tiny", inputShape: [resolution.channels, resolution.height, resolution.width], classes: labels.count,
            layers: [.conv2d(filters: 4, kernelSize: 3), .relu, .flatten, .dense(units: labels.count)])
        let checkpoint = Checkpoint(
            network: try spec.build(seed: 3), architecture: spec, normalization: normalization, labelNames: labels,
            metadata: ["working_resolution": String(decoding: try JSONEncoder().encode(resolution), as: UTF8.self)])
        try folder.writeAtomically(try checkpoint.encoded(), to: folder.modelURL)
        return folder
    }

    /// Files of every kind the import accepts: intake cases (CMYK and progressive JPEG, EXIF rotations,
    /// gray+alpha, palette with tRNS, RGBA) and generated ones (16-bit gray, RGBA with partial alpha,
    /// 1×1, 100×7, 3×90), copied into `folder` with a manifest of two labels, all TRAIN.
    static func mixedDataset(in folder: URL) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [(name: String, bytes: [UInt8])] = []
        for relative in ["01-jpeg-cmyk-progressive/images/cmyk_red.jpg", "01-jpeg-cmyk-progressive/images/progressive_blue.jpg",
                         "02-exif-orientation/images/orient6_red_top.jpg", "02-exif-orientation/images/orient8_red_top.jpg",
                         "05-gray-alpha-palette/images/gray_alpha.png", "05-gray-alpha-palette/images/palette_trns_hidden_green.png",
                         "05-gray-alpha-palette/images/rgba_hidden_green.png", "05-gray-alpha-palette/images/gray_1ch.jpg"] {
            files.append((URL(fileURLWithPath: relative).lastPathComponent, [UInt8](try Data(contentsOf: intake(relative)))))
        }
        // 16-bit gray, 9×5, a ramp.
        var ramp16: [[UInt8]] = []
        for y in 0..<5 {
            var row: [UInt8] = []
            for x in 0..<9 {
                let value = UInt16((x * 7 + y * 13) * 600)
                row += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            ramp16.append(row)
        }
        files.append(("gray16.png", PNGBuilder.build(width: 9, height: 5, bitDepth: 16, colorType: 0, scanlines: ramp16)))
        // RGBA with alpha from 0 to 255: composited onto the white matte.
        var rgba: [[UInt8]] = []
        for y in 0..<6 {
            var row: [UInt8] = []
            for x in 0..<11 { row += [UInt8(x * 20), UInt8(y * 40), 200, UInt8((x + y) * 16)] }
            rgba.append(row)
        }
        files.append(("rgba_partial.png", PNGBuilder.build(width: 11, height: 6, bitDepth: 8, colorType: 6, scanlines: rgba)))
        files.append(("one_pixel.png", try PNGEncoder.encode(Image(width: 1, height: 1, channels: 3, pixels: [200, 30, 10]))))
        var wide = Image(width: 100, height: 7, channels: 3, repeating: 90)
        for x in 0..<100 { wide[x: x, y: 3, channel: 1] = UInt8(x * 2) }
        files.append(("wide.png", try PNGEncoder.encode(wide)))
        files.append(("tall.jpg", try JPEGEncoder.encode(Image(width: 3, height: 90, channels: 1, repeating: 40), quality: 95)))
        var manifest = ""
        for (index, file) in files.enumerated() {
            try Data(file.bytes).write(to: folder.appendingPathComponent(file.name))
            manifest += "TRAIN,\(file.name),\(index % 2 == 0 ? "a" : "b")\n"
        }
        let url = folder.appendingPathComponent("manifest.csv")
        try manifest.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The pixels the import stored for each file, against the network input serving makes from it.
    static func expectServingMatchesTheImport(manifest: URL, options: ImportOptions, cache: URL) throws -> Int {
        let imported = try DatasetImporter(options: options).importManifest(at: manifest)
        #expect(imported.summary.rejected.isEmpty, "\(imported.summary.rejected)")
        let dataset = try DatasetCache.open(for: imported, in: cache).dataset
        let r = dataset.resolution
        let folder = try model(for: r, labels: imported.summary.labels, in: cache.deletingLastPathComponent().appendingPathComponent("jobs"))
        let predictor = try Predictor(folder: folder)
        let paths = Dictionary(uniqueKeysWithValues: imported.images.map { ($0.line, $0.path) })
        var compared = 0
        for index in 0..<dataset.count {
            let path = try #require(paths[Int(dataset.lines[index])])
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            // Bit for bit: the served input is the stored pixels, scaled and laid out CHW.
            let stored = Array(dataset.pixels(index))
            var expected = [Float](repeating: 0, count: stored.count)
            stored.withUnsafeBufferPointer { pixels in
                expected.withUnsafeMutableBufferPointer {
                    Preprocessing.writeScaledCHW(pixels, channels: r.channels, plane: r.width * r.height, to: $0.baseAddress!)
                }
            }
            let input = try predictor.input(for: bytes)
            #expect(input.map(\.bitPattern) == expected.map(\.bitPattern), "\(path)")
            #expect(try Preprocessing.pixels(encoded: bytes, resolution: r, maxPixels: 100_000_000).pixels == stored, "\(path)")

            // The probabilities of the served image and of the training batch's image agree.
            var batch = Tensor.empty
            var labels: [Int] = []
            BatchLoader(dataset: dataset, normalization: nil).fill(&batch, labels: &labels, indices: [index][...])
            let fromBatch = predictor.classifier.probabilities(for: batch)
            let served = try predictor.predict(images: [bytes])[0]
            for prediction in served {
                let label = try #require(predictor.labels.firstIndex(of: prediction.label))
                #expect(abs(prediction.score - Double(fromBatch[label])) <= 1e-6)
            }
            compared += 1
        }
        return compared
    }

    @Test func aResizedModelServesEveryKindOfFileAsTheImportStoredIt() throws {
        let folder = Self.root.appendingPathComponent("mixed")
        let manifest = try Self.mixedDataset(in: folder)
        var options = ImportOptions()
        options.workingSize = 16
        options.minTrainImagesPerLabel = 1
        let compared = try Self.expectServingMatchesTheImport(manifest: manifest, options: options, cache: folder.appendingPathComponent("cache"))
        #expect(compared == 13)
    }

    /// A native-size model (every training image 12×12 gray) letterboxes images of any other size,
    /// as the import would have: a 1×1 image (it trapped in `Predictor.input`), a 24×24 and a 30×6.
    @Test func aNativeSizeModelLetterboxesImagesOfAnyOtherSize() throws {
        let folder = Self.root.appendingPathComponent("native")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var manifest = ""
        for index in 0..<4 {
            var image = Image(width: 12, height: 12, channels: 1, repeating: UInt8(40 * index))
            image[x: index, y: 5, channel: 0] = 255
            try Data(try PNGEncoder.encode(image)).write(to: folder.appendingPathComponent("\(index).png"))
            manifest += "TRAIN,\(index).png,\(index % 2 == 0 ? "a" : "b")\n"
        }
        let url = folder.appendingPathComponent("manifest.csv")
        try manifest.write(to: url, atomically: true, encoding: .utf8)
        var options = ImportOptions()
        options.minTrainImagesPerLabel = 1
        let imported = try DatasetImporter(options: options).importManifest(at: url)
        let resolution = try #require(imported.summary.working)
        #expect(resolution == WorkingResolution(width: 12, height: 12, channels: 1, resized: false, fit: .letterbox))
        #expect(try Self.expectServingMatchesTheImport(manifest: url, options: options, cache: folder.appendingPathComponent("cache")) == 4)

        let predictor = try Predictor(folder: try Self.model(for: resolution, labels: ["a", "b"], in: folder.appendingPathComponent("jobs")))
        var tiny = Image(width: 1, height: 1, channels: 3, pixels: [250, 10, 10])
        var large = Image(width: 24, height: 24, channels: 1, repeating: 30)
        for x in 0..<24 { large[x: x, y: 11, channel: 0] = 220 }
        var wide = Image(width: 30, height: 6, channels: 1, repeating: 60)
        wide[x: 0, y: 0, channel: 0] = 255
        let luma: UInt8 = 82  // BT.601 of (250, 10, 10): (299·250 + 587·10 + 114·10 + 500) / 1000
        for image in [tiny, large, wide] {
            let input = try predictor.input(for: try PNGEncoder.encode(image))
            let gray = image.channels == 3 ? Image(width: 1, height: 1, channels: 1, pixels: [luma]) : image
            let expected: [Float] = ImageResize.letterbox(gray, width: 12, height: 12).pixels.map { Float($0) * (1 / 255) }
            #expect(input == expected, "\(image.width)x\(image.height)")
            #expect(try predictor.predict(images: [try PNGEncoder.encode(image)])[0].count == 2)
        }
        tiny.pixels = [0, 0, 0]
        #expect(try predictor.input(for: try PNGEncoder.encode(tiny)).allSatisfy { $0 == 0 }, "a black pixel letterboxes to black")
    }

    /// The issue's reproduction: a Fashion-MNIST TEST picture saved 2× larger (nearest) as an RGB JPEG
    /// got another top label than the original in 40 of 50 cases. Each variant of 200 TEST pictures
    /// must get the original's top label in at least 90 % of cases.
    @Test func aPictureGetsTheSameTopLabelAtAnySizeAndEncoding() throws {
        let folder = Self.root.appendingPathComponent("fashion")
        let exported = try FashionMNISTExport.write(to: folder, perClass: 40, seed: 5)
        var options = TrainingJobOptions(manifest: exported.manifest, budget: Budget(seconds: 15))
        options.jobsDirectory = Self.root.appendingPathComponent("jobs")
        options.startingArchitecture = "small"
        options.testTimeAugmentation = false
        let job = try TrainingJob(options: options, store: InMemoryJobStore(jobsDirectory: options.jobsDirectory))
        _ = try #require(try job.run())
        let predictor = try Predictor(folder: job.folder)

        let rows = try String(contentsOf: exported.manifest, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("TEST,") }.prefix(200)
        #expect(rows.count == 200)
        func nearest2x(_ image: Image) -> Image {
            var out = Image(width: image.width * 2, height: image.height * 2, channels: image.channels)
            for y in 0..<out.height { for x in 0..<out.width { for c in 0..<image.channels {
                out[x: x, y: y, channel: c] = image[x: x / 2, y: y / 2, channel: c]
            } } }
            return out
        }
        func rgb(_ image: Image) -> Image {
            Image(width: image.width, height: image.height, channels: 3, pixels: image.pixels.flatMap { [$0, $0, $0] })
        }
        func rgbaPNG(_ image: Image) -> [UInt8] {
            var rows: [[UInt8]] = []
            for y in 0..<image.height {
                var row: [UInt8] = []
                for x in 0..<image.width {
                    let value = image[x: x, y: y, channel: 0]
                    row += [value, value, value, 255]
                }
                rows.append(row)
            }
            return PNGBuilder.build(width: image.width, height: image.height, bitDepth: 8, colorType: 6, scanlines: rows)
        }
        let variants: [(name: String, make: (Image) throws -> [UInt8])] = [
            ("2x nearest PNG", { try PNGEncoder.encode(nearest2x($0)) }),
            ("RGB JPEG q95", { try JPEGEncoder.encode(rgb($0), quality: 95) }),
            ("RGBA PNG", { rgbaPNG($0) }),
            ("2x nearest RGB JPEG q95", { try JPEGEncoder.encode(rgb(nearest2x($0)), quality: 95) }),
        ]
        var agree = [Int](repeating: 0, count: variants.count)
        for row in rows {
            let path = folder.appendingPathComponent(String(row.split(separator: ",")[1]))
            let bytes = [UInt8](try Data(contentsOf: path))
            let image = try ImageDecoder.decode(bytes).image
            let original = try predictor.predict(images: [bytes])[0][0].label
            for (index, variant) in variants.enumerated() where try predictor.predict(images: [try variant.make(image)])[0][0].label == original {
                agree[index] += 1
            }
        }
        print("same top label as the original, of 200: " + zip(variants, agree).map { "\($0.name) \($1)" }.joined(separator: ", "))
        for (index, variant) in variants.enumerated() {
            #expect(agree[index] >= 180, "\(variant.name): the original's top label in \(agree[index]) of 200")
        }
    }
}
