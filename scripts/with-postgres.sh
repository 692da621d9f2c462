#!/usr/bin/env bash
# Runs a command with a reachable PostgreSQL, exported as TEST_DATABASE_URL
# and PFMSYNC_DATABASE_URL (an administrative URL on the "postgres" database).
#
# Where the database comes from, in order:
#   1. TEST_DATABASE_URL, if set (it must answer: a set URL is never replaced);
#   2. postgres://postgres@127.0.0.1:5432/postgres, if it answers;
#   3. a throwaway cluster made with the local initdb/pg_ctl, removed on exit;
#   4. a throwaway postgres container, if a Docker engine answers;
#   otherwise it says what to install.
# PFMSYNC_PG=cluster (or docker) skips straight to that source.
#
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }

# answers URL: succeeds when a server accepts a query at URL.
answers() {
  local url=$1
  if command -v psql >/dev/null 2>&1; then
    psql "$url" -XAtqc 'SELECT 1' >/dev/null 2>&1
  elif command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$url" >/dev/null 2>&1
  else
    # No client tools: settle for an open TCP port.
    local hostport=${url#*@}; hostport=${hostport%%/*}
    local host=${hostport%%:*} port=${hostport##*:}
    [ "$port" = "$hostport" ] && port=5432
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

find_pg_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  return 1
}

free_port() {
  local p
  for p in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

cleanup_cmds=()
cleanup() {
  local c
  for c in "${cleanup_cmds[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

start_cluster() {
  local bin=$1 port dir owner run
  port=$(free_port) || { log "no free port for a throwaway cluster"; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pfmsync-pg.XXXXXX")
  run=()
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: use the postgres account, or nobody.
    owner=postgres; id "$owner" >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$dir"; chmod 700 "$dir"
    run=(runuser -u "$owner" --)
  fi
  log "starting a throwaway PostgreSQL cluster in $dir on port $port"
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  cleanup_cmds+=("${run[*]} $bin/pg_ctl -D $dir/data -m immediate stop; rm -rf $dir")
  URL="postgres://postgres@127.0.0.1:$port/postgres"
}

start_container() {
  local port name
  port=$(free_port) || return 1
  name="pfmsync-pg-$$"
  log "starting a throwaway postgres container on port $port"
  docker run -d --rm --name "$name" -p "127.0.0.1:$port:5432" \
    -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16 >/dev/null || return 1
  cleanup_cmds+=("docker rm -f $name")
  URL="postgres://postgres@127.0.0.1:$port/postgres"
  local i
  for i in $(seq 1 60); do answers "$URL" && return 0; sleep 1; done
  log "the container did not answer within 60 s"; return 1
}

URL=""
mode=${PFMSYNC_PG:-auto}
if [ "$mode" = cluster ]; then
  bin=$(find_pg_bin) || { log "PFMSYNC_PG=cluster but no initdb/pg_ctl found"; exit 1; }
  start_cluster "$bin"
elif [ "$mode" = docker ]; then
  start_container
elif [ -n "${TEST_DATABASE_URL:-}" ]; then
  if ! answers "$TEST_DATABASE_URL"; then
    log "TEST_DATABASE_URL is set but nothing answers there; unset it to let this script find or start PostgreSQL"
    exit 1
  fi
  URL=$TEST_DATABASE_URL
elif answers "postgres://postgres@127.0.0.1:5432/postgres"; then
  URL="postgres://postgres@127.0.0.1:5432/postgres"
elif bin=$(find_pg_bin); then
  start_cluster "$bin"
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  start_container
else
  log "no PostgreSQL found. Do one of:"
  log "  - start PostgreSQL on 127.0.0.1:5432 with a 'postgres' role (trust or password in the URL),"
  log "  - set TEST_DATABASE_URL=postgres://USER:PASS@HOST:PORT/postgres,"
  log "  - install PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql),"
  log "  - or install and start Docker."
  exit 1
fi

export TEST_DATABASE_URL=$URL
export PFMSYNC_DATABASE_URL=${PFMSYNC_DATABASE_URL:-$URL}
log "using $(printf '%s' "$URL" | sed -E 's#//([^:@/]+):[^@]*@#//\1:xxxxx@#')"
"$@"
