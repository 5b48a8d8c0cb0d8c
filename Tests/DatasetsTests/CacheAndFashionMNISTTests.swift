import Foundation
import ImageIO
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

    @Test func mixedSizesAreCentreCroppedAndResizedToTheWorkingSize() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        try scratch.write("wide.png", try pngBytes(seed: 1, width: 40, height: 20, channels: 3))
        try scratch.write("small.png", try pngBytes(seed: 2, width: 10, height: 10))
        let manifest = try scratch.write("m.csv", text: "TRAIN,wide.png,a\nTRAIN,small.png,b\n")
        let result = try importManifest(manifest) { $0.workingSize = 16 }
        #expect(result.summary.working == WorkingResolution(width: 16, height: 16, channels: 3, resized: true))
        let (dataset, _) = try DatasetCache.open(for: result, in: scratch.url.appendingPathComponent("cache"))
        #expect(dataset.imageSize == 16 * 16 * 3)
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
