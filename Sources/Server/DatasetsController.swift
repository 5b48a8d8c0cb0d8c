import Dispatch
import Foundation
import Hummingbird
import JobService

/// `/v1/datasets`: upload (a CSV manifest of server-side images, or a zip), list, show and delete
/// datasets. An upload is registered at once (201, `importing`); the job runner imports it.
struct DatasetsController: APIController {
    let configuration: ServerConfiguration
    let store: any JobStore
    let runner: JobRunner
    let uploads: UploadSlots
    let disk: DiskSpace
    let redaction: PathRedaction
    /// The data roots, canonical (`canonicalPath`): a CSV manifest's `root` must be inside one.
    let dataRoots: [String]

    init(configuration: ServerConfiguration, store: any JobStore, runner: JobRunner, redaction: PathRedaction) {
        self.configuration = configuration
        self.store = store
        self.runner = runner
        self.redaction = redaction
        uploads = UploadSlots(limit: configuration.maxConcurrentUploads)
        disk = DiskSpace(folder: configuration.jobsDirectory, reserve: configuration.minimumFreeDiskBytes)
        dataRoots = configuration.dataRoots.map { Self.canonicalPath($0.path) }
    }

    static let routes: [Route<Self>] = [
        // At most `maxConcurrentUploads` at a time (429 beyond).
        Route(.post, "/v1/datasets") { datasets, request, _ in try await datasets.uploads.withSlot { try await datasets.create(request) } },
        Route(.get, "/v1/datasets") { datasets, _, _ in try datasets.list() },
        Route(.get, "/v1/datasets/{id}") { datasets, _, context in try datasets.show(context.id()) },
        Route(.delete, "/v1/datasets/{id}") { datasets, _, context in try datasets.delete(context.id()) },
    ]

    /// `record` as a `Dataset` resource.
    func answer(_ record: DatasetRecord, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        try .json(JSONBody.records(DatasetResource(record, jobsDirectory: configuration.jobsDirectory), redaction: redaction),
                  status: status, headers: headers)
    }

    func show(_ id: String) throws -> Response {
        try answer(store.requireDataset(id))
    }

    func list() throws -> Response {
        let datasets = try store.datasets().map { DatasetResource($0, jobsDirectory: configuration.jobsDirectory) }
        return try .json(JSONBody.records(DatasetList(datasets: datasets), redaction: redaction))
    }

    /// 204, the uploaded files with it (its images stay while another version of it reads them);
    /// 409 while an unfinished job uses the dataset.
    func delete(_ id: String) throws -> Response {
        let record = try store.requireDataset(id)
        try store.deleteDataset(id)
        DatasetUpload.removeFiles(of: id, root: record.root, store: store, jobsDirectory: configuration.jobsDirectory)
        return Response(status: .noContent)
    }

    /// A CSV manifest (`text/csv`, `?root=FOLDER` inside a data root) or a zip (`application/zip`).
    /// - Throws: 400 without a root or with an empty manifest, 403 for a root outside the data roots,
    ///   413 beyond the size limit, 415 for another media type, 422 when the root is not a folder.
    func create(_ request: Request) async throws -> Response {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch mediaType {
        case "text/csv", "application/csv", "text/plain": break
        case "application/zip", "application/x-zip-compressed":
            return try await createFromZip(request)
        default:
            throw APIError.unsupportedMediaType("POST a CSV manifest with Content-Type text/csv and ?root=FOLDER "
                + "(the server-side folder its relative image paths start from, inside a --data-root), "
                + "or a zip of the manifest and its images (or of one folder per label) with Content-Type application/zip")
        }
        let root = try manifestRoot(request)
        let multiLabel = try request.boolParameter("multi_label") ?? false
        let body = try await request.collectBody(limit: configuration.maxManifestBytes, what: "the manifest")
        guard !body.isEmpty else { throw APIError.badRequest("the manifest is empty: POST the CSV rows [set,]path,label") }
        let record = try DatasetUpload.register(manifest: body, root: URL(fileURLWithPath: root, isDirectory: true), multiLabel: multiLabel,
                                                name: request.uri.queryParameters.get("name"), jobsDirectory: configuration.jobsDirectory)
        do {
            let store = store
            try await offThePool { try DatasetArtifacts.keepFiles(of: record, in: store) }
        } catch {
            try? FileManager.default.removeItem(at: DatasetUpload.folder(jobsDirectory: configuration.jobsDirectory, id: record.id))
            throw error
        }
        return try register(record)
    }

