import Foundation
import ImageIO
import Tensors
import Testing
@testable import Datasets

@Suite struct DatasetCacheTests {
    @Test func cacheHoldsTheDecodedPixelsLabelsAndPartitions() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "VALIDATION,img1.png,dog", "TEST,img2.png,cat", "TRAIN,img3.png"])
        defer { withExtendedLifetime(scratch) {} }
        let result = try importManifest(manifest)
        let (dataset, reused) = try DatasetCache.open(for: result, in: scratch.url.appendingPathComponent("cache"))
        #expect(!reused)
        #expect(dataset.count == 3, "the unlabeled image is not cached")
        #expect(dataset.header.labels == ["cat", "dog"])
        #expect(Array(dataset.labels) == [0, 1, 0])
        #expect(dataset.partitions == [.train, .validation, .test])
        #expect(Array(dataset.lines) == [1, 2, 3])
        #expect(dataset.resolution == WorkingResolution(width: 4, height: 4, channels: 1, resized: false))
        for i in 0..<3 {
            let expected = try ImageDecoder.decode(try pngBytes(seed: UInt8(i))).image.pixels
            #expect(Array(dataset.pixels(i)) == expected)
        }
        let (_, again) = try DatasetCache.open(for: result, in: scratch.url.appendingPathComponent("cache"))
        #expect(again, "a second import reuses the cache")
    }

    @Test func corruptCacheIsDetectedAndRebuilt() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,dog"])
        defer { withExtendedLifetime(scratch) {} }
        let result = try importManifest(manifest)
        let folder = scratch.url.appendingPathComponent("cache")
        let (dataset, _) = try DatasetCache.open(for: result, in: folder)
        let url = dataset.url
        let original = try Data(contentsOf: url)
        var bytes = [UInt8](original)
        bytes[bytes.count - 10] ^= 0xFF
        try Data(bytes).write(to: url)
        #expect(throws: DatasetCacheError.self) { try DecodedDataset(contentsOf: url) }
        try Data(bytes.prefix(bytes.count / 2)).write(to: url)
        #expect(throws: DatasetCacheError.self) { try DecodedDataset(contentsOf: url) }

        let (rebuilt, reused) = try DatasetCache.open(for: result, in: folder)
        #expect(!reused)
        #expect(try Data(contentsOf: rebuilt.url) == original)
    }

    @Test func mixedSizesAreLetterboxedToTheWorkingSize() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        let wideBytes = try pngBytes(seed: 1, width: 40, height: 20, channels: 3)
        try scratch.write("wide.png", wideBytes)
        try scratch.write("small.png", try pngBytes(seed: 2, width: 10, height: 10))
        let manifest = try scratch.write("m.csv", text: "TRAIN,wide.png,a\nTRAIN,small.png,b\n")
        let result = try importManifest(manifest) { $0.workingSize = 16 }
        #expect(result.summary.working == WorkingResolution(width: 16, height: 16, channels: 3, resized: true, fit: .letterbox))
        #expect(result.summary.render().contains("working resolution 16×16, 3 channels (letterboxed"))
        let (dataset, _) = try DatasetCache.open(for: result, in: scratch.url.appendingPathComponent("cache"))
        #expect(dataset.imageSize == 16 * 16 * 3)
        // The wide image: all of it scaled to 16×8 in rows 4..<12, rows above and below one fill colour.
        let wide = Image(width: 16, height: 16, channels: 3, pixels: Array(dataset.pixels(0)))
        let source = try ImageDecoder.decode(wideBytes).image
        #expect(wide.pixels == ImageResize.letterbox(source, width: 16, height: 16).pixels)
        #expect(Array(wide.pixels[(4 * 16 * 3)..<(12 * 16 * 3)]) == ImageResize.resize(source, width: 16, height: 8).pixels)
        let fill = wide.pixel(x: 0, y: 0)
        for y in Array(0..<4) + Array(12..<16) { for x in 0..<16 { #expect(wide.pixel(x: x, y: y) == fill) } }
        let small = Array(dataset.pixels(1))
        var grayReplicated = true
        for i in 0..<256 where small[3 * i] != small[3 * i + 1] || small[3 * i + 1] != small[3 * i + 2] { grayReplicated = false }
        #expect(grayReplicated, "a gray image is replicated to three equal channels")
    }
}

/// End-to-end on real data: a slice of Fashion-MNIST from the Debian package.
@Suite struct FashionMNISTTests {
    @Test func idxFilesLoadWithTheOfficialCounts() throws {
        let train = try FashionMNIST.load(.train)
        let test = try FashionMNIST.load(.test)
        #expect(train.count == 60_000 && test.count == 10_000)
        #expect(train.images.count == 60_000 * 784)
        #expect(Set(test.labels).count == 10)
    }

