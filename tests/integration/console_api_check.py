"""The console's JSON API on a real daemon and store (test_console_api.sh).

Run with console_client importable and the environment:
  CONSOLE_URL   the daemon
  CASE_PID      the demo case's pid; FROM, TO: its window
  CLI_TRACE     a file with 'anshim-cloud trace --json' for that case
                (depth 2, the same window)
  OUT           a directory: every response body is saved there, as
                pre-N before the first reveal is approved, post-N after
  PASSWORD      every account's password
  REVEAL        1: the reveal service runs (the reveal flow is tested)
  EXPECT_PHONES JSON {phone: name} of the contacts the reveal must show
Accounts: ana (analyst), ivan and iris (investigators), sue and sam
(supervisors).
"""
import json
import os
import sys

from console_client import Client, expect

OUT = os.environ["OUT"]
CASE = os.environ["CASE_PID"]
FROM = os.environ["FROM"]
TO = os.environ["TO"]
PASSWORD = os.environ["PASSWORD"]
REVEAL = os.environ.get("REVEAL") == "1"
saved = [0]
phase = ["pre"]


def save(method, path, status, body):
    saved[0] += 1
    name = os.path.join(OUT, "%s-%03d" % (phase[0], saved[0]))
    with open(name, "wb") as f:
        # The path without its query: a query may hold a phone number.
        f.write(("%s %s -> %d\n" % (method, path.split("?")[0], status)).encode())
        f.write(body)


def call(client, method, path, body=None, raw=None, headers=None):
    if method == "GET":
        status, hdrs, data = client.get(path)
    elif raw is not None:
        status, hdrs, data = client.request("POST", path, raw=raw,
                                            headers=headers or {"Content-Type": "application/json"})
    else:
        status, hdrs, data = client.post(path, body)
    save(method, path, status, data)
    return status, hdrs, data


def error_of(data):
    try:
        j = json.loads(data.decode())
    except ValueError:
        return None
    return j.get("error") if isinstance(j, dict) else None


def session(name):
    c = Client()
    status, _, data = c.login(name, PASSWORD)
    save("POST", "/api/login " + name, status, data)
    expect("login " + name, status == 200, data)
    return c


TRACE = {"pid": CASE, "from": FROM, "to": TO, "depth": 2, "reason": "api test: case 1",
         "case_ref": "JEJU-2026-0001"}

users = {"analyst": session("ana"), "investigator": session("ivan"),
         "supervisor": session("sue"), "none": Client()}
iris = session("iris")
sam = session("sam")
sue = users["supervisor"]

# ---- every endpoint x every role -------------------------------------
# (method, path, body, {role: status}); ids 999999 name no request.
A, I, S, N = "analyst", "investigator", "supervisor", "none"
ROUTES = [
    ("GET", "/api/case?pid=" + CASE, None, {A: 200, I: 200, S: 200, N: 401}),
    ("GET", "/api/case?phone=010-7000-0001", None, {A: 200, I: 200, S: 200, N: 401}),
    ("POST", "/api/trace", TRACE, {A: 200, I: 200, S: 200, N: 401}),
    ("GET", "/api/reveals", None, {A: 403, I: 200, S: 200, N: 401}),
    ("GET", "/api/reveals?state=all", None, {A: 403, I: 200, S: 200, N: 401}),
    ("POST", "/api/reveals/ask", TRACE,
     {A: 403, I: 200 if REVEAL else 503, S: 200 if REVEAL else 503, N: 401}),
    ("POST", "/api/reveals/decide", {"id": 999999, "approve": True, "reason": "x"},
     {A: 403, I: 403, S: 404, N: 401}),
    ("POST", "/api/reveals/open", {"id": 999999}, {A: 403, I: 404, S: 404, N: 401}),
    ("POST", "/api/export", TRACE, {A: 200, I: 200, S: 200, N: 401}),
    ("POST", "/api/export", {"id": 999999}, {A: 404, I: 404, S: 404, N: 401}),
    ("GET", "/api/gateways", None, {A: 200, I: 200, S: 200, N: 401}),
    ("GET", "/api/policy", None, {A: 200, I: 200, S: 200, N: 401}),
    ("POST", "/api/policy", {"level": 3}, {A: 403, I: 403, S: 200, N: 401}),
    ("GET", "/api/audit", None, {A: 403, I: 403, S: 200, N: 401}),
    ("GET", "/api/audit?user=ivan&case=" + CASE, None, {A: 403, I: 403, S: 200, N: 401}),
]
if not REVEAL:
    # Without the reveal service a trace cannot be audited: no trace.
    for i, r in enumerate(ROUTES):
        if r[1] in ("/api/trace",) or (r[1] == "/api/export" and "pid" in (r[2] or {})):
            ROUTES[i] = (r[0], r[1], r[2], {k: (503 if v == 200 else v) for k, v in r[3].items()})

