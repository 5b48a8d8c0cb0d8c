# What the PostgreSQL fault scripts share (postgres-faults.sh, netns-worker.sh): a database on the
# script's own cluster, a server and a `train --store` job on it, and the wait for the job's first
# trial. Source it after `cd` to the repository, with `bin` (the autovision binary) and `scratch` (the
# script's scratch folder) set and a `fail MESSAGE` function defined.

# create_store CLUSTER_URL: creates the database `autovision` on the cluster; sets `store` to its URL.
create_store() {
  psql "$1" -qc "CREATE DATABASE autovision"
  store=${1%/postgres}/autovision
}

# start_job BUDGET: prepares a 200-image Fashion-MNIST slice, serves `store` on a free loopback port
# (with the slice's folder as its data root)
# (sets `api` and `server_pid`) and starts `train` on it (sets `train_pid`; the job's worker is its child).
start_job() {
  "$bin" datasets prepare fashion-mnist --output "$scratch/data/fm" --per-class 20 >/dev/null
  api=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" serve --port "$api" --store "$store" --jobs-dir "$scratch/server" --workers 0 --data-root "$scratch/data" 2>"$scratch/serve.log" &
  server_pid=$!
  "$bin" train "$scratch/data/fm/manifest.csv" --budget "$1" --store "$store" --jobs-dir "$scratch/worker" --json \
    >"$scratch/train.out" 2>"$scratch/train.log" &
  train_pid=$!
}

# wait_for_first_trial: sets `job` (its ID) and `trials` (trials done) once a trial has finished.
wait_for_first_trial() {
  local row=""
  trials=0
  for _ in $(seq 1 240); do
    row=$("$bin" jobs list --store "$store" --jobs-dir "$scratch/cli" --json 2>/dev/null | tail -n 1 | python3 -c \
      'import json, sys; jobs = json.load(sys.stdin)["jobs"]; print(jobs[0]["id"], jobs[0]["trials_done"]) if jobs else None' || true)
    trials=${row#* }
    [ -n "$row" ] && [ "$trials" -ge 1 ] && break
    sleep 0.25
  done
  [ -n "$row" ] && [ "$trials" -ge 1 ] || fail "no trial finished within a minute"
  job=${row% *}
}
