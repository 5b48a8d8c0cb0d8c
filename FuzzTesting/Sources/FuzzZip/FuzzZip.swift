import Foundation
import ZIPFoundation
import ZipExtraction

/// Extracts the input as a dataset zip upload is extracted (`ZipExtractor.extract` with the service's
/// default `ZipLimits`), into a fresh folder under a scratch directory, then finds its `ZipLayout`.
/// Any input may be refused with `ZipUploadError`; none may crash, nothing may be written outside the
/// extraction folder, and the paths returned must be files inside it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let zip = scratch.appendingPathComponent("input.zip")
    let destination = scratch.appendingPathComponent("files", isDirectory: true)
    try! Data(UnsafeBufferPointer(start: start, count: count)).write(to: zip)
    defer {
        try? FileManager.default.removeItem(at: destination)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []
        precondition(left == ["input.zip"], "extraction wrote outside its folder: \(left)")
    }
    guard let files = try? ZipExtractor.extract(zip, into: destination) else { return 0 }
    for file in files {
        var isDirectory: ObjCBool = false
        let url = destination.appendingPathComponent(file)
        precondition(FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue,
                     "extracted path \(file) is not a file")
        precondition(url.standardizedFileURL.path.hasPrefix(destination.path + "/"), "extracted path \(file) is outside")
    }
    _ = try? ZipLayout.of(files)
    return 0
}

/// A scratch folder of this process, in memory where possible (/dev/shm).
let scratch: URL = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let url = URL(fileURLWithPath: base).appendingPathComponent("fuzz-zip-\(getpid())", isDirectory: true)
    try? FileManager.default.removeItem(at: url)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratch) }
    return url
}()

/// Writes seeds when FUZZ_SEED_DIR is set (Scripts/fuzz.sh sets it to this target's corpus): small zips of
/// both dataset layouts, deflated and stored, written by ZIPFoundation.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let folder = ProcessInfo.processInfo.environment["FUZZ_SEED_DIR"] else { return 0 }
    let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 40))
    let layouts: [String: [(String, Data)]] = [
        "manifest": [("ds/manifest.csv", Data("TRAIN,images/a.png,cat\nTEST,images/b.png,dog\n".utf8)),
                     ("ds/images/a.png", png), ("ds/images/b.png", png)],
        "folders": [("cat/a.png", png), ("dog/b.png", png), ("__MACOSX/._a.png", png), ("notes.txt", Data("x".utf8))],
    ]
    do {
        for (name, entries) in layouts {
            for method in [CompressionMethod.deflate, .none] {
                let url = URL(fileURLWithPath: folder).appendingPathComponent("generated-\(name)-\(method == .none ? "stored" : "deflated").zip")
                try? FileManager.default.removeItem(at: url)
                let archive = try Archive(url: url, accessMode: .create)
                for (path, data) in entries {
                    try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: method) {
                        position, size in data.subdata(in: Int(position)..<Int(position) + size)
                    }
                }
            }
        }
    } catch {
        fatalError("cannot write the zip seeds: \(error)")
    }
    return 0
}
