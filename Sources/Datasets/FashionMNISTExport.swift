import Dispatch
import Foundation
import ImageIO
import ManifestParsing
import Tensors

/// Writes Fashion-MNIST as AutoML Vision users had it: one PNG per image and a `manifest.csv`
/// with rows `SET,relative/path.png,label` (no header).
///
/// Partitions: TRAIN = 50,000 and VALIDATION = 10,000 images from the official 60,000 training
/// images (a seeded split stratified by class: 1,000 per class to VALIDATION), TEST = the official
/// 10,000. With `perClass`, each partition keeps only the first `perClass` images of each class
/// in the seeded order (a slice for tests and demos).
public enum FashionMNISTExport {
    public struct Result: Sendable {
        public var manifest: URL
        public var counts: [Partition: Int]
    }

    /// Validation images per class in the full split (10,000 / 10 classes).
    static let validationPerClass = 1000

    /// - Parameters:
    ///   - output: folder to write `manifest.csv`, `train/` and `test/` into (created if needed).
    ///   - perClass: images per class in each partition; `nil` for the whole dataset.
    ///   - seed: seed of the stratified split.
    /// - Throws: `IDXError` when the Debian package is missing, or a file-system error.
    public static func write(to output: URL, perClass: Int? = nil, seed: UInt64 = 0, source: URL = FashionMNIST.defaultDirectory,
                             progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> Result {
        let train = try FashionMNIST.load(.train, directory: source)
        let test = try FashionMNIST.load(.test, directory: source)

        // Seeded stratified split: shuffle each class's indices, its first 1,000 go to VALIDATION.
        var generator = SeededGenerator(seed: seed)
        var planned: [(Partition, FashionMNIST.Split, Int)] = []
        for label in 0..<FashionMNIST.classNames.count {
            var indices = (0..<train.count).filter { Int(train.labels[$0]) == label }
            indices.shuffle(using: &generator)
            let validation = indices.prefix(validationPerClass)
            let training = indices.dropFirst(validationPerClass)
            planned += training.prefix(perClass ?? .max).map { (.train, .train, $0) }
            planned += validation.prefix(perClass ?? .max).map { (.validation, .train, $0) }
            var testIndices = (0..<test.count).filter { Int(test.labels[$0]) == label }
            testIndices.shuffle(using: &generator)
            if perClass == nil { testIndices.sort() }
            planned += testIndices.prefix(perClass ?? .max).map { (.test, .test, $0) }
        }
        planned.sort { ($0.1 == .train ? 0 : 1, $0.2) < ($1.1 == .train ? 0 : 1, $1.2) }

        let fileManager = FileManager.default
        for folder in ["train", "test"] {
            try fileManager.createDirectory(at: output.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let rows = planned
        let failures = ResultSlots<String?>(count: rows.count)
        let done = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: (rows.count + 499) / 500) { chunk in
            for i in chunk * 500 ..< min(rows.count, (chunk + 1) * 500) {
                let (_, split, index) = rows[i]
                let samples = split == .train ? train : test
                let image = Image(width: 28, height: 28, channels: 1, pixels: Array(samples.image(index)))
                let url = output.appendingPathComponent(relativePath(split, index))
                do {
                    try Data(PNGEncoder.encode(image)).write(to: url)
                    failures[i] = nil
                } catch {
                    failures[i] = "\(url.path): \(error)"
                }
                let finished = done.add(1)
                if let progress, finished % 1000 == 0 || finished == rows.count { progress(finished, rows.count) }
            }
        }
        if let failure = failures.values().compactMap({ $0 }).first {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot write \(failure)"])
        }
        var csv = ""
        var counts: [Partition: Int] = [:]
        for (partition, split, index) in rows {
            let label = FashionMNIST.classNames[Int((split == .train ? train : test).labels[index])]
            csv += "\(partition.rawValue),\(relativePath(split, index)),\(csvEscaped(label))\n"
            counts[partition, default: 0] += 1
        }
        let manifest = output.appendingPathComponent("manifest.csv")
        try Data(csv.utf8).write(to: manifest, options: .atomic)
        return Result(manifest: manifest, counts: counts)
    }

    static func relativePath(_ split: FashionMNIST.Split, _ index: Int) -> String {
        let number = String(index).count >= 5 ? String(index) : String(repeating: "0", count: 5 - String(index).count) + String(index)
        return split == .train ? "train/\(number).png" : "test/\(number).png"
    }

}


/// `value` as one CSV field: quoted (RFC 4180) only when it holds a comma, quote or line break, or
/// starts or ends with white space.
public func csvEscaped(_ value: String) -> String {
    guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || value != value.trimmedWhitespace
    else { return value }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
