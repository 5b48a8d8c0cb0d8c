import Foundation
import Hummingbird
import HummingbirdTesting
import ImageIO
import JobService
@testable import Server
import Testing

/// The image browser's routes over real HTTP on the tiny Fashion-MNIST sample uploaded as a zip whose
/// first three rows have no label: the paged listing and its filters, thumbnails, labelling into new
/// versions, and what a version's deletion leaves to the others.
@Suite(.serialized) struct DatasetImagesTests {
    /// The sample's manifest with rows 1–3 unlabeled, row 4 UNASSIGNED, and a row naming a missing file (rejected).
    static func zip() throws -> ByteBuffer {
        let rows = try ZipUploadTests.sampleRows()
        let lines = rows.enumerated().map { index, row in
            switch index {
            case 0..<3: "\(row[0]),\(row[1])"
            case 3: "UNASSIGNED,\(row[1]),\(row[2])"
            default: row.joined(separator: ",")
            }
        } + ["TRAIN,train/missing.png,Sneaker"]
        var files = [("manifest.csv", Data((lines.joined(separator: "\n") + "\n").utf8))]
        for row in rows { files.append((row[1], try Data(contentsOf: ZipUploadTests.sample.appendingPathComponent(row[1])))) }
        return try ZipUploadTests.zip(files)
    }

    static func upload(_ client: some TestClientProtocol) async throws -> [String: Any] {
        let upload = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"), body: try zip())
        #expect(upload.status == .created, "\(String(buffer: upload.body))")
        let dataset = try await ZipUploadTests.imported(client, try #require(try Support.json(upload)["id"] as? String))
        #expect(dataset["state"] as? String == "ready", "\(dataset)")
        return dataset
    }

    static func page(_ client: some TestClientProtocol, _ uri: String) async throws -> (images: [[String: Any]], next: String?, total: Int) {
        let response = try await client.execute(uri: uri, method: .get)
        #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
        let body = try Support.json(response)
        return (body["images"] as? [[String: Any]] ?? [], body["next_page_token"] as? String, body["total"] as? Int ?? -1)
    }

    static func label(_ client: some TestClientProtocol, _ id: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/datasets/\(id)/labels", method: .post, headers: Support.headers("application/json"), body: ByteBuffer(string: body))
    }

    @Test func theListingPagesFiltersAndRefusesBadParameters() async throws {
        let jobs = try Support.folder("images-listing-jobs")
        try await buildApplication(configuration: Support.configuration(jobs: jobs)).test(.live) { client in
            let dataset = try await Self.upload(client)
            let id = try #require(dataset["id"] as? String)
            #expect(dataset["version"] as? Int == 1 && dataset["parent_dataset_id"] == nil)
            let summary = try #require(dataset["summary"] as? [String: Any])
            #expect(summary["unlabeled"] as? Int == 3 && (summary["rejected"] as? [Any])?.count == 1)
            // Every distinct file the manifest names is counted, the missing one too (61); the last value stays.
            #expect((dataset["import_progress"] as? [String: Int]).map { $0["images_done"] == 61 && $0["images_total"] == 61 } == true,
                    "\(String(describing: dataset["import_progress"]))")

            // Paging: 50 by default, then the rest; every image once, in manifest order, the rejected row left out.
            let first = try await Self.page(client, "/v1/datasets/\(id)/images")
            #expect(first.images.count == 50 && first.total == 60)
            let token = try #require(first.next)
            let second = try await Self.page(client, "/v1/datasets/\(id)/images?page_token=\(token)")
            #expect(second.images.count == 10 && second.next == nil && second.total == 60)
            let all = first.images + second.images
            #expect(all.compactMap { $0["line"] as? Int } == Array(1...60))
            #expect(all.compactMap { $0["image_id"] as? String } == (1...60).map(String.init))
            let image = all[10]
            #expect(image["width"] as? Int == 28 && image["height"] as? Int == 28 && (image["labels"] as? [String])?.count == 1)
            #expect(image["thumbnail"] as? String == "/v1/datasets/\(id)/images/11/thumbnail")
            let everything = try await Self.page(client, "/v1/datasets/\(id)/images?page_size=100")
            #expect(everything.images.count == 60 && everything.next == nil)

            // Filters.
            let unlabeled = try await Self.page(client, "/v1/datasets/\(id)/images?labeled=false")
            #expect(unlabeled.total == 3 && unlabeled.images.allSatisfy { ($0["labels"] as? [String]) == [] })
            #expect(try await Self.page(client, "/v1/datasets/\(id)/images?labeled=true").total == 57)
            let assigned = try await Self.page(client, "/v1/datasets/\(id)/images?partition=UNASSIGNED")
            #expect(assigned.total == 1 && assigned.images.first?["auto_assigned"] as? Bool == true && assigned.images.first?["line"] as? Int == 4)
            let partitions = try #require(summary["partitions"] as? [String: [String: Int]])
            for partition in ["TRAIN", "VALIDATION", "TEST"] {
                let listed = try await Self.page(client, "/v1/datasets/\(id)/images?partition=\(partition)&labeled=true&page_size=100")
                #expect(listed.total == partitions[partition]?.values.reduce(0, +), "\(partition)")
                #expect(listed.images.allSatisfy { $0["partition"] as? String == partition })
            }
            let sneakers = try await Self.page(client, "/v1/datasets/\(id)/images?label=Sneaker&page_size=2")
            #expect(sneakers.total == partitions.values.reduce(0) { $0 + ($1["Sneaker"] ?? 0) } && sneakers.images.count == 2)
            #expect(sneakers.images.allSatisfy { ($0["labels"] as? [String]) == ["Sneaker"] })
            #expect(try await Self.page(client, "/v1/datasets/\(id)/images?label=No%20such%20label").total == 0)

            // Bad parameters are 400s naming what to send; an unknown dataset a 404.
            for (query, words) in [("page_size=101", "page_size"), ("page_size=0", "page_size"), ("page_size=ten", "page_size"),
                                   ("page_token=garbage", "page_token"), ("page_token=\(ImageQuery.token(offset: 61))", "past the end"),
                                   ("page_token=\(token)%3D", "page_token"), ("partition=train", "partition"), ("labeled=yes", "labeled")] {
                try Support.expectProblem(try await client.execute(uri: "/v1/datasets/\(id)/images?\(query)", method: .get), .badRequest, contains: words)
            }
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/ds-none/images", method: .get), .notFound, contains: "ds-none")
        }
    }

