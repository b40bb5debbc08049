"""A small client of anshim-consoled's JSON API for the integration tests.

Client(url) keeps one session's cookie and CSRF token, as a browser would.
Every request opens its own connection (Connection: close) with a timeout,
so a test never hangs; answers are (status, headers, body) with headers a
dict of lower-case names to the last value and body the bytes; json() of
a body parses it.  TLS: pass cafile, the certificate the test made.
"""
import http.client
import json as jsonlib
import os
import socket
import ssl
import sys
import time
import urllib.parse

TIMEOUT = 30


def connection(url, cafile=None, timeout=TIMEOUT):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


class Client:
    def __init__(self, url=None, cafile=None):
        self.url = url or os.environ["CONSOLE_URL"]
        self.cafile = cafile
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, raw=None, csrf=True):
        h = {"Connection": "close"}
        if self.cookie:
            h["Cookie"] = "anshim_session=" + self.cookie
        if csrf and self.csrf and method == "POST":
            h["X-CSRF-Token"] = self.csrf
        data = raw
        if body is not None:
            data = jsonlib.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
        c = connection(self.url, self.cafile)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            payload = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                hdrs[k.lower()] = v
            if "set-cookie" in hdrs:
                self._take_cookie(r.headers.get_all("Set-Cookie"))
            return r.status, hdrs, payload
        finally:
            c.close()

    def _take_cookie(self, values):
        for v in values or []:
            first = v.split(";", 1)[0]
            name, _, value = first.partition("=")
            if name.strip() == "anshim_session":
                self.cookie = value.strip() or None

    def login(self, name, password):
        status, hdrs, body = self.request("POST", "/api/login",
                                          {"name": name, "password": password})
        if status == 200:
            self.csrf = json(body)["csrf"]
        return status, hdrs, body

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, {} if body is None else body, **kw)


def read_answer(sock, limit=15):
    """Everything the server sends on sock until it closes (or limit s)."""
    sock.settimeout(limit)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def json(body):
    return jsonlib.loads(body.decode())


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


FAILED = []


def expect(what, cond, detail=""):
    if not cond:
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
        FAILED.append(what)
        sys.exit(1)


def wait_until(what, fn, limit=30.0, step=0.02):
    deadline = time.monotonic() + limit
    while True:
        if fn():
            return
        if time.monotonic() > deadline:
            expect("timed out after %.0fs waiting for %s" % (limit, what), False)
        time.sleep(step)
