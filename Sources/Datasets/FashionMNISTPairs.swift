import Foundation
import ImageIO
import ManifestParsing
import Tensors

/// A small multi-label dataset made of real images: each 28×56 PNG holds two slots side by side,
/// each empty or showing one Fashion-MNIST item of four classes (`labels`); an image's labels are
/// the classes it shows (one or two). Written as an AutoML Vision multi-label manifest, rows
/// `SET,relative/path.png,label[,label]`, for tests and demos of multi-label training
/// (`autovision import --multi-label`).
///
/// TRAIN and VALIDATION draw items from the official training images, TEST from the official test
/// images, so no item is in two partitions. Deterministic for a seed.
public enum FashionMNISTPairs {
    /// The four classes used (Fashion-MNIST's 0, 1, 7 and 8), named without the `/` of "T-shirt/top".
    public static let labels = ["tshirt", "trouser", "sneaker", "bag"]
    static let sourceClasses = [0, 1, 7, 8]
    /// Chance that a slot shows an item (an image whose two slots come out empty shows one item).
    static let fill = 0.7

    /// - Parameters:
    ///   - output: folder to write `manifest.csv` and `images/` into (created if needed).
    ///   - counts: images per partition.
    ///   - seed: seeds the choice of items and slots.
    /// - Returns: the manifest's URL.
    /// - Throws: `IDXError` when the Debian package `dataset-fashion-mnist` is missing, or a file-system error.
    public static func write(to output: URL, counts: [Partition: Int] = [.train: 400, .validation: 100, .test: 100], seed: UInt64 = 1,
                             source: URL = FashionMNIST.defaultDirectory) throws -> URL {
        let train = try FashionMNIST.load(.train, directory: source), test = try FashionMNIST.load(.test, directory: source)
        var generator = SeededGenerator(seed: seed)
        let images = output.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        // Items of the four classes in a seeded order, per source split; drawn without replacement.
        var pools: [FashionMNIST.Split: [Int]] = [:]
        for (split, samples) in [(FashionMNIST.Split.train, train), (.test, test)] {
            pools[split] = (0..<samples.count).filter { sourceClasses.contains(Int(samples.labels[$0])) }.shuffled(using: &generator)
        }
        var csv = ""
        for partition in [Partition.train, .validation, .test] {
            let split: FashionMNIST.Split = partition == .test ? .test : .train
            let samples = split == .test ? test : train
            for n in 0..<(counts[partition] ?? 0) {
                var slots = (0..<2).map { _ in Double.random(in: 0..<1, using: &generator) < fill }
                if !slots.contains(true) { slots[Int.random(in: 0..<2, using: &generator)] = true }
                var pixels = [UInt8](repeating: 0, count: 28 * 56)
                var shown: [String] = []
                for (slot, filled) in slots.enumerated() where filled {
                    guard let item = pools[split]?.popLast() else { throw IDXError.malformed(path: source.path, reason: "too few images of the four classes for \(n + 1) pairs") }
                    let image = samples.image(item)
                    for row in 0..<28 {
                        for column in 0..<28 { pixels[row * 56 + slot * 28 + column] = image[image.startIndex + row * 28 + column] }
                    }
                    let label = labels[sourceClasses.firstIndex(of: Int(samples.labels[item]))!]
                    if !shown.contains(label) { shown.append(label) }
                }
                let name = "images/\(partition.rawValue.lowercased())-\(n).png"
                try Data(PNGEncoder.encode(Image(width: 56, height: 28, channels: 1, pixels: pixels)))
                    .write(to: output.appendingPathComponent(name))
                csv += "\(partition.rawValue),\(name),\(shown.sorted().joined(separator: ","))\n"
            }
        }
        let manifest = output.appendingPathComponent("manifest.csv")
        try Data(csv.utf8).write(to: manifest, options: .atomic)
        return manifest
    }
}
