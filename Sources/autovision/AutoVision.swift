import ArgumentParser

/// The `autovision` command. Convention for every subcommand: results on stdout; progress and
/// logs on stderr; `--json` prints exactly one JSON object, on one line, as the last line of stdout.
@main
struct AutoVision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autovision",
        abstract: "Self-hosted AutoML for image classification.",
        subcommands: [DatasetsCommand.self, ImportCommand.self, DecodeCommand.self, TrainCommand.self, ReportCommand.self, PredictCommand.self, ExportCommand.self, ServeCommand.self, WorkerCommand.self, JobsCommand.self, Bench.self])
}
