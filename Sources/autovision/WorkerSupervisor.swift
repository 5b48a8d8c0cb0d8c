import Foundation

/// The worker processes of `serve` (`autovision worker`, children of the same executable): started
/// with the server, started again when one exits (a trap in the numeric core, a `kill -9`), stopped
/// with SIGTERM when the server stops. The server itself never trains.
final class WorkerSupervisor: @unchecked Sendable {
    let count: Int
    let arguments: [String]
    private let lock = NSLock()
    private var processes: [Int: Process] = [:]
    private var stopping = false

    /// - Parameter arguments: the `worker` subcommand's arguments.
    init(count: Int, arguments: [String]) {
        self.count = count
        self.arguments = arguments
    }

    /// This executable: the workers run the same build as the server.
    static var executable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    func start() {
        for slot in 0..<count { launch(slot) }
    }

    private func launch(_ slot: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return }
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["worker", "--exit-with-parent"] + arguments
        process.terminationHandler = { [weak self] ended in self?.ended(ended, slot: slot) }
        do {
            try process.run()
            processes[slot] = process
        } catch {
            Console.log("cannot start worker \(slot + 1): \(error); retrying in 5 s")
            DispatchQueue.global().asyncAfter(deadline: .now() + 5) { [weak self] in self?.launch(slot) }
        }
    }

    private func ended(_ process: Process, slot: Int) {
        lock.lock()
        let restart = !stopping
        lock.unlock()
        guard restart else { return }
        // Its job's lease expires and the job resumes in a worker: the one started here, a second later.
        Console.log("worker \(slot + 1) (pid \(process.processIdentifier)) exited (status \(process.terminationStatus)); starting another")
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [weak self] in self?.launch(slot) }
    }

    /// Stops every worker with SIGTERM (each queues its running job again) and waits for them,
    /// up to `timeout` seconds before SIGKILL.
    func stop(timeout: Double = 60) {
        lock.lock()
        stopping = true
        let running = Array(processes.values)
        lock.unlock()
        for process in running where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(timeout)
        for process in running {
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }
}
