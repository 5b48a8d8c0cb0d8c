/// What an extracted zip holds: one CSV manifest, or one folder per label.
///
/// - a manifest: exactly one `.csv` at the top level of the zip, or in its single top-level folder;
/// - one folder per label (AutoML's other import mode): `LABEL/…/image.png`; a folder holding only label
///   folders (`dataset/LABEL/image.png`) works too, and so does a single top-level label folder.
public enum ZipLayout: Equatable, Sendable {
    /// The manifest's path (relative to the extraction folder).
    case manifest(String)
    /// Images by label folder: `base` (empty or one folder) holds the label folders; `path` is relative to it.
    /// `ignored` lists the files outside the label folders (and CSVs below the top level).
    case folders(base: String, rows: [Row], ignored: [String])

    /// One image of a label folder.
    public struct Row: Equatable, Sendable {
        /// Relative to the layout's `base`, `/`-separated.
        public var path: String
        /// The label folder's name.
        public var label: String

        public init(path: String, label: String) {
            self.path = path
            self.label = label
        }
    }

    /// Finds the layout of a zip from the paths of its files (relative, `/`-separated, no empty
    /// components: as `ZipExtractor.extract` returns them).
    /// - Throws: `ZipUploadError.severalManifests` or `.noDataset`.
    public static func of(_ files: [String]) throws(ZipUploadError) -> ZipLayout {
        let split = files.map { $0.split(separator: "/").map(String.init) }
        // A single top-level folder holding everything (a zipped folder) is looked into.
        let firsts = Set(split.map { $0[0] })
        let base = firsts.count == 1 && split.allSatisfy({ $0.count > 1 }) ? firsts.first! : ""
        let baseDepth = base.isEmpty ? 0 : 1
        let isCSV = { (name: String) in name.lowercased().hasSuffix(".csv") }
        let manifests = split.filter { $0.count == baseDepth + 1 && isCSV($0.last!) }.map { $0.joined(separator: "/") }
        if manifests.count == 1 { return .manifest(manifests[0]) }
        if manifests.count > 1 { throw .severalManifests(manifests.sorted()) }

        func folders(depth: Int) -> (rows: [Row], ignored: [String]) {
            var rows: [Row] = []
            var ignored: [String] = []
            for parts in split {
                let relative = parts.dropFirst(depth)
                if relative.count < 2 || isCSV(parts.last!) {
                    ignored.append(parts.joined(separator: "/"))
                } else {
                    rows.append(Row(path: relative.joined(separator: "/"), label: relative.first!))
                }
            }
            return (rows.sorted { $0.path < $1.path }, ignored.sorted())
        }
        var found = folders(depth: baseDepth)
        var folderBase = base
        if found.rows.isEmpty && !base.isEmpty {
            // `LABEL/image.png` with a single label: the top-level folder is the label folder.
            found = folders(depth: 0)
            folderBase = ""
        }
        if found.rows.isEmpty {
            let what = files.isEmpty ? "no files" : "\(files.count) file(s), none inside a folder: \(files.prefix(5).joined(separator: ", "))"
            throw .noDataset(what)
        }
        return .folders(base: folderBase, rows: found.rows, ignored: found.ignored)
    }
}
