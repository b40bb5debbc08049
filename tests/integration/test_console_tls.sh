#!/usr/bin/env bash
# test_console_tls.sh - where the console may listen, and HTTPS:
#  - plain HTTP off loopback is refused, by --check-config and at start
#    (exit 1, naming listen, tls_cert and tls_key), for 0.0.0.0, ::, a LAN
#    address; half a TLS pair and a key every user may read are refused;
#    with both TLS files, --check-config accepts 0.0.0.0 (nothing is bound:
#    tests stay on loopback);
#  - over TLS (a certificate made here with openssl): login works, the
#    cookie is Secure, HttpOnly and SameSite=Strict, every answer has
#    Strict-Transport-Security and the other headers, TLS 1.2 is the
#    least version; plain HTTP to the TLS port gets no HTTP answer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need python3
need openssl

console_init
console_user sue supervisor 'supervisor-pass-1'
TLS="$CONSOLE_DIR/tls"
make_tls_cert "$TLS"

# refused ADDRESS [LINE]...: --check-config and a start both fail, naming why.
refused() {
  local want=$1; shift
  console_write_config "$@"
  local out rc=0
  out=$(anshim-consoled --config "$CONSOLE_CONF" --check-config 2>&1) || rc=$?
  expect_eq "--check-config exit status ($*)" 1 "$rc"
  expect_match "--check-config says why ($*)" "$want" "$out"
  rc=0
  out=$(anshim-consoled --config "$CONSOLE_CONF" 2>&1) || rc=$?
  expect_eq "start exit status ($*)" 1 "$rc"
  expect_match "start says why ($*)" "$want" "$out"
}
for addr in 0.0.0.0 :: 192.168.10.5 10.0.0.1; do
  refused "listen $addr is not a loopback address.*tls_cert and tls_key" "listen $addr"
done
refused "needs both tls_cert and tls_key" "listen 127.0.0.1" "tls_cert $TLS/cert.pem"
refused "needs both tls_cert and tls_key" "listen 0.0.0.0" "tls_key $TLS/key.pem"
chmod 0644 "$TLS/key.pem"
refused "readable by every user" "listen 127.0.0.1" "tls_cert $TLS/cert.pem" "tls_key $TLS/key.pem"
chmod 0600 "$TLS/key.pem"
refused "not a numeric IP address" "listen localhost"

console_write_config "listen 0.0.0.0" "tls_cert $TLS/cert.pem" "tls_key $TLS/key.pem"
check
anshim-consoled --config "$CONSOLE_CONF" --check-config >/dev/null 2>&1 ||
  fail "--check-config refuses 0.0.0.0 with TLS"

console_start "listen 127.0.0.1" "tls_cert $TLS/cert.pem" "tls_key $TLS/key.pem"
expect_eq "the ready line says https" https "$CONSOLE_SCHEME"

CA="$TLS/cert.pem" console_py - <<'PY'
import os, socket, ssl, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from console_client import Client, json, expect, read_answer

ca = os.environ["CA"]
port = int(os.environ["CONSOLE_URL"].rsplit(":", 1)[1])
c = Client(cafile=ca)
s, h, b = c.login("sue", "supervisor-pass-1")
expect("login over TLS", s == 200, (s, b))
cookie = h.get("set-cookie", "")
for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
    expect("cookie " + flag, flag in cookie.split("; ") or flag in cookie, cookie)
for what, (s, h, b) in (("login", (s, h, b)), ("me", c.get("/api/me")),
                        ("static", c.get("/")), ("404", c.get("/api/nothing")),
                        ("401", Client(cafile=ca).get("/api/me"))):
    hsts = h.get("strict-transport-security", "")
    expect(what + ": HSTS", hsts.startswith("max-age=") and int(hsts.split("=")[1]) >= 86400, hsts)
    expect(what + ": X-Frame-Options", h.get("x-frame-options") == "DENY")
    expect(what + ": CSP", "script-src 'self'" in h.get("content-security-policy", ""))
    expect(what + ": nosniff", h.get("x-content-type-options") == "nosniff")

# TLS 1.1 and older: no handshake.
ctx = ssl.create_default_context(cafile=ca)
try:
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                ok = True
        except (ssl.SSLError, ConnectionResetError, OSError):
            ok = False
    expect("TLS 1.1 refused", not ok)
except ValueError:
    pass  # this Python cannot even offer TLS 1.1: nothing to test

# Plain HTTP to the TLS port: no HTTP answer.
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    raw.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = read_answer(raw, 10)
expect("plain HTTP to the TLS port: no HTTP answer", not got.startswith(b"HTTP/"), got[:40])
expect("still serving TLS", c.get("/api/me")[0] == 200)
print("python checks passed")
PY
check
console_alive || fail "anshim-consoled died"
console_stop
done_ok
