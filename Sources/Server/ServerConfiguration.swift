import Energy
import Foundation
import JobService
import Tensors

/// Settings of `autovision serve`.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The job store: `autovision.sqlite` and one folder per job.
    public var jobsDirectory = URL(fileURLWithPath: "Jobs", isDirectory: true)
    /// Folders a dataset's `root` must lie inside.
    public var dataRoots = [URL(fileURLWithPath: "Datasets", isDirectory: true)]
    /// Bearer token required on every route but the health checks; `nil` leaves them open (loopback only).
    public var apiToken: String?
    /// `serve --map gs://BUCKET=DIR`: the local folder of each bucket that Vertex AI's and AutoML's
    /// requests name (`gs://BUCKET/OBJECT` is `DIR/OBJECT`); such a folder is also a data root.
    public var bucketMap: [String: URL] = [:]
    /// Jobs trained at the same time in the server's own process; the others wait in `queued`.
    /// `autovision serve` sets 0: its worker processes train them.
    public var concurrentJobs = 1
    /// Whether the server's own process imports uploaded datasets. `autovision serve` sets `false`:
    /// its worker processes import them, so a file that crashes a decoder cannot take the server down.
    public var runsImports = true
    /// Largest raw image body of a prediction.
    public var maxImageBytes = 30_000_000
    /// Largest CSV manifest upload (also the largest manifest inside a zip).
    public var maxManifestBytes = 64 << 20
    /// Largest zip dataset upload (streamed to disk).
    public var maxZipBytes = 2 << 30
    /// Most bytes a zip upload may extract to; `nil`: four times `maxZipBytes` (images barely compress,
    /// so a zip inflating far beyond its size is a zip bomb).
    public var maxZipExtractedBytes: Int?
    /// Most entries in a zip upload.
    public var maxZipEntries = 500_000
    /// Largest image accepted for a prediction, in pixels (checked from the header before decoding).
    public var maxPredictionPixels = 50_000_000
    /// Largest image accepted at import, in pixels.
    public var maxImportPixels = 100_000_000
    /// How jobs trained in this process (`concurrentJobs` > 0) measure their energy: watts per core, grid intensity.
    public var energy = EnergySettings()
    /// The arithmetic of the jobs created over HTTP (`Precision`; `--precision`, `auto` resolved).
    public var precision = Precision.automatic
    /// Images forwarded in one batch at most (concurrent requests to one model are batched).
    public var maxBatchSize = 64
    /// Instances of each served model that run forward passes at the same time (`serve
    /// --model-instances`); each holds the network's buffers for a batch of `maxBatchSize`.
    public var modelInstances = 2
    /// Most images (Vertex AI `instances`) in one prediction request; more is a 413. Bounds the memory
    /// and the time one request can take; a request is split into batches of `maxBatchSize` anyway.
    public var maxInstancesPerRequest = 64
    /// Dataset uploads (CSV or zip) received at the same time; one more is a 429 with Retry-After,
    /// so a few slow clients cannot hold every connection's disk and memory.
    public var maxConcurrentUploads = 2
    /// Free bytes a zip upload must leave on the jobs directory's file system (checked before, while
    /// streaming and before extracting; a 507 otherwise), so an upload never fills the disk the store needs.
    public var minimumFreeDiskBytes: Int64 = 256 << 20
    /// Largest budget a job may have, in seconds; a request asking more gets this (`nil`: 7 days, the
    /// largest request accepted). Lets a shared or test server bound the compute any client can spend.
    public var maxJobBudgetSeconds: Double?
    /// Start the job runner (off only for tests of the routes alone).
    public var runJobs = true

    public init() {}

    /// The extraction caps of a zip upload.
    public var zipLimits: ZipLimits {
        ZipLimits(maxEntries: maxZipEntries, maxUncompressedBytes: Int64(maxZipExtractedBytes ?? maxZipBytes.multipliedReportingOverflow(by: 4).partialValue),
                  maxManifestBytes: maxManifestBytes)
    }

    /// Whether `host` is a loopback address or name (see `isLoopback(_:)`).
    public var isLoopback: Bool { Self.isLoopback(host) }

    /// `true` for an address in 127.0.0.0/8, `::1`, an IPv4-mapped `::ffff:127.x.y.z`, or the name
    /// `localhost`. Decided by parsing the address (`inet_pton`), never by a prefix: `127.evil.com`
    /// is a name that may resolve anywhere. Brackets (`[::1]`) and an IPv6 zone (`%lo`) are allowed.
    public static func isLoopback(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "localhost." { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        if let zone = host.firstIndex(of: "%") { host = String(host[..<zone]) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
        // ::ffff:a.b.c.d, an IPv4 address seen through an IPv6 socket.
        return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}

/// A configuration the server refuses to start with.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
}

/// The built application behind a plain protocol, so the command-line tool needs no Hummingbird import.
public protocol ApplicationProtocolBox: Sendable {
    /// Runs until SIGTERM/SIGINT, then shuts down gracefully.
    func run() async throws
}
