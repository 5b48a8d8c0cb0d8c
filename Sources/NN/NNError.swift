/// Errors of the NN module.
public enum NNError: Error, Equatable, CustomStringConvertible {
    /// An architecture description that cannot be built (bad shape, unknown layer, wrong version).
    case invalidArchitecture(String)
    /// An unknown reference model name.
    case unknownModel(String)
    /// A checkpoint file that does not start with the checkpoint magic bytes.
    case checkpointNotACheckpoint(path: String)
    /// A checkpoint written by a newer, unknown format version.
    case checkpointUnsupportedVersion(found: UInt32, supported: UInt32)
    /// A checkpoint that ends before its declared contents.
    case checkpointTruncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// A checkpoint whose checksum does not match its contents.
    case checkpointCorrupt(path: String, reason: String)
    /// A checkpoint whose tensors do not fit its architecture.
    case checkpointMismatch(String)

    public var description: String {
        switch self {
        case let .invalidArchitecture(reason): "invalid architecture: \(reason)"
        case let .unknownModel(name): "unknown model '\(name)' (known: \(ArchitectureSpec.referenceNames.joined(separator: ", ")))"
        case let .checkpointNotACheckpoint(path): "\(path) is not an AutoVision checkpoint (bad magic bytes)"
        case let .checkpointUnsupportedVersion(found, supported):
            "checkpoint format version \(found) is not supported (this build reads up to version \(supported))"
        case let .checkpointTruncated(path, expected, actual):
            "\(path) is truncated: expected \(expected) bytes, found \(actual)"
        case let .checkpointCorrupt(path, reason): "\(path) is corrupt: \(reason)"
        case let .checkpointMismatch(reason): "checkpoint does not match its architecture: \(reason)"
        }
    }
}