for method, path, body, want in ROUTES:
    for role, st in want.items():
        status, hdrs, data = call(users[role], method, path, body)
        expect("%s %s as %s" % (method, path, role), status == st,
               "-> %d, expected %d: %s" % (status, st, data[:300]))
        if status >= 400:
            expect("%s %s as %s: an error message" % (method, path, role),
                   bool(error_of(data)), data[:200])
        elif path == "/api/export":
            expect("export is CSV", hdrs.get("content-type", "").startswith("text/csv"),
                   str(hdrs))
        else:
            expect("%s %s: JSON" % (method, path),
                   hdrs.get("content-type", "").startswith("application/json"), str(hdrs))
print("routes x roles: %d calls" % saved[0])

# Every state-changing route refuses a missing or wrong CSRF token (403),
# whatever the role, and does nothing.
for method, path, body, want in ROUTES:
    if method != "POST":
        continue
    for token in (None, "0" * 43):
        status, _, data = sue.request("POST", path, body, csrf=False,
                                      headers={"X-CSRF-Token": token})
        save(method, path, status, data)
        expect("POST %s with %s CSRF token: 403" % (path, "a wrong" if token else "no"),
               status == 403 and bool(error_of(data)), (status, data[:200]))

# ---- bad requests: 4xx with a clear message, and the daemon serves on ----

BAD = [
    ("/api/trace", b"{", 400, "JSON"),
    ("/api/trace", b"[1, 2]", 400, "object"),
    ("/api/trace", b'{"pid": "%s", "from": "%s", "to": "%s", "reason": "r", "colour": 1}'
     % (CASE.encode(), FROM.encode(), TO.encode()), 400, "unknown field 'colour'"),
    ("/api/trace", b'{"pid": "%s", "from": "%s", "to": "%s", "reason": "r", "depth": "2"}'
     % (CASE.encode(), FROM.encode(), TO.encode()), 400, "field 'depth'"),
    ("/api/trace", b'{"pid": "%s", "from": "%s", "to": "%s", "reason": "r", "depth": 9}'
     % (CASE.encode(), FROM.encode(), TO.encode()), 400, "from 1 to 3"),
    ("/api/trace", b'{"pid": 5, "from": "x", "to": "y", "reason": "r"}', 400, "field 'pid'"),
    ("/api/trace", b'{"pid": "%s", "from": "yesterday", "to": "%s", "reason": "r"}'
     % (CASE.encode(), TO.encode()), 400, "field 'from' must be a time"),
    ("/api/trace", b'{"pid": "%s", "from": "%s", "to": "%s"}'
     % (CASE.encode(), FROM.encode(), TO.encode()), 400, "field 'reason' is required"),
    ("/api/trace", b'{"pid": "%s", "from": "%s", "to": "%s", "reason": "r", "min_overlap": 600, '
     b'"risk_period": 60}' % (CASE.encode(), FROM.encode(), TO.encode()), 400, "risk_period"),
    ("/api/reveals/ask", b'{"pid": "%s", "from": "%s", "to": "%s", "reason": ""}'
     % (CASE.encode(), FROM.encode(), TO.encode()), 400, "field 'reason'"),
    ("/api/reveals/decide", b'{"id": "1", "approve": true, "reason": "r"}', 400, "field 'id'"),
    ("/api/reveals/decide", b'{"id": 1, "approve": "yes", "reason": "r"}', 400,
     "field 'approve' must be true or false"),
    ("/api/reveals/decide", b'{"id": 1, "approve": true}', 400, "field 'reason' is required"),
    ("/api/reveals/open", b'{"id": 1, "pid": "x"}', 400, "unknown field 'pid'"),
    ("/api/reveals/open", b'{"id": -4}', 400, "field 'id'"),
    ("/api/export", b'{"id": 1.5}', 400, "field 'id'"),
    ("/api/export", b'{"id": 1, "format": "xlsx"}', 400, "unknown field 'format'"),
    ("/api/policy", b'{"level": 7}', 400, "field 'level' must be an integer from 1 to 4"),
    ("/api/policy", b'{"level": null}', 400, "field 'level'"),
    ("/api/policy", b'{"level": 2, "level": 3}', 400, ""),
    ("/api/policy", b'{"level": 2} trailing', 400, ""),
    ("/api/policy", b'\xff\xfe{', 400, ""),
]
for path, raw, st, words in BAD:
    status, _, data = call(sue, "POST", path, raw=raw)
    msg = error_of(data) or ""
    expect("POST %s %r" % (path, raw[:60]), status == st and words in msg,
           "-> %d %s (expected %d with %r)" % (status, msg, st, words))
