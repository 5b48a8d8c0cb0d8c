import Foundation
import ZIPFoundation

/// Why a zip upload was refused. `isOverLimit` errors are answered 413, the others 422.
public enum ZipUploadError: Error, CustomStringConvertible, Equatable {
    /// The bytes are not a readable zip archive.
    case notAZip(String)
    /// An entry that would write outside the extraction folder, or a symbolic link.
    case unsafeEntry(path: String, reason: String)
    /// Too many entries or too many uncompressed bytes (a zip bomb, or simply too big).
    case overLimit(String)
    /// An entry that does not extract (bad CRC, truncated data, conflicting names).
    case unreadableEntry(path: String, reason: String)
    /// Several CSV files where the manifest is looked for.
    case severalManifests([String])
    /// Neither a manifest nor folders of images.
    case noDataset(String)

    public var isOverLimit: Bool {
        if case .overLimit = self { return true }
        return false
    }

    static let layouts = "a zip holds either one CSV manifest ([set,]path,label rows, paths relative to the manifest) "
        + "at its top level or in its single top-level folder, next to the images; or one folder per label "
        + "(LABEL/image.png), its images split 80/10/10 into TRAIN/VALIDATION/TEST"

    public var description: String {
        switch self {
        case let .notAZip(reason):
            "the body is not a readable zip archive (\(reason)): send the bytes of a .zip file "
                + "(curl --data-binary @dataset.zip -H 'Content-Type: application/zip'), not a multipart form or another format"
        case let .unsafeEntry(path, reason):
            "zip entry '\(path)' is refused: \(reason); re-create the zip from the dataset folder (cd into it, then zip -r)"
        case let .overLimit(reason):
            "the zip is refused: \(reason)"
        case let .unreadableEntry(path, reason):
            "zip entry '\(path)' cannot be extracted (\(reason)): re-create the zip"
        case let .severalManifests(names):
            "the zip holds several CSV manifests (\(names.joined(separator: ", "))): keep exactly one, or none for one folder per label"
        case let .noDataset(found):
            "the zip holds no dataset (\(found)): \(Self.layouts)"
        }
    }
}

/// Caps on what one zip may extract to (a small zip can inflate to terabytes).
public struct ZipLimits: Sendable {
    /// Entries in the archive, files and folders alike, ignored ones included.
    public var maxEntries = 500_000
    /// Bytes written by extraction, counted as they are inflated (the sizes a zip declares can lie).
    public var maxUncompressedBytes: Int64 = 8 << 30
    /// The manifest, read into memory (as a CSV upload's).
    public var maxManifestBytes = 64 << 20

    public init(maxEntries: Int = 500_000, maxUncompressedBytes: Int64 = 8 << 30, maxManifestBytes: Int = 64 << 20) {
        self.maxEntries = maxEntries
        self.maxUncompressedBytes = maxUncompressedBytes
        self.maxManifestBytes = maxManifestBytes
    }
}

