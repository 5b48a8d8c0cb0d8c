import Datasets
import Foundation
import Hummingbird
import ImageIO
import JobService

/// A dataset's images (issue 25): the image browser's paged listing by label and partition, each
/// image's thumbnail, and labelling unlabeled images into a new version of the dataset.
///
/// The listing is built from the import's per-image results (`DatasetImageIndex`, `images.json` next to
/// the stored manifest), parsed once per dataset and kept in a small LRU cache (`DatasetImageCache`):
/// a 70,000-image dataset is read once, and each page is a slice of it. Image paths come from that
/// index only, never from the request.
struct DatasetImagesController: APIController {
    let configuration: ServerConfiguration
    let store: any JobStore
    let runner: JobRunner
    let redaction: PathRedaction
    let indexes: DatasetImageCache

    init(configuration: ServerConfiguration, store: any JobStore, runner: JobRunner, redaction: PathRedaction,
         indexes: DatasetImageCache = DatasetImageCache(capacity: 4)) {
        self.configuration = configuration
        self.store = store
        self.runner = runner
        self.redaction = redaction
        self.indexes = indexes
    }

    static let routes: [Route<Self>] = [
        Route(.get, "/v1/datasets/{id}/images") { images, request, context in try images.list(context.id(), request) },
        Route(.get, "/v1/datasets/{id}/images/{image_id}/thumbnail") { images, request, context in
            try await images.thumbnail(context.id(), imageID: context.parameters.require("image_id"), request)
        },
        Route(.post, "/v1/datasets/{id}/labels") { images, request, context in try await images.label(context.id(), request) },
    ]

    /// The largest page: `page_size` above it is a 400.
    static let maximumPageSize = 100
    static let defaultPageSize = 50
    /// The side of the square a thumbnail fits in, in pixels.
    static let thumbnailSide = 96

    // MARK: Listing

    /// `GET /v1/datasets/{id}/images`: one page of the images matching the filters, in manifest order.
    /// - Throws: 400 for a bad filter, `page_size` (1–100) or page token; 404 for an unknown dataset;
    ///   409 while it imports, when it failed, or when it was imported before images were indexed.
    func list(_ id: String, _ request: Request) throws -> Response {
        let query = try ImageQuery(request.uri.queryParameters, label: request.formParameter("label"))
        let images = try index(of: store.requireDataset(id))
        let matching = images.filter(query.matches)
        guard query.offset <= matching.count else {
            throw APIError.badRequest("page_token is past the end of the listing (\(matching.count) images match): start again without it")
        }
        let end = min(matching.count, query.offset + query.pageSize)
        let page = ImagePage(images: matching[query.offset..<end].map { ImageEntry($0, datasetID: id) },
                             nextPageToken: end < matching.count ? ImageQuery.token(offset: end) : nil, total: matching.count)
        return try .json(JSONBody.values(page))
    }

    /// The image index of a ready dataset, from the cache (keyed by ID and `updatedAt`) or read once.
    func index(of record: DatasetRecord) throws -> [DatasetImage] {
        switch record.state {
        case .importing: throw APIError.conflict("dataset '\(record.id)' is still importing: its images are listed once it is ready")
        case .failed: throw APIError.conflict("dataset '\(record.id)' failed to import (\(record.failureReason ?? "see GET /v1/datasets/\(record.id)")): it has no images")
        case .ready: break
        }
        return try indexes.images(of: record) {
            guard let images = try DatasetImageIndex.read(for: record, store: store) else {
                throw APIError.conflict("dataset '\(record.id)' was imported before images were indexed: upload it again to browse its images")
            }
            return images
        }
    }

    // MARK: Thumbnails

