import ManifestParsing

/// Parses the input as an AutoML Vision manifest, single- and multi-label. A field names an image when
/// it has an image file's extension (the importer asks the file system instead; the parser only needs
/// a yes or no). Any input may be refused with `ManifestError`; none may crash, and every row and
/// rejection must carry a line number within the text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    // Lines end in LF, CRLF or a lone CR (as the CSV reader reads them).
    let lines = 1 + bytes.indices.filter { bytes[$0] == 0x0A || (bytes[$0] == 0x0D && bytes.indices.last != $0 && bytes[$0 + 1] != 0x0A) }.count
        + (bytes.last == 0x0D ? 1 : 0)
    for multiLabel in [false, true] {
        let parser = ManifestParser(multiLabel: multiLabel, isImageReference: namesImage)
        guard let parsed = try? parser.parse(bytes) else { continue }
        var previous = 0
        for row in parsed.rows {
            precondition(row.line > previous && row.line <= lines, "row line \(row.line) after \(previous), of \(lines)")
            precondition(!row.path.isEmpty, "a row without a path")
            precondition(multiLabel || row.labels.count <= 1, "several labels in a single-label manifest")
            previous = row.line
        }
        for rejected in parsed.rejected {
            precondition(rejected.line >= 1 && rejected.line <= lines, "rejected line \(rejected.line) of \(lines)")
        }
        precondition(parsed.rows.count + parsed.rejected.count == parsed.rowsRead, "rows read do not add up")
    }
    return 0
}

@Sendable func namesImage(_ field: String) -> Bool {
    let lowered = field.lowercased()
    return [".png", ".jpg", ".jpeg"].contains { lowered.hasSuffix($0) }
}
