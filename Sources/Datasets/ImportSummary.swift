import Foundation
import ImageIO
import ManifestParsing

/// The pixel size every image is brought to for training.
///
/// Policy: when every image has the same size and neither side exceeds 128 pixels, the native
/// size is kept (Fashion-MNIST stays 28×28). Otherwise each image is letterboxed to
/// `workingSize × workingSize` (default 64): resized with an antialiasing filter so its longer side
/// fits, and the shorter side padded symmetrically to a square (see `ImageResize.letterbox` for the
/// fill), so nothing near the edges of a wide or tall image is cut off. Images have one channel when
/// every source is grayscale, else three.
///
/// `fit` records how resized images were fitted. Imports before it existed centre-cropped to a
/// square, so a stored value without `fit` (dataset caches, checkpoints' `working_resolution`,
/// import summaries) decodes as `.centerCrop`, and those models keep being served that way.
public struct WorkingResolution: Codable, Sendable, Equatable {
    /// How a resized image is made square: `.letterbox` (the default for new imports) or
    /// `.centerCrop` (every import before letterboxing). Ignored when the native size is kept.
    public typealias Fit = ImageFit

    public var width: Int
    public var height: Int
    public var channels: Int
    /// `false` when the native size is kept.
    public var resized: Bool
    public var fit: Fit

    enum CodingKeys: String, CodingKey { case width, height, channels, resized, fit }

    public init(width: Int, height: Int, channels: Int, resized: Bool, fit: Fit = .letterbox) {
        self.width = width
        self.height = height
        self.channels = channels
        self.resized = resized
        self.fit = fit
    }

    /// Decodes `fit` when present; a value written before `fit` existed was centre-cropped.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        width = try container.decode(Int.self, forKey: .width)
        height = try container.decode(Int.self, forKey: .height)
        channels = try container.decode(Int.self, forKey: .channels)
        resized = try container.decode(Bool.self, forKey: .resized)
        fit = try container.decodeIfPresent(Fit.self, forKey: .fit) ?? .centerCrop
    }

    /// How an image of another size than this one is fitted: `fit` when the import resized its
    /// images; letterboxed when it kept their native size (every training image already this size),
    /// so a native-size model reads any other size as the import would have fitted it.
    public var fitOfOtherSizes: ImageFit { resized ? fit : .letterbox }

    public static func choose(for images: [ImportedImage], workingSize: Int) -> WorkingResolution {
        let channels = images.allSatisfy(\.isGrayscale) ? 1 : 3
        if let first = images.first,
           images.allSatisfy({ $0.width == first.width && $0.height == first.height }),
           first.width <= 128, first.height <= 128 {
            return WorkingResolution(width: first.width, height: first.height, channels: channels, resized: false, fit: .letterbox)
        }
        return WorkingResolution(width: workingSize, height: workingSize, channels: channels, resized: true, fit: .letterbox)
    }
}

/// What an import did, for people (`render()`) and machines (JSON, stable keys in snake_case).
public struct ImportSummary: Codable, Sendable {
    public var manifest: String
    public var manifestSHA256: String
    public var multiLabel: Bool
    /// Data rows read (blank lines and a recognised header excluded).
    public var rows = 0
    /// Rows that contributed to the dataset (collapsed duplicates included).
    public var imported = 0
    /// Every rejected row, sorted by line.
    public var rejected: [RejectedRow] = []
    /// Rejected rows counted by kind.
    public var rejectedByReason: [String: Int] = [:]
    /// Distinct images imported, labelled or not.
    public var images = 0
    /// Imported images without a label: counted, not trained on.
    public var unlabeled = 0
    /// Images whose partition was chosen by content hash (no set, or UNASSIGNED).
    public var autoAssigned = 0
    /// Labels in sorted order.
    public var labels: [String] = []
    /// `partitions["TRAIN"]["cat"]` = number of TRAIN images labelled `cat`.
    public var partitions: [String: [String: Int]] = [:]
    public var working: WorkingResolution?
    public var warnings: [String] = []
    public var notices: [String] = []
    /// Wall-clock seconds spent importing (timed apart from any training budget).
    public var importSeconds = 0.0
    /// Set when a decoded-dataset cache was written or reused.
    public var cache: String?
    public var cacheReused = false