    /// `GET /v1/datasets/{id}/images/{image_id}/thumbnail`: the image decoded and fitted within 96×96
    /// (aspect kept, never enlarged) as PNG, cacheable for an hour; 304 for a matching `If-None-Match`.
    /// - Throws: 404 for an unknown dataset or image, or an image file that is gone; 422 for a file that
    ///   no longer decodes (or a symbolic link now leading outside the dataset's folders).
    func thumbnail(_ id: String, imageID: String, _ request: Request) async throws -> Response {
        let record = try store.requireDataset(id)
        guard let image = try index(of: record).first(where: { $0.id == imageID }) else {
            throw APIError.notFound("no image '\(imageID)' in dataset '\(id)' (list them with GET /v1/datasets/\(id)/images)")
        }
        let etag = try entityTag(of: image, datasetID: id)
        var headers: HTTPFields = [.cacheControl: "private, max-age=3600", .eTag: etag]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        let (root, maxPixels) = (record.root, configuration.maxImportPixels)
        let png = try await withCheckedThrowingContinuation { continuation in
            Self.decoding.addOperation {
                continuation.resume(with: Result { try Self.thumbnailPNG(of: image, root: root, maxPixels: maxPixels) })
            }
        }
        headers[.contentType] = "image/png"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// Where thumbnails are decoded: off the cooperative pool, one per core at a time, so a page of 24
    /// large photos queues instead of holding 24 decoded images (up to `maxImportPixels` each) at once.
    static let decoding: OperationQueue = {
        let queue = OperationQueue()
        queue.name = "autovision-thumbnails"
        queue.maxConcurrentOperationCount = max(1, ProcessInfo.processInfo.activeProcessorCount)
        return queue
    }()

    /// A strong ETag from the dataset, the image and its file's size and modification time.
    /// - Throws: 404 when the file is gone.
    func entityTag(of image: DatasetImage, datasetID: String) throws -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: image.path) else { throw Self.vanished(image) }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\"\(datasetID)-\(image.line)-\(size)-\(Int64(modified * 1000))\""
    }

    static func vanished(_ image: DatasetImage) -> APIError {
        APIError.notFound("image '\(image.id)' (manifest line \(image.line)) is no longer on the server: its file was moved or deleted")
    }

    /// PNG bytes of `image` fitted within `thumbnailSide`², read as the import read it: a symbolic link
    /// only when it leads inside `root`.
    static func thumbnailPNG(of image: DatasetImage, root: String, maxPixels: Int) throws -> [UInt8] {
        var read = FileReading.read(image.path, maxBytes: FileReading.defaultMaxImageBytes, followSymbolicLinks: false)
        if case .failure(.symbolicLink) = read {
            let resolver = PathResolver(manifestDirectory: URL(fileURLWithPath: root, isDirectory: true))
            if let refusal = resolver.checkSymbolicLink(image.path) {
                throw APIError.unprocessable("image '\(image.id)' (manifest line \(image.line)) cannot be read: \(refusal)")
            }
            read = FileReading.read(image.path, maxBytes: FileReading.defaultMaxImageBytes, followSymbolicLinks: true)
        }
        let bytes: [UInt8]
        switch read {
        case let .success(contents): bytes = contents
        case .failure(.notFound): throw vanished(image)
        case let .failure(failure):
            throw APIError.unprocessable("image '\(image.id)' (manifest line \(image.line)) cannot be read: \(failure)")
        }
        do {
            let decoded = try ImageDecoder.decode(bytes, options: Preprocessing.decodeOptions(maxPixels: maxPixels)).image
            return try PNGEncoder.encode(fittedWithin(thumbnailSide, decoded))
        } catch {
            throw APIError.unprocessable("image '\(image.id)' (manifest line \(image.line)) no longer decodes: \(error)")
        }
    }

    /// `image` scaled down (area averaging) so that neither side exceeds `side`, aspect ratio kept;
    /// unchanged when it already fits.
    static func fittedWithin(_ side: Int, _ image: Image) -> Image {
        let longer = max(image.width, image.height)
        guard longer > side else { return image }
        let scale = Double(side) / Double(longer)
        let width = min(side, max(1, Int((Double(image.width) * scale).rounded())))
        let height = min(side, max(1, Int((Double(image.height) * scale).rounded())))
        return ImageResize.resize(image, width: width, height: height)
    }

    // MARK: Labelling

    /// `POST /v1/datasets/{id}/labels` with `{"image_ids": [...], "label": "..."}`: a new dataset, the
    /// next version, in which those unlabeled images carry the label; 201 with it (state `importing`)
    /// and its Location. The parent is unchanged.
    /// - Throws: 400 for a malformed body, a bad label or unknown image IDs; 404 for an unknown dataset;
    ///   409 for images that have a label already, or a dataset that is not ready.
    func label(_ id: String, _ request: Request) async throws -> Response {
        let body = try await request.collectBody(limit: 1 << 20, what: "the labelling request")
        let labelling = try LabellingRequest.parse(body)
        let parent = try store.requireDataset(id)
        let images = try index(of: parent)
        let record: DatasetRecord
        do {
            record = try DatasetLabelling.newVersion(of: parent, images: images, imageIDs: labelling.imageIDs, label: labelling.label,
                                                     jobsDirectory: configuration.jobsDirectory)
        } catch let error as LabellingError {
            throw Self.problem(error, datasetID: id)
        }
        let store = store
        try await offThePool { try DatasetArtifacts.keepFiles(of: record, in: store) }
        try store.insertDataset(record)
        runner.wake()
        return try .json(JSONBody.records(DatasetResource(record, jobsDirectory: configuration.jobsDirectory), redaction: redaction),
                         status: .created, headers: [.location: "/v1/datasets/\(record.id)"])
    }
}

