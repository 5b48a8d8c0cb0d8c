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
    @OptionGroup var importArguments: ImportArguments
    @Option(help: "Folder of the decoded-dataset cache.") var cacheDir = "Jobs/cache"
    @Flag(help: "Validate only; do not write the decoded-dataset cache.") var noCache = false
    @Flag(help: "Print the summary as one line of JSON last.") var json = false

    func run() throws {
        var options = try importArguments.options()
        options.progress = Console.progress("decoding images")
        do {
            let result = try DatasetImporter(options: options).importManifest(at: URL(fileURLWithPath: manifest))
            var summary = result.summary
            if !noCache, summary.working != nil {
                let (dataset, reused) = try DatasetCache.open(
                    for: result, in: URL(fileURLWithPath: cacheDir), maxPixels: options.maxPixels, progress: Console.progress("writing cache"))
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
