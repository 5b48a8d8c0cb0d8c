#!/usr/bin/env bash
# A worker on "another machine" (issue 21, item 6), end to end: a network namespace of its own, joined
# to this one by a veth link only, and a mount namespace in which this script's whole scratch folder
# (the server's jobs folder, the first worker's cache and the dataset's images) is hidden under an
# empty tmpfs. A `train --store` job starts on this machine; once its first trial has finished its
# worker is killed (SIGKILL), and the namespaced worker, which shares nothing but PostgreSQL over the
# veth link, must take the job after the lease expires and finish it: trials numbered 1…n with none
# lost or counted twice, some of them its own, and a model the server here serves. Then a zip and a CSV
# manifest uploaded to the server are imported, and a job trained, by that worker alone.
# Needs root (ip netns, mount); about two minutes.  Usage: Scripts/netns-worker.sh  (after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(pwd)/.build/release/autovision
[ -x "$bin" ] || { echo "netns-worker.sh: build first (swift build -c release)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "netns-worker.sh: needs root (ip netns, mount namespaces)" >&2; exit 1; }
command -v ip >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >&2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/autovision-netns.XXXXXX")
chmod 755 "$scratch"
# One /30 per run, from the PID, so two runs at once do not collide.
net=$(( $$ % 250 + 2 )) ns=avw$$ host_if=avh$$ ns_if=avn$$
host_ip=10.231.$net.1 ns_ip=10.231.$net.2
server_pid="" train_pid="" worker_pid=""
cleanup() {
  for pid in $worker_pid $train_pid $server_pid; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  Scripts/postgres.sh stop "$scratch/pg" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "netns-worker.sh: $*" >&2; for log in train worker; do echo "--- $log" >&2; tail -n 15 "$scratch/$log.log" >&2 || true; done; exit 1; }

# The link: this namespace holds PostgreSQL and the server; the worker's namespace has the veth and lo.
ip netns add "$ns"
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$host_ip/30" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

# PostgreSQL listening on loopback and on the link, trusting the worker's address.
cluster=$(POSTGRES_LISTEN="127.0.0.1,$host_ip" Scripts/postgres.sh start "$scratch/pg")
port=${cluster##*:}; port=${port%%/*}
echo "host all all $ns_ip/32 trust" >>"$scratch/pg/data/pg_hba.conf"
psql "$cluster" -qAtc "SELECT pg_reload_conf()" >/dev/null
source Scripts/lib/job-on-postgres.sh
create_store "$cluster"
remote_store=postgres://autovision@$host_ip:$port/autovision
start_job 40s
wait_for_first_trial
# The first machine dies: its worker (a child of `train`) and `train`, both with SIGKILL.
pkill -9 -P "$train_pid" || true
kill -9 "$train_pid"; wait "$train_pid" 2>/dev/null || true; train_pid=""
trials=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job" | python3 -c 'import json, sys; print(json.load(sys.stdin)["trials_done"])')
echo "netns-worker.sh: killed the first worker after trial $trials of job $job" >&2

# The second machine: the veth link is its only way out, and this machine's files are not there.
ip netns exec "$ns" unshare --mount --propagation private bash -c '
  set -e
  mount -t tmpfs tmpfs "$1"
  [ -z "$(ls -A "$1")" ] || { echo "the scratch folder is not hidden" >&2; exit 3; }
  ! python3 -c "import socket; socket.create_connection((\"127.0.0.1\", $4), 2)" 2>/dev/null \
    || { echo "the worker reaches this machine by loopback" >&2; exit 4; }
  mkdir "$1/cache"
  exec "$2" worker --store "$3" --jobs-dir "$1/cache"
' netns-worker "$scratch" "$bin" "$remote_store" "$port" >"$scratch/worker.out" 2>"$scratch/worker.log" &
worker_pid=$!

# wait_for_job: sets `state` once job `job` has ended (at most 2 minutes), while the namespaced worker lives.
wait_for_job() {
  state=""
  for _ in $(seq 1 480); do
    kill -0 "$worker_pid" 2>/dev/null || fail "the namespaced worker exited"
    state=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])' || true)
    case "$state" in succeeded|failed|cancelled) return ;; esac
    sleep 0.25
  done
}
# wait_for_import ID: prints "STATE IMAGES" of dataset ID once its import has ended (at most a minute).
wait_for_import() {
  local answer=""
  for _ in $(seq 1 240); do
    answer=$(curl -fsS "http://127.0.0.1:$api/v1/datasets/$1" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["state"], d.get("images"))' || true)
    [ "${answer% *}" = importing ] || break
    sleep 0.25
  done
  echo "$answer"
}

