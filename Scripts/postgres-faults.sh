#!/usr/bin/env bash
# PostgreSQL restarted in the middle of a job (issue 21, item 6), end to end: a server and a `train`
# job's worker on a PostgreSQL cluster of this script's own; once the job's first trial has finished,
# the cluster restarts on the same port (what a failover or an upgrade does to clients). The job must
# succeed with every trial counted once, and the server must answer from the restarted database.
# About a minute.  Usage: Scripts/postgres-faults.sh   (after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "postgres-faults.sh: build first (swift build -c release)" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/autovision-postgres-faults.XXXXXX")
chmod 755 "$scratch"
server_pid="" train_pid=""
cleanup() {
  for pid in $server_pid $train_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  Scripts/postgres.sh stop "$scratch/pg" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "postgres-faults.sh: $*" >&2; tail -n 20 "$scratch/train.log" >&2 || true; exit 1; }

source Scripts/lib/job-on-postgres.sh
cluster=$(Scripts/postgres.sh start "$scratch/pg")
create_store "$cluster"
start_job 30s
wait_for_first_trial
Scripts/postgres.sh restart "$scratch/pg"
echo "postgres-faults.sh: restarted PostgreSQL after trial $trials of job $job" >&2

wait "$train_pid" || fail "the job did not succeed across the restart (train exited $?)"
train_pid=""
show=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job") || fail "the server did not answer from the restarted database"
trial_ids=$(curl -fsS "http://127.0.0.1:$api/v1/jobs/$job/trials" | python3 -c \
  'import json, sys; print(" ".join(str(t["id"]) for t in json.load(sys.stdin)["trials"]))')
python3 - "$show" "$trial_ids" <<'PY' || fail "the job's record is wrong after the restart"
import json, sys
job, ids = json.loads(sys.argv[1]), [int(i) for i in sys.argv[2].split()]
assert job["state"] == "succeeded", job["state"]
assert ids == list(range(1, len(ids) + 1)) and job["trials_done"] == len(ids), (ids, job["trials_done"])
print(f"postgres-faults.sh: job {job['id']} succeeded across the restart: {len(ids)} trials, "
      f"TEST {job['test_accuracy']:.4f}, {job['used_seconds']:.1f} s of {job['budget_seconds']:.0f} s", file=sys.stderr)
PY
curl -fsS -o /dev/null "http://127.0.0.1:$api/v1/models/$job" || fail "the model is not served"
echo "postgres-faults.sh: passed" >&2