    @Test func aThumbnailIsAPNGWithin96PixelsCachedByItsETag() async throws {
        let jobs = try Support.folder("images-thumbnail-jobs")
        try await buildApplication(configuration: Support.configuration(jobs: jobs)).test(.live) { client in
            let id = try #require(try await Self.upload(client)["id"] as? String)
            let response = try await client.execute(uri: "/v1/datasets/\(id)/images/5/thumbnail", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "image/png" && response.headers[.cacheControl] == "private, max-age=3600")
            let decoded = try ImageDecoder.decode(Array(response.body.readableBytesView))
            #expect(decoded.format == .png && decoded.image.width == 28 && decoded.image.height == 28, "a 28×28 image fits: not enlarged")
            let etag = try #require(response.headers[.eTag])
            let again = try await client.execute(uri: "/v1/datasets/\(id)/images/5/thumbnail", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified && again.body.readableBytes == 0)

            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/\(id)/images/999/thumbnail", method: .get), .notFound, contains: "999")
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/\(id)/images/..%2F..%2Fetc/thumbnail", method: .get), .notFound)
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/ds-none/images/1/thumbnail", method: .get), .notFound)

            // A file that vanished is a 404, one that no longer decodes a 422; the server stays up.
            let listing = try await Self.page(client, "/v1/datasets/\(id)/images?page_size=100")
            let store = try SQLiteJobStore(jobsDirectory: jobs)
            let record = try #require(try store.dataset(id))
            let paths = try #require(try DatasetImageIndex.read(for: record, store: store))
            #expect(listing.images.count == paths.count)
            try FileManager.default.removeItem(atPath: paths[5].path)
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/\(id)/images/6/thumbnail", method: .get), .notFound, contains: "no longer")
            try Data("not a png".utf8).write(to: URL(fileURLWithPath: paths[6].path))
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets/\(id)/images/7/thumbnail", method: .get), .unprocessableContent, contains: "decode")
            #expect(try await client.execute(uri: "/v1/datasets/\(id)/images/8/thumbnail", method: .get).status == .ok)
        }
    }

