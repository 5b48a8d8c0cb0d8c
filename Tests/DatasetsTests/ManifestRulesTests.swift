import Foundation
import ImageIO
import Testing
@testable import Datasets

/// A small PNG whose content depends on `seed` (so different seeds give different hashes).
func pngBytes(seed: UInt8, width: Int = 4, height: Int = 4, channels: Int = 1) throws -> [UInt8] {
    let pixels = (0..<width * height * channels).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
    return try PNGEncoder.encode(Image(width: width, height: height, channels: channels, pixels: pixels))
}

/// A folder with `count` distinct images `img0.png`… and a manifest written from `lines`.
func makeDataset(_ lines: [String], images count: Int = 6) throws -> (ScratchFolder, URL) {
    let scratch = try ScratchFolder()
    for i in 0..<count { try scratch.write("img\(i).png", try pngBytes(seed: UInt8(i))) }
    let manifest = try scratch.write("manifest.csv", text: lines.joined(separator: "\n") + "\n")
    return (scratch, manifest)
}

@Suite struct ManifestParserTests {
    let parser = ManifestParser(isImageReference: { $0.hasSuffix(".png") })

    @Test func setNamesFollowOneCaseInsensitiveRule() {
        #expect(SetName("TRAIN") == .partition(.train))
        #expect(SetName("training") == .partition(.train))
        #expect(SetName("Train") == .partition(.train))
        #expect(SetName("VALIDATE") == .partition(.validation))
        #expect(SetName("validation") == .partition(.validation))
        #expect(SetName("test") == .partition(.test))
        #expect(SetName("unassigned") == .unassigned)
        #expect(SetName("TRIAN") == nil)
        #expect(SetName("a.png") == nil)
    }

    @Test func quotedFieldsWithCommasQuotesAndNewlinesKeepLineNumbers() throws {
        let text = "TRAIN,\"a, b.png\",cat\nTRAIN,\"multi\nline.png\",\"say \"\"hi\"\"\"\nTEST,c.png,dog\n"
        let parsed = try parser.parse(Array(text.utf8))
        #expect(parsed.rows.map(\.path) == ["a, b.png", "multi\nline.png", "c.png"])
        #expect(parsed.rows.map(\.line) == [1, 2, 4], "the quoted newline makes row 2 span two lines")
        #expect(parsed.rows[1].labels == ["say \"hi\""])
    }

    @Test func blankLinesAreSkippedButCountTowardLineNumbers() throws {
        let parsed = try parser.parse(Array("\nTRAIN,a.png,cat\n\n  \nTEST,b.png,dog".utf8))
        #expect(parsed.rows.map(\.line) == [2, 5])
        #expect(parsed.rowsRead == 2)
    }

    @Test func unknownFirstFieldThatLooksLikeAPathSaysSo() throws {
        let parsed = try parser.parse(Array("TRAIN,a.png,cat\nmissing.jpg,cat\n".utf8))
        #expect(parsed.rejected.map(\.line) == [2])
        #expect(parsed.rejected[0].reason.contains("no such file"))
    }

    @Test func uriRowsHaveNoSetColumn() throws {
        let parsed = try parser.parse(Array("gs://bucket/x.png,cat\nfile:///tmp/y.png,dog\nhttps://example.com/z.png,cat\n".utf8))
        #expect(parsed.rows.map(\.set) == [nil, nil, nil])
        #expect(parsed.rows.map(\.path) == ["gs://bucket/x.png", "file:///tmp/y.png", "https://example.com/z.png"])
    }

    @Test func rowWithoutPathIsRejected() throws {
        let parsed = try parser.parse(Array("TRAIN,a.png,cat\nTRAIN,,cat\n".utf8))
        #expect(parsed.rejected.map(\.line) == [2])
    }

    @Test func invalidUTF8NamesTheFirstBadLine() {
        var bytes = Array("TRAIN,a.png,cat\nTRAIN,b.png,dog\nTRAIN,caf".utf8)
        bytes += [0xE9] + Array(".png,cat\n".utf8)
        #expect(throws: ManifestError.invalidUTF8(line: 3, byte: 0xE9)) { try parser.parse(bytes) }
    }
}

