import Foundation

/// `serve --map gs://BUCKET=DIR`: where a `gs://` URI of Vertex AI's and AutoML's requests is on this machine.
struct BucketMap: Sendable {
    let folders: [String: URL]

    /// The local file or folder of `gs://BUCKET/OBJECT` and its bucket's folder.
    /// - Throws: 400 for a URI that is not `gs://` or leaves its bucket's folder (`..`); 404 for a
    ///   bucket without a mapping, naming the `--map` to add.
    func resolve(_ uri: String) throws -> (url: URL, bucketFolder: URL) {
        guard uri.lowercased().hasPrefix("gs://") else { throw APIError.badRequest("'\(uri)' is not a gs:// URI") }
        let rest = uri.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard let folder = folders[bucket]?.standardizedFileURL else {
            throw APIError.notFound("no local folder for gs://\(bucket): start the server with --map gs://\(bucket)=DIR")
        }
        let object = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        let url = folder.appendingPathComponent(object).standardizedFileURL
        guard url.path == folder.path || url.path.hasPrefix(folder.path + "/") else {
            throw APIError.badRequest("'\(uri)' leaves the folder of gs://\(bucket)")
        }
        return (url, folder)
    }

    /// The bytes of the file `uri` names, its size checked against `limit` before it is read.
    /// - Throws: `resolve`'s errors; 404 when it is not a regular file; 413 beyond `limit` bytes.
    func contents(of uri: String, limit: Int) throws -> [UInt8] {
        let path = try resolve(uri).url.path
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int, attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw APIError.notFound("\(uri) does not exist (or is not a file) in its mapped folder")
        }
        guard size <= limit else { throw APIError(.contentTooLarge, "\(uri) is larger than the limit of \(limit) bytes") }
        guard let data = FileManager.default.contents(atPath: path) else { throw APIError.notFound("\(uri) cannot be read") }
        return Array(data)
    }
}
