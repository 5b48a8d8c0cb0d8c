import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// The CLI and the server share one store across processes: `autovision train` in a child process
/// is listed, cancelled through the store, and after a `kill -9` a restarted server resumes its job
/// from the trials it finished while finished jobs stay served.
@Suite(.serialized) struct ProcessTests {
    /// The built `autovision` next to the test bundle (.build/<configuration>/).
    static var executable: URL {
        var products = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: products.appendingPathComponent("autovision").path), products.path != "/" {
            products.deleteLastPathComponent()
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("autovision")
            if FileManager.default.fileExists(atPath: candidate.path) { products = candidate.deletingLastPathComponent() }
        }
        return products.appendingPathComponent("autovision")
    }

    static func startTraining(manifest: URL, jobs: URL) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["train", manifest.path, "--budget", "5m", "--jobs-dir", jobs.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until the store shows a job other than `known` searching or training.
    static func runningJob(in store: SQLiteJobStore, except known: Set<String>) async throws -> JobRecord {
        for _ in 0..<240 {
            if let job = try store.jobs().first(where: { !known.contains($0.id) && ($0.state == .searching || $0.state == .training) }) {
                return job
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw StoreError.conflict("no job started searching within 60 s")
    }

    @Test func aCLIJobIsCancelledThroughTheStoreAndAKilledOneResumesOnRestart() async throws {
        let jobs = try Support.folder("process-jobs")
        let slice = try FashionMNISTExport.write(to: try Support.folder("process-data").appendingPathComponent("fm"), perClass: 20, seed: 4)
        let finished = try Support.train(manifest: Support.intake("15-predict-request-bodies/manifest.csv"), budget: 10, jobs: jobs)
        #expect(finished.state == .succeeded)
        let store = try SQLiteJobStore(jobsDirectory: jobs)

        // 1. Cancel, as `autovision jobs cancel ID` does, a job another process runs.
        let first = try Self.startTraining(manifest: slice.manifest, jobs: jobs)
        let cancelled = try await Self.runningJob(in: store, except: [finished.id])
        let cancel = Process()
        cancel.executableURL = Self.executable
        cancel.arguments = ["jobs", "cancel", cancelled.id, "--jobs-dir", jobs.path]
        cancel.standardOutput = FileHandle.nullDevice
        try cancel.run()
        cancel.waitUntilExit()
        #expect(cancel.terminationStatus == 0)
        for _ in 0..<120 where first.isRunning { try await Task.sleep(for: .milliseconds(250)) }
        #expect(!first.isRunning, "the training process stops within 30 s of the cancel")
        if first.isRunning { first.terminate() }
        #expect(try store.job(cancelled.id)?.state == .cancelled)

        // 2. kill -9 during a job, then restart the server.
        let second = try Self.startTraining(manifest: slice.manifest, jobs: jobs)
        let started = try await Self.runningJob(in: store, except: [finished.id, cancelled.id])
        // Two trials of this slice take ~55 s on a quiet machine (the second, `resnet`, ~31 s): up to 2 minutes.
        for _ in 0..<480 where (try store.job(started.id)?.trialsDone ?? 0) < 2 { try await Task.sleep(for: .milliseconds(250)) }
        kill(second.processIdentifier, SIGKILL)
        let killed = try #require(try store.job(started.id))
        #expect(killed.trialsDone >= 2)
        second.waitUntilExit()
        #expect(try store.job(killed.id)?.state.isFinished == false, "nobody has noticed yet")

        let app = try buildApplication(configuration: Support.configuration(jobs: jobs))
        try await app.test(.router) { client in
            try await Task.sleep(for: .milliseconds(300))
            // Resumed, not restarted: the trials it finished are kept and new ones follow them. The server's worker
            // may train trials of the search before the dead process's job lease expires (it helps any search in
            // progress), so the resume is waited for on its own.
            var job: [String: Any] = [:]
            for _ in 0..<480 {
                job = try Support.json(try await client.execute(uri: "/v1/jobs/\(killed.id)", method: .get))
                let progressed = (job["trials_done"] as? Int ?? 0) > killed.trialsDone || (job["state"] as? String) == "training"
                if job["resumes"] as? Int == 1 && progressed { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(job["resumes"] as? Int == 1, "\(job)")
            #expect(["searching", "training"].contains(job["state"] as? String), "\(job)")
            let log = try String(contentsOf: jobs.appendingPathComponent(killed.id).appendingPathComponent("search.jsonl"), encoding: .utf8)
            let ids = log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .compactMap { $0["id"] as? Int }
            // The trial the killed process was training keeps its ID until its lease expires and it runs again; a
            // worker may start the next one meanwhile (trials run in parallel), so the IDs can have that gap now.
            #expect(ids.count >= killed.trialsDone && Array(ids.prefix(killed.trialsDone)) == Array(1...killed.trialsDone)
                    && Set(ids).count == ids.count, "the killed process's trials are kept, and new ones take new IDs: \(ids)")
            let cancel = try await client.execute(uri: "/v1/jobs/\(killed.id)/cancel", method: .post)
            #expect(cancel.status == .ok || cancel.status == .accepted)
            for _ in 0..<120 {
                job = try Support.json(try await client.execute(uri: "/v1/jobs/\(killed.id)", method: .get))
                if job["state"] as? String == "cancelled" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(job["state"] as? String == "cancelled")
            try Support.expectProblem(try await client.execute(uri: "/v1/models/\(killed.id)/predict", method: .post,
                                                               headers: Support.headers("image/png"), body: ByteBuffer(string: "x")),
                                      .conflict, contains: "no model")
            // The finished job and its model are intact and served.
            let listed = try Support.json(try await client.execute(uri: "/v1/jobs", method: .get))
            #expect((listed["jobs"] as? [[String: Any]])?.count == 3)
            let cat = try Support.bytes(Support.intake("15-predict-request-bodies/requests/cat.png"))
            let answer = try await client.execute(uri: "/v1/models/\(finished.id)/predict", method: .post, headers: Support.headers("image/png"), body: cat)
            #expect(answer.status == .ok)
        }
    }
}
