#!/usr/bin/env bash
# test_gw_staff_screen.sh - the gateway's staff screen outside the browser:
#  - where it may listen: off loopback, --check-config and a start refuse
#    it without web_tls_cert/web_tls_key (naming them) and without a
#    staff PIN (naming 'anshim-gw staff-pin'); half a TLS pair, a key every
#    user may read, a name instead of an address are refused; with TLS and
#    a PIN, --check-config accepts 0.0.0.0 (nothing is bound: tests stay on
#    loopback);
#  - over TLS (a certificate made here with openssl): the kiosk page and the
#    API answer with HSTS and the other security headers, a login's cookie
#    is Secure, HttpOnly and SameSite=Strict, plain HTTP to the port gets
#    no HTTP answer; at most 8 event streams at once, and a closed one
#    frees its place;
#  - requests a page on another site could make are refused: a POST
#    without its JSON or CSV type (415), staff requests without a login
#    (401); a field sent as a number is a bad field, not a default;
#  - SIGHUP re-reads the PIN: the old one stops working, the new one works
#    and the sessions of the old one end;
#  - the port taken: a second gateway on it keeps checking visitors in,
#    and its status says why the pages are missing;
#  - 'anshim-gw staff-pin' refuses a PIN that is not 4-12 digits;
#  - the daemon stops cleanly (exit 0) with an event stream open, and the
#    stream ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WEB="web_dir $ROOT/gateway/web"
need python3
need openssl
need curl

gw_init "web_port 0"
gw_policy 3
TLS=$WORK/tls
make_tls_cert "$TLS"

# refused WANT [LINE]...: --check-config and a start both fail, saying why.
refused() {
  local want=$1 out rc=0
  shift
  gw_write_config "web_port 0" "$@"
  out=$(anshim-gatewayd --config "$GW_CONF" --check-config 2>&1) || rc=$?
  expect_eq "--check-config exit status ($*)" 1 "$rc"
  expect_match "--check-config says why ($*)" "$want" "$out"
  rc=0
  out=$(timeout 30 anshim-gatewayd --config "$GW_CONF" 2>&1) || rc=$?
  expect_eq "start exit status ($*)" 1 "$rc"
  expect_match "start says why ($*)" "$want" "$out"
}

echo "where it may listen"
for addr in 0.0.0.0 :: 192.168.10.5; do
  refused "web_listen $addr is on the network: set web_tls_cert and web_tls_key" "web_listen $addr"
done
refused "web_listen 0.0.0.0 is on the network, which needs a staff PIN: set one with 'anshim-gw staff-pin'" \
  "web_listen 0.0.0.0" "web_tls_cert $TLS/cert.pem" "web_tls_key $TLS/key.pem"
refused "needs both web_tls_cert and web_tls_key" "web_tls_cert $TLS/cert.pem"
chmod 0644 "$TLS/key.pem"
refused "readable by every user" "web_tls_cert $TLS/cert.pem" "web_tls_key $TLS/key.pem"
chmod 0600 "$TLS/key.pem"
refused "web_listen 'localhost' is not a numeric IP address" "web_listen localhost"

for bad in 123 1234567890123 12ab ""; do
  rc=0
  out=$(printf '%s\n' "$bad" | anshim-gw staff-pin --config "$GW_CONF" 2>&1) || rc=$?
  expect_eq "staff-pin '$bad' refused" 1 "$rc"
  expect_match "staff-pin '$bad' says why" "a staff PIN is 4 to 12 digits" "$out"
done
check; [ ! -e "$GW_STATE/staff.pin" ] || fail "a refused PIN left staff.pin"
printf '1357\n' | anshim-gw staff-pin --config "$GW_CONF" >/dev/null
gw_write_config "web_port 0" "web_listen 0.0.0.0" "web_tls_cert $TLS/cert.pem" "web_tls_key $TLS/key.pem"
check
anshim-gatewayd --config "$GW_CONF" --check-config >/dev/null 2>&1 ||
  fail "--check-config refuses 0.0.0.0 with TLS and a PIN"

