import SystemZlib
import Foundation

/// Errors reading the IDX files of a Fashion-MNIST / MNIST distribution.
public enum IDXError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist; `hint` says which package provides it.
    case missing(path: String, hint: String)
    /// The file is not an IDX file of the expected kind, or is cut short.
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(path, hint): "\(path) not found. \(hint)"
        case let .malformed(path, reason): "\(path) is not a valid IDX file: \(reason)"
        }
    }
}

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) as shipped by the Debian package
/// `dataset-fashion-mnist`: gzip-compressed IDX files under `/usr/share/datasets/fashion-mnist`.
///
/// IDX format (LeCun's MNIST page): big-endian magic `0x00000803` (images: UInt8, 3 dimensions
/// `[N, 28, 28]`) or `0x00000801` (labels: UInt8, `[N]`), then the dimension sizes as UInt32, then the data.
public enum FashionMNIST {
    /// Where the Debian package installs the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// Class names in label order (index = IDX label value), as in the dataset's README.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Image side in pixels.
    public static let side = 28

    /// The official training set (60,000 images) or test set (10,000 images).
    public enum Split: Sendable { case train, test }

    /// Images and labels of one split.
    public struct Samples: Sendable {
        /// `count` grayscale images, row-major, `[N, 28, 28]`, values 0–255.
        public var images: [UInt8]
        /// `count` labels in 0..<10, indices into `classNames`.
        public var labels: [UInt8]
        public var count: Int { labels.count }

        /// Pixels of image `index`, `28 × 28` bytes.
        public func image(_ index: Int) -> ArraySlice<UInt8> {
            let size = FashionMNIST.side * FashionMNIST.side
            return images[index * size ..< (index + 1) * size]
        }
    }

    /// Loads one split.
    /// - Throws: `IDXError.missing` when the package is not installed, `IDXError.malformed` for a bad file.
    public static func load(_ split: Split, directory: URL = defaultDirectory) throws -> Samples {
        let prefix = split == .train ? "train" : "t10k"
        let imagesURL = directory.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz")
        let labelsURL = directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz")
        let images = try readIDX(imagesURL, expectedMagic: 0x0000_0803)
        let labels = try readIDX(labelsURL, expectedMagic: 0x0000_0801)
        guard images.dimensions.count == 3, images.dimensions[1] == side, images.dimensions[2] == side else {
            throw IDXError.malformed(path: imagesURL.path, reason: "expected [N, 28, 28] images, found \(images.dimensions)")
        }
        guard labels.dimensions == [images.dimensions[0]] else {
            throw IDXError.malformed(path: labelsURL.path, reason: "\(labels.dimensions) labels for \(images.dimensions[0]) images")
        }
        if let bad = labels.data.first(where: { Int($0) >= classNames.count }) {
            throw IDXError.malformed(path: labelsURL.path, reason: "label \(bad) out of range 0..<10")
        }
        return Samples(images: images.data, labels: labels.data)
    }

    /// Reads a (gzip-compressed or plain) IDX file of UInt8 values.
    static func readIDX(_ url: URL, expectedMagic: UInt32) throws -> (dimensions: [Int], data: [UInt8]) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw IDXError.missing(path: url.path, hint: "Install it with: sudo apt-get install dataset-fashion-mnist")
        }
        // zlib's gz* API reads gzip and plain files alike.
        guard let file = gzopen(url.path, "rb") else {
            throw IDXError.malformed(path: url.path, reason: "cannot open")
        }
        defer { gzclose(file) }
        func read(_ count: Int) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let chunk = UInt32(min(count - filled, 1 << 30))
                let got = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + filled, chunk) }
                if got <= 0 { throw IDXError.malformed(path: url.path, reason: "cut short (\(filled) of \(count) bytes)") }
                filled += Int(got)
            }
            return buffer
        }
        func bigEndian(_ bytes: [UInt8]) -> UInt32 { bytes.reduce(0) { $0 << 8 | UInt32($1) } }
        let magic = bigEndian(try read(4))
        guard magic == expectedMagic else {
            throw IDXError.malformed(path: url.path, reason: String(format: "magic 0x%08x, expected 0x%08x", magic, expectedMagic))
        }
        let rank = Int(expectedMagic & 0xFF)
        var dimensions: [Int] = []
        for _ in 0..<rank { dimensions.append(Int(bigEndian(try read(4)))) }
        let count = dimensions.reduce(1, *)
        guard count < 1 << 31 else { throw IDXError.malformed(path: url.path, reason: "dimensions \(dimensions) too large") }
        return (dimensions, try read(count))
    }
}