    enum CodingKeys: String, CodingKey {
        case manifest, manifestSHA256 = "manifest_sha256", multiLabel = "multi_label", rows, imported, rejected
        case rejectedByReason = "rejected_by_reason", images, unlabeled, autoAssigned = "auto_assigned", labels, partitions
        case working, warnings, notices, importSeconds = "import_seconds", cache, cacheReused = "cache_reused"
    }

    init(manifest: String, manifestSHA256: String, multiLabel: Bool) {
        self.manifest = manifest
        self.manifestSHA256 = manifestSHA256
        self.multiLabel = multiLabel
    }

    /// Label counts per partition and the dataset-level warnings.
    mutating func finish(images: [ImportedImage], options: ImportOptions) {
        rejectedByReason = rejected.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
        self.images = images.count
        autoAssigned = images.filter(\.autoAssigned).count
        let labelled = images.filter { !$0.labels.isEmpty }
        let unlabeledImages = images.filter { $0.labels.isEmpty }
        unlabeled = unlabeledImages.count
        if !unlabeledImages.isEmpty {
            warnings.append("\(unlabeled) image(s) have no label and will not be used for training (\(describeLines(unlabeledImages.map(\.line))))")
        }
        labels = Set(labelled.flatMap(\.labels)).sorted()
        var counts: [Partition: [String: Int]] = [:]
        var linesByLabel: [Partition: [String: [Int]]] = [:]
        for partition in Partition.allCases { counts[partition] = Dictionary(uniqueKeysWithValues: labels.map { ($0, 0) }) }
        for image in labelled {
            for label in image.labels {
                counts[image.partition]![label]! += 1
                linesByLabel[image.partition, default: [:]][label, default: []].append(image.line)
            }
        }
        partitions = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        guard !labelled.isEmpty else { return }
        working = WorkingResolution.choose(for: labelled, workingSize: options.workingSize)

        let nonPortable = labels.filter { label in
            label.count > 32 || !label.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || CharacterSet.alphanumerics.contains($0)) }
        }
        if !nonPortable.isEmpty {
            warnings.append("label(s) \(nonPortable.map { "'\($0)'" }.joined(separator: ", ")) would be refused by Google AutoML "
                + "(at most 32 characters of [A-Za-z0-9_]); they work here, but the manifest is not portable")
        }
        let train = counts[.train]!
        var few: [String] = []
        for label in labels {
            let trainCount = train[label]!
            if trainCount == 0 {
                let elsewhere = Partition.allCases.compactMap { linesByLabel[$0]?[label] }.flatMap { $0 }
                warnings.append("label '\(label)' has no TRAIN images (\(describeLines(elsewhere))): it cannot be learned: "
                    + "the model will never predict it, and its VALIDATION/TEST images count as errors")
            } else if trainCount < options.minTrainImagesPerLabel {
                few.append("'\(label)' \(trainCount) (\(describeLines(linesByLabel[.train]![label]!)))")
            }
        }
        if !few.isEmpty {
            warnings.append("fewer than \(options.minTrainImagesPerLabel) TRAIN images for label(s) \(few.joined(separator: ", ")); "
                + "100 or more per label are recommended for good accuracy")
        }
        for partition in [Partition.validation, .test] {
            let total = counts[partition]!.values.reduce(0, +)
            if total == 0 {
                warnings.append("\(partition.rawValue) is empty: training will carve it from TRAIN deterministically "
                    + "(by content hash, 10 % of TRAIN)")
                continue
            }
            let absent = labels.filter { counts[partition]![$0]! == 0 && train[$0]! > 0 }
            if !absent.isEmpty {
                warnings.append("label(s) \(absent.map { "'\($0)'" }.joined(separator: ", ")) absent from \(partition.rawValue)")
            }
        }
        let trained = labels.map { train[$0]! }.filter { $0 > 0 }
        if let most = trained.max(), let least = trained.min(), Double(most) > options.imbalanceRatio * Double(least) {
            let big = labels.filter { train[$0]! == most }, small = labels.filter { train[$0]! == least }
            warnings.append("heavy class imbalance in TRAIN: '\(big[0])' has \(most) images, '\(small[0])' \(least) "
                + "(ratio \(most / max(least, 1)):1); consider more images for the small classes")
        }
        // Leakage: the same bytes in two partitions (files with different names).
        var partitionsByHash: [String: [(Partition, ImportedImage)]] = [:]
        for image in images { partitionsByHash[image.contentHash, default: []].append((image.partition, image)) }
        var leaks: [String] = []
        var sameContent: [String] = []
        for group in partitionsByHash.values where group.count > 1 {
            let description = group.map { "\($0.1.reference) (line \($0.1.line), \($0.0.rawValue))" }.joined(separator: ", ")
            if Set(group.map(\.0)).count > 1 { leaks.append(description) } else { sameContent.append(description) }
        }
        if !leaks.isEmpty {
            warnings.append("the same image content appears in more than one partition (leakage inflates VALIDATION/TEST scores): "
                + leaks.sorted().prefix(5).joined(separator: "; ") + (leaks.count > 5 ? "; and \(leaks.count - 5) more" : ""))
        }
        if !sameContent.isEmpty {
            notices.append("identical image files under different names: " + sameContent.sorted().prefix(5).joined(separator: "; ")
                + (sameContent.count > 5 ? "; and \(sameContent.count - 5) more" : ""))
        }
    }

    /// A terminal summary: label counts per partition, rows read / imported / rejected by reason,
    /// then each rejected row, warnings and notices.
    public func render(maxRejectedShown: Int = 50) -> String {
        var out = "Manifest \(manifest)\n"
        out += "  \(rows) rows read, \(imported) imported, \(rejected.count) rejected"
        out += "; \(images) images (\(unlabeled) unlabeled, \(autoAssigned) split automatically 80/10/10)"
        out += multiLabel ? "; multi-label\n" : "; single-label\n"
        if let working {
            out += "  working resolution \(working.width)×\(working.height), \(working.channels) channel\(working.channels == 1 ? "" : "s")"
            out += !working.resized ? " (native size)\n"
                : working.fit == .letterbox ? " (letterboxed: resized to fit, padded to a square)\n"
                : " (centre-cropped and resized)\n"
        }
        if !labels.isEmpty {
            let width = max(5, labels.map(\.count).max()!)
            let columns = Partition.allCases.map(\.rawValue) + ["total"]
            func row(_ name: String, _ values: [Int]) -> String {
                name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + zip(columns, values).map { "  " + String(repeating: " ", count: max(0, $0.0.count - String($0.1).count)) + String($0.1) }.joined()
            }
            out += "\n" + "label".padding(toLength: width, withPad: " ", startingAt: 0) + columns.map { "  " + $0 }.joined() + "\n"
            var totals = [Int](repeating: 0, count: 4)
            for label in labels {
                let values = Partition.allCases.map { partitions[$0.rawValue]?[label] ?? 0 }
                let all = values + [values.reduce(0, +)]
                for i in 0..<4 { totals[i] += all[i] }
                out += row(label, all) + "\n"
            }
            out += row("total", totals) + "\n"
        }
        if !rejected.isEmpty {
            out += "\nRejected rows by reason: "
                + rejectedByReason.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
            for row in rejected.prefix(maxRejectedShown) { out += "  line \(row.line): \(row.path): \(row.reason)\n" }
            if rejected.count > maxRejectedShown { out += "  … and \(rejected.count - maxRejectedShown) more (see --json)\n" }
        }
        if !warnings.isEmpty { out += "\nWarnings:\n" + warnings.map { "  - \($0)\n" }.joined() }
        if !notices.isEmpty { out += "\nNotes:\n" + notices.map { "  - \($0)\n" }.joined() }
        return out
    }
}

extension Image {
    /// This image brought to the working resolution `resolution` (`fitted(width:height:channels:fit:)`
    /// with `resolution.fitOfOtherSizes`): an image of another size is letterboxed, or centre-cropped
    /// for resolutions stored before letterboxing (`fit == .centerCrop`); then its channels are converted.
    /// - Returns: an image of `resolution.width × resolution.height × resolution.channels`.
    /// - Precondition: the image is not empty (decoders never return an empty image).
    public func fitted(to resolution: WorkingResolution) -> Image {
        fitted(width: resolution.width, height: resolution.height, channels: resolution.channels, fit: resolution.fitOfOtherSizes)
    }
}
