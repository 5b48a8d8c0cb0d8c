import Foundation
import JobService

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
    /// Jobs trained at the same time; the others wait in `queued`.
    public var concurrentJobs = 1
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
    /// Images forwarded in one batch at most (concurrent requests to one model are batched).
    public var maxBatchSize = 64
    /// Start the job runner (off only for tests of the routes alone).
    public var runJobs = true

    public init() {}

    /// The extraction caps of a zip upload.
    public var zipLimits: ZipLimits {
        ZipLimits(maxEntries: maxZipEntries, maxUncompressedBytes: Int64(maxZipExtractedBytes ?? maxZipBytes.multipliedReportingOverflow(by: 4).partialValue),
                  maxManifestBytes: maxManifestBytes)
    }

    /// `true` for 127.0.0.0/8, ::1 and localhost.
    public var isLoopback: Bool { Self.isLoopback(host) }

    public static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
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