BAD_GET = [
    ("/api/case?pid=zz", "query argument 'pid' must be a pid"),
    ("/api/case", "exactly one"),
    ("/api/case?phone=not-a-phone", "query argument 'phone' is not a phone number"),
    ("/api/reveals?state=bogus", "query argument 'state' must be pending or all"),
    ("/api/audit?case=010-7000-0001", "query argument 'case' must be a pid"),
]
for path, words in BAD_GET:
    status, _, data = call(sue, "GET", path)
    msg = error_of(data) or ""
    expect("GET " + path, status == 400 and words in msg, "-> %d %s" % (status, msg))
    expect("GET %s: the phone is not echoed" % path, "7000" not in msg, msg)
status, _, data = call(sue, "GET", "/api/case?phone=010-9999-0000")
expect("an unknown case is 404", status == 404, data)
status, _, data = call(sue, "GET", "/api/me")
expect("the daemon serves after bad requests", status == 200, data)

# ---- gateways and policy as the matrix left them ----------------------
status, _, data = call(users[A], "GET", "/api/gateways")
gws = json.loads(data.decode())["gateways"]
expect("both gateways, with their venues", sorted(g["venue"] for g in gws) == [1, 2], gws)
expect("every gateway's fields", all(set(g) == {"gateway", "venue", "venue_name", "last_seen",
                                               "backlog", "lag_seconds", "revoked", "silent"}
                                     for g in gws), gws)
expect("silent gateways first", [g["silent"] for g in gws] == sorted((g["silent"] for g in gws),
                                                                     reverse=True), gws)
status, _, data = call(users[I], "GET", "/api/policy")
pol = json.loads(data.decode())
expect("the policy sue set is in force", pol["current"]["level"] == 3 and
       pol["history"][0]["who"] == "sue" and pol["history"][0]["seq"] == pol["current"]["seq"],
       pol)

# ---- the console's trace is 'anshim-cloud trace --json', row for row ----
if REVEAL:
    with open(os.environ["CLI_TRACE"]) as f:
        cli = json.load(f)
    status, _, data = call(users[A], "POST", "/api/trace", TRACE)
    web = json.loads(data.decode())
    expect("trace: audit_seq", isinstance(web.pop("audit_seq", None), int), data[:200])
    for key in ("case", "visits", "contacts", "orders", "totals"):
        expect("trace %s: row for row" % key, web[key] == cli[key],
               "\nconsole %s\ncli     %s" % (web[key], cli[key]))
    expect("trace: the same members", sorted(web) == sorted(cli), "%s %s" % (sorted(web), sorted(cli)))
    expect("trace: some contacts", len(web["contacts"]) >= 5, len(web["contacts"]))
    status, hdrs, data = call(users[A], "POST", "/api/export", TRACE)
    rows = data.decode().split("\r\n")
    expect("export: a header and one row per contact", len([r for r in rows if r]) ==
           1 + len(cli["contacts"]), data[:300])
    expect("export: no name column without a reveal", "name" not in rows[0].split(","), rows[0])
    print("trace equals the CLI's: %d visits, %d contacts" % (len(web["visits"]),
                                                             len(web["contacts"])))

