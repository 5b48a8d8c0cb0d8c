import Datasets
import Foundation
import JobService
import PostgresStore
import Search
import TestSupport
import Testing

/// `serve` trains in worker processes (`autovision worker`), never in its own: a worker killed in
/// the middle of a trial loses its job's lease, the server keeps answering and starts another
/// worker, and the job resumes there and succeeds with every trial counted once.
@Suite(.serialized) struct WorkerProcessTests {
    /// A TCP port nothing listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw StoreError.conflict("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The HTTP status of GET `url` (curl), or 0 when nothing answered.
    static func status(_ url: String) throws -> Int {
        try request(url).status
    }

    /// GET `url`, or POST `file` to it as a PNG (curl): the HTTP status (0 when nothing answered) and the body.
    static func request(_ url: String, postingPNG file: URL? = nil) throws -> (status: Int, body: String) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        let post = file.map { ["-H", "Content-Type: image/png", "--data-binary", "@\($0.path)"] } ?? []
        curl.arguments = ["-s", "-w", "\n%{http_code}", "--max-time", "5"] + post + [url]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        // `-w` appends a newline and the status (000 when nothing answered) to the body.
        let end = text.lastIndex(of: "\n") ?? text.startIndex
        return (Int(text[end...].dropFirst()) ?? 0, String(text[..<end]))
    }

    /// Stops `processes` with SIGSTOP. On SQLite, a process stopped inside a write transaction would
    /// hold the database's write lock (a POSIX lock, `/proc/locks`) and every other process would wait
    /// for it (docs/jobs.md), so they are resumed and stopped again until none holds a write lock.
    static func stopOutsideWrites(_ processes: [Int32], sqlite: Bool) async throws {
        for _ in 0..<100 {
            for process in processes { kill(process, SIGSTOP) }
            try await Task.sleep(for: .milliseconds(50))  // SIGSTOP has taken effect
            guard sqlite, try holdsWriteLock(processes) else { return }
            for process in processes { kill(process, SIGCONT) }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the workers \(processes) held a write lock at every try")
    }

    /// Whether one of `processes` holds a POSIX write lock (`/proc/locks`: `1: POSIX ADVISORY WRITE PID …`).
    static func holdsWriteLock(_ processes: [Int32]) throws -> Bool {
        let locks = try String(contentsOfFile: "/proc/locks", encoding: .utf8)
        return locks.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[1] == "POSIX" && fields[3] == "WRITE" && processes.contains(Int32(fields[4]) ?? -1)
        }
    }

    /// The worker processes `serve` started: its children (listed per thread that started them).
    static func children(of process: Process) -> [Int32] {
        let tasks = "/proc/\(process.processIdentifier)/task"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        return threads.flatMap { thread in
            ((try? String(contentsOfFile: "\(tasks)/\(thread)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
    }

    @Test func aWorkerKilledInATrialIsReplacedAndItsJobResumesAndSucceeds() async throws {
        try await jobSurvivesLosingItsWorker(name: "killed", environment: [:]) { serve in
            let workers = Self.children(of: serve)
            #expect(workers.count == 1, "serve runs one worker process: \(workers)")
            for worker in workers { kill(worker, SIGKILL) }
            return workers
        }
    }

    /// A trap in a worker (the test-only `AUTOVISION_TEST_TRAP_ONCE` switch) does what a kill does.
    @Test func aWorkerThatTrapsIsReplacedAndItsJobResumesAndSucceeds() async throws {
        let marker = try Support.folder("worker-trap").appendingPathComponent("trapped").path
        try await jobSurvivesLosingItsWorker(name: "trapped", environment: ["AUTOVISION_TEST_TRAP_ONCE": marker]) { serve in
            let workers = Self.children(of: serve)
            for _ in 0..<40 where !FileManager.default.fileExists(atPath: marker) { try await Task.sleep(for: .milliseconds(250)) }
            #expect(FileManager.default.fileExists(atPath: marker), "the worker trapped after its first trial")
            return workers
        }
    }

    /// A worker paused with SIGSTOP past its lease loses its unit to a worker started beside `serve`;
    /// resumed with SIGCONT, it finds its lease gone and writes nothing: every trial is counted once.
    @Test func aWorkerPausedPastItsLeaseIsReplacedAndWritesNothingOnceResumed() async throws {
        try await pausedWorkerIsReplaced(name: "paused", postgres: nil)
    }

    /// The same on PostgreSQL, where the worker that takes over shares only the database: its own
    /// jobs folder, so the decoded dataset and the best trial's checkpoint reach it through the store.
    @Test(.enabled(if: TestPostgres.serverURL != nil, "the test command starts PostgreSQL"))
    func aWorkerPausedPastItsLeaseOnPostgreSQLIsReplacedByOneSharingOnlyTheDatabase() async throws {
        try await pausedWorkerIsReplaced(name: "paused-postgres", postgres: try TestPostgres.newDatabase())
    }

    func pausedWorkerIsReplaced(name: String, postgres: String?) async throws {
        var extra: Process?
        var paused: [Int32] = []
        try await jobSurvivesLosingItsWorker(name: name, environment: [:], replaced: false, postgres: postgres) { serve in
            paused = Self.children(of: serve)
            try await Self.stopOutsideWrites(paused, sqlite: postgres == nil)
            let worker = Process()
            worker.executableURL = ProcessTests.executable
            worker.arguments = postgres.map { ["worker", "--store", $0, "--jobs-dir", try! Support.folder("\(name)-other-machine").path] }
                ?? ["worker", "--jobs-dir", serve.arguments![4]]
            worker.standardOutput = FileHandle.nullDevice
            worker.standardError = FileHandle.nullDevice
            try worker.run()
            extra = worker
            return paused
        } whenFinished: {
            for worker in paused { kill(worker, SIGCONT) }
            try await Task.sleep(for: .seconds(3))  // the resumed worker's heartbeat finds its lease gone
        }
        extra?.terminate()
        extra?.waitUntilExit()
    }

    /// Runs a 60-second job under `serve --workers 1`, takes its worker away with `loseWorker` once a
    /// trial has finished, and checks that the server keeps answering and the job resumes in a new
    /// worker (`replaced`: one `serve` started; else one started apart) and succeeds with every trial
    /// counted once, also after `whenFinished`.
    /// - Parameter postgres: the URL of an empty PostgreSQL database to run on instead of SQLite.
    func jobSurvivesLosingItsWorker(name: String, environment: [String: String], replaced: Bool = true, postgres: String? = nil,
                                    loseWorker: (Process) async throws -> [Int32],
                                    whenFinished: () async throws -> Void = {}) async throws {
        let jobs = try Support.folder("worker-jobs-\(name)")
        let slice = try FashionMNISTExport.write(to: try Support.folder("worker-data-\(name)").appendingPathComponent("fm"), perClass: 20, seed: 5)
        let port = try Self.freePort()
        let serve = Process()
        serve.executableURL = ProcessTests.executable
        serve.arguments = ["serve", "--port", String(port), "--jobs-dir", jobs.path, "--workers", "1"] + (postgres.map { ["--store", $0] } ?? [])
        serve.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.terminate()
            serve.waitUntilExit()
        }
        for _ in 0..<100 {
            if try Self.status("http://127.0.0.1:\(port)/readyz") == 200 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let store: any JobStore = try postgres.map { try PostgresJobStore(url: $0, cacheDirectory: jobs) } ?? SQLiteJobStore(jobsDirectory: jobs)
        var options = TrainingJobOptions(manifest: slice.manifest, budget: Budget(seconds: 60))
        options.jobsDirectory = jobs
        let record = TrainingJob.newRecord(options: options)
        try store.insertJob(record)  // queued, as POST /v1/jobs queues it

        // Once a trial has finished; the search may already have ended (its first trial can finish past
        // the search's deadline on a loaded machine), and then the worker dies in the final training.
        var running: JobRecord?
        for _ in 0..<480 {
            if let job = try store.job(record.id), [.searching, .training].contains(job.state), job.trialsDone >= 1 { running = job; break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let before = try #require(running, "the worker took the job and finished a trial")
        let workers = try await loseWorker(serve)
        #expect(try Self.status("http://127.0.0.1:\(port)/healthz") == 200, "the server keeps answering")

        var finished: JobRecord?
        for _ in 0..<720 {
            if let job = try store.job(record.id), job.state.isFinished { finished = job; break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let finishedJob = try #require(finished, "the job finished within 3 minutes")
        try await whenFinished()
        let job = try #require(try store.job(finishedJob.id))
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        #expect(job.resumes == 1, "its lease expired once and it was queued again")
        let trials = try store.trials(jobID: record.id)
        #expect(trials.map(\.id) == Array(1...max(1, trials.count)), "trial IDs go on from the lost worker's")
        #expect(job.trialsDone == trials.count && trials.count >= before.trialsDone)
        #expect(try store.model(record.id) != nil)
        if replaced { #expect(!workers.isEmpty && Set(Self.children(of: serve)).isDisjoint(with: workers), "another worker process runs now") }
        #expect(try Self.status("http://127.0.0.1:\(port)/v1/models/\(record.id)") == 200)
    }

    /// Issue 21's two machines on one: a server running no job and two worker processes, each with a
    /// jobs folder of its own (they share only the database), complete one job whose search's trials
    /// come from both, within its budget of worker-seconds, and the server serves its model.
    @Test(.enabled(if: TestPostgres.serverURL != nil, "the test command starts PostgreSQL"))
    func twoWorkersSharingOnlyPostgreSQLTrainOneSearchTogether() async throws {
        let postgres = try TestPostgres.newDatabase()
        let slice = try FashionMNISTExport.write(to: try Support.folder("two-workers-data").appendingPathComponent("fm"), perClass: 20, seed: 6)
        let port = try Self.freePort()
        let process = { (arguments: [String]) throws -> Process in
            let process = Process()
            process.executableURL = ProcessTests.executable
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        let serve = try process(["serve", "--port", String(port), "--workers", "0", "--store", postgres,
                                 "--jobs-dir", try Support.folder("two-workers-server").path])
        let workers = try (1...2).map { try process(["worker", "--store", postgres, "--jobs-dir", try Support.folder("two-workers-machine-\($0)").path]) }
        defer {
            for running in workers + [serve] {
                running.terminate()
                running.waitUntilExit()
            }
        }
        let store = try PostgresJobStore(url: postgres, cacheDirectory: try Support.folder("two-workers-test"))
        var options = TrainingJobOptions(manifest: slice.manifest, budget: Budget(seconds: 60))
        options.jobsDirectory = try Support.folder("two-workers-test")
        let record = TrainingJob.newRecord(options: options)
        try store.insertJob(record)  // queued, as POST /v1/jobs queues it
        var finished: JobRecord?
        for _ in 0..<720 {
            if let job = try store.job(record.id), job.state.isFinished { finished = job; break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let job = try #require(finished, "the job finished within 3 minutes")
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let trials = try store.trials(jobID: record.id)
        #expect(trials.map(\.id) == Array(1...max(1, trials.count)) && job.trialsDone == trials.count, "every trial counted once")
        #expect(Set(trials.compactMap(\.worker)).count == 2, "trials from both workers: \(trials.map { $0.worker ?? "none" })")
        #expect(job.usedSeconds <= 60 * 1.05, "the budget counts worker-seconds across workers: \(job.usedSeconds)")
        for _ in 0..<100 where try Self.status("http://127.0.0.1:\(port)/readyz") != 200 { try await Task.sleep(for: .milliseconds(200)) }
        #expect(try Self.status("http://127.0.0.1:\(port)/v1/models/\(record.id)") == 200)
        // The server predicts with the model it loads through the database, and keeps answering.
        let row = try #require(try String(contentsOf: slice.manifest, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("TEST,") })
        let image = slice.manifest.deletingLastPathComponent().appendingPathComponent(String(row.split(separator: ",")[1]))
        let answer = try Self.request("http://127.0.0.1:\(port)/v1/models/\(record.id)/predict", postingPNG: image)
        #expect(answer.status == 200 && answer.body.contains("\"predictions\""), "\(answer)")
        #expect(try Self.status("http://127.0.0.1:\(port)/v1/jobs/\(record.id)") == 200, "the server still answers")
    }

    /// `serve` imports uploaded datasets in its workers, never in its own process: an import that crashes
    /// its worker (the test-only `AUTOVISION_TEST_TRAP_ONCE_IN_IMPORT` switch, as a decoder crashed by a
    /// file would) leaves the server answering, and another worker imports the dataset once the lease expired.
    @Test func anImportThatCrashesItsWorkerIsRunAgainByAnotherAndTheServerKeepsAnswering() async throws {
        let jobs = try Support.folder("worker-import-jobs")
        let data = try Support.folder("worker-import-data")
        let slice = try FashionMNISTExport.write(to: data.appendingPathComponent("fm"), perClass: 3, seed: 5)
        let marker = data.appendingPathComponent("trapped").path
        let port = try Self.freePort()
        let serve = Process()
        serve.executableURL = ProcessTests.executable
        serve.arguments = ["serve", "--port", String(port), "--jobs-dir", jobs.path, "--workers", "1", "--data-root", data.path]
        serve.environment = ProcessInfo.processInfo.environment.merging(["AUTOVISION_TEST_TRAP_ONCE_IN_IMPORT": marker]) { $1 }
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.terminate()
            serve.waitUntilExit()
        }
        for _ in 0..<100 {
            if try Self.status("http://127.0.0.1:\(port)/readyz") == 200 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-X", "POST", "-H", "Content-Type: text/csv", "--data-binary", "@\(slice.manifest.path)",
                          "http://127.0.0.1:\(port)/v1/datasets?root=\(slice.manifest.deletingLastPathComponent().path)"]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        curl.waitUntilExit()
        let created = try JSONSerialization.jsonObject(with: output.fileHandleForReading.readDataToEndOfFile()) as? [String: Any]
        let id = try #require(created?["id"] as? String, "\(String(describing: created))")
        let store = try SQLiteJobStore(jobsDirectory: jobs)
        var dataset: DatasetRecord?
        for _ in 0..<240 {
            if let record = try store.dataset(id), record.state != .importing { dataset = record; break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(FileManager.default.fileExists(atPath: marker), "the first import crashed its worker")
        #expect(try Self.status("http://127.0.0.1:\(port)/healthz") == 200, "the server keeps answering")
        let imported = try #require(dataset, "imported within a minute")
        #expect(imported.state == .ready && imported.images == 90, "\(imported.failureReason ?? "")")
    }
}