    /// The canonical folder a CSV manifest's relative paths start from: `?root=`, or the first data root.
    func manifestRoot(_ request: Request) throws -> String {
        guard let rootParameter = request.uri.queryParameters.get("root").flatMap({ $0.isEmpty ? nil : $0 }) ?? dataRoots.first else {
            throw APIError.badRequest("missing query parameter root: the server-side folder the manifest's images are in "
                + "(the server has no --data-root, so no CSV manifest can be uploaded; upload a zip instead)")
        }
        // A NUL cannot be in a path (and Foundation traps on one): such a root is outside every data root.
        let root = rootParameter.contains("\0") ? "" : Self.canonicalPath(rootParameter)
        guard !root.isEmpty, dataRoots.contains(where: { root == $0 || root.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw APIError(.forbidden, "root \(rootParameter) is outside the data roots (\(dataRoots.joined(separator: ", "))): "
                + "move the images there or start the server with --data-root")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw APIError.unprocessable("root \(rootParameter) is not a folder on the server")
        }
        return root
    }

    /// Stores a registered upload (its files kept in a store shared across machines first:
    /// `DatasetArtifacts.keepFiles`) and wakes the runner to import it: 201 with the dataset.
    func register(_ record: DatasetRecord) throws -> Response {
        try store.insertDataset(record)
        runner.wake()
        return try answer(record, status: .created, headers: [.location: "/v1/datasets/\(record.id)"])
    }

    /// A zip upload: streamed to `JOBS_DIR/datasets/ID/upload.zip`, extracted into `files/` next to it
    /// (off the cooperative pool), then registered like a CSV upload. Any failure removes the folder.
    /// The disk keeps `minimumFreeDiskBytes` free: checked against Content-Length before, every few
    /// megabytes while streaming, and by capping extraction at the room left (507 when short).
    func createFromZip(_ request: Request) async throws -> Response {
        let multiLabel = try request.boolParameter("multi_label") ?? false
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > configuration.maxZipBytes { throw zipTooLarge }
        try disk.require(Int64(max(1, length ?? 1)), for: length.map { "a zip of \($0) bytes" } ?? "a zip")
        let id = newResourceID(prefix: "ds")
        let folder = DatasetUpload.folder(jobsDirectory: configuration.jobsDirectory, id: id)
        let zip = folder.appendingPathComponent("upload.zip")
        var extractionRoom: Int64?  // set when the disk, not --max-zip-bytes, caps extraction
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard try await receive(request.body, into: zip) > 0 else {
                throw APIError.badRequest("the zip is empty: send the bytes of a .zip file (curl --data-binary @dataset.zip)")
            }
            // Extraction may write at most the room left on the disk; hitting that cap is a 507, not a 413.
            var limits = configuration.zipLimits
            let room = disk.room()
            if room < limits.maxUncompressedBytes {
                limits.maxUncompressedBytes = room
                extractionRoom = room
            }
            let (name, jobsDirectory, extractionLimits, store) = (request.uri.queryParameters.get("name"), configuration.jobsDirectory, limits, store)
            let record = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result {
                        let record = try ZipDatasetUpload.register(zip: zip, multiLabel: multiLabel, name: name, jobsDirectory: jobsDirectory,
                                                                   id: id, limits: extractionLimits)
                        try DatasetArtifacts.keepFiles(of: record, in: store)
                        return record
                    })
                }
            }
            return try register(record)
        } catch let error as ZipUploadError {
            try? FileManager.default.removeItem(at: folder)
            if error.isOverLimit, let extractionRoom, error.description.contains("\(extractionRoom) bytes") {
                throw DiskSpace.insufficient("extracting the zip", room: extractionRoom)
            }
            throw APIError(error.isOverLimit ? .contentTooLarge : .unprocessableContent, error.description)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// 413 for a zip beyond `--max-zip-bytes`.
    var zipTooLarge: APIError {
        APIError(.contentTooLarge, "the zip is larger than the limit of \(configuration.maxZipBytes) bytes: split the dataset into several zips, "
            + "or start the server with a larger --max-zip-bytes")
    }

    /// Streams `body` into the new file `url`, checking the zip size limit as bytes arrive and the
    /// disk's room every 8 MiB. Returns the bytes written.
    func receive(_ body: RequestBody, into url: URL) async throws -> Int {
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let file = FileHandle(forWritingAtPath: url.path) else {
            throw JobError.io("cannot write \(url.path)")
        }
        defer { try? file.close() }
        var received = 0
        var checkedAt = 0
        for try await buffer in body {
            received += buffer.readableBytes
            if received > configuration.maxZipBytes { throw zipTooLarge }
            if received - checkedAt >= 8 << 20 {
                try disk.require(Int64(buffer.readableBytes), for: "the rest of the zip (\(received) bytes received)")
                checkedAt = received
            }
            try file.write(contentsOf: Data(buffer.readableBytesView))
        }
        return received
    }

    /// Absolute (relative to the working directory), without `.`/`..`, symbolic links resolved.
    static func canonicalPath(_ path: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(path)
        var resolved = url.standardizedFileURL.resolvingSymlinksInPath().path
        while resolved.count > 1 && resolved.hasSuffix("/") { resolved.removeLast() }
        return resolved
    }
}
