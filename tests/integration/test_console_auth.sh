#!/usr/bin/env bash
# test_console_auth.sh - the console's sessions on the real daemon:
# no session or a made-up one is 401; a wrong name or password is 401 with
# one message; malformed logins are 400/415 naming the problem; a login per
# role sets the cookie (HttpOnly, SameSite=Strict, Path=/, not Secure over
# plain HTTP) and /api/me answers the role and the CSRF token; a missing,
# wrong or another session's CSRF token is 403; logout ends the session;
# a session ends after session_idle without requests and after
# session_absolute however busy (401); an account disabled while logged in
# is 403 at its next request and its session is gone; unknown routes are
# 404, a wrong method 405; every answer carries the security headers;
# static files cannot leave web_dir.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need python3

console_init
console_user ana analyst 'analyst-pass-1'
console_user ivy investigator 'investigator-pass-1'
console_user sue supervisor 'supervisor-pass-1'
console_start "session_idle 3s" "session_absolute 8s"

CLOUD_CONF="$CLOUD_CONF" console_py - <<'PY'
import os, subprocess, time
from console_client import Client, json, expect, wait_until

def headers_ok(what, h, cache="no-store"):
    csp = h.get("content-security-policy", "")
    expect(what + ": CSP", csp.startswith("default-src 'none'; script-src 'self'"), csp)
    expect(what + ": no inline", "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, csp)
    expect(what + ": X-Frame-Options", h.get("x-frame-options") == "DENY")
    expect(what + ": nosniff", h.get("x-content-type-options") == "nosniff")
    expect(what + ": Referrer-Policy", h.get("referrer-policy") == "no-referrer")
    expect(what + ": Cache-Control", h.get("cache-control") == cache, h.get("cache-control"))
    expect(what + ": no HSTS over plain HTTP", "strict-transport-security" not in h)

anon = Client()
for method, path in (("GET", "/api/me"), ("POST", "/api/logout")):
    s, h, b = anon.request(method, path, {} if method == "POST" else None)
    expect("no session: %s %s is 401" % (method, path), s == 401, s)
    expect("no session: error message", "log in" in json(b)["error"])
    headers_ok("401", h)
made_up = Client()
made_up.cookie = "ab" * 32
expect("a made-up session is 401", made_up.get("/api/me")[0] == 401)
made_up.cookie = "not-hex"
expect("a malformed cookie is 401", made_up.get("/api/me")[0] == 401)

# Wrong password and unknown name: one answer.
s1, _, b1 = Client().login("ana", "wrong-password-1")
s2, _, b2 = Client().login("nobody", "wrong-password-1")
expect("wrong password is 401", s1 == 401, s1)
expect("unknown name is 401", s2 == 401, s2)
expect("one message for both", json(b1) == json(b2), (b1, b2))

# Malformed logins.
c = Client()
cases = [
    (dict(raw=b'{"name": "ana", "password": ', headers={"Content-Type": "application/json"}), 400, "bad JSON"),
    (dict(body={"name": "ana", "password": "x", "role": "supervisor"}), 400, "unknown field 'role'"),
    (dict(body={"name": "ana", "password": 5}), 400, "field 'password': expected a string"),
    (dict(body={"name": "ana"}), 400, "field 'password' is missing"),
    (dict(raw=b'[1, 2]', headers={"Content-Type": "application/json"}), 400, "one JSON object"),
    (dict(raw=b'name=ana&password=x', headers={"Content-Type": "application/x-www-form-urlencoded"}), 415, "Content-Type: application/json"),
    (dict(raw=b'{"name": "ana", "name": "ivy", "password": "x"}', headers={"Content-Type": "application/json"}), 400, "bad JSON"),
]
for kw, want, text in cases:
    s, h, b = c.request("POST", "/api/login", **kw)
    expect("malformed login %r: status" % text, s == want, (s, b))
    expect("malformed login %r: message" % text, text in json(b)["error"], b)
    headers_ok("malformed login", h)

# A login per role.
clients = {}
for name, role, pw in (("ana", "analyst", "analyst-pass-1"),
                       ("ivy", "investigator", "investigator-pass-1"),
                       ("sue", "supervisor", "supervisor-pass-1")):
    c = Client()
    s, h, b = c.login(name, pw)
    expect("login %s: 200" % name, s == 200, (s, b))
    headers_ok("login", h)
    cookie = h.get("set-cookie", "")
    expect("cookie flags", "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie)
    expect("no Secure flag over plain HTTP", "Secure" not in cookie, cookie)
    expect("password not echoed", pw.encode() not in b)
    j = json(b)
    expect("login answer", j["user"] == {"name": name, "role": role} and len(j["csrf"]) == 64, j)
    s, h, b = c.get("/api/me")
    expect("me: 200", s == 200)
    expect("me: the same user and token", json(b) == j, b)
    clients[name] = c

# CSRF on a state-changing route (logout).
ana, ivy = clients["ana"], clients["ivy"]
for what, token in (("missing", None), ("wrong", "0" * 64), ("another session's", ivy.csrf),
                    ("short", ana.csrf[:10])):
    s, h, b = ana.request("POST", "/api/logout", {}, headers={"X-CSRF-Token": token}, csrf=False)
    expect("%s CSRF token: 403" % what, s == 403, (s, b))
    expect("%s CSRF token: message" % what, "CSRF" in json(b)["error"])
    expect("%s CSRF token: session still alive" % what, ana.get("/api/me")[0] == 200)
old_cookie = ana.cookie
s, h, b = ana.post("/api/logout")
expect("logout with the token: 200", s == 200, (s, b))
expect("logout clears the cookie", "Max-Age=0" in h.get("set-cookie", ""))
ana.cookie = old_cookie
expect("after logout: 401", ana.get("/api/me")[0] == 401)

# A new login is a new session id.
a2 = Client()
a2.login("ana", "analyst-pass-1")
expect("a new id at each login", a2.cookie != old_cookie)

# Routes and methods.
s, h, b = a2.get("/api/no-such-route")
expect("unknown route: 404", s == 404, s)
headers_ok("404", h)
expect("GET on a POST route: 405", a2.get("/api/login")[0] == 405)
expect("DELETE: 405", a2.request("DELETE", "/api/me")[0] == 405)

# Static files: the pages, and nothing outside web_dir.
s, h, b = anon.get("/")
expect("index.html", s == 200 and b.startswith(b"<!doctype html>"), s)
expect("html type", h.get("content-type") == "text/html; charset=utf-8")
headers_ok("static", h, cache="no-cache")
s, h, b = anon.get("/app.js")
expect("module type", s == 200 and h.get("content-type") == "text/javascript; charset=utf-8")
for path in ("/../cloud.conf", "/%2e%2e/cloud.conf", "/../auth/pseudonym.key", "/.%2e/accounts"):
    s, h, b = anon.get(path)
    expect("no traversal: " + path, s in (400, 404) and b"store_dir" not in b, (s, b[:80]))

# Idle timeout: no request for session_idle (3 s) -> 401, expired.
idle = Client()
idle.login("ivy", "investigator-pass-1")
t0 = time.monotonic()
wait_until("the idle time to pass", lambda: time.monotonic() - t0 > 4.0, limit=30, step=0.1)
s, h, b = idle.get("/api/me")
expect("idle session: 401", s == 401, (s, b))
expect("idle session: says expired", "expired" in json(b)["error"], b)

# Absolute timeout: busy every 0.5 s, it still ends after 8 s.
busy = Client()
busy.login("sue", "supervisor-pass-1")
t0 = time.monotonic()
codes = []
def ended():
    s = busy.get("/api/me")[0]
    codes.append(s)
    return s != 200
wait_until("the absolute timeout", ended, limit=40, step=0.5)
elapsed = time.monotonic() - t0
expect("absolute: 401 at the end", codes[-1] == 401, codes)
expect("absolute: not before 8 s of use", elapsed >= 7.0, elapsed)
expect("absolute: 200 until then", all(c == 200 for c in codes[:-1]), codes)

# Disabled while logged in: 403 at its next request, then the session is gone.
d = Client()
d.login("ivy", "investigator-pass-1")
expect("before disable: 200", d.get("/api/me")[0] == 200)
subprocess.run(["anshim-cloud", "user", "disable", "ivy", "--config", os.environ["CLOUD_CONF"]],
               check=True, stdout=subprocess.DEVNULL)
s, h, b = d.get("/api/me")
expect("disabled: 403", s == 403, (s, b))
expect("disabled: says so", "disabled" in json(b)["error"])
expect("disabled: session ended", d.get("/api/me")[0] == 401)
s, h, b = Client().login("ivy", "investigator-pass-1")
expect("disabled: login refused 403", s == 403, (s, b))
print("python checks passed")
PY
check
console_alive || fail "anshim-consoled died"
# The log: requests, never a password, token or cookie.
for secret in analyst-pass-1 investigator-pass-1 supervisor-pass-1 anshim_session= ; do
  check
  ! grep -q -- "$secret" "$CONSOLE_LOG" || fail "the log holds '$secret'"
done
console_stop
done_ok
