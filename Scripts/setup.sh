#!/usr/bin/env bash
# Installs what AutoVision needs on a Debian machine: the C libraries it links (OpenBLAS, libpng, SQLite,
# libjpeg-turbo, zlib), pkg-config to find them, and the Fashion-MNIST package. Idempotent.
set -euo pipefail
packages=(pkg-config libopenblas-dev libpng-dev libjpeg-dev zlib1g-dev libsqlite3-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
command -v swift >/dev/null || { echo "setup: Swift 6 toolchain not found on PATH" >&2; exit 1; }
