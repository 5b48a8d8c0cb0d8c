import SystemZlib

/// CRC-32 (IEEE 802.3: the checksum of zip, gzip and PNG), computed by zlib's `crc32`. The one
/// checksum of the files the service writes itself: checkpoints and decoded-dataset caches.
public enum CRC32 {
    /// The CRC-32 of `bytes`; with `previous`, the CRC-32 of the bytes that `previous` checksums
    /// followed by `bytes`, so a file written in blocks is checksummed block by block.
    /// - Parameters:
    ///   - bytes: any number of bytes (zlib's 32-bit length limit is handled by chunking).
    ///   - previous: the checksum of the preceding bytes; 0 (the CRC-32 of nothing) to start.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = uLong(previous)
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            crc = crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + offset, uInt(chunk))
            offset += chunk
        }
        return UInt32(crc)
    }
}
