"""Crafted hostile documents the schema-driven fuzzer does not generate: values nested
deep, fragment graphs that double at each step, long chains of fragments and long
strings. Each must get an answer below 500 without INTERNAL_SERVER_ERROR, and the server
must still answer /healthz quickly after it.

    python3 fuzz/crafted.py http://127.0.0.1:PORT [cases]
"""
import json
import random
import sys
import time
import urllib.error
import urllib.request

base, cases = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
rng = random.Random(20261201)


def post(query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(base + "/graphql", body, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def deep_list(n):
    return "{ roles(x: %s1%s) { id } }" % ("[" * n, "]" * n)


def deep_object(n):
    return '{ members(filter: %s"a"%s) { totalCount } }' % ("{search: " * n, "}" * n)


def doubling(n, leaf):
    doc = "query { ...F0 }\n"
    doc += "".join("fragment F%d on Query { ...F%d ...F%d }\n" % (i, i + 1, i + 1) for i in range(n - 1))
    return doc + "fragment F%d on Query { %s }\n" % (n - 1, leaf)


def chain(n):
    return "query { ...C0 }\n" + "".join("fragment C%d on Query { ...C%d }\n" % (i, i + 1) for i in range(n))


def long_string():
    unit = rng.choice(["x", "\u200b", "\u00e9", "\\u0000", "@"])
    # Within the 1 MiB body limit once JSON-encoded (a larger body is refused with 413
    # before it is read, which the client sees as a broken pipe).
    most = 900_000 // (len(json.dumps(unit)) - 2)
    text = unit * rng.randint(1_000, min(400_000, most))
    return rng.choice([
        ('mutation($e: String!) { login(email: $e, password: "p") { errors { code } } }', {"e": text}),
        ('query($s: String) { members(filter: { search: $s }) { totalCount } }', {"s": text}),
        ('{ invitationPreview(token: "%s") { roleName } }' % text.replace("\\", ""), None),
    ])


makers = [
    lambda: (deep_list(rng.choice([60, 500, 2_000, rng.randint(1, 200_000)])), None),
    lambda: (deep_object(rng.choice([60, 2_000, rng.randint(1, 90_000)])), None),
    lambda: (doubling(rng.randint(3, 40), rng.choice(["...Nowhere", "__typename"])), None),
    lambda: (chain(rng.randint(10, 3_500)), None),
    long_string,
]

for case in range(cases):
    query, variables = rng.choice(makers)()
    status, body = post(query, variables)
    assert status < 500, f"case {case}: HTTP {status}: {body[:300]!r}"
    assert b"INTERNAL_SERVER_ERROR" not in body, f"case {case}: {body[:300]!r}"
    started = time.monotonic()
    with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
        assert resp.status == 200
    assert time.monotonic() - started < 2, f"case {case}: /healthz took long"
print(f"crafted: {cases} hostile documents answered, server alive")
