import Foundation
import ManifestParsing

/// Turns the image references of a manifest into local files, enforcing where they may live.
///
/// Rules (in order):
/// - `http://`, `https://`: not supported yet (row error).
/// - `gs://BUCKET/OBJECT`: mapped through `bucketMap` (`--map gs://BUCKET=DIR`) to `DIR/OBJECT`;
///   a mapped folder is an allowed root. An unmapped bucket is a row error.
/// - `file:///absolute/path`: an absolute path.
/// - other `scheme://`: unsupported (row error).
/// - relative paths: relative to the manifest's folder.
/// Every resolved path is normalised (`.`/`..` removed) and must lie inside one of `allowedRoots`
/// (the manifest's folder plus any `--allow-root`), so a manifest cannot reach `/etc/passwd` or
/// climb out of its folder with `../`.
public struct PathResolver: Sendable {
    public var manifestDirectory: URL
    public var allowedRoots: [URL]
    public var bucketMap: [String: URL]
    private var allowedRootPaths: [String]
    /// The same roots with symbolic links resolved.
    private var allowedRealRootPaths: [String]
    private let folderCache = FolderCache()

    /// - Parameters:
    ///   - manifestDirectory: folder relative paths start from; always an allowed root.
    ///   - extraRoots: more folders absolute paths may point into.
    ///   - bucketMap: `gs://BUCKET` (or `BUCKET`) → local folder.
    public init(manifestDirectory: URL, extraRoots: [URL] = [], bucketMap: [String: URL] = [:]) {
        self.manifestDirectory = manifestDirectory.standardizedFileURL
        var map: [String: URL] = [:]
        for (key, value) in bucketMap {
            let bucket = key.hasPrefix("gs://") ? String(key.dropFirst(5)) : key
            map[bucket.trimmingCharacters(in: CharacterSet(charactersIn: "/"))] = value.standardizedFileURL
        }
        self.bucketMap = map
        self.allowedRoots = [self.manifestDirectory] + extraRoots.map(\.standardizedFileURL) + map.values.sorted { $0.path < $1.path }
        self.allowedRootPaths = allowedRoots.map { Self.normalize($0.path) }
        self.allowedRealRootPaths = allowedRootPaths.map { Self.realPath($0) ?? $0 }
    }

