import Foundation
import JobService
import Testing
import TestSupport

/// Zips that crashed `ZipExtractor.extract` (Tests/Fixtures/fuzz/FuzzZip, see its README).
@Suite struct ZipFuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // JobServiceTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/fuzz/FuzzZip")
    static let root = processScratchDirectory(prefix: "autovision-zip-fuzz-tests-")

    /// An entry's declared size (up to 2^64 - 1) was added to the running total before the limit
    /// check, and the sum overflowed: the server died. Now the zip is refused as over the limit (413).
    @Test func aHugeDeclaredSizeIsOverTheLimitNotAnOverflow() throws {
        let destination = Self.root.appendingPathComponent("overflow/files")
        #expect {
            try ZipDatasetUpload.extract(Self.folder.appendingPathComponent("declared-size-sum-overflow.zip"), into: destination)
        } throws: { error in
            (error as? ZipUploadError)?.isOverLimit == true && "\(error)".contains("declare more than")
        }
    }

    /// Every input kept in the folder, including any added later, is refused or extracted without a crash.
    @Test func everyRegressionZipExtractsOrIsRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(!names.isEmpty)
        for (index, name) in names.enumerated() {
            let destination = Self.root.appendingPathComponent("\(index)/files")
            do {
                _ = try ZipDatasetUpload.extract(Self.folder.appendingPathComponent(name), into: destination)
            } catch {
                #expect(error is ZipUploadError, "\(name): \(error)")
            }
        }
    }
}
