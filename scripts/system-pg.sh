#!/usr/bin/env bash
# Starts the machine's own PostgreSQL (Debian's postgresql-15, `pg_config --bindir`) in a fresh
# temporary cluster on 127.0.0.1 and prints its DATABASE_URL; `system-pg.sh stop <dir>` stops it.
# Used by .ci/run to run the database tests a second time on PostgreSQL 15 (the oldest RDS major
# phi-db supports), next to the embedded PostgreSQL 17 of `npm test`.
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

if [[ "${1:-}" == "stop" ]]; then
  dir="$2"
  run=(); [[ $(id -u) -eq 0 ]] && run=(su postgres -s /bin/bash -c)
  if [[ ${#run[@]} -gt 0 ]]; then "${run[@]}" "'$(pg_config --bindir)/pg_ctl' -D '$dir/data' -m immediate stop" >/dev/null || true
  else "$(pg_config --bindir)/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true; fi
  rm -rf "$dir"
  exit 0
fi

bindir="$(pg_config --bindir 2>/dev/null)" || { echo "system-pg: no pg_config" >&2; exit 3; }
[[ -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]] || { echo "system-pg: no initdb/pg_ctl in $bindir" >&2; exit 3; }
dir="$(mktemp -d /tmp/phi-db-system-pg-XXXXXX)"
chmod 755 "$dir"
password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
port="$(( 20000 + RANDOM % 20000 ))"
printf '%s\n' "$password" > "$dir/pwfile"
cmd_init="'$bindir/initdb' -D '$dir/data' -U postgres -A scram-sha-256 --pwfile='$dir/pwfile' >'$dir/initdb.log' 2>&1"
cmd_start="'$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_preload_libraries=pg_stat_statements -c max_connections=200\" start >/dev/null"
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$dir" "$dir/pwfile"
  su postgres -s /bin/bash -c "$cmd_init && $cmd_start" || { echo "system-pg: could not start (see $dir)" >&2; exit 3; }
else
  bash -c "$cmd_init && $cmd_start" || { echo "system-pg: could not start (see $dir)" >&2; exit 3; }
fi
rm -f "$dir/pwfile"
echo "$dir postgres://postgres:$password@127.0.0.1:$port/postgres"