    @Test func preparedSliceImportsWithExactCounts() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        let prepared = try FashionMNISTExport.write(to: scratch.url, perClass: 5, seed: 7)
        #expect(prepared.counts == [.train: 50, .validation: 50, .test: 50])
        let text = try String(contentsOf: prepared.manifest, encoding: .utf8)
        #expect(text.split(separator: "\n").allSatisfy { $0.split(separator: ",").count == 3 }, "SET,path,label rows, no header")

        let result = try importManifest(prepared.manifest)
        let summary = result.summary
        #expect(summary.rows == 150 && summary.imported == 150 && summary.rejected.isEmpty)
        #expect(summary.labels == FashionMNIST.classNames.sorted())
        for partition in Partition.allCases {
            #expect(summary.partitions[partition.rawValue] == Dictionary(uniqueKeysWithValues: FashionMNIST.classNames.map { ($0, 5) }))
        }
        #expect(summary.working == WorkingResolution(width: 28, height: 28, channels: 1, resized: false))

        // The PNG written for an image decodes to the IDX pixels exactly.
        let train = try FashionMNIST.load(.train)
        let first = result.images.first { $0.reference.hasPrefix("train/") }!
        let index = Int(first.reference.dropFirst(6).dropLast(4))!
        let (dataset, _) = try DatasetCache.open(for: result, in: scratch.url.appendingPathComponent("cache"))
        let row = (0..<dataset.count).first { dataset.lines[$0] == first.line }!
        #expect(Array(dataset.pixels(row)) == Array(train.image(index)))
        #expect(dataset.header.labels[Int(dataset.labels[row])] == FashionMNIST.classNames[Int(train.labels[index])])

        // Same seed, same split.
        let again = try ScratchFolder()
        defer { withExtendedLifetime(again) {} }
        let repeated = try FashionMNISTExport.write(to: again.url, perClass: 5, seed: 7)
        let firstText = try Data(contentsOf: prepared.manifest), secondText = try Data(contentsOf: repeated.manifest)
        #expect(firstText == secondText)
    }
}

/// How resized images are fitted (letterbox for new imports, centre crop for everything stored before).
@Suite struct WorkingResolutionFitTests {
    @Test func jsonWrittenBeforeTheFitExistedDecodesAsCentreCrop() throws {
        let old = #"{"channels":3,"height":64,"resized":true,"width":64}"#
        let resolution = try JSONDecoder().decode(WorkingResolution.self, from: Data(old.utf8))
        #expect(resolution == WorkingResolution(width: 64, height: 64, channels: 3, resized: true, fit: .centerCrop))
        // The same inside an old dataset-cache header and an old import summary.
        let header = #"{"count":1,"key":"k","labels":["a"],"manifestSHA256":"m","multiLabel":false,"pixelOffset":64,"resolution":\#(old)}"#
        #expect(try JSONDecoder().decode(DatasetCacheHeader.self, from: Data(header.utf8)).resolution.fit == .centerCrop)
        var summary = ImportSummary(manifest: "m.csv", manifestSHA256: "m", multiLabel: false)
        summary.working = WorkingResolution(width: 64, height: 64, channels: 3, resized: true, fit: .letterbox)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(summary)) as! [String: Any]
        var working = object["working"] as! [String: Any]
        working["fit"] = nil
        object["working"] = working
        let decoded = try JSONDecoder().decode(ImportSummary.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.working?.fit == .centerCrop)
        #expect(decoded.render().contains("(centre-cropped and resized)"))
    }

    @Test(arguments: [WorkingResolution.Fit.letterbox, .centerCrop])
    func theFitRoundTrips(fit: WorkingResolution.Fit) throws {
        let resolution = WorkingResolution(width: 32, height: 32, channels: 1, resized: true, fit: fit)
        let data = try JSONEncoder().encode(resolution)
        #expect(String(decoding: data, as: UTF8.self).contains(#""fit":"\#(fit == .letterbox ? "letterbox" : "center_crop")""#))
        #expect(try JSONDecoder().decode(WorkingResolution.self, from: data) == resolution)
    }

    @Test func fittingToAResolutionFitsAsItSays() {
        var wide = Image(width: 30, height: 10, channels: 3, repeating: 40)
        for y in 0..<10 { wide[x: 1, y: y, channel: 0] = 250 }  // a red line near the left edge
        var resolution = WorkingResolution(width: 10, height: 10, channels: 1, resized: true, fit: .letterbox)
        let letterboxed = wide.fitted(to: resolution)
        #expect(letterboxed == ImageResize.letterbox(wide, width: 10, height: 10).converted(toChannels: 1))
        resolution.fit = .centerCrop
        let cropped = wide.fitted(to: resolution)
        #expect(cropped == ImageResize.resize(ImageResize.centerCropSquare(wide), width: 10, height: 10).converted(toChannels: 1))
        #expect(letterboxed.pixels.max()! > 40 && cropped.pixels.allSatisfy { $0 == cropped.pixels[0] },
                "the line survives the letterbox only")
        // Native size: the fit does not matter.
        let native = Image(width: 10, height: 10, channels: 3, repeating: 9)
        for fit in [WorkingResolution.Fit.letterbox, .centerCrop] {
            #expect(native.fitted(to: WorkingResolution(width: 10, height: 10, channels: 3, resized: false, fit: fit)) == native)
        }
    }

    @Test func aCentreCropCacheIsNotReusedForALetterboxImport() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        try scratch.write("wide.png", try pngBytes(seed: 1, width: 40, height: 20, channels: 3))
        try scratch.write("tall.png", try pngBytes(seed: 2, width: 10, height: 30))
        let manifest = try scratch.write("m.csv", text: "TRAIN,wide.png,a\nTRAIN,tall.png,b\n")
        let folder = scratch.url.appendingPathComponent("cache")
        var old = try importManifest(manifest) { $0.workingSize = 16 }
        old.summary.working!.fit = .centerCrop  // what an import before letterboxing produced
        let (cropped, _) = try DatasetCache.open(for: old, in: folder)
        #expect(cropped.resolution.fit == .centerCrop)

        let new = try importManifest(manifest) { $0.workingSize = 16 }
        #expect(DatasetCache.key(for: new, resolution: new.summary.working!) != DatasetCache.key(for: old, resolution: old.summary.working!))
        let (letterboxed, reused) = try DatasetCache.open(for: new, in: folder)
        #expect(!reused && letterboxed.url != cropped.url)
        #expect(letterboxed.resolution.fit == .letterbox)
        #expect(Array(letterboxed.pixels(0)) != Array(cropped.pixels(0)))
        #expect(try DatasetCache.open(for: old, in: folder).reused, "the centre-crop cache is still there for old imports")

        // Native-size datasets: the pixels do not depend on the fit, neither does the key.
        let (nativeScratch, nativeManifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,dog"])
        defer { withExtendedLifetime(nativeScratch) {} }
        let native = try importManifest(nativeManifest)
        var nativeOld = native.summary.working!
        nativeOld.fit = .centerCrop
        #expect(DatasetCache.key(for: native, resolution: native.summary.working!) == DatasetCache.key(for: native, resolution: nativeOld))
    }
}

