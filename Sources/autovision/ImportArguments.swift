import ArgumentParser
import Datasets
import Foundation

/// Import options shared by `import` and `train`.
struct ImportArguments: ParsableArguments {
    @Flag(help: "Multi-label classification (several labels per image).") var multiLabel = false
    @OptionGroup var paths: ImagePathArguments
    @Option(help: "Largest image accepted, in pixels (checked from the header).") var maxPixels = 100_000_000
    @Option(help: "Square side images are resized to when they differ in size or exceed 128 pixels.") var workingSize = 64

    /// The working sizes accepted: a network needs at least 8 pixels a side, and 512 already makes a
    /// 3-channel image of 786,432 values, beyond what these 2-core machines train in a budget.
    static let workingSizes = 8...512

    func validate() throws {
        try Validate.range(maxPixels, 1...Int(Int32.max), "--max-pixels")
        try Validate.range(workingSize, Self.workingSizes, "--working-size")
    }

    func options() throws -> ImportOptions {
        var options = ImportOptions()
        options.multiLabel = multiLabel
        options.maxPixels = maxPixels
        options.workingSize = workingSize
        options.extraRoots = paths.extraRoots
        options.bucketMap = try paths.bucketMap()
        return options
    }
}
