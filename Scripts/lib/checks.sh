# What the check scripts share (client-check.sh, export-check.sh, schemathesis.sh): a virtual
# environment of pinned packages, a scratch folder removed on exit, and `autovision serve` on a free
# loopback port, stopped on exit. Source it after `cd` to the repository; it needs `bin` set.

check_name=$(basename "$0" .sh)

# ensure_venv DIR REQUIREMENTS: (re)creates DIR with the pinned wheels of REQUIREMENTS when they changed.
ensure_venv() {
  local venv=$1 requirements=$2
  if ! cmp -s "$requirements" "$venv/requirements.txt"; then
    echo "$check_name: creating $venv with $(grep -c '==' "$requirements") pinned packages" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
    cp "$requirements" "$venv/requirements.txt"
  fi
}

# make_scratch: sets `scratch` to a new folder; it and the server (if started) go on exit.
server=""
make_scratch() {
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/autovision-$check_name.XXXXXX")
  trap stop_scratch EXIT
}
stop_scratch() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}

# new_token: a random API token.
new_token() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

# start_server ARGS…: `autovision serve --host 127.0.0.1 --port PORT ARGS…` with its log in
# $scratch/serve.log; sets `server` (the PID), `port` and `base`, and waits until /healthz answers.
start_server() {
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  "$bin" serve --host 127.0.0.1 --port "$port" "$@" 2>"$scratch/serve.log" &
  server=$!
  for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fs "$base/healthz" >/dev/null || { cat "$scratch/serve.log" >&2; exit 1; }
}

# check_server: exits 1 when the server died; returns 1 when it logged an internal error (a 5xx or a
# crash is a failure even when every client check passed).
check_server() {
  if ! kill -0 "$server" 2>/dev/null; then
    echo "$check_name: the server died" >&2; tail -n 40 "$scratch/serve.log" >&2; exit 1
  fi
  if grep -E "Fatal error|serve: .*internal" "$scratch/serve.log" >&2; then
    echo "$check_name: the server logged internal errors (above)" >&2; return 1
  fi
}