echo "over TLS"
gw_write_config "web_port 0" "$WEB" "web_tls_cert $TLS/cert.pem" "web_tls_key $TLS/key.pem"
gw_start
URL=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["web"]["url"])' <<< "$(gw_status)")
expect_match "the staff screen is on https" '^https://127\.0\.0\.1:[0-9]+/$' "$URL"
expect_match "anshim-gw status names it" "staff screen https://127\.0\.0\.1:[0-9]+/kiosk" \
  "$(anshim-gw status --config "$GW_CONF")"

staff_py() {
  URL=$URL CA=$TLS/cert.pem python3 - "$@" <<'PY'
import http.client, json, os, socket, ssl, sys
url, ca = os.environ["URL"], os.environ["CA"]
port = int(url.rsplit(":", 1)[1].strip("/"))
ctx = ssl.create_default_context(cafile=ca)
def req(method, path, body=None, ctype=None, cookie=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    h = {}
    if ctype: h["Content-Type"] = ctype
    if cookie: h["Cookie"] = cookie
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    b = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, b
def expect(what, cond, detail=""):
    if not cond:
        sys.exit(f"FAIL: {what}: {detail}")
def login(pin):
    s, h, b = req("POST", "/api/login", json.dumps({"pin": pin}), "application/json")
    return s, h.get("set-cookie", "").split(";")[0], h, b
cmd = sys.argv[1]
if cmd == "tls":
    for path in ("/kiosk", "/staff", "/api/code", "/api/session", "/api/status"):
        s, h, b = req("GET", path)
        expect(path + ": HSTS", h.get("strict-transport-security", "").startswith("max-age="), h)
        expect(path + ": CSP", "script-src 'self'" in h.get("content-security-policy", ""), h)
        expect(path + ": nosniff", h.get("x-content-type-options") == "nosniff")
        expect(path + ": frames", h.get("x-frame-options") == "DENY")
    expect("kiosk page", req("GET", "/kiosk")[0] == 200)
    expect("no venue_id: the code says so", req("GET", "/api/code")[0] == 503)
    s, cookie, h, b = login("1357")
    expect("login over TLS", s == 200, (s, b))
    flags = h.get("set-cookie", "")
    for f in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        expect("cookie " + f, f in flags, flags)
    expect("status with the cookie", req("GET", "/api/status", cookie=cookie)[0] == 200)
    # cross-site shapes refused
    expect("register without login", req("POST", "/api/register", "{}", "application/json")[0] == 401)
    expect("import without login", req("POST", "/api/import", "date,time\n", "text/csv")[0] == 401)
    expect("register as a form post", req("POST", "/api/register", "name=x", "application/x-www-form-urlencoded", cookie)[0] == 415)
    expect("register as text/plain", req("POST", "/api/register", "{}", "text/plain", cookie)[0] == 415)
    expect("import as text/plain", req("POST", "/api/import", "date,time\n", "text/plain", cookie)[0] == 415)
    expect("login as text/plain", req("POST", "/api/login", '{"pin":"1357"}', "text/plain")[0] == 415)
    expect("not json", req("POST", "/api/register", "nope", "application/json", cookie)[0] == 400)
    s, h, b = req("POST", "/api/register", json.dumps({"name": "Num Ber", "phone": "010-7600-0002",
                  "headcount": 2, "date": "2026-01-01", "time": "10:00"}), "application/json", cookie)
    fields = json.loads(b).get("fields", {})
    expect("a number where text belongs is a bad field", s == 422 and "headcount" in fields, (s, b))
    expect("the answer quotes no name or phone", b"Num Ber" not in b and b"7600" not in b, b)
    expect("unknown API path", req("GET", "/api/nothing")[0] == 404)
    # plain HTTP to the TLS port: no HTTP answer
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"GET /kiosk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw.settimeout(10)
        try:
            got = raw.recv(64)
        except (socket.timeout, ConnectionResetError):
            got = b""
    expect("plain HTTP gets no HTTP answer", not got.startswith(b"HTTP/"), got)
    # at most 8 event streams at once; a closed one frees its place
    import time
    streams = []
    for i in range(8):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        c.request("GET", "/api/events")
        r = c.getresponse()
        expect(f"event stream {i + 1}", r.status == 200 and r.getheader("Content-Type") == "text/event-stream", r.status)
        expect(f"event stream {i + 1} says hello", r.readline().startswith(b"retry:"))
        streams.append(c)
    expect("a 9th event stream is refused", req("GET", "/api/events")[0] == 503)
    streams.pop().close()
    deadline, got = time.time() + 20, 0
    while time.time() < deadline and got != 200:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        c.request("GET", "/api/events")
        got = c.getresponse().status
        if got == 200:
            streams.append(c)
        else:
            c.close()
            time.sleep(0.1)
    expect("a closed stream frees its place", got == 200, got)
    for c in streams:
        c.close()
    open(os.path.join(os.path.dirname(ca), "cookie"), "w").write(cookie)
elif cmd == "pin":
    old_cookie = open(os.path.join(os.path.dirname(ca), "cookie")).read()
    expect("the old PIN no longer works", login("1357")[0] == 401)
    expect("the old session ended", req("GET", "/api/status", cookie=old_cookie)[0] == 401)
    s, cookie, h, b = login("97531")
    expect("the new PIN works", s == 200, (s, b))
print("python checks passed")
PY
}
check; staff_py tls

echo "SIGHUP re-reads the PIN"
printf '97531\n' | anshim-gw staff-pin --config "$GW_CONF" >/dev/null
gw_reload
check; staff_py pin

echo "the port taken: check-ins go on"
PORT=${URL##*:}; PORT=${PORT%/}
FIRST_PID=$GW_PID FIRST_CONF=$GW_CONF FIRST_LOG=$GW_LOG
GW_STATE=$WORK/state2 GW_CONF=$WORK/gw2.conf GW_LOG=$WORK/gatewayd2.log
GW_CTL=$WORK/control2.sock GW_SCAN=$WORK/scan2.sock
gw_write_config "web_port $PORT"
anshim-gw init --config "$GW_CONF" >/dev/null
gw_policy 3
gw_start
expect_match "status says the pages are missing" "staff screen NOT running: cannot listen on 127.0.0.1 port $PORT" \
  "$(anshim-gw status --config "$GW_CONF")"
check; log_has "the staff screen is not running: .* \(check-ins go on" || fail "no log line about the port"
gw_wallet "$WORK/v" 010-7600-0001 "Port Visitor"
expect_eq "a scan at the second gateway" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/v")")"
gw_stop
GW_PID=$FIRST_PID GW_CONF=$FIRST_CONF GW_LOG=$FIRST_LOG

echo "a stop with an event stream open (parked) is clean"
# open_stream: start curl on the event stream; succeed once it is open.  A
# refusal (the streams closed above may still hold their places until a
# ping finds them gone; the refusal sends that ping) ends curl: try again.
CURL_PID=
open_stream() {
  if [ -n "$CURL_PID" ] && kill -0 "$CURL_PID" 2>/dev/null; then
    grep -q '^retry:' "$WORK/events.txt"
    return
  fi
  curl -sN --cacert "$TLS/cert.pem" "${URL}api/events" > "$WORK/events.txt" 2>/dev/null &
  CURL_PID=$!
  CLEANUP_PIDS+=("$CURL_PID")
  return 1
}
wait_for 20 "the event stream to open" open_stream
gw_stop
wait_for 20 "the event stream to end with the daemon" bash -c "! kill -0 $CURL_PID 2>/dev/null"
done_ok
