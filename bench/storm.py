"""A sign-in storm: 32 clients signing in back to back over keep-alive connections.

Usage: storm.py URL SECONDS. Prints one JSON line: answers by kind (ok, busy, other)
and the slowest answer of each kind in ms. wrk cannot time single answers by kind;
the busy ones must come within 2 s.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

CLIENTS = 32
QUERY = ('mutation($e: String!) { login(email: $e, password: "bench-member-password") '
         '{ session { token } errors { code } } }')


def client(url, deadline, n, tally, lock):
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    i = n
    while time.monotonic() < deadline:
        i += CLIENTS
        body = json.dumps({"query": QUERY, "variables": {"e": f"user{i % 32 + 1}@example.com"}})
        started = time.monotonic()
        try:
            conn.request("POST", parsed.path, body, {"Content-Type": "application/json"})
            answer = conn.getresponse().read().decode()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            answer = ""
        took = (time.monotonic() - started) * 1000
        kind = "ok" if '"token"' in answer else "busy" if "SERVER_BUSY" in answer else "other"
        with lock:
            tally[kind] += 1
            tally[f"slowest_{kind}_ms"] = max(tally[f"slowest_{kind}_ms"], round(took))


def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    tally = {k: 0 for k in ("ok", "busy", "other", "slowest_ok_ms", "slowest_busy_ms", "slowest_other_ms")}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(url, deadline, n, tally, lock)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(tally))


if __name__ == "__main__":
    main()