wait_for_job
[ "$state" = succeeded ] || fail "the job did not succeed on the namespaced worker (state: ${state:-none})"
show=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job")
trial_list=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job/trials")
python3 - "$show" "$trial_list" "$trials" <<'PY' || fail "the job's record is wrong"
import json, sys
job, trials, before = json.loads(sys.argv[1]), json.loads(sys.argv[2])["trials"], int(sys.argv[3])
ids = [t["id"] for t in trials]
assert ids == list(range(1, len(ids) + 1)) and job["trials_done"] == len(ids), (ids, job["trials_done"])
assert len(ids) > before, f"no trial after the first worker died ({len(ids)} in all, {before} before)"
# Each trial names its worker: one before the kill, another (the namespaced one) after.
first, second = {t.get("worker") for t in trials[:before]}, {t.get("worker") for t in trials[before:]}
assert len(first) == 1 and len(second) == 1 and None not in first | second and first != second, (first, second)
print(f"netns-worker.sh: job {job['id']} succeeded: trials 1-{before} on this machine, {before + 1}-{len(ids)} "
      f"on the namespaced worker; TEST {job['test_accuracy']:.4f}, {job['used_seconds']:.1f} s of {job['budget_seconds']:.0f} s",
      file=sys.stderr)
PY
grep -q "trial" "$scratch/worker.log" || fail "the namespaced worker's log shows no trial"
curl -fsS -o /dev/null -XPOST -H 'Content-Type: image/png' \
  --data-binary @"$(find "$scratch/data/fm" -name '*.png' | head -1)" \
  "http://127.0.0.1:$api/v1/models/$job/predict" || fail "the server here does not serve the model trained there"

# A zip uploaded to the server: the namespaced worker, the only one, imports it from the store (the
# server's copy of it is hidden there), and trains a job on it from the decoded images the import kept.
# Then a CSV manifest of the server's data root, whose images are hidden there too.
python3 - "$scratch/data/fm" "$scratch/fm.zip" <<'PY'
import os, sys, zipfile
folder, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for base, _, files in os.walk(folder):
        for name in files:
            z.write(os.path.join(base, name), os.path.relpath(os.path.join(base, name), folder))
PY
dataset=$(curl -fsS -XPOST -H 'Content-Type: application/zip' --data-binary @"$scratch/fm.zip" \
  "http://127.0.0.1:$api/v1/datasets?name=zipped" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') \
  || fail "the server refused the zip"
dataset_state=$(wait_for_import "$dataset")
[ "${dataset_state% *}" = ready ] || fail "the zip's import did not end ready on the namespaced worker (state: ${dataset_state:-none})"
thumbnail=$(curl -fsS "http://127.0.0.1:$api/v1/datasets/$dataset/images?page_size=1" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["images"][0]["thumbnail"])') \
  || fail "the server does not list the images the namespaced worker imported"
curl -fsS -o /dev/null "http://127.0.0.1:$api$thumbnail" || fail "no thumbnail of an image imported there"
# A CSV manifest of the server's data root travels the same way.
csv_dataset=$(curl -fsS -XPOST -H 'Content-Type: text/csv' --data-binary @"$scratch/data/fm/manifest.csv" \
  "http://127.0.0.1:$api/v1/datasets?root=$scratch/data/fm" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') \
  || fail "the server refused the CSV manifest"
dataset_state=$(wait_for_import "$csv_dataset")
rows=$(grep -c . "$scratch/data/fm/manifest.csv")
[ "$dataset_state" = "ready $rows" ] || fail "the CSV manifest's import did not end ready with its $rows images on the namespaced worker (${dataset_state:-none})"
job=$(curl -fsS -XPOST -H 'Content-Type: application/json' -d "{\"dataset_id\": \"$dataset\", \"budget\": \"20s\"}" \
  "http://127.0.0.1:$api/v1/jobs" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') || fail "no job on the zipped dataset"
wait_for_job
[ "$state" = succeeded ] || fail "the job on the zipped dataset did not succeed on the namespaced worker (state: ${state:-none})"
grep -q "opening the decoded images of dataset $dataset" "$scratch/worker.log" || fail "the job imported its dataset again"
echo "netns-worker.sh: datasets $dataset (a zip uploaded to the server) and $csv_dataset (a CSV manifest of its data root) imported, and job $job trained, on the namespaced worker" >&2
echo "netns-worker.sh: passed" >&2