    @Test func aSeventyThousandImageDatasetIsPagedFromItsIndexReadOnce() async throws {
        let jobs = try Support.folder("images-large-jobs")
        let folder = DatasetUpload.folder(jobsDirectory: jobs, id: "ds-large")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let partitions = ["TRAIN", "TRAIN", "TRAIN", "TRAIN", "TRAIN", "TRAIN", "TRAIN", "TRAIN", "VALIDATION", "TEST"]
        let entries = (1...70_000).map { line in
            let labels = line % 7 == 0 ? "[]" : "[\"class\(line % 10)\"]"
            return #"{"line":\#(line),"path":"/data/\#(line).png","partition":"\#(partitions[line % 10])","auto_assigned":true,"#
                + #""labels":\#(labels),"width":28,"height":28}"#
        }
        try Data(("[" + entries.joined(separator: ",") + "]").utf8).write(to: folder.appendingPathComponent("images.json"))
        var record = DatasetRecord(id: "ds-large", root: "/data", manifest: folder.appendingPathComponent("manifest.csv").path, multiLabel: false)
        record.state = .ready
        try SQLiteJobStore(jobsDirectory: jobs).insertDataset(record)
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.live) { client in
            let clock = ContinuousClock()
            var page = try await Self.page(client, "/v1/datasets/ds-large/images?page_size=100")
            let firstPage = clock.now
            #expect(page.total == 70_000 && page.images.count == 100)
            var seen = page.images.count
            for _ in 0..<20 {
                page = try await Self.page(client, "/v1/datasets/ds-large/images?page_size=100&page_token=\(try #require(page.next))")
                seen += page.images.count
            }
            let perPage = (clock.now - firstPage) / 20
            #expect(seen == 2_100 && page.images.first?["line"] as? Int == 2_001)
            let unlabeled = try await Self.page(client, "/v1/datasets/ds-large/images?labeled=false&partition=TEST")
            #expect(unlabeled.total == (1...70_000).filter { $0 % 7 == 0 && $0 % 10 == 9 }.count)
            print("a 70,000-image listing: \(perPage) a page once its index is cached")
            #expect(perPage < .seconds(1), "a page is a slice of the cached index, not a re-read")
        }
    }

    @Test func aLargeImageIsScaledDownWithItsAspectRatio() {
        let wide = DatasetImagesController.fittedWithin(96, Image(width: 300, height: 150, channels: 3, repeating: 7))
        #expect(wide.width == 96 && wide.height == 48 && wide.channels == 3)
        let tall = DatasetImagesController.fittedWithin(96, Image(width: 10, height: 1000, channels: 1))
        #expect(tall.width == 1 && tall.height == 96)
        #expect(DatasetImagesController.fittedWithin(96, Image(width: 96, height: 20, channels: 1)).width == 96)
    }

    @Test func pageTokensAreOpaqueAndOnlyTheServersOwnAreRead() {
        let token = ImageQuery.token(offset: 100)
        #expect(!token.contains("100") && ImageQuery.offset(token: token) == 100)
        for garbage in ["", "abc", "b2Zmc2V0Oi0x", "b2Zmc2V0OjA", Data("offset:12x".utf8).base64EncodedString(), String(repeating: "A", count: 100), "%%%"] {
            #expect(ImageQuery.offset(token: garbage) == nil, "\(garbage)")
        }
    }

    @Test func theIndexCacheKeepsTheLastFewDatasetsAndReloadsAChangedOne() throws {
        let cache = DatasetImageCache(capacity: 2)
        var loads = 0
        func images(_ id: String, at seconds: Double) throws -> Int {
            var record = DatasetRecord(id: id, root: "/d", manifest: "/d/m.csv", multiLabel: false, now: Date(timeIntervalSince1970: seconds))
            record.state = .ready
            return try cache.images(of: record) {
                loads += 1
                return []
            }.count
        }
        _ = try images("a", at: 1)
        _ = try images("a", at: 1)
        #expect(loads == 1, "parsed once, then cached")
        _ = try images("b", at: 1)
        _ = try images("c", at: 1)
        #expect(cache.count == 2 && loads == 3)
        _ = try images("a", at: 1)
        #expect(loads == 4, "the least recently used was dropped")
        _ = try images("a", at: 2)
        #expect(loads == 5 && cache.count == 2, "a changed dataset is read again and replaces its old entry")
    }

    @Test func labellingMakesANewVersionAndLeavesTheParentAsItWas() async throws {
        let jobs = try Support.folder("images-labelling-jobs")
        try await buildApplication(configuration: Support.configuration(jobs: jobs)).test(.live) { client in
            let parent = try await Self.upload(client)
            let id = try #require(parent["id"] as? String)
            let parentPartitions = try #require((parent["summary"] as? [String: Any])?["partitions"] as? [String: [String: Int]])
            let first = try #require(try await Self.page(client, "/v1/datasets/\(id)/images?labeled=false").images.first)
            let partition = try #require(first["partition"] as? String)

            // Refusals: a labelled image (409 naming it), unknown images and bad labels or bodies (400).
            try Support.expectProblem(try await Self.label(client, id, #"{"image_ids":["1","10"],"label":"Sneaker"}"#), .conflict, contains: "'10'")
            try Support.expectProblem(try await Self.label(client, id, #"{"image_ids":["1","999"],"label":"Sneaker"}"#), .badRequest, contains: "'999'")
            try Support.expectProblem(try await Self.label(client, id, #"{"image_ids":["1"],"label":"  "}"#), .badRequest, contains: "empty")
            try Support.expectProblem(try await Self.label(client, id, #"{"image_ids":["1"],"label":"a\nb"}"#), .badRequest, contains: "control")
            try Support.expectProblem(try await Self.label(client, id, #"{"image_ids":[],"label":"x"}"#), .badRequest, contains: "image_ids")
            try Support.expectProblem(try await Self.label(client, id, #"{"label":"x"}"#), .badRequest, contains: "image_ids")
            try Support.expectProblem(try await Self.label(client, id, "[1,2]"), .badRequest)
            try Support.expectProblem(try await Self.label(client, "ds-none", #"{"image_ids":["1"],"label":"x"}"#), .notFound, contains: "ds-none")

            // Image 1 labelled with an existing label: version 2, imported by the worker, one more Sneaker in its partition.
            let created = try await Self.label(client, id, #"{"image_ids":["1"],"label":"Sneaker"}"#)
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let childID = try #require(try Support.json(created)["id"] as? String)
            #expect(created.headers[.location] == "/v1/datasets/\(childID)")
            #expect(try Support.json(created)["state"] as? String == "importing")
            let child = try await ZipUploadTests.imported(client, childID)
            #expect(child["state"] as? String == "ready" && child["version"] as? Int == 2 && child["parent_dataset_id"] as? String == id, "\(child)")
            let childSummary = try #require(child["summary"] as? [String: Any])
            #expect(childSummary["unlabeled"] as? Int == 2 && child["images"] as? Int == 60)
            var expected = parentPartitions
            expected[partition, default: [:]]["Sneaker", default: 0] += 1
            #expect(childSummary["partitions"] as? [String: [String: Int]] == expected)
            #expect((childSummary["rejected"] as? [[String: Any]])?.first?["path"] as? String == "train/missing.png", "the parent's rejected rows carry over")
            let labelled = try await Self.page(client, "/v1/datasets/\(childID)/images?label=Sneaker&page_size=100")
            #expect(labelled.images.contains { $0["image_id"] as? String == "1" })

            // The parent is unchanged; the rest of its unlabeled images take a new label, in another version 2.
            let again = try Support.json(try await client.execute(uri: "/v1/datasets/\(id)", method: .get))
            #expect((again["summary"] as? [String: Any])?["unlabeled"] as? Int == 3 && again["version"] as? Int == 1)
            let other = try await Self.label(client, id, #"{"image_ids":["2","3","2"],"label":"Brand new"}"#)
            #expect(other.status == .created, "\(String(buffer: other.body))")
            let otherChild = try await ZipUploadTests.imported(client, try #require(try Support.json(other)["id"] as? String))
            #expect(otherChild["version"] as? Int == 2 && (otherChild["labels"] as? [String])?.contains("Brand new") == true)
            #expect((otherChild["summary"] as? [String: Any])?["unlabeled"] as? Int == 1)

            // A version of a version is version 3; its parent deleted, its images (the parent's files) stay.
            let third = try await Self.label(client, childID, #"{"image_ids":["2"],"label":"Sandal"}"#)
            let thirdID = try #require(try Support.json(third)["id"] as? String)
            let thirdDataset = try await ZipUploadTests.imported(client, thirdID)
            #expect(thirdDataset["version"] as? Int == 3 && thirdDataset["parent_dataset_id"] as? String == childID)
            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/v1/datasets/\(thirdID)/images/2/thumbnail", method: .get).status == .ok)

            // A job shows the version of the dataset it trains on.
            let job = try await client.execute(uri: "/v1/jobs", method: .post, headers: Support.headers("application/json"),
                                               body: ByteBuffer(string: #"{"dataset_id":"\#(thirdID)","budget":"1s"}"#))
            let version = try Support.json(job)["dataset_version"] as? Int
            #expect(job.status == .accepted && version == 3, "\(String(buffer: job.body))")
            let jobID = try #require(try Support.json(job)["id"] as? String)
            _ = try await client.execute(uri: "/v1/jobs/\(jobID)/cancel", method: .post)
        }
    }
}
