import ArgumentParser
import Datasets
import Foundation

/// Import options shared by `import` and `train`.
struct ImportArguments: ParsableArguments {
    @Flag(help: "Multi-label classification (several labels per image).") var multiLabel = false
    @Option(name: .customLong("map"), help: ArgumentHelp("Map a bucket to a local folder.", valueName: "gs://BUCKET=DIR"))
    var mappings: [String] = []
    @Option(name: .customLong("allow-root"), help: ArgumentHelp("Another folder image paths may point into.", valueName: "DIR"))
    var allowRoots: [String] = []
    @Option(help: "Largest image accepted, in pixels (checked from the header).") var maxPixels = 100_000_000
    @Option(help: "Square side images are resized to when they differ in size or exceed 128 pixels.") var workingSize = 64

    /// The working sizes accepted: a network needs at least 8 pixels a side, and 512 already makes a
    /// 3-channel image of 786,432 values, beyond what these 2-core machines train in a budget.
    static let workingSizes = 8...512

    func validate() throws {
        try Validate.range(maxPixels, 1...Int(Int32.max), "--max-pixels")
        try Validate.range(workingSize, Self.workingSizes, "--working-size")
        for mapping in mappings where PathResolver.parseMapping(mapping) == nil {
            throw ValidationError("--map expects gs://BUCKET=DIR, got '\(mapping)'")
        }
    }

    func options() throws -> ImportOptions {
        var options = ImportOptions()
        options.multiLabel = multiLabel
        options.maxPixels = maxPixels
        options.workingSize = workingSize
        options.extraRoots = allowRoots.map { URL(fileURLWithPath: $0) }
        for mapping in mappings {
            guard let (bucket, directory) = PathResolver.parseMapping(mapping) else {
                throw ValidationError("--map expects gs://BUCKET=DIR, got '\(mapping)'")
            }
            options.bucketMap[bucket] = directory
        }
        return options
    }
}
