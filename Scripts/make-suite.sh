#!/usr/bin/env bash
# Builds the dataset suite (Datasets/README.md) into Datasets/NAME/ and checks each dataset against
# Datasets/suite.sha256. Usage: Scripts/make-suite.sh [--record] [NAME…]   (default: every dataset)
# Installs the Debian packages the named sets need (sudo when not root) and a venv, .venv-suite,
# with the pinned PyPI packages of Scripts/suite/requirements.txt. Exit status 3: a checksum differs.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=""

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "make-suite: installing ${missing[*]}" >&2
  [ -n "$updated" ] || { $sudo apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

venv=.venv-suite
requirements=Scripts/suite/requirements.txt
python3 -m venv --help >/dev/null 2>&1 || install_missing python3-venv
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "make-suite: creating $venv with $(grep -c '==' "$requirements") pinned packages" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi

names=()
for arg in "$@"; do [ "$arg" = --record ] || names+=("$arg"); done
packages=$("$venv/bin/python" Scripts/make_suite.py packages "${names[@]}")
[ -z "$packages" ] || install_missing $packages
exec "$venv/bin/python" Scripts/make_suite.py build "$@"
