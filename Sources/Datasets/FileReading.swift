import Foundation

/// Reads whole files that a user named (manifest rows, images, a prediction's `--manifest`) without
/// blocking or running out of memory: only regular files are read, their size is checked before any
/// byte is, and opening never waits on a FIFO or a device.
public enum FileReading {
    /// The default cap on one image file: 256 MiB (a 100-megapixel RGB image is 300 MB decoded,
    /// PNG and JPEG files of it far less).
    public static let defaultMaxImageBytes = 256 << 20

    /// Why a file was not read. `description` is a sentence for an import report or an HTTP body.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case notFound
        /// A FIFO, a device, a socket or a folder; the payload names which.
        case notRegularFile(String)
        case tooLarge(bytes: Int, limit: Int)
        /// The path is a symbolic link and links were not to be followed.
        case symbolicLink
        case unreadable(String)

        public var description: String {
            switch self {
            case .notFound: "file not found"
            case let .notRegularFile(kind): "not a regular file (\(kind))"
            case let .tooLarge(bytes, limit): "file is \(bytes) bytes, over the limit of \(limit) bytes"
            case .symbolicLink: "the path is a symbolic link"
            case let .unreadable(reason): "file cannot be read: \(reason)"
            }
        }

        /// A short kind for grouping rejected rows ("file not found", "not a file", …).
        public var kind: String {
            switch self {
            case .notFound: "file not found"
            case .notRegularFile: "not a file"
            case .tooLarge: "file too large"
            case .symbolicLink: "path not allowed"
            case .unreadable: "unreadable file"
            }
        }
    }

    /// The bytes of the regular file at `path`.
    /// - Parameters:
    ///   - maxBytes: files larger than this are refused from their size, before reading.
    ///   - followSymbolicLinks: when `false`, a symbolic link fails with `.symbolicLink` (the caller
    ///     checks where it leads, then reads again with `true`).
    /// - Returns: the bytes, or why they could not be read. Never blocks on a FIFO or device: the file
    ///   is opened non-blocking and refused unless `fstat` says it is a regular file.
    public static func read(_ path: String, maxBytes: Int, followSymbolicLinks: Bool = true) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followSymbolicLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return .failure(.notFound)
            case ELOOP where !followSymbolicLinks: return .failure(.symbolicLink)
            case ENXIO: return .failure(.notRegularFile("a FIFO or socket"))
            default: return .failure(.unreadable(String(cString: strerror(errno))))
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .failure(.notRegularFile("a folder"))
        case S_IFIFO: return .failure(.notRegularFile("a FIFO"))
        case S_IFCHR, S_IFBLK: return .failure(.notRegularFile("a device"))
        case S_IFSOCK: return .failure(.notRegularFile("a socket"))
        default: return .failure(.notRegularFile("not a file"))
        }
        let size = Int(info.st_size)
        guard size <= maxBytes else { return .failure(.tooLarge(bytes: size, limit: maxBytes)) }
        var failure: Failure?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let got = Foundation.read(fd, buffer.baseAddress! + count, size - count)
                if got < 0, errno == EINTR || errno == EAGAIN { continue }
                if got < 0 { failure = .unreadable(String(cString: strerror(errno))); break }
                if got == 0 { break }  // the file shrank while being read: what is there is returned
                count += got
            }
        }
        if let failure { return .failure(failure) }
        return .success(bytes)
    }
}