# ---- traces at once: the same answer each, one audit entry each --------
if REVEAL:
    import threading
    answers = []

    def one_trace():
        c = Client()
        c.cookie, c.csrf = users[A].cookie, users[A].csrf
        answers.append(c.post("/api/trace", TRACE))

    threads = [threading.Thread(target=one_trace) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    expect("16 traces at once answered", len(answers) == 16 and
           all(a[0] == 200 for a in answers), [a[0] for a in answers])
    bodies = [json.loads(a[2].decode()) for a in answers]
    seqs = sorted(j.pop("audit_seq") for j in bodies)
    expect("each its own audit entry", len(set(seqs)) == 16, seqs)
    expect("the same trace each time", all(j == bodies[0] for j in bodies))
    print("16 traces at once: audit entries %d..%d" % (seqs[0], seqs[-1]))

# ---- the two-person reveal ------------------------------------------------
if REVEAL:
    ivan = users[I]
    status, _, data = call(ivan, "POST", "/api/reveals/ask", TRACE)
    expect("ivan asks", status == 200, data)
    rid = json.loads(data.decode())["id"]
    status, _, data = call(ivan, "POST", "/api/reveals/open", {"id": rid})
    expect("open before approval: 409", status == 409, data)
    status, _, data = call(ivan, "POST", "/api/reveals/decide",
                           {"id": rid, "approve": True, "reason": "self"})
    expect("an investigator may not decide: 403", status == 403, data)
    status, _, data = call(iris, "POST", "/api/reveals/open", {"id": rid})
    expect("another investigator may not open it", status == 409 or status == 403, data)
    status, _, data = call(sue, "POST", "/api/reveals/ask", TRACE)
    expect("sue asks", status == 200, data)
    own = json.loads(data.decode())["id"]
    status, _, data = call(sue, "POST", "/api/reveals/decide",
                           {"id": own, "approve": True, "reason": "mine"})
    expect("a supervisor may not approve her own request: 409", status == 409, data)
    status, _, data = call(sam, "POST", "/api/reveals/decide",
                           {"id": own, "approve": False, "reason": "no lab report yet"})
    expect("sam refuses sue's", status == 200 and json.loads(data.decode())["state"] == "refused",
           data)
    status, _, data = call(sam, "POST", "/api/reveals/decide",
                           {"id": own, "approve": True, "reason": "changed my mind"})
    expect("a decided request cannot be decided again: 409", status == 409, data)
    status, _, data = call(sue, "POST", "/api/reveals/open", {"id": own})
    expect("a refused request does not open: 409", status == 409, data)
    status, _, data = call(ivan, "GET", "/api/reveals?state=all")
    mine = json.loads(data.decode())["requests"]
    expect("ivan sees his own requests only, this one among them",
           rid in [r["id"] for r in mine] and all(r["asked_by"] == "ivan" for r in mine), mine)
    this = [r for r in mine if r["id"] == rid][0]
    expect("pending, not his to decide", this["state"] == "pending" and
           not this["may_decide"] and not this["may_open"], this)
    status, _, data = call(sam, "GET", "/api/reveals")
    pend = json.loads(data.decode())["requests"]
    expect("sam's queue: pending requests only, ivan's his to decide",
           all(r["state"] == "pending" for r in pend) and
           [r["may_decide"] for r in pend if r["id"] == rid] == [True] and
           own not in [r["id"] for r in pend], pend)
    expect("newest first", [r["id"] for r in pend] == sorted((r["id"] for r in pend), reverse=True),
           pend)

    # Everything before the approval is pseudonymous (the shell greps it).
    phase[0] = "post"
    status, _, data = call(sue, "POST", "/api/reveals/decide",
                           {"id": rid, "approve": True, "reason": "lab report 7"})
    expect("sue approves ivan's", status == 200, data)
    status, _, data = call(sue, "POST", "/api/reveals/open", {"id": rid})
    expect("only the asker opens: 403", status == 403, data)
    status, _, data = call(ivan, "POST", "/api/reveals/open", {"id": rid})
    expect("ivan opens", status == 200, data[:300])
    opened = json.loads(data.decode())
    want = json.loads(os.environ["EXPECT_PHONES"])
    got = {c["phone"]: c["name"] for c in opened["contacts"] if c.get("phone")}
    expect("the contacts' phones and names", got == want, "\n got %s\nwant %s" % (got, want))
    expect("the request named", opened.get("request") == rid, opened.get("request"))
    status, hdrs, data = call(ivan, "POST", "/api/export", {"id": rid})
    expect("export of the request", status == 200 and
           hdrs.get("content-type", "").startswith("text/csv"), data[:300])
    expect("export: an attachment named after the request",
           hdrs.get("content-disposition", "").startswith("attachment") and
           ("contacts-request-%d.csv" % rid) in hdrs.get("content-disposition", ""), hdrs)
    with open(os.path.join(OUT, "export.csv"), "wb") as f:
        f.write(data)
    status, _, data = call(users[A], "POST", "/api/export", {"id": rid})
    expect("an analyst may not export a request", status == 403, data)
    status, _, data = call(sue, "GET", "/api/audit?case=" + CASE)
    audit = json.loads(data.decode())
    expect("audit intact", audit["verify"]["intact"] is True, audit["verify"])
    steps = [(e["action"], e["request"], e["who"]) for e in audit["entries"]
             if e["request"] == rid or e["seq"] == rid]
    expect("ask, approve, reveal entries", steps[:3] == [("ask", 0, "ivan"), ("approve", rid, "sue"),
                                                        ("reveal", rid, "ivan")], steps)
    status, _, data = call(sue, "GET", "/api/audit?user=ana")
    ana = json.loads(data.decode())["entries"]
    expect("ana's traces are audited under her name",
           len(ana) >= 2 and all(e["who"] == "ana" and e["action"] == "trace" for e in ana), ana)
print("PASS console_api_check: %d requests" % saved[0])
