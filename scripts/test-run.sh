#!/usr/bin/env bash
# Checks the README's run command end to end: starts `make run`, waits for
# its summary, queries the reporting views of the demo database, stops it
# with Ctrl-C (SIGINT) and expects a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."

# Its own database, state folder and ports, reset first, so it neither
# depends on nor touches a developer's demo (or one left by an earlier run).
state=$(mktemp -d)
log=$(mktemp)
ports=(18080 18081 18082 18083 19091)
args="-database pfmsync_demo_check -state $state"
args+=" -sandbox-addr 127.0.0.1:${ports[0]} -link-addr 127.0.0.1:${ports[1]} -admin-addr 127.0.0.1:${ports[2]}"
args+=" -dashboard-addr 127.0.0.1:${ports[3]} -metrics-addr 127.0.0.1:${ports[4]}"
setsid make run RESET=1 ARGS="$args" >"$log" 2>&1 &
pid=$!
stop() { kill -INT -- -"$pid" 2>/dev/null || true; }
trap 'stop; sleep 2; kill -KILL -- -"$pid" 2>/dev/null || true' EXIT

echo "== waiting for the demo (log: $log)"
for _ in $(seq 1 600); do
  grep -q "pfmsync is running" "$log" && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make run exited early:"; cat "$log"; exit 1
  fi
  sleep 1
done
grep -q "pfmsync is running" "$log" || { echo "make run did not become ready in 10 minutes:"; cat "$log"; exit 1; }
cat "$log"

db=$(sed -n 's/^  database: *//p' "$log" | head -1)
[ -n "$db" ] || { echo "no database URL in the demo's output"; exit 1; }
accounts=$(psql "$db" -XAtc "SELECT count(*) FROM reporting.accounts WHERE app_user_ref LIKE 'demo-user-%'")
transactions=$(psql "$db" -XAtc "SELECT count(*) FROM reporting.transactions WHERE app_user_ref LIKE 'demo-user-%'")
spending=$(psql "$db" -XAtc "SELECT count(*) FROM reporting.spending_by_category WHERE app_user_ref LIKE 'demo-user-%'")
echo "reporting views: $accounts accounts, $transactions transactions, $spending category-months"
[ "$accounts" -gt 0 ] && [ "$transactions" -gt 0 ] && [ "$spending" -gt 0 ] || { echo "the reporting views are empty"; exit 1; }
grep -q "spending in .* by category" "$log" || { echo "no spending summary printed"; exit 1; }
grep -q "data runs to" "$log" || { echo "the summary does not say which date its data runs to"; exit 1; }

# The dashboard role the demo prints reads the views, and nothing else.
reader=$(sed -n "s/.*psql '\(postgres:[^']*\)'.*/\1/p" "$log" | head -1)
[ -n "$reader" ] || { echo "no reader psql line in the demo's output"; exit 1; }
readable=$(PGPASSWORD="$(cat "$state/dashboard-password")" psql "$reader" -XAtc "SELECT count(*) FROM reporting.accounts WHERE app_user_ref LIKE 'demo-user-%'")
[ "$readable" = "$accounts" ] || { echo "the reader sees $readable accounts, want $accounts"; exit 1; }
if PGPASSWORD="$(cat "$state/dashboard-password")" psql "$reader" -XAtc "SELECT count(*) FROM link_tokens" >/dev/null 2>&1; then
  echo "the reader can read link_tokens"; exit 1
fi
echo "reader role: reads the views, not the tables"

# The link API example makes its token with `bin/demo api-token`: the API
# answers with the first user's links, and no bearer token is printed.
api=$(sed -n 's/^  \(curl -s -H "Authorization: Bearer $(bin\/demo .* api-token demo-user-1)" http[^ ]*\/api\/links\)$/\1/p' "$log" | head -1)
[ -n "$api" ] || { echo "no link API example in the demo's output"; exit 1; }
links=$(bash -c "$api") || { echo "the link API example failed: $api"; exit 1; }
grep -q '"status":"active"' <<<"$links" || { echo "the link API example returned no active link: ${links:0:300}"; exit 1; }
if grep -q 'Bearer ey' "$log"; then echo "the demo printed a bearer token"; exit 1; fi
echo "link API: the printed example lists the first user's links"

# The reference dashboard serves each demo user's page from those views.
dashboard=$(sed -n 's/^  dashboard: *\(http[^ ]*\).*/\1/p' "$log" | head -1)
[ -n "$dashboard" ] || { echo "no dashboard URL in the demo's output"; exit 1; }
page=$(curl -fsS "$dashboard") || { echo "the dashboard did not serve $dashboard"; exit 1; }
for id in net-worth-chart cash-flow-chart spending; do
  grep -q "id=\"$id\"" <<<"$page" || { echo "the dashboard page has no #$id"; exit 1; }
done
echo "dashboard: $dashboard serves the demo users' pages"

echo "== stopping with Ctrl-C"
kill -INT -- -"$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
tail -5 "$log"
[ "$status" -eq 0 ] || { echo "make run exited with $status after Ctrl-C"; exit 1; }
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port still open after stop"; exit 1; fi
done
rm -rf "$state" "$log"
echo "run command: ok"
