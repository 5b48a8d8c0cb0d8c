#!/usr/bin/env bash
# Installs the peer of Scripts/bench-peers.sh into a venv (default .venv-peers, git-ignored; PEERS_VENV
# overrides): AutoKeras 3.0.0 on Keras 3 with the torch backend, every version pinned. Idempotent: a
# venv holding exactly these pins is left alone. Needs only PyPI.
#
# - keras 3.9.2: AutoKeras 3.0.0 needs keras < 3.10 (the last 3.9 release); six is needed too.
# - torch 2.15.0 from PyPI (PEERS_TORCH overrides). PyPI's Linux x86_64 wheel is the CUDA build: it
#   pulls nvidia-* and cuda-toolkit wheels (~5.3 GB in the venv, ~2 minutes) and runs on the CPU
#   without a GPU; torch refuses to import when those libraries are left out (--no-deps), so they stay.
#   PyPI has no CPU-only Linux wheel, and torch's own CPU index is not reachable here. Where pip's
#   configuration already offers a CPU-only wheel (this machine image ships 2.13.0+cpu in /opt/wheels),
#   PEERS_TORCH=2.13.0+cpu gives a 1 GB venv; the benchmark records the torch version it ran on.
# - /usr/bin/time (Debian's `time`) measures wall time and peak RSS of every run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PEERS_VENV:-.venv-peers}
requirements=("torch==${PEERS_TORCH:-2.15.0}" "keras==3.9.2" "autokeras==3.0.0" "keras-tuner==1.4.8" "six==1.17.0"
              "pillow==13.0.0" "numpy==2.4.6")
stamp="$venv/.peers-requirements"
if [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq time >&2
fi
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${requirements[*]}" ]; then
  exit 0
fi
echo "setup-peers: installing ${requirements[*]} into $venv (torch from PyPI takes a few minutes)" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install -q "${requirements[@]}" >&2
KERAS_BACKEND=torch "$venv/bin/python" -c '
import autokeras, keras, torch
assert keras.backend.backend() == "torch", keras.backend.backend()
print(f"setup-peers: autokeras {autokeras.__version__}, keras {keras.__version__} (torch backend), torch {torch.__version__}")' >&2
echo "${requirements[*]}" > "$stamp"
