#!/usr/bin/env bash
# Fuzzes a running Roster with schemathesis in its GraphQL mode, then checks that the
# server is alive, answered no 5xx and kept its invariants.
#
#   fuzz/run.sh [examples-per-operation]        (default 25; CI runs a short pass)
#
# DATABASE_URL picks the database (default: a fresh SQLite file); the roster binary is
# taken from $ROSTER_BIN or built with cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

venv="${ROSTER_FUZZ_VENV:-/var/tmp/roster-fuzz-venv}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

bin="${ROSTER_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet
  bin="${CARGO_TARGET_DIR:-target}/debug/roster"
fi

export DATABASE_URL="${DATABASE_URL:-sqlite://$work/fuzz.db}"
export ROSTER_ADMIN_EMAIL=fuzz-admin@example.com ROSTER_ADMIN_PASSWORD=fuzz-admin-password ROSTER_LISTEN=127.0.0.1:0
"$bin" serve >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 1 100); do
  addr="$(grep -o 'GraphQL at http://[^/]*' "$work/err.log" | head -1 | sed 's|GraphQL at http://||')" || true
  [ -n "$addr" ] && break
  sleep 0.2
done
[ -n "${addr:-}" ] || { echo "roster did not start"; cat "$work/err.log"; exit 1; }
url="http://$addr/graphql"

gql() { # query-json [token]
  curl -s -X POST "$url" -H 'content-type: application/json' ${2:+-H "Authorization: Bearer $2"} -d "$1"
}
token="$(gql '{"query":"mutation { login(email: \"fuzz-admin@example.com\", password: \"fuzz-admin-password\") { session { token } } }"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["session"]["token"])')"

echo "fuzzing $url with $examples examples per operation"
# `logout` would end the fuzzer's own session and leave the rest untested.
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=fuzz "$venv/bin/st" run schema.graphql --url "$url" \
  -H "Authorization: Bearer $token" --exclude-name Mutation.logout \
  --max-examples "$examples" --checks no_internal_error --no-color --workers 2 \
  --generation-deterministic --request-timeout 20 >"$work/st.log" 2>&1 || { cat "$work/st.log"; exit 1; }
tail -12 "$work/st.log"
python3 fuzz/crafted.py "http://$addr" "$((examples * 3))"

kill -0 "$pid" || { echo "roster crashed"; cat "$work/err.log"; exit 1; }
curl -sf "http://$addr/healthz" >/dev/null
curl -sf "http://$addr/readyz" >/dev/null
if grep -E 'panicked|ERROR' "$work/err.log"; then echo "the server logged a panic or an internal error"; exit 1; fi

# Invariants, read from the database itself: the fuzzer may have used up this address's
# sign-in attempts, changed the administrator's password or ended its sessions.
admins="$(python3 fuzz/admins.py "$DATABASE_URL")"
[ "$admins" -ge 1 ] || { echo "no active administrator left"; exit 1; }
echo "fuzz: no 5xx, no crash, invariants hold"
