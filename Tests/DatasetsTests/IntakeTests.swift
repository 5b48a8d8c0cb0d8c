import Foundation
import Testing
@testable import Datasets

/// Every intake case whose input is a manifest, with the behaviour its expected.json asks for.
@Suite struct IntakeManifestTests {
    @Test func cmykAndProgressiveJPEGsAllImport() throws {
        let summary = try importManifest(intakeCase("01-jpeg-cmyk-progressive/manifest.csv")).summary
        #expect(summary.imported == 9)
        #expect(summary.rejected.isEmpty)
        #expect(summary.working?.channels == 3)
    }

    @Test func exifOrientedImagesImportUpright() throws {
        let result = try importManifest(intakeCase("02-exif-orientation/manifest.csv"))
        #expect(result.summary.imported == 7)
        for image in result.images where image.reference.contains("orient") {
            #expect(image.width == 24 && image.height == 40, "\(image.reference) decoded \(image.width)x\(image.height)")
        }
    }

    @Test func corruptTruncatedEmptyAndMissingFilesAreRejectedByLine() throws {
        let summary = try importManifest(intakeCase("03-corrupt-truncated-empty/manifest.csv")).summary
        #expect(summary.imported == 6)
        #expect(summary.rejectedLines == [4, 5, 9, 10, 11])
        let reasons = Dictionary(uniqueKeysWithValues: summary.rejected.map { ($0.line, $0.reason) })
        #expect(reasons[4]!.contains("truncated JPEG"))
        #expect(reasons[5]!.contains("zero-byte"))
        #expect(reasons[9]!.contains("truncated PNG"))
        #expect(reasons[10]!.contains("HTML"))
        #expect(reasons[11]!.contains("file not found"))
        #expect(summary.rejected.map(\.path) == [
            "images/cat_truncated.jpg", "images/cat_empty.jpg", "images/dog_truncated.png",
            "images/dog_html_error_page.jpg", "images/does_not_exist.jpg",
        ])
    }

    @Test func grayAlphaAndPaletteImagesBecomeThreeChannels() throws {
        let result = try importManifest(intakeCase("05-gray-alpha-palette/manifest.csv"))
        #expect(result.summary.imported == 10)
        #expect(result.summary.rejected.isEmpty)
        #expect(result.summary.working?.channels == 3, "gray and red images mixed: three channels")
    }

    @Test func decompressionBombsAreRejectedFromTheHeader() throws {
        let summary = try importManifest(intakeCase("07-decompression-bomb/manifest.csv")).summary
        #expect(summary.imported == 6)
        #expect(summary.rejectedLines == [4, 8])
        #expect(summary.rejected[0].reason.contains("20000x20000"))
        #expect(summary.rejected[1].reason.contains("100000x100000"))
        #expect(summary.rejected.allSatisfy { $0.kind == "too many pixels" })
    }

    @Test func byteOrderMarkAndCRLFAreInvisible() throws {
        let summary = try importManifest(intakeCase("08-csv-bom-crlf/manifest.csv")).summary
        #expect(summary.imported == 8 && summary.rejected.isEmpty)
        #expect(summary.labels == ["cat", "dog"])
        #expect(summary.count(.train) == 4 && summary.count(.validation) == 2 && summary.count(.test) == 2)

        let noSet = try importManifest(intakeCase("08-csv-bom-crlf/manifest_no_partition.csv"))
        #expect(noSet.summary.imported == 8 && noSet.summary.rejected.isEmpty)
        #expect(noSet.summary.labels == ["cat", "dog"])
        #expect(noSet.images.first?.reference == "images/ctrl_cat_0.png")
        #expect(noSet.images.allSatisfy { $0.autoAssigned })
    }

    @Test func sameManifestWithLFAndNoBOMImportsIdentically() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }
        try scratch.copyImages(from: "08-csv-bom-crlf")
        let original = try Data(contentsOf: intakeCase("08-csv-bom-crlf/manifest.csv"))
        let plain = String(decoding: original.dropFirst(3), as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let a = try importManifest(intakeCase("08-csv-bom-crlf/manifest.csv"))
        let b = try importManifest(try scratch.write("manifest.csv", text: plain))
        #expect(a.summary.partitions == b.summary.partitions)
        #expect(a.images.map(\.contentHash) == b.images.map(\.contentHash))
    }

    @Test func headerRowIsSkippedWithANotice() throws {
        for name in ["manifest.csv", "manifest_no_partition.csv"] {
            let summary = try importManifest(intakeCase("09-csv-header-row/\(name)")).summary
            #expect(summary.imported == 6, "\(name)")
            #expect(summary.rows == 6, "the header is not a data row")
            #expect(summary.labels == ["cat", "dog"])
            #expect(summary.notices.contains { $0.contains("line 1") && $0.contains("header") })
        }
    }

    @Test func quotingAndUnicodeLabelsAreKeptExactly() throws {
        let result = try importManifest(intakeCase("10-csv-quoting-unicode-labels/manifest.csv"))
        #expect(result.summary.imported == 8 && result.summary.rejected.isEmpty)
        #expect(Set(result.summary.labels) == ["cat", "golden retriever", "猫", "Katze_ä", "🐱", "tabby/orange", "dog"])
        #expect(result.images.map(\.reference).contains("images/cat, sleeping.png"))
        #expect(result.images.map(\.reference).contains("images/café au lait.png"))
        #expect(result.summary.warnings.contains { $0.contains("' dog ' → 'dog'") && $0.contains("line 8") })
        #expect(result.summary.warnings.contains { $0.contains("refused by Google AutoML") && $0.contains("tabby/orange") })
    }

    @Test func windows1252ManifestIsRefusedNamingLineTwo() throws {
        #expect(throws: ManifestError.invalidUTF8(line: 2, byte: 0xE9)) {
            try importManifest(intakeCase("10-csv-quoting-unicode-labels/manifest_cp1252.csv"))
        }
        #expect(ManifestError.invalidUTF8(line: 2, byte: 0xE9).description.contains("line 2"))
    }

    @Test func partitionVocabularyIsCaseInsensitiveAndTyposAreRejected() throws {
        let result = try importManifest(intakeCase("12-partition-vocabulary/manifest.csv"))
        let byLine = Dictionary(uniqueKeysWithValues: result.images.map { ($0.line, $0) })
        for line in [1, 2, 3, 10] { #expect(byLine[line]?.partition == .train && byLine[line]?.autoAssigned == false, "line \(line)") }
        for line in [4, 5] { #expect(byLine[line]?.partition == .validation, "line \(line)") }
        for line in [6, 7, 12] { #expect(byLine[line]?.partition == .test, "line \(line)") }
        for line in [8, 9] { #expect(byLine[line]?.autoAssigned == true, "line \(line)") }
        #expect(result.summary.rejectedLines == [11])
        let reason = result.summary.rejected[0].reason
        #expect(reason.contains("unknown set 'TRIAN'") && reason.contains("TRAIN") && reason.contains("UNASSIGNED") && reason.contains("validation"))
    }

    @Test func multiLabelRowsMergeAndIgnoreEmptyFields() throws {
        let result = try importManifest(intakeCase("14-multilabel-trailing-empty/manifest.csv"), multiLabel: true)
        #expect(result.summary.labels == ["cat", "dog"])
        let labels = Dictionary(uniqueKeysWithValues: result.images.map { ($0.line, Set($0.labels)) })
        let expected: [Int: Set<String>] = [1: ["cat", "dog"], 2: ["cat"], 3: ["dog"], 4: [], 5: ["cat"], 6: ["cat", "dog"], 7: ["cat"], 8: ["dog"], 9: ["cat", "dog"]]
        #expect(labels == expected)
        #expect(result.summary.unlabeled == 1)
        #expect(result.summary.rejected.isEmpty)
    }

    @Test func singleLabelModeRejectsRowsWithSeveralLabels() throws {
        let result = try importManifest(intakeCase("14-multilabel-trailing-empty/manifest.csv"))
        #expect(result.summary.rejectedLines == [1, 6, 9])
        #expect(result.summary.rejected.allSatisfy { $0.reason.contains("several labels") && $0.reason.contains("--multi-label") })
        #expect(Set(result.images.map(\.line)) == [2, 3, 4, 5, 7, 8])
        #expect(!result.summary.labels.contains(""))
        #expect(result.images.first { $0.line == 5 }?.labels == ["cat"])
        #expect(result.summary.unlabeled == 1)
    }
}
