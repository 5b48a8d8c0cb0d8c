import ManifestParsing

/// Turns the input into a CSV manifest as a Vertex AI JSON Lines import, then parses that, single- and
/// multi-label. None may crash; the manifest has exactly the input's lines (split at LF), so every row
/// and rejection carries a line number within the input's.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVertexJSONL(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let csv = VertexJSONL.csvManifest(bytes)
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
    precondition(csv.split(separator: 0x0A, omittingEmptySubsequences: false).count == lines, "the manifest has other lines than the input")
    precondition(!csv.contains(0x0D), "a carriage return in the manifest would be a line break of its own")
    for multiLabel in [false, true] {
        let parser = ManifestParser(multiLabel: multiLabel, isImageReference: { _ in true })
        guard let parsed = try? parser.parse(csv) else { continue }
        for row in parsed.rows { precondition(row.line >= 1 && row.line <= lines, "row line \(row.line) of \(lines)") }
        for rejected in parsed.rejected { precondition(rejected.line >= 1 && rejected.line <= lines, "rejected line \(rejected.line) of \(lines)") }
    }
    return 0
}