extension DatasetImagesController {
    /// A refused labelling as a problem: 400 for what the request got wrong, 409 for the dataset's state;
    /// the message says where to find the images that can be labelled.
    static func problem(_ error: LabellingError, datasetID: String) -> APIError {
        let unlabeled = "GET /v1/datasets/\(datasetID)/images?labeled=false lists the unlabeled images"
        return switch error {
        case .invalidLabel: APIError.badRequest(error.description)
        case .unknownImages: APIError.badRequest("\(error.description) '\(datasetID)': \(unlabeled)")
        case .alreadyLabelled: APIError.conflict("\(error.description) (\(unlabeled))")
        case .notReady: APIError.conflict(error.description)
        }
    }
}

/// The body of `POST /v1/datasets/{id}/labels`.
struct LabellingRequest: Decodable {
    /// Most images one request labels.
    static let maximumImages = 10_000

    var imageIDs: [String]
    var label: String

    enum CodingKeys: String, CodingKey { case imageIDs = "image_ids", label }

    /// - Throws: 400 naming what is wrong: not a JSON object, a missing or mistyped field, no image, too many.
    static func parse(_ body: [UInt8]) throws -> LabellingRequest {
        let request: LabellingRequest
        do {
            request = try JSONDecoder().decode(LabellingRequest.self, from: Data(body))
        } catch {
            throw APIError.badRequest("the body must be a JSON object {\"image_ids\": [\"ID\", …], \"label\": \"LABEL\"} "
                + "(image IDs from GET /v1/datasets/{id}/images?labeled=false)")
        }
        let ids = request.imageIDs.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard !ids.isEmpty else { throw APIError.badRequest("image_ids is empty: name at least one unlabeled image") }
        guard ids.count <= maximumImages else { throw APIError.badRequest("image_ids has \(ids.count) images, more than \(maximumImages): label them in several requests") }
        return LabellingRequest(imageIDs: ids, label: request.label)
    }

    init(imageIDs: [String], label: String) {
        self.imageIDs = imageIDs
        self.label = label
    }
}

/// The filters and page of a listing request, validated.
struct ImageQuery {
    var label: String?
    /// TRAIN, VALIDATION or TEST: the image's partition; UNASSIGNED: images whose partition the import chose.
    var partition: String?
    var labeled: Bool?
    var pageSize: Int
    var offset: Int