/// Extracts a zip archive safely: refuses unsafe paths and symbolic links before writing anything,
/// never overwrites or follows a link, skips `__MACOSX/`, dotfiles, `Thumbs.db` and `desktop.ini`, and
/// counts the bytes actually inflated against `ZipLimits` (declared sizes can lie). Knows nothing of
/// datasets beyond `ZipLayout`; `JobService.ZipDatasetUpload` registers what it extracts.
public enum ZipExtractor {
    /// Extracts every file of `zip` into `destination` (created; must not exist yet) and returns the
    /// paths of the files written, relative to it, `/`-separated, sorted.
    /// - Throws: `ZipUploadError`; what was extracted so far stays (the caller removes the folder).
    public static func extract(_ zip: URL, into destination: URL, limits: ZipLimits = ZipLimits()) throws -> [String] {
        let archive: Archive
        do {
            archive = try Archive(url: zip, accessMode: .read)
        } catch {
            throw ZipUploadError.notAZip(reason(error))
        }
        // First pass: refuse the whole zip before writing anything if any entry is unsafe or the
        // declared sizes are already beyond the limits.
        var entries = 0
        var declared: Int64 = 0
        var kept: [String] = []
        for entry in archive {
            entries += 1
            if entries > limits.maxEntries {
                throw ZipUploadError.overLimit("more than \(limits.maxEntries) entries; split the dataset into several zips")
            }
            let components = try safeComponents(of: entry.path)
            if entry.type == .symlink {
                throw ZipUploadError.unsafeEntry(path: entry.path, reason: "symbolic links are not accepted (zip the files they point to)")
            }
            guard entry.type == .file, !components.isEmpty, !isIgnored(components) else { continue }
            // A declared size is anything up to 2^64 - 1: compared with what is left of the limit, never
            // added first (the sum overflowed and trapped).
            let size = Int64(clamping: entry.uncompressedSize)
            if size > limits.maxUncompressedBytes - declared {
                throw ZipUploadError.overLimit("its files declare more than \(limits.maxUncompressedBytes) bytes uncompressed")
            }
            declared += size
            kept.append(components.joined(separator: "/"))
        }
        if entries == 0 { throw ZipUploadError.noDataset("the archive is empty") }
        if Set(kept).count != kept.count {
            let duplicate = Dictionary(grouping: kept, by: { $0 }).first { $0.value.count > 1 }!.key
            throw ZipUploadError.unreadableEntry(path: duplicate, reason: "the zip holds this path twice")
        }

        // Second pass: write each file, counting the bytes actually inflated.
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
        var written: Int64 = 0
        for entry in archive where entry.type == .file {
            let components = try safeComponents(of: entry.path)
            guard !components.isEmpty, !isIgnored(components) else { continue }
            let relative = components.joined(separator: "/")
            let url = destination.appendingPathComponent(relative, isDirectory: false)
            do {
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: "its folder cannot be created (a file of the same name?)")
            }
            // O_EXCL | O_NOFOLLOW: never overwrite, never follow a link (none is ever extracted anyway).
            let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: String(cString: strerror(errno)))
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            let declaredSize = Int64(clamping: entry.uncompressedSize)
            var entryBytes: Int64 = 0
            do {
                // The consumer variant computes the CRC-32 but leaves the comparison to its caller.
                let checksum = try archive.extract(entry, bufferSize: 64 * 1024) { data in
                    entryBytes += Int64(data.count)
                    written += Int64(data.count)
                    if written > limits.maxUncompressedBytes {
                        throw ZipUploadError.overLimit("it inflates to more than \(limits.maxUncompressedBytes) bytes")
                    }
                    if entryBytes > declaredSize {
                        throw ZipUploadError.unreadableEntry(path: entry.path, reason: "it inflates to more than the \(declaredSize) bytes it declares")
                    }
                    try handle.write(contentsOf: data)
                }
                if checksum != entry.checksum { throw Archive.ArchiveError.invalidCRC32 }
                if entryBytes != declaredSize {
                    throw ZipUploadError.unreadableEntry(path: entry.path, reason: "it holds \(entryBytes) bytes, not the \(declaredSize) it declares")
                }
            } catch let error as ZipUploadError {
                throw error
            } catch {
                throw ZipUploadError.unreadableEntry(path: entry.path, reason: reason(error))
            }
            try handle.close()
        }
        return kept.sorted()
    }

    /// The path's components, without empty ones and `.`; refuses absolute paths, drive letters and `..`.
    /// Backslashes count as separators (some Windows tools write them).
    public static func safeComponents(of path: String) throws -> [String] {
        let unified = path.replacingOccurrences(of: "\\", with: "/")
        if unified.hasPrefix("/") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "absolute paths are not accepted")
        }
        if unified.contains("\0") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "the name holds a NUL character")
        }
        let components = unified.split(separator: "/").map(String.init).filter { $0 != "." }
        if let first = components.first, first.count == 2, first.hasSuffix(":"), first.first?.isLetter == true {
            throw ZipUploadError.unsafeEntry(path: path, reason: "absolute (drive letter) paths are not accepted")
        }
        if components.contains("..") {
            throw ZipUploadError.unsafeEntry(path: path, reason: "'..' components would write outside the dataset's folder (zip slip)")
        }
        return components
    }

    /// macOS resource forks, dotfiles and Windows' folder files.
    public static func isIgnored(_ components: [String]) -> Bool {
        components.contains { $0 == "__MACOSX" || $0.hasPrefix(".") || $0 == "Thumbs.db" || $0 == "desktop.ini" }
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? Archive.ArchiveError {
            switch error {
            case .missingEndOfCentralDirectoryRecord, .unreadableArchive: return "no zip directory found: truncated or not a zip"
            case .invalidCRC32: return "CRC-32 mismatch: the data is corrupt"
            case .invalidCompressionMethod: return "unsupported compression method (only stored and deflate are)"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

}
