import Dispatch
import Foundation
import ImageIO
import Testing
@testable import Datasets

/// A manifest may name anything: a FIFO, a device, a folder, a huge file. Each such row is refused
/// with its reason, without blocking and before a byte of a too-large file is read; the manifest
/// itself is read the same way.
/// A result handed from one thread to another (written before a semaphore is signalled, read after it).
final class ResultBox<T>: @unchecked Sendable { var value: Result<T, any Error>? }

@Suite struct SpecialFileTests {
    /// Runs `body` on another thread; `nil` when it has not returned within `seconds` (it blocked).
    static func withTimeout<T: Sendable>(_ seconds: Double, unblock: () -> Void, _ body: @escaping @Sendable () throws -> T) -> Result<T, any Error>? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.value = Result { try body() }
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            unblock()
            done.wait()
            return nil
        }
        return box.value
    }

    @Test func specialFilesAreRefusedWithoutBlockingAndLargeFilesBeforeTheyAreRead() throws {
        let scratch = try ScratchFolder()
        var rows = ""
        for index in 0..<4 {
            try scratch.write("ok_\(index).png", try PNGEncoder.encode(Image(width: 6, height: 6, channels: 1, repeating: UInt8(index * 60))))
            rows += "TRAIN,ok_\(index).png,\(index % 2 == 0 ? "a" : "b")\n"
        }
        let fifo = scratch.url.appendingPathComponent("pipe.png").path
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("folder.png"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: scratch.url.appendingPathComponent("zero.png").path, withDestinationPath: "/dev/zero")
        try scratch.write("large.png", [UInt8](repeating: 0x89, count: 5000))
        rows += "TRAIN,pipe.png,a\nTRAIN,folder.png,a\nTRAIN,zero.png,b\nTRAIN,large.png,b\n"
        let manifest = try scratch.write("manifest.csv", text: rows)
        let unblock = {
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }

        let outcome = Self.withTimeout(30, unblock: unblock) {
            try importManifest(manifest) {
                $0.extraRoots = [URL(fileURLWithPath: "/dev")]
                $0.maxFileBytes = 4000
                $0.minTrainImagesPerLabel = 1
            }
        }
        let result = try #require(outcome, "the import blocked on a special file").get()
        #expect(result.summary.imported == 4)
        let reasons = Dictionary(uniqueKeysWithValues: result.summary.rejected.map { ($0.path, $0.reason) })
        #expect(reasons["pipe.png"]?.contains("FIFO") == true, "\(reasons)")
        #expect(reasons["folder.png"]?.contains("folder") == true, "\(reasons)")
        #expect(reasons["zero.png"]?.contains("device") == true, "\(reasons)")
        #expect(reasons["large.png"]?.contains("over the limit of 4000 bytes") == true, "\(reasons)")

        // The manifest itself a FIFO: a clear error, not a hang.
        let manifestOutcome = Self.withTimeout(30, unblock: unblock) { try importManifest(URL(fileURLWithPath: fifo)) }
        let failure = try #require(manifestOutcome, "reading a FIFO manifest blocked")
        #expect(throws: ManifestError.self) { try failure.get() }
        if case let .failure(error) = failure { #expect("\(error)".contains("FIFO"), "\(error)") }
    }

    @Test func fileReadingSaysWhatAPathIs() throws {
        let scratch = try ScratchFolder()
        let file = try scratch.write("a.bin", [1, 2, 3])
        #expect(try FileReading.read(file.path, maxBytes: 3).get() == [1, 2, 3])
        #expect(FileReading.read(file.path, maxBytes: 2) == .failure(.tooLarge(bytes: 3, limit: 2)))
        #expect(FileReading.read(scratch.url.appendingPathComponent("missing").path, maxBytes: 10) == .failure(.notFound))
        #expect(FileReading.read(scratch.url.path, maxBytes: 10) == .failure(.notRegularFile("a folder")))
        #expect(FileReading.read("/dev/null", maxBytes: 10) == .failure(.notRegularFile("a device")))
        let link = scratch.url.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file.path)
        #expect(FileReading.read(link, maxBytes: 10, followSymbolicLinks: false) == .failure(.symbolicLink))
        #expect(try FileReading.read(link, maxBytes: 10).get() == [1, 2, 3])
    }
}