    /// - Throws: 400 for a partition, `labeled`, `page_size` or `page_token` that is not valid.
    /// `label` is read as a form writes it (`Request.formParameter`: `+` is a space).
    init(_ parameters: Parameters, label: String?) throws {
        self.label = label
        if let value = parameters.get("partition") {
            guard ["TRAIN", "VALIDATION", "TEST", "UNASSIGNED"].contains(value) else {
                throw APIError.badRequest("query parameter partition must be TRAIN, VALIDATION, TEST or UNASSIGNED, got '\(value)'")
            }
            partition = value
        }
        if let value = parameters.get("labeled") {
            guard value == "true" || value == "false" else { throw APIError.badRequest("query parameter labeled must be true or false, got '\(value)'") }
            labeled = value == "true"
        }
        pageSize = DatasetImagesController.defaultPageSize
        if let value = parameters.get("page_size") {
            guard let size = Int(value), (1...DatasetImagesController.maximumPageSize).contains(size) else {
                throw APIError.badRequest("query parameter page_size must be an integer from 1 to \(DatasetImagesController.maximumPageSize), got '\(value)'")
            }
            pageSize = size
        }
        offset = 0
        if let token = parameters.get("page_token"), !token.isEmpty {
            guard let offset = Self.offset(token: token) else {
                throw APIError.badRequest("page_token '\(token.prefix(64))' is not one this server gave: pass next_page_token from the previous page as it is")
            }
            self.offset = offset
        }
    }

    func matches(_ image: DatasetImage) -> Bool {
        if let label, !image.labels.contains(label) { return false }
        if let labeled, image.labels.isEmpty == labeled { return false }
        switch partition {
        case nil: return true
        case "UNASSIGNED": return image.autoAssigned
        case let name?: return image.partition.rawValue == name
        }
    }

    /// An opaque page token: base64url of `offset:N`.
    static func token(offset: Int) -> String {
        Data("offset:\(offset)".utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The offset a token holds, `nil` for anything this server did not write.
    static func offset(token: String) -> Int? {
        guard token.count <= 64 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("offset:"),
              let offset = Int(text.dropFirst("offset:".count)), offset > 0, token == Self.token(offset: offset) else { return nil }
        return offset
    }
}

/// `GET /v1/datasets/{id}/images`: one page.
struct ImagePage: Encodable {
    var images: [ImageEntry]
    /// Absent on the last page.
    var nextPageToken: String?
    /// Images matching the filters, on every page.
    var total: Int

    enum CodingKeys: String, CodingKey { case images, nextPageToken = "next_page_token", total }
}

/// One image of a listing.
struct ImageEntry: Encodable {
    var imageID: String
    var labels: [String]
    var partition: String
    var autoAssigned: Bool
    var line: Int
    var width: Int
    var height: Int
    var thumbnail: String

    enum CodingKeys: String, CodingKey {
        case imageID = "image_id", labels, partition, autoAssigned = "auto_assigned", line, width, height, thumbnail
    }

    init(_ image: DatasetImage, datasetID: String) {
        imageID = image.id
        labels = image.labels
        partition = image.partition.rawValue
        autoAssigned = image.autoAssigned
        line = image.line
        width = image.width
        height = image.height
        thumbnail = "/v1/datasets/\(datasetID)/images/\(image.id)/thumbnail"
    }
}

/// The parsed image indexes of the last few datasets browsed, least recently used dropped first. A
/// dataset never changes once ready, but a key of ID and `updatedAt` keeps a re-imported one fresh.
final class DatasetImageCache: @unchecked Sendable {
    private let capacity: Int
    private let lock = NSLock()
    /// Most recently used last.
    private var entries: [(key: String, images: [DatasetImage])] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The cached images of `record`, or `load()`'s, kept. `load` runs outside the lock (two first
    /// requests may both read the file; the index is the same).
    func images(of record: DatasetRecord, load: () throws -> [DatasetImage]) throws -> [DatasetImage] {
        let key = "\(record.id)@\(record.updatedAt.timeIntervalSince1970)"
        lock.lock()
        if let index = entries.firstIndex(where: { $0.key == key }) {
            let entry = entries.remove(at: index)
            entries.append(entry)
            lock.unlock()
            return entry.images
        }
        lock.unlock()
        let images = try load()
        lock.lock()
        defer { lock.unlock() }
        entries.removeAll { $0.key == key || $0.key.hasPrefix("\(record.id)@") }
        entries.append((key, images))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        return images
    }

    /// How many indexes are kept (for tests).
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}
