#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
# Release mode: the numeric tests are 10–100× slower in debug builds; -enable-testing keeps
# @testable imports working.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build -c release -Xswiftc -enable-testing --build-tests
swift test -c release -Xswiftc -enable-testing --skip-build --parallel "$@"
