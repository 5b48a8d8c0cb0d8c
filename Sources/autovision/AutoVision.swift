import ArgumentParser

@main
struct AutoVision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autovision",
        abstract: "Self-hosted AutoML for image classification.")
}
