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
PEER_PAGE = "{ allMembers(first: 50, orderBy: ID_DESC) { totalCount nodes { id email name status roleByRoleId { name } } } }"


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
    if not os.path.exists(os.path.join(PEER, "node_modules", "postgraphile")):
        log("installing postgraphile 4")
        os.makedirs(PEER, exist_ok=True)
        with open(os.path.join(PEER, "package.json"), "w") as f:
            f.write('{"name": "roster-bench-peer", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "postgraphile@4"], cwd=PEER, check=True, capture_output=True)
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


def page_env(token, body, expect):
    return {"BENCH_TOKEN": token, "BENCH_BODY": json.dumps({"query": body}), "BENCH_EXPECT": expect}


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


def pgbench(db, token_hash, connections, sql=None):
    script = os.path.join(WORK, "floor.sql")
    with open(script, "w") as f:
        f.write((sql or PG_FLOOR).replace(":token_hash", "'" + token_hash + "'"))
    out = sh("taskset", "-c", LOAD_CORE, "pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "1",
             "-T", str(SECONDS), "-f", script, "-h", "127.0.0.1", "-U", "postgres", db)
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


def token_hash(token):
    import hashlib
    return hashlib.sha256(token.encode()).hexdigest()


def statements_per_request(server, token, connections, each=20):
    """Exact: every request runs to completion (wrk cancels the ones in flight when it stops)."""
    import http.client
    import threading
    body = json.dumps({"query": PAGE})
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


def peer(db):
    port = free_port()
    cli = os.path.join(PEER, "node_modules", ".bin", "postgraphile")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, cli, "-c", f"{PG}/{db}", "--host", "127.0.0.1", "--port", str(port),
                             "--disable-query-log", "--schema", "public"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/graphql"
    for _ in range(300):
        try:
            if '"totalCount"' in http(base, json.dumps({"query": PEER_PAGE}))[1]:
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


def bench_backend(backend, size, results):
    if backend == "sqlite":
        path = os.path.join(WORK, f"bench-{size}.db")
        for suffix in ("", "-wal", "-shm", ".lock"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = "sqlite://" + path
    else:
        db = f"roster_bench_{size}"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db], check=True)
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
    for connections in CONNECTIONS:
        rounds = {"roster": [], "floor": [], "min_floor": [], "peer": [], "caps": []}
        peer_proc = None
        if backend == "postgres" and connections == 64:
            peer_proc, peer_url = peer(f"roster_bench_{size}")
        db = f"roster_bench_{size}"
        for _ in range(ROUNDS):
            settle(backend, db)
            rounds["roster"].append(wrk(server.base + "/graphql", connections, page_env(token, PAGE, expect)))
            if connections == 64:
                settle(backend, db)
                rounds["caps"].append(wrk(server.base + "/graphql", connections, page_env(token, CAPS_PAGE, expect)))
                if backend == "postgres":
                    settle(backend, db)
                    rounds["floor"].append(pgbench(db, token_hash(token), connections))
                    settle(backend, db)
                    rounds["min_floor"].append(pgbench(db, token_hash(token), connections, PG_MIN_FLOOR))
                    settle(backend, db)
                    rounds["peer"].append(wrk(peer_url, connections, page_env("", PEER_PAGE, expect)))
                else:
                    rounds["floor"].append(floor(url, token, connections))
                    settle(backend, db)
                    rounds["min_floor"].append(min_floor(url, token))
        if peer_proc:
            peer_proc.terminate()
            peer_proc.wait()
        row[f"c{connections}"] = {k: median_runs(v) if k in ("roster", "caps") and v else ({"rps": statistics.median(r["rps"] for r in v)} if v else None) for k, v in rounds.items()}
    if size == max(SIZES):
        deep_cursor = __import__("base64").urlsafe_b64encode(f"id:{size // 2}".encode()).decode().rstrip("=")
        deep = "{ members(first: 50, after: \"%s\") { totalCount nodes { id email name status role { name } } } }" % deep_cursor
        search = "{ members(first: 50, filter: { search: \"user7777\" }) { totalCount nodes { id email name status role { name } } } }"
        # The three alternate round by round, so that a machine that slows down or
        # speeds up during the run moves them alike.
        bodies = {"first_page_c1": (PAGE, expect), "deep_page": (deep, '"totalCount"'), "search": (search, '"totalCount"'),
                  "caps_c1": (CAPS_PAGE, expect), "inactive": (INACTIVE, '"totalCount"')}
        runs = {k: [] for k in bodies}
        for _ in range(ROUNDS):
            for k, (body, want) in bodies.items():
                runs[k].append(wrk(server.base + "/graphql", 1, page_env(token, body, want)))
        row.update({k: median_runs(v) for k, v in runs.items()})
        if backend == "postgres":
            row["export"] = export(server, token, f"roster_bench_{size}")
    settle(backend, f"roster_bench_{size}")
    row["storm"] = storm(server, token, expect)
    if size == max(SIZES):
        settle(backend, f"roster_bench_{size}")
        servers = [server] + ([Server(url)] if backend == "postgres" else [])
        row["live"] = live(servers, token, expect)
        for extra in servers[1:]:
            extra.stop()
    row["peak_rss_mib"] = round(vm(server.proc.pid, "VmHWM"), 1)
    server.stop()
    results.append(row)


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


