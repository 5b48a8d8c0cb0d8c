import ArgumentParser
import Datasets
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an AutoML Vision CSV manifest: validate every row and image, show label counts per partition.",
        discussion: """
        Rows: [set,]path,label[,label…] with set TRAIN, VALIDATION (or VALIDATE), TEST, UNASSIGNED or
        Vertex's training/validation/test, in any letter case. Rows without a set or UNASSIGNED are split
        80/10/10 by image content. Exit status 0 when anything imported, 1 when nothing did.
        """)

    @Argument(help: "The manifest CSV file.") var manifest: String
    @Flag(help: "Multi-label classification (several labels per image).") var multiLabel = false
    @Option(name: .customLong("map"), help: ArgumentHelp("Map a bucket to a local folder.", valueName: "gs://BUCKET=DIR"))
    var mappings: [String] = []
    @Option(name: .customLong("allow-root"), help: ArgumentHelp("Another folder image paths may point into.", valueName: "DIR"))
    var allowRoots: [String] = []
    @Option(help: "Largest image accepted, in pixels (checked from the header).") var maxPixels = 100_000_000
    @Option(help: "Square side images are resized to when they differ in size or exceed 128 pixels.") var workingSize = 64
    @Option(help: "Folder of the decoded-dataset cache.") var cacheDir = "Jobs/cache"
    @Flag(help: "Validate only; do not write the decoded-dataset cache.") var noCache = false
    @Flag(help: "Print the summary as one line of JSON last.") var json = false

    func run() throws {
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
        options.progress = Console.progress("decoding images")
        do {
            let result = try DatasetImporter(options: options).importManifest(at: URL(fileURLWithPath: manifest))
            var summary = result.summary
            if !noCache, summary.working != nil {
                let (dataset, reused) = try DatasetCache.open(
                    for: result, in: URL(fileURLWithPath: cacheDir), maxPixels: maxPixels, progress: Console.progress("writing cache"))
                summary.cache = dataset.url.path
                summary.cacheReused = reused
            }
            print(summary.render(), terminator: "")
            if summary.imported == 0 {
                let reason = summary.rows == 0 ? "the manifest has no data rows" : "all \(summary.rows) rows were rejected (reasons above)"
                Console.log("error: nothing imported: \(reason)")
            }
            if json { try Console.printJSON(summary) }
            if summary.imported == 0 { throw ExitCode.failure }
        } catch let error as ManifestError {
            Console.log("error: \(error)")
            if json { try Console.printJSON(ErrorJSON(error: error.description)) }
            throw ExitCode.failure
        }
    }
}
