import Foundation
import Hummingbird
import JobService
import ManifestParsing

/// Vertex AI's datasets (`google.cloud.aiplatform.v1.DatasetService`): create (empty), import from a
/// CSV or JSONL file named by `gs://` URI (`serve --map`), get, list and delete.
///
/// A Vertex dataset is created empty and filled by `:import`; ours are registered with their data.
/// So `create` keeps a resource of kind `vertex.dataset` (its display name and labels), and `:import`
/// registers our dataset under the same ID; the job runner imports it as any upload.
struct VertexDatasetsController: APIController {
    let configuration: ServerConfiguration
    let store: any JobStore
    let runner: JobRunner

    static let kind = "vertex.dataset"
    static let datasetType = "google.cloud.aiplatform.v1.Dataset"
    static let imageMetadataSchema = "gs://google-cloud-aiplatform/schema/dataset/metadata/image_1.0.0.yaml"

    static let routes: [Route<Self>] = [
        Route(.post, Google.prefix + "/datasets") { datasets, request, context in try await datasets.create(request, parent: Google.parent(context)) },
        Route(.get, Google.prefix + "/datasets") { datasets, _, context in try datasets.list(parent: Google.parent(context)) },
        Route(.get, Google.prefix + "/datasets/{id}") { datasets, _, context in
            try Google.answer(datasets.resource(context.id(), parent: Google.parent(context)))
        },
        Route(.delete, Google.prefix + "/datasets/{id}") { datasets, _, context in try datasets.delete(context.id(), parent: Google.parent(context)) },
        Route(.post, Google.prefix + "/datasets/{id}:import") { datasets, request, context in
            try await datasets.importData(request, id: context.id(), parent: Google.parent(context))
        },
    ]

    /// What `create` keeps until (and after) the import.
    struct Shell: Codable {
        var id: String
        var displayName: String
        var labels: [String: String]?
        var createTime: Date
    }

    struct CreateRequest: Decodable {
        var displayName: String?
        var metadataSchemaUri: String?
        var labels: [String: String]?
    }

    func create(_ request: Request, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(CreateRequest.self, from: request, help: "send a Dataset: {\"displayName\": …, \"metadataSchemaUri\": …}")
        guard let displayName = body.displayName, !displayName.isEmpty else { throw APIError.badRequest("the dataset needs a displayName") }
        if let schema = body.metadataSchemaUri, !schema.contains("/image_") {
            throw APIError.badRequest("only image datasets are supported (metadataSchemaUri \(Self.imageMetadataSchema)), got \(schema)")
        }
        let shell = Shell(id: newResourceID(prefix: "ds"), displayName: displayName, labels: body.labels, createTime: Date())
        try store.saveResource(kind: Self.kind, id: shell.id, JSONBody.values(shell))
        return try Google.answer(Operation.finished("\(parent)/operations/create-dataset.\(shell.id)", type: Self.datasetType,
                                                    try resource(shell.id, parent: parent)))
    }

    /// The `Dataset` resource of `id`: a shell before its import, our dataset after (or one uploaded through `/v1/datasets`).
    func resource(_ id: String, parent: String) throws -> VertexDataset {
        let shell = try store.document(Shell.self, kind: Self.kind, id: id)
        let record = try store.dataset(id)
        guard shell != nil || record != nil else { throw APIError.notFound("no dataset '\(id)' (list them with GET /v1/\(parent)/datasets)") }
        return VertexDataset(name: "\(parent)/datasets/\(id)", displayName: shell?.displayName ?? record?.name ?? id,
                             metadataSchemaUri: Self.imageMetadataSchema, labels: shell?.labels,
                             createTime: shell?.createTime ?? record?.createdAt ?? Date(), updateTime: record?.updatedAt ?? shell?.createTime ?? Date(),
                             dataItemCount: record?.images.map(String.init))
    }

    func list(parent: String) throws -> Response {
        let shells = try store.documents(Shell.self, kind: Self.kind)
        let records = try store.datasets()
        let ids = shells.filter { shell in !records.contains { $0.id == shell.id } }.map(\.id) + records.map(\.id)
        return try Google.answer(VertexDatasetList(datasets: ids.compactMap { try? resource($0, parent: parent) }))
    }