/// A cache file is read back field by field: a damaged header or label fails with the reason,
/// never traps (negative or overflowing counts, label indices outside the labels).
@Suite struct CacheValidationTests {
    /// The cache bytes with `transform` applied and the trailing CRC-32 recomputed, so only the field check can catch it.
    static func rewritten(_ url: URL, _ transform: (inout [UInt8]) -> Void) throws -> URL {
        var bytes = [UInt8](try Data(contentsOf: url))
        transform(&bytes)
        let crc = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<bytes.count - 4])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 4..<bytes.count, with: $0) }
        let copy = url.deletingLastPathComponent().appendingPathComponent("damaged-\(UUID().uuidString).avcache")
        try Data(bytes).write(to: copy)
        return copy
    }

    static func replace(_ text: String, with replacement: String, in bytes: inout [UInt8]) {
        let needle = Array(text.utf8), new = Array(replacement.utf8)
        precondition(needle.count == new.count)
        guard let start = (0...(bytes.count - needle.count)).first(where: { Array(bytes[$0..<$0 + needle.count]) == needle }) else {
            Issue.record("\(text) not found in the header")
            return
        }
        bytes.replaceSubrange(start..<start + needle.count, with: new)
    }

    @Test func damagedFieldsAreRefusedWithTheirReason() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,dog"])
        defer { withExtendedLifetime(scratch) {} }
        let dataset = try DatasetCache.open(for: try importManifest(manifest), in: scratch.url.appendingPathComponent("cache")).dataset
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("count 0", { Self.replace(#""count":2"#, with: #""count":0"#, in: &$0) }, "images cannot fit"),
            ("negative width", { Self.replace(#""width":4"#, with: #""width":-"#, in: &$0) }, "unreadable header"),
            ("width 0", { Self.replace(#""width":4"#, with: #""width":0"#, in: &$0) }, "not a working resolution"),
            ("a label index outside the labels", { bytes in
                let offset = dataset.header.pixelOffset
                bytes.replaceSubrange(offset..<offset + 4, with: [7, 0, 0, 0])
            }, "label index 7"),
            ("a negative label index", { bytes in
                let offset = dataset.header.pixelOffset
                bytes.replaceSubrange(offset..<offset + 4, with: [0xFF, 0xFF, 0xFF, 0xFF])
            }, "label index -1"),
        ]
        for (name, transform, reason) in cases {
            let url = try Self.rewritten(dataset.url, transform)
            #expect(throws: DatasetCacheError.self, "\(name)") { try DecodedDataset(contentsOf: url) }
            do { _ = try DecodedDataset(contentsOf: url) } catch { #expect("\(error)".contains(reason), "\(name): \(error)") }
        }
    }
}
