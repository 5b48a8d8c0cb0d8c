import Foundation
import NN
import Testing

/// Checkpoint files that crashed `Checkpoint.decode` (Tests/Fixtures/fuzz/FuzzCheckpoint, see its README):
/// shapes from the header were multiplied, summed and allocated before they were checked. Each is now
/// refused as corrupt, like any other damaged file.
@Suite struct CheckpointFuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // NNTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/fuzz/FuzzCheckpoint")

    static func reason(decoding name: String) throws -> String? {
        do {
            _ = try Checkpoint.decode(try Data(contentsOf: folder.appendingPathComponent(name)), path: name)
            return nil
        } catch let NNError.checkpointCorrupt(path, reason) {
            #expect(path == name)
            return reason
        }
    }

    @Test(arguments: [
        ("shape-count-overflow.ckpt", "more values than a file can hold"),  // [2^62, 4]: the product trapped
        ("shapes-sum-overflow.ckpt", "more values than a file can hold"),   // [2^62], [2^62]: the sum trapped
        ("negative-dimension.ckpt", "tensor 0 has the negative dimension -1"),  // [-1], [1]: Array(count: -1) trapped
        ("negative-dimensions-positive-count.ckpt", "negative dimension -2"),   // [-2, -2]: decoded as a tensor
    ])
    func isRefusedAsCorrupt(name: String, reason: String) throws {
        let refused = try Self.reason(decoding: name)
        #expect(refused?.contains(reason) == true, "\(refused ?? "decoded")")
    }

    /// Every input kept in the folder, including any added later, is refused with an `NNError`.
    @Test func everyRegressionInputIsRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0 != "README.md" }
        #expect(!names.isEmpty)
        for name in names {
            #expect(throws: NNError.self, "\(name)") { try Checkpoint.decode(try Data(contentsOf: Self.folder.appendingPathComponent(name))) }
        }
    }
}
