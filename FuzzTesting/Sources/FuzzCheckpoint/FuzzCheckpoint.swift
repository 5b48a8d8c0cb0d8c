import Foundation
import NN

/// Decodes the input as a checkpoint file (`Checkpoint.decode`, what `Checkpoint.read` does with a
/// file's bytes), twice: as given, and with its last four bytes replaced by the right CRC-32, so that
/// mutations reach the header and tensor parsing behind the checksum. Any input may be refused with
/// `NNError`; none may crash, and a decoded checkpoint must encode to bytes that decode to the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    check(bytes)
    if bytes.count >= 4 {
        var fixed = Array(bytes.dropLast(4))
        let crc = crc32(fixed)
        fixed += [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)]
        if fixed != bytes { check(fixed) }
    }
    return 0
}

func check(_ bytes: [UInt8]) {
    guard let checkpoint = try? Checkpoint.decode(Data(bytes)) else { return }
    let encoded: Data
    do {
        encoded = try checkpoint.encoded()
    } catch {
        preconditionFailure("a decoded checkpoint does not encode: \(error)")
    }
    guard let again = try? Checkpoint.decode(encoded) else { preconditionFailure("an encoded checkpoint does not decode") }
    precondition(try! again.encoded() == encoded, "encoding is not stable")
}

/// Writes seeds when FUZZ_SEED_DIR is set (Scripts/fuzz.sh sets it to this target's corpus): checkpoints
/// of a small convolutional network written by `Checkpoint` itself, with and without normalisation.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let folder = ProcessInfo.processInfo.environment["FUZZ_SEED_DIR"] else { return 0 }
    let spec = ArchitectureSpec(name: "seed", inputShape: [1, 4, 4], classes: 2, layers: [
        .conv2d(filters: 2, kernelSize: 3), .batchNorm(), .relu, .maxPool(size: 2), .flatten, .dense(units: 2),
    ])
    do {
        let network = try spec.build(seed: 1)
        let seeds = [
            Checkpoint(network: network, architecture: spec, labelNames: ["cat", "dog"]),
            Checkpoint(network: network, architecture: spec, normalization: ChannelNormalization(mean: [0.5], standardDeviation: [0.25]),
                       labelNames: ["a", "b"], metadata: [TestTimeAugmentation.metadataKey: "horizontal_flip", "accuracy": "0.5"]),
        ]
        for (index, seed) in seeds.enumerated() {
            try seed.encoded().write(to: URL(fileURLWithPath: folder).appendingPathComponent("generated-\(index).ckpt"))
        }
    } catch {
        fatalError("cannot write the checkpoint seeds: \(error)")
    }
    return 0
}

private let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// CRC-32 (IEEE), as the checkpoint trailer holds.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}