def live(servers, token, expect):
    """LIVE_SUBSCRIBERS subscribers (split over the servers) while acts run at LIVE_RATE
    a second, and the members page at 64 connections beside them; the same storm and
    page without subscribers first, for what the subscribers cost the page."""
    def run(subscribers):
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
    quiet = run(0)
    loaded = run(LIVE_SUBSCRIBERS)
    if not (loaded["same_sequence"] and loaded["no_repeats"]) or loaded["errors"] or loaded["deliveries"] != loaded["changes"] * LIVE_SUBSCRIBERS:
        sys.exit(f"live: subscribers saw different or incomplete sequences: {loaded}")
    loaded["instances"] = len(servers)
    loaded["page_share"] = ratio(loaded["page_rps"], quiet["page_rps"])
    return loaded


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def table(results):
    lines = ["| scenario | Roster | floor | peer | Roster/floor | Roster/peer |", "|---|---|---|---|---|---|"]
    for r in results:
        name = f"{r['backend']} {r['size'] // 1000}k"
        for c in CONNECTIONS:
            cell = r[f"c{c}"]
            ro = cell["roster"]
            fl = (cell.get("floor") or {}).get("rps")
            pe = (cell.get("peer") or {}).get("rps")
            lines.append(f"| {name}, members page, {c} conn | {ro['rps']:.0f} req/s, p50 {ro['p50_ms']:.1f} ms, p99 {ro['p99_ms']:.1f} ms, max {ro['max_ms']:.0f} ms "
                         f"| {'%.0f req/s' % fl if fl else ''} | {'%.0f req/s' % pe if pe else ''} | {ratio(ro['rps'], fl) or ''} | {ratio(ro['rps'], pe) or ''} |")
        min_floor = (r["c64"].get("min_floor") or {}).get("rps")
        if min_floor:
            ro = r["c64"]["roster"]["rps"]
            lines.append(f"| {name}, members page against the minimal floor (the least SQL it needs), 64 conn | {ro:.0f} req/s | {min_floor:.0f} req/s | | "
                         f"{ratio(ro, min_floor)} | |")
        caps = r["c64"].get("caps")
        if caps:
            lines.append(f"| {name}, page with viewerCan, 64 conn | {caps['rps']:.0f} req/s, p50 {caps['p50_ms']:.1f} ms, p99 {caps['p99_ms']:.1f} ms | | | "
                         f"{ratio(caps['rps'], r['c64']['roster']['rps'])} of the plain page | |")
        lines.append(f"| {name}, SQL statements per request (1 / 64 conn) | {r['statements_1']:.2f} / {r['statements_64']:.2f} | | | | |")
        if "deep_page" in r:
            base = r["first_page_c1"]["p50_ms"]
            lines.append(f"| {name}, deep page by cursor / search (p50, 1 conn) | {r['deep_page']['p50_ms']:.1f} ms / {r['search']['p50_ms']:.1f} ms "
                         f"(first page {base:.1f} ms: {ratio(r['deep_page']['p50_ms'], base)}x / {ratio(r['search']['p50_ms'], base)}x) | | | | |")
        if "caps_c1" in r:
            base = r["first_page_c1"]["p50_ms"]
            lines.append(f"| {name}, page with viewerCan / lastLoginBefore filter (p50, 1 conn) | {r['caps_c1']['p50_ms']:.1f} ms / {r['inactive']['p50_ms']:.1f} ms "
                         f"(first page {base:.1f} ms: {ratio(r['caps_c1']['p50_ms'], base)}x / {ratio(r['inactive']['p50_ms'], base)}x) | | | | |")
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
                         f"page keeps {lv['page_share']} of its rate | |")
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
    print(f"Roster benchmark, {stamp}, {machine}\n")
    print(table(results))


if __name__ == "__main__":
    main()
