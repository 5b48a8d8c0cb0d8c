#!/usr/bin/env bash
# Regenerates the Swift messages of the export formats (issue 23) from the schemas in Scripts/protos/:
# ONNX (onnx.proto) and Core ML (mlmodel/format/*.proto), into Sources/ModelExport/Generated/. The
# output is committed; run this only when a schema or swift-protobuf changes.
#
# Needs `protoc` (Debian's protobuf-compiler, installed when missing) and builds swift-protobuf's
# `protoc-gen-swift` from the checkout SwiftPM resolved (.build/checkouts/swift-protobuf), so the
# generated code matches the SwiftProtobuf library the package links.
#
#   Scripts/generate-protos.sh
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift Scripts/generate-protos.sh   # skip building the plugin
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null; }
[ -d .build/checkouts/swift-protobuf ] || swift package resolve
plugin=${PROTOC_GEN_SWIFT:-}   # a protoc-gen-swift already built from the same swift-protobuf version
if [ -z "$plugin" ]; then
  # A copy of the checkout, so building it leaves SwiftPM's managed checkout untouched.
  source_copy=.build/protoc-gen-swift/source
  rm -rf "$source_copy" && mkdir -p "$source_copy" && cp -R .build/checkouts/swift-protobuf/. "$source_copy"
  swift build -c release --package-path "$source_copy" --scratch-path .build/protoc-gen-swift/build --product protoc-gen-swift >&2
  plugin=.build/protoc-gen-swift/build/release/protoc-gen-swift
fi

generate() { # generate SCHEMA_DIR OUTPUT_DIR
  local schemas=$1 output=$2
  rm -rf "$output"
  mkdir -p "$output"
  protoc --plugin=protoc-gen-swift="$plugin" -I "$schemas" \
    --swift_opt=Visibility=Internal --swift_opt=FileNaming=DropPath \
    --swift_out="$output" "$schemas"/*.proto
}
generate Scripts/protos/onnx Sources/ModelExport/Generated/ONNX
generate Scripts/protos/coreml Sources/ModelExport/Generated/CoreML
echo "generate-protos.sh: $(find Sources/ModelExport/Generated -name '*.pb.swift' | wc -l) files, $(protoc --version)" >&2
