import ArgumentParser
import Datasets
import Foundation

/// Where a manifest's image paths may lead, shared by `import`, `train` and `predict --manifest`:
/// the manifest's folder, the `--allow-root` folders, and the `--map`ped buckets.
struct ImagePathArguments: ParsableArguments {
    @Option(name: .customLong("map"), help: ArgumentHelp("Map a bucket to a local folder.", valueName: "gs://BUCKET=DIR"))
    var mappings: [String] = []
    @Option(name: .customLong("allow-root"), help: ArgumentHelp("Another folder image paths may point into.", valueName: "DIR"))
    var allowRoots: [String] = []

    func validate() throws { _ = try bucketMap() }

    /// The `--allow-root` folders.
    var extraRoots: [URL] { allowRoots.map { URL(fileURLWithPath: $0) } }

    /// The `--map` folders by bucket.
    /// - Throws: `ValidationError` for a mapping not of the form `gs://BUCKET=DIR`.
    func bucketMap() throws -> [String: URL] {
        var map: [String: URL] = [:]
        for mapping in mappings {
            guard let (bucket, directory) = PathResolver.parseMapping(mapping) else {
                throw ValidationError("--map expects gs://BUCKET=DIR, got '\(mapping)'")
            }
            map[bucket] = directory
        }
        return map
    }
}