@Suite struct ImportRulesTests {
    @Test func exactDuplicateRowsCollapseWithAWarning() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,dog", "TRAIN,img0.png,cat"])
        defer { withExtendedLifetime(scratch) {} }
        let result = try importManifest(manifest)
        #expect(result.images.count == 2)
        #expect(result.summary.imported == 3)
        #expect(result.summary.warnings.contains { $0.contains("duplicate rows") && $0.contains("line 3") })
    }

    @Test func twoLabelsForOneImageNameBothLines() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,dog", "TRAIN,img0.png,dog"])
        defer { withExtendedLifetime(scratch) {} }
        let summary = try importManifest(manifest).summary
        #expect(summary.rejectedLines == [3])
        #expect(summary.rejected[0].reason.contains("line 1") && summary.rejected[0].reason.contains("line 3"))
        #expect(summary.rejected[0].reason.contains("'cat'") && summary.rejected[0].reason.contains("'dog'"))
    }

    @Test func multiLabelMergesTheSameImageListedTwice() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img0.png,dog"])
        defer { withExtendedLifetime(scratch) {} }
        let result = try importManifest(manifest, multiLabel: true)
        #expect(result.images.count == 1)
        #expect(result.images[0].labels == ["cat", "dog"])
    }

    @Test func oneImageInTwoSetsIsAnErrorOnTheLaterLine() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TEST,img0.png,cat"])
        defer { withExtendedLifetime(scratch) {} }
        let summary = try importManifest(manifest).summary
        #expect(summary.rejectedLines == [2])
        #expect(summary.rejected[0].reason.contains("TRAIN on line 1"))
    }

    @Test func sameContentInTwoPartitionsWarnsOfLeakage() throws {
        let (scratch, _) = try makeDataset([], images: 1)
        defer { withExtendedLifetime(scratch) {} }
        try scratch.write("copy.png", try pngBytes(seed: 0))
        let manifest = try scratch.write("m.csv", text: "TRAIN,img0.png,cat\nTEST,copy.png,cat\n")
        let summary = try importManifest(manifest).summary
        #expect(summary.warnings.contains { $0.contains("leakage") && $0.contains("copy.png") && $0.contains("img0.png") })
    }

    @Test func pathsOutsideTheManifestFolderAreRefusedUnlessAllowed() throws {
        let outside = try ScratchFolder()
        defer { withExtendedLifetime(outside) {} }
        let image = try outside.write("far.png", try pngBytes(seed: 9))
        let (scratch, _) = try makeDataset([], images: 1)
        defer { withExtendedLifetime(scratch) {} }
        let manifest = try scratch.write("m.csv", text: "TRAIN,img0.png,cat\nTRAIN,\(image.path),dog\nTRAIN,../x/../../etc/passwd,dog\nTRAIN,file://\(image.path),cat\n")
        let refused = try importManifest(manifest).summary
        #expect(refused.rejectedLines == [2, 3, 4])
        #expect(refused.rejected.allSatisfy { $0.kind == "path not allowed" && $0.reason.contains("--allow-root") })

        let allowed = try importManifest(manifest) { $0.extraRoots = [outside.url] }.summary
        #expect(allowed.rejectedLines == [3, 4], "line 4 names the same file as line 2 with another label")
        #expect(allowed.rejected[0].kind == "path not allowed")
    }

    @Test func symbolicLinksCannotLeadOutOfTheAllowedFolders() throws {
        let outside = try ScratchFolder()
        defer { withExtendedLifetime(outside) {} }
        let secret = try outside.write("secret.png", try pngBytes(seed: 3))
        let (scratch, _) = try makeDataset([], images: 1)
        defer { withExtendedLifetime(scratch) {} }
        try FileManager.default.createSymbolicLink(atPath: scratch.url.appendingPathComponent("link.png").path, withDestinationPath: secret.path)
        try FileManager.default.createSymbolicLink(atPath: scratch.url.appendingPathComponent("inside.png").path,
                                                   withDestinationPath: scratch.url.appendingPathComponent("img0.png").path)
        let manifest = try scratch.write("m.csv", text: "TRAIN,link.png,cat\nTRAIN,inside.png,dog\n")
        let summary = try importManifest(manifest).summary
        #expect(summary.rejectedLines == [1])
        #expect(summary.rejected.first?.reason.contains("symbolic link") == true)
        #expect(summary.imported == 1, "a link that stays inside the folder is fine")
        let allowed = try importManifest(manifest) { $0.extraRoots = [outside.url] }.summary
        #expect(allowed.rejected.isEmpty)
    }

    @Test func bucketsMapToLocalFoldersAndHTTPIsNotSupportedYet() throws {
        let bucket = try ScratchFolder()
        defer { withExtendedLifetime(bucket) {} }
        try bucket.write("sub/a.png", try pngBytes(seed: 1))
        let (scratch, _) = try makeDataset([], images: 1)
        defer { withExtendedLifetime(scratch) {} }
        let manifest = try scratch.write("m.csv", text: """
            TRAIN,gs://my-bucket/sub/a.png,cat
            TRAIN,gs://other/a.png,cat
            TRAIN,https://example.com/a.png,cat
            TRAIN,img0.png,dog

            """)
        let summary = try importManifest(manifest) { $0.bucketMap = ["gs://my-bucket": bucket.url] }.summary
        #expect(summary.rejectedLines == [2, 3])
        #expect(summary.rejected[0].reason.contains("--map gs://other=DIR"))
        #expect(summary.rejected[1].reason.contains("not supported yet"))
        #expect(summary.imported == 2)
    }

    @Test func unassignedSplitIsDeterministicAndNearEightyTenTen() throws {
        let count = 400
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        var lines: [String] = []
        for i in 0..<count {
            try scratch.write("i\(i).png", try pngBytes(seed: UInt8(i % 256), width: 3 + i / 256, height: 4))
            lines.append("i\(i).png,\(i % 2 == 0 ? "cat" : "dog")")
        }
        let manifest = try scratch.write("m.csv", text: lines.joined(separator: "\n"))
        let reversed = try scratch.write("r.csv", text: lines.reversed().joined(separator: "\n"))
        let a = try importManifest(manifest)
        let b = try importManifest(reversed)
        let partitionA = Dictionary(uniqueKeysWithValues: a.images.map { ($0.reference, $0.partition) })
        let partitionB = Dictionary(uniqueKeysWithValues: b.images.map { ($0.reference, $0.partition) })
        #expect(partitionA == partitionB, "the split depends on content, not on row order")
        let train = a.images.filter { $0.partition == .train }.count
        #expect((280...360).contains(train), "80 % of 400 ± sampling noise, got \(train)")
        #expect(a.summary.autoAssigned == count)
    }

    @Test func aManifestWithNoUsableRowImportsNothing() throws {
        let (scratch, manifest) = try makeDataset(["TRIAN,img0.png,cat", "TRAIN,nothere.png,cat"])
        defer { withExtendedLifetime(scratch) {} }
        let summary = try importManifest(manifest).summary
        #expect(summary.imported == 0)
        #expect(summary.rejectedLines == [1, 2])
    }

    @Test func labelWithoutTrainImagesAndEmptyPartitionsAreWarned() throws {
        let (scratch, manifest) = try makeDataset(["TRAIN,img0.png,cat", "TRAIN,img1.png,cat", "TEST,img2.png,bird"])
        defer { withExtendedLifetime(scratch) {} }
        let warnings = try importManifest(manifest).summary.warnings
        #expect(warnings.contains { $0.contains("'bird' has no TRAIN images") && $0.contains("line 3") })
        #expect(warnings.contains { $0.contains("VALIDATION is empty") && $0.contains("carve") })
        #expect(warnings.contains { $0.contains("fewer than 10 TRAIN images") && $0.contains("'cat' 2") })
    }

    @Test func heavyImbalanceIsWarned() throws {
        let lines = (0..<12).map { "TRAIN,img\($0).png,\($0 == 0 ? "rare" : "common")" }
        let (scratch, manifest) = try makeDataset(lines, images: 12)
        defer { withExtendedLifetime(scratch) {} }
        let warnings = try importManifest(manifest) { $0.imbalanceRatio = 5 }.summary.warnings
        #expect(warnings.contains { $0.contains("imbalance") && $0.contains("'common' has 11") && $0.contains("'rare' 1") })
    }

    @Test func sameManifestGivesTheSameImportEveryRun() throws {
        let a = try importManifest(intakeCase("12-partition-vocabulary/manifest.csv")).summary
        let b = try importManifest(intakeCase("12-partition-vocabulary/manifest.csv")).summary
        #expect(a.partitions == b.partitions && a.rejected == b.rejected && a.warnings == b.warnings)
    }
}