    func delete(_ id: String, parent: String) throws -> Response {
        _ = try resource(id, parent: parent)
        if let record = try store.dataset(id) {
            try store.deleteDataset(id)
            DatasetUpload.removeFiles(of: id, root: record.root, store: store, jobsDirectory: configuration.jobsDirectory)
        }
        try store.deleteResource(kind: Self.kind, id: id)
        return try Google.answer(Operation.finished("\(parent)/operations/delete.\(id)", type: "google.protobuf.Empty", EmptyMessage()))
    }

    struct ImportRequest: Decodable {
        struct Config: Decodable {
            struct Source: Decodable { var uris: [String]? }
            var gcsSource: Source?
            var importSchemaUri: String?
        }

        var importConfigs: [Config]?
    }

    static let importHelp = "send {\"importConfigs\": [{\"gcsSource\": {\"uris\": [\"gs://BUCKET/manifest.csv\"]}, \"importSchemaUri\": "
        + "\"gs://google-cloud-aiplatform/schema/dataset/ioformat/image_classification_single_label_io_format_1.0.0.yaml\"}]}"

    /// Registers the file named by the one import config as our dataset `id`; the returned operation
    /// (`import.ID`) is done when the import is.
    /// - Throws: 400 for anything but one `gs://` CSV or JSONL file of a mapped bucket, 409 when the
    ///   dataset has data already (a dataset here is imported once).
    func importData(_ request: Request, id: String, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(ImportRequest.self, from: request, help: Self.importHelp)
        guard let configs = body.importConfigs, configs.count == 1, let uris = configs[0].gcsSource?.uris, uris.count == 1 else {
            throw APIError.badRequest("import exactly one file: \(Self.importHelp)")
        }
        let shell = try store.document(Shell.self, kind: Self.kind, id: id)
        guard let shell else { throw APIError.notFound("no dataset '\(id)' (create it with POST /v1/\(parent)/datasets)") }
        if try store.dataset(id) != nil { throw APIError.conflict("dataset '\(id)' has its data already: create a new dataset to import other data") }
        let schema = configs[0].importSchemaUri ?? ""
        guard schema.isEmpty || schema.contains("image_classification") else {
            throw APIError.badRequest("only image classification imports are supported, got importSchemaUri \(schema)")
        }
        let buckets = BucketMap(folders: configuration.bucketMap)
        let (file, folder) = try buckets.resolve(uris[0])
        guard file != folder else { throw APIError.badRequest("'\(uris[0])' names a bucket, not a file in it") }
        let bytes = try buckets.contents(of: uris[0], limit: configuration.maxManifestBytes)
        guard !bytes.isEmpty else { throw APIError.badRequest("\(uris[0]) is empty") }
        let csv = file.pathExtension.lowercased() == "jsonl" ? VertexJSONL.csvManifest(bytes) : bytes
        let record = try DatasetUpload.register(manifest: csv, root: folder, multiLabel: schema.contains("multi_label"), name: shell.displayName,
                                                jobsDirectory: configuration.jobsDirectory, id: id, bucketMap: configuration.bucketMap)
        let store = store
        try await offThePool { try DatasetArtifacts.keepFiles(of: record, in: store) }
        try store.insertDataset(record)
        runner.wake()
        return try Google.answer(Self.importOperation(record, parent: parent))
    }

    /// `import.ID`: running while our dataset imports, then done (its reason as the error when it failed).
    static func importOperation(_ record: DatasetRecord, parent: String) -> Operation<EmptyMessage> {
        let name = "\(parent)/operations/import.\(record.id)"
        switch record.state {
        case .importing: return .running(name)
        case .ready: return .finished(name, type: "google.cloud.aiplatform.v1.ImportDataResponse", EmptyMessage())
        case .failed: return .failed(name, RPCStatus("INVALID_ARGUMENT", record.failureReason ?? "the import failed"))
        }
    }
}

/// `google.cloud.aiplatform.v1.Dataset`.
struct VertexDataset: Encodable {
    var name: String
    var displayName: String
    var metadataSchemaUri: String
    var labels: [String: String]?
    var createTime: Date
    var updateTime: Date
    /// Images imported (int64, a string in proto3 JSON).
    var dataItemCount: String?
}

struct VertexDatasetList: Encodable {
    var datasets: [VertexDataset]
}

extension JSONDecoder {
    /// Reads what `JSONBody.encoder` wrote (ISO 8601 dates).
    static let google: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