    /// Parses `gs://BUCKET=DIR` as given to `--map`.
    public static func parseMapping(_ text: String) -> (bucket: String, directory: URL)? {
        guard let equals = text.firstIndex(of: "="), text.hasPrefix("gs://") else { return nil }
        let bucket = String(text[text.index(text.startIndex, offsetBy: 5)..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let directory = String(text[text.index(after: equals)...])
        guard !bucket.isEmpty, !directory.isEmpty else { return nil }
        return (bucket, URL(fileURLWithPath: directory))
    }

    /// Resolves one reference.
    /// - Returns: the local file URL, or the reason the reference cannot be used.
    public func resolve(_ reference: String) -> Result<URL, PathError> {
        resolvePath(reference).map { URL(fileURLWithPath: $0, isDirectory: false) }
    }

    /// `resolve` as an absolute path string (cheaper than a URL when importing many rows).
    public func resolvePath(_ reference: String) -> Result<String, PathError> {
        let lower = reference.prefix(8).lowercased()
        let candidate: String
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            return .failure(.unsupported("http(s) URLs are not supported yet: download the images and list local paths"))
        } else if lower.hasPrefix("gs://") {
            let rest = reference.dropFirst(5)
            let bucket = String(rest.prefix { $0 != "/" })
            guard let directory = bucketMap[bucket] else {
                return .failure(.unsupported("no local folder for gs://\(bucket): pass --map gs://\(bucket)=DIR"))
            }
            let object = rest.dropFirst(bucket.count).drop { $0 == "/" }
            candidate = directory.path + "/" + object
        } else if lower.hasPrefix("file://") {
            guard let url = URL(string: reference), url.isFileURL, !url.path.isEmpty else {
                return .failure(.unsupported("malformed file:// URI"))
            }
            candidate = url.path
        } else if ManifestParser.hasURIScheme(reference) {
            let scheme = reference.prefix { $0 != ":" }
            return .failure(.unsupported("\(scheme):// references are not supported (use a local path, file:// or gs:// with --map)"))
        } else if reference.hasPrefix("/") {
            candidate = reference
        } else {
            candidate = manifestDirectory.path + "/" + reference
        }
        // String operations, not URL: URL.appendingPathComponent stats the file system on every call.
        let resolved = Self.normalize(candidate)
        // Checked before the file system is touched: outside the allowed folders, a missing file and an
        // existing one get the same answer, so a manifest cannot probe what exists there.
        guard allowedRootPaths.contains(where: { Self.isInside(resolved, $0) }) else {
            return .failure(.outsideAllowedRoots(
                "path is outside the allowed folders (\(allowedRoots.map(\.path).joined(separator: ", "))); add one with --allow-root DIR"))
        }
        // A symbolic link inside an allowed folder must not lead outside it either (its target is not shown).
        if let real = realPathOfFile(resolved), !allowedRealRootPaths.contains(where: { Self.isInside(real, $0) }) {
            return .failure(.outsideAllowedRoots(Self.linkOutside))
        }
        return .success(resolved)
    }

    /// Whether the reference names an existing regular file or a URI (used to recognise rows that
    /// have no set column). A path outside the allowed folders counts as one without looking at the
    /// disk (`resolve` then refuses it), so the way a row is read tells nothing of what exists there.
    public func namesImage(_ reference: String) -> Bool {
        if ManifestParser.hasURIScheme(reference) { return true }
        let path = Self.normalize(reference.hasPrefix("/") ? reference : manifestDirectory.path + "/" + reference)
        guard allowedRootPaths.contains(where: { Self.isInside(path, $0) }) else { return true }
        if let real = realPathOfFile(path), !allowedRealRootPaths.contains(where: { Self.isInside(real, $0) }) { return true }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Removes `.`, `..` and repeated slashes from an absolute path, lexically (symbolic links are not followed).
    static func normalize(_ path: String) -> String {
        var previous: UInt8 = 0
        var clean = path.utf8.last != UInt8(ascii: "/")
        for byte in path.utf8 where clean {
            if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")) { clean = false }
            previous = byte
        }
        if clean { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The real path of a file's folder (cached, as a manifest's images share a few folders) plus
    /// its name. A file that is itself a symbolic link is caught when it is opened
    /// (`O_NOFOLLOW`, then `allowsSymbolicLink`), which costs no extra system call per image.
    func realPathOfFile(_ path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return Self.realPath(path) }
        let folder = String(path[..<slash])
        guard let realFolder = folderCache.value(for: folder, compute: { Self.realPath($0.isEmpty ? "/" : $0) }) else { return nil }
        return (realFolder == "/" ? "" : realFolder) + path[slash...]
    }

    /// Whether the symbolic link at `path` points inside an allowed folder; the reason when not.
    public func checkSymbolicLink(_ path: String) -> PathError? {
        guard let real = Self.realPath(path) else { return nil }  // dangling: "file not found" follows
        if allowedRealRootPaths.contains(where: { Self.isInside(real, $0) }) { return nil }
        return .outsideAllowedRoots(Self.linkOutside)
    }

    /// Names no path: the link's target lies outside the folders the importer may show.
    static let linkOutside = "path leads outside the allowed folders through a symbolic link; "
        + "add the folder it points into with --allow-root DIR"

    /// `realpath(3)`: the path with every symbolic link resolved, or `nil` when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ rootPath: String) -> Bool {
        path == rootPath || path.hasPrefix(rootPath.hasSuffix("/") ? rootPath : rootPath + "/")
    }
}

/// Why an image reference cannot be used.
public enum PathError: Error, Equatable, CustomStringConvertible {
    case unsupported(String)
    case outsideAllowedRoots(String)
    public var description: String {
        switch self { case let .unsupported(m), let .outsideAllowedRoots(m): m }
    }
}

/// Resolved folders, shared by the threads that resolve a manifest's rows.
private final class FolderCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String?] = [:]

    func value(for key: String, compute: (String) -> String?) -> String? {
        lock.lock()
        if let cached = values[key] {
            lock.unlock()
            return cached
        }
        lock.unlock()
        let value = compute(key)
        lock.lock()
        values[key] = value
        lock.unlock()
        return value
    }
}
