#!/usr/bin/env bash
# The main job on the default dataset: installs what is missing, builds, prepares Fashion-MNIST
# from the Debian package as an AutoML Vision manifest, and imports it.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build -c release --product autovision
bin=.build/release/autovision
if [ ! -f Datasets/fashion-mnist/manifest.csv ]; then
  "$bin" datasets prepare fashion-mnist --output Datasets/fashion-mnist
fi
"$bin" import Datasets/fashion-mnist/manifest.csv
