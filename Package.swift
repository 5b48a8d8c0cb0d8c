// swift-tools-version: 6.0
// AutoVision: a self-hosted AutoML service for image classification.
// Dependencies point downward only (see docs/architecture.md):
//   C system libraries → Tensors → NN → (Training, Search) → JobService → Server → autovision
//   C system libraries → ImageIO → Datasets ↗
//   JobService → Benchmarks (the measurements of `bench`) → autovision
//   JobService → ModelExport (ONNX, Triton, Core ML; swift-protobuf) → Server, autovision
// Parsers of untrusted input sit low, apart from HTTP and SQL, so FuzzTesting/ builds only them:
//   ImageIO, ManifestParsing (→ Datasets), ZipExtraction (→ JobService), NN's Checkpoint, PredictionAPI (→ Server)
import PackageDescription

let package = Package(
    name: "AutoVision",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "autovision", targets: ["autovision"]),
        // The parsers of untrusted input, for the fuzz targets in FuzzTesting/ (which build only these).
        .library(name: "ImageIO", targets: ["ImageIO"]),
        .library(name: "ManifestParsing", targets: ["ManifestParsing"]),
        .library(name: "ZipExtraction", targets: ["ZipExtraction"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "PredictionAPI", targets: ["PredictionAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),  // the protoc-gen-swift of Sources/ModelExport/Generated
    ],
    targets: [
        // C libraries, found through pkg-config; `providers` tell SwiftPM which apt package holds each.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "SystemZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Numerics: tensors and BLAS kernels, and the CRC-32 (zlib's) of the files we write. Knows nothing of images, jobs or HTTP.
        .target(name: "CKernels"),
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels", "SystemZlib"]),
        // Layers, losses, optimizers, checkpoints.
        .target(name: "NN", dependencies: ["Tensors"]),
        // PNG/JPEG decoding to 8-bit pixels; no tensors.
        .target(name: "CImageSupport", dependencies: ["CJPEG"]),
        .target(name: "ImageIO", dependencies: ["CPNG", "CJPEG", "CImageSupport"]),
        // The AutoML Vision manifest grammar: CSV rows to set, path and labels; no file is read. Datasets re-exports it.
        .target(name: "ManifestParsing", dependencies: [.product(name: "CSV", package: "CSV.swift")]),
        // Manifest import, decoded-dataset cache, Fashion-MNIST preparation.
        .target(name: "Datasets", dependencies: [
            "ManifestParsing", "ImageIO", "Tensors", "SystemZlib",
            .product(name: "CSV", package: "CSV.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Energy a job's work used (RAPL counters, or CPU time × watts per core) and its CO2e; reads sysfs and /proc only.
        .target(name: "Energy"),
        // Metrics and the evaluation report (JSON, HTML, terminal); no tensors, images or I/O beyond rendering.
        .target(name: "Evaluation", dependencies: ["Energy"]),
        // Training loop, batches, data splits: turns an ArchitectureSpec and a TrainingConfig into weights.
        .target(name: "Training", dependencies: ["NN", "Tensors", "Datasets", "Evaluation"]),
        // Budgeted architecture search: search space, ASHA with regularized evolution.
        .target(name: "Search", dependencies: ["Training", "NN", "Tensors", "Energy"]),
        // Safe zip extraction with limits, and the layout of an extracted dataset zip. JobService re-exports it.
        .target(name: "ZipExtraction", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // Jobs: the job folder and record, the SQLite job store, the runner, the train pipeline, the predictor. No HTTP.
        .target(name: "JobService", dependencies: [
            "Search", "Training", "Evaluation", "Energy", "Datasets", "ImageIO", "NN", "Tensors", "ZipExtraction",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        // The job store on PostgreSQL (postgres-nio): for workers on more than one machine.
        .target(name: "PostgresStore", dependencies: [
            "JobService", "Search", "Datasets",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The three prediction request shapes (raw, AutoML Vision, Vertex AI JSON), parsed and range-checked; no HTTP.
        .target(name: "PredictionAPI"),
        // Export of a trained job's model to ONNX, a Triton model repository and Core ML; the protobuf
        // messages are generated from the ONNX and Core ML schemas (Scripts/generate-protos.sh).
        .target(name: "ModelExport", dependencies: [
            "JobService", "Datasets", "NN", "Tensors",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        // The HTTP service (Hummingbird 2): routes, problem+json errors, prediction batching.
        .target(name: "Server", dependencies: [
            "JobService", "Datasets", "ImageIO", "Search", "Evaluation", "Energy", "PredictionAPI", "ModelExport", "Tensors", "ManifestParsing",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [.copy("openapi.json"), .copy("Console")]),
        // Measurements of the engine for `autovision bench`: the reference training recipe, in-process
        // prediction rate, the search's cost model against measured epochs.
        .target(name: "Benchmarks", dependencies: ["JobService", "Search", "Training", "Datasets", "NN", "Tensors"]),
        // The command-line tool: argument parsing and printing only.
        .executableTarget(name: "autovision", dependencies: [
            "Benchmarks", "JobService", "ModelExport", "PostgresStore", "Server", "Search", "Training", "Evaluation", "Energy", "Datasets", "ImageIO", "NN", "Tensors",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test helpers: finite-difference gradient checks, per-process scratch folders. Only test targets use it.
        .target(name: "TestSupport", dependencies: ["NN", "Tensors"]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImageIOTests", dependencies: [
            "ImageIO", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "DatasetsTests", dependencies: [
            "Datasets", "ImageIO", "Tensors", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "PredictionAPITests", dependencies: ["PredictionAPI"]),
        .testTarget(name: "JobServiceTests", dependencies: ["JobService", "Energy", "Evaluation", "PostgresStore", "Search", "Training", "Datasets", "ImageIO", "NN", "TestSupport"]),
        // Also runs the built executable (a CLI job cancelled and killed under the server); depends on it so it is built first.
        .testTarget(name: "ServerTests", dependencies: [
            "autovision", "Server", "JobService", "Energy", "PostgresStore", "Search", "Datasets", "ImageIO", "ManifestParsing", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "ModelExportTests", dependencies: ["ModelExport", "Datasets", "NN", "Tensors", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Datasets", "NN", "TestSupport"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "Training", "Datasets", "NN", "Tensors"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Energy"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EnergyTests", dependencies: ["Energy", "TestSupport"]),
        // Runs the built executable as a user does; depends on it so it is built first.
        .testTarget(name: "CLITests", dependencies: ["autovision"]),
    ]
)
