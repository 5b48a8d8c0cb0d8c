#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: installs Debian's `postgresql` when missing, runs
# initdb in a folder of its own as a non-root user (PostgreSQL refuses root), on a free loopback port,
# with fsync off (nothing in it outlives the run).
#
#   url=$(Scripts/postgres.sh start DIR)   # prints postgres://autovision@127.0.0.1:PORT/postgres
#                                          # (POSTGRES_LISTEN=ADDRESSES: listen there too; default loopback)
#   Scripts/postgres.sh restart DIR       # same port: what a failover or an upgrade does to clients
#   Scripts/postgres.sh stop DIR
set -euo pipefail
command=${1:?usage: postgres.sh start|restart|stop DIR}
dir=${2:?usage: postgres.sh start|restart|stop DIR}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  echo "postgres.sh: installing postgresql" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
# As root, the cluster runs as the `postgres` user the package made.
as=(); [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
case "$command" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U autovision --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=${POSTGRES_LISTEN:-127.0.0.1} -c fsync=off -c synchronous_commit=off -c max_connections=200" start >&2 \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://autovision@127.0.0.1:$port/postgres"
    ;;
  restart)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >&2
    ;;
  stop)
    [ -d "$dir/data" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    ;;
  *) echo "usage: postgres.sh start|restart|stop DIR" >&2; exit 2 ;;
esac
