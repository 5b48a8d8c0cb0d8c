import Datasets
import Foundation
import Testing

/// `FileWriting`: a file is replaced whole or not at all, and no temporary file is left behind.
@Suite struct FileWritingTests {
    func leftovers(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }
    }

    @Test func aWriteReplacesTheFileAndLeavesNoTemporary() throws {
        let scratch = try ScratchFolder()
        let file = scratch.url.appendingPathComponent("a.json")
        try FileWriting.write(Data("old".utf8), to: file)
        try FileWriting.write(Data("new".utf8), to: file)
        #expect(try Data(contentsOf: file) == Data("new".utf8))
        #expect(try leftovers(in: scratch.url).isEmpty)
        let temporary = FileWriting.temporaryURL(for: file).lastPathComponent
        #expect(temporary.hasPrefix(".a.json.\(getpid()).") && temporary.hasSuffix(".tmp"))
        #expect(temporary != FileWriting.temporaryURL(for: file).lastPathComponent, "unique per call: two threads never share one")
    }

    @Test func aFailedWriteKeepsTheOldFileAndRemovesTheTemporary() throws {
        struct Interrupted: Error {}
        let scratch = try ScratchFolder()
        let file = scratch.url.appendingPathComponent("a.json")
        try FileWriting.write(Data("old".utf8), to: file)
        #expect(throws: Interrupted.self) {
            try FileWriting.replace(file) { temporary in
                try Data("half".utf8).write(to: temporary)
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: file) == Data("old".utf8))
        #expect(try leftovers(in: scratch.url).isEmpty)
    }

    @Test func aFailedRenameSaysWhichFileAndWhy() throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url.appendingPathComponent("taken")  // a non-empty folder cannot be renamed over
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.appendingPathComponent("inside"))
        #expect {
            try FileWriting.write(Data("new".utf8), to: folder)
        } throws: { error in
            guard let failure = error as? FileWriting.RenameFailure else { return false }
            return failure.path == folder.path && failure.description.hasPrefix("cannot write \(folder.path): ")
        }
        #expect(try leftovers(in: scratch.url).isEmpty)
    }

    @Test func theRenameRunsWhereTheCommitRunsItOrNotAtAll() throws {
        struct LeaseLost: Error {}
        let scratch = try ScratchFolder()
        let file = scratch.url.appendingPathComponent("model.ckpt")
        try FileWriting.write(Data("old".utf8), to: file)
        #expect(throws: LeaseLost.self) {
            try FileWriting.replace(file, writingWith: { try Data("new".utf8).write(to: $0) }, commit: { _ in throw LeaseLost() })
        }
        #expect(try Data(contentsOf: file) == Data("old".utf8))
        var renamedInside = false
        try FileWriting.replace(file, writingWith: { try Data("new".utf8).write(to: $0) }, commit: { rename in
            try rename()
            renamedInside = (try? Data(contentsOf: file)) == Data("new".utf8)
        })
        #expect(renamedInside)
        #expect(try leftovers(in: scratch.url).isEmpty)
    }
}
