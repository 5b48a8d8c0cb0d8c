// swift-tools-version: 6.0
// libFuzzer targets for AutoVision's parsers of untrusted input, one executable each. They depend on
// the root package's parsing libraries only (no HTTP, SQL or training code), so a sanitizer build
// stays small. Build and run them with `Scripts/fuzz.sh [SECONDS]` (see FuzzTesting/README.md):
//   swift build -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --scratch-path ../.build-fuzz
import PackageDescription

// A path dependency's identity is its folder's name, which differs between clones (CI clones anywhere).
let root = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "AutoVision"

func fuzzTarget(_ name: String, _ products: String..., extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: products.map { .product(name: $0, package: root) } + extra,
        // libFuzzer supplies `main`; the target's file is a library that exports LLVMFuzzerTestOneInput.
        swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "FuzzTesting",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        // The zip target writes its seeds with it (the root package's own version range).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        fuzzTarget("FuzzImageDecoder", "ImageIO"),
        fuzzTarget("FuzzManifest", "ManifestParsing"),
        fuzzTarget("FuzzVertexJSONL", "ManifestParsing"),
        fuzzTarget("FuzzZip", "ZipExtraction", extra: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        fuzzTarget("FuzzCheckpoint", "NN"),
        fuzzTarget("FuzzPredictionRequest", "PredictionAPI"),
    ]
)
