#!/usr/bin/env bash
# The console's JSON API on the real daemon, a real store and the real
# reveal service.  Paper-register rows and a pass scan go from two gateways
# through the broker into anshim-cloudd (the data of test_trace_e2e, with
# contacts named =HYPERLINK(...), +1, -2 and @x), then anshim-consoled
# serves five accounts: ana (analyst), ivan and iris (investigators), sue
# and sam (supervisors).  console_api_check.py checks:
#
#   every endpoint x every role and no session (401, 403, 200...), each
#   error a JSON {"error"} message; every POST route without or with a
#   wrong CSRF token: 403;
#   bad JSON, a non-object, unknown fields, wrong types, out-of-range
#   values -> 400 naming the field, and the daemon keeps serving;
#   the console's trace equals 'anshim-cloud trace --json' for the same
#   case, row for row (the CLI runs as another Unix user: the reveal
#   service takes requests from the console's own user as the console's);
#   16 traces at once: the same answer each, one audit entry each;
#   the two-person reveal: ask, no self-approval, refusal, approval, only
#   the asker opens, the contacts' phones and names, the CSV export, and
#   the ask / approve / reveal entries in the audit log, chain intact.
#
# Then here: without the reveal service no trace is answered (503, nothing
# audited, the daemon serves on); the CSV cells that would run as formulas are guarded; nothing
# personal (the case's and the contacts' phones in five spellings, their
# names) is in any response before the approval, nor in the console's log
# at all; 'anshim-cloud audit verify' finds the chain intact.  GET
# /api/audit compares the log with the head anshim-cloudd witnessed on the
# broker: intact (through the last entry), then "cut" with the last entry
# cut off while the chain still verifies, intact again once restored, and
# "unreachable", saying so, with the broker stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/console_lib.sh"
. "$(dirname "$0")/sync_lib.sh"
need setpriv
# The console runs as this user, so 'anshim-cloud trace' runs as another
# (the reveal service takes this user's requests as the console's).
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (it runs the CLI as another uid)"; exit 77; }

phase "setup"
start_broker
cloud_init "accounts $CLOUD_DIR/accounts" "reveal_console_user $(id -un)"
reveal_start "$CLOUD_CONF"
sgw_init A
sgw_init B
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

D=$(date -d '2 days ago' +%F)
NOW_ROW=$(date -d '10 minutes ago' '+%F,%H:%M')
cat > "$WORK/paper-a.csv" <<EOF_CSV
date,time,name,phone,headcount
$D,12:00,Case Kim,010-7000-0001,1
$D,12:40,"=HYPERLINK(""http://x.example/"",""x"")",010-7000-0002,3
$D,12:50,+1,010-7000-0003,
$D,13:00,@x,010-7000-0005,1
$NOW_ROW,Case Kim,010-7000-0001,1
EOF_CSV
cat > "$WORK/paper-b.csv" <<EOF_CSV
date,time,name,phone
$D,18:00,"=HYPERLINK(""http://x.example/"",""x"")",+82 10 7000 0002
$D,18:30,-2,010-7000-0004
EOF_CSV
phase "paper rows and a pass"
expect_match "CSV import at A" ": 5 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper-a.csv")"
expect_match "CSV import at B" ": 2 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-b.csv")"
sgw_use A
gw_wallet "$WORK/wf" 010-7000-0006 "Fay Scan"
expect_eq "F's pass at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/wf")")"
wait_delivered 60 A B
expect_eq "visits stored" 8 "$(cloud_q "s['visits']")"

phase "the console"
for u in ana:analyst ivan:investigator iris:investigator sue:supervisor sam:supervisor; do
  console_user "${u%%:*}" "${u##*:}" "console-test-password"
done
mkdir -p "$CONSOLE_DIR/web"
printf '<!doctype html><title>console</title>\n' > "$CONSOLE_DIR/web/index.html"
console_start

FROM=$(date -d '4 days ago' +%F)
TO=$(date -d tomorrow +%F)
CASE=$(console_py -c '
import json, sys
from console_client import Client
c = Client(); c.login("ana", "console-test-password")
s, h, b = c.get("/api/case?phone=%2B82%2010-7000-0001")
assert s == 200, (s, b)
print(json.loads(b)["pid"])')
expect_match "the case found by phone" '^[0-9a-f]{32}$' "$CASE"

# The CLI's trace of the same case, as another Unix user (the reveal
# service treats this user's requests as the console's).
chmod 0755 "$WORK" "$CLOUD_DIR" "$CLOUD_STORE"
chmod 0644 "$CLOUD_CONF" "$CLOUD_STORE"/data.mdb
chmod 0666 "$CLOUD_STORE"/lock.mdb
setpriv --reuid 65534 --regid 65534 --clear-groups \
  "$ANSHIM_BUILD_DIR/cloud/anshim-cloud" trace --config "$CLOUD_CONF" --pid "$CASE" \
  --from "$FROM" --to "$TO" --depth 2 --json --reason "api test: cli" > "$WORK/cli-trace.json" \
  2> "$WORK/cli-trace.err" || fail "anshim-cloud trace as nobody: $(cat "$WORK/cli-trace.err")"

phase "endpoints, roles, bad requests, trace, reveal"
mkdir -p "$WORK/responses"
EXPECT_PHONES='{"+821070000002": "=HYPERLINK(\"http://x.example/\",\"x\")", "+821070000003": "+1",
 "+821070000004": "-2", "+821070000005": "@x", "+821070000006": "Fay Scan"}'
OUT="$WORK/responses" CASE_PID="$CASE" FROM="$FROM" TO="$TO" CLI_TRACE="$WORK/cli-trace.json" \
  PASSWORD=console-test-password REVEAL=1 EXPECT_PHONES="$EXPECT_PHONES" \
  console_py "$TESTS_DIR/console_api_check.py" || fail "console_api_check.py"
check

phase "the CSV export"
csv="$WORK/responses/export.csv"
expect_eq "CSV header" "order,pid,venue,venue_name,start,end,overlap_minutes,risk,via,source,name,phone" \
  "$(head -n 1 "$csv" | tr -d '\r')"
for cell in '"'"'"'=HYPERLINK(""http://x.example/"",""x"")"' '"'"'"'+1"' '"'"'"'-2"' '"'"'"'@x"' \
            '"'"'"'+821070000006"' 'Fay Scan'; do
  check; grep -qF -- ",$cell," "$csv" || grep -qF -- ",$cell"$'\r' "$csv" ||
    fail "the CSV has no cell $cell: $(cat "$csv")"
done
check; ! grep -qE '(^|,)[=+@-]' "$csv" || fail "a CSV cell starts with = + - or @: $(grep -E '(^|,)[=+@-]' "$csv")"

phase "privacy"
spellings() { # the five spellings of 010-7000-000N
  echo "010-7000-000$1"; echo "0107000000$1"; echo "+82107000000$1"
  echo "+82 10 7000 000$1"; echo "82-10-7000-000$1"
}
: > "$WORK/personal"
for n in 1 2 3 4 5 6; do spellings "$n" >> "$WORK/personal"; done
printf '%s\n' "Case Kim" "HYPERLINK" "Fay Scan" "7000000" "7000-000" >> "$WORK/personal"
pre=$(ls "$WORK"/responses/pre-* | wc -l)
check; [ "$pre" -ge 100 ] || fail "only $pre responses before the approval"
check; ! grep -lF -f "$WORK/personal" "$WORK"/responses/pre-* ||
  fail "personal data in a response before the approved reveal: $(grep -F -o -f "$WORK/personal" "$WORK"/responses/pre-* | head -n 5)"
check; grep -qF "+821070000003" "$WORK"/responses/post-* ||
  fail "the approved reveal shows no phone (the privacy grep would prove nothing)"
check; ! grep -F -f "$WORK/personal" "$CONSOLE_LOG" ||
  fail "personal data in the console's log"
check; ! grep -F -f "$WORK/personal" "$CLOUD_LOG" || fail "personal data in the cloud's log"
check; ! grep -F -f "$WORK/personal" "$REVEAL_LOG" || fail "personal data in the reveal service's log"

phase "audit"
expect_match "audit verify" "chain intact" "$(anshim-cloud audit verify --config "$CLOUD_CONF")"
check; console_alive || fail "anshim-consoled died"

phase "the reveal service down: 503 and no trace"
kill -TERM "$REVEAL_PID"
wait "$REVEAL_PID" 2>/dev/null || true
entries=$(grep -c . "$CLOUD_DIR/audit.log")
CASE_PID="$CASE" FROM="$FROM" TO="$TO" console_py -c '
import json, os
from console_client import Client, expect
c = Client(); c.login("ivan", "console-test-password")
t = {"pid": os.environ["CASE_PID"], "from": os.environ["FROM"], "to": os.environ["TO"],
     "reason": "service down"}
s, h, b = c.get("/api/reveals?state=all")
rid = [r["id"] for r in json.loads(b)["requests"] if r["may_open"]][0]
for path, body in (("/api/trace", t), ("/api/export", t), ("/api/reveals/ask", t),
                   ("/api/reveals/open", {"id": rid}), ("/api/export", {"id": rid})):
    s, h, b = c.post(path, body)
    err = json.loads(b).get("error", "")
    expect("%s without the reveal service: 503" % path, s == 503, (s, b[:200]))
    expect("%s: no trace in the answer" % path, b"contacts" not in b and b"visits" not in b, b[:200])
    expect("%s: the message says to start it" % path, "anshim-revealed" in err, err)
s, h, b = c.get("/api/gateways")
expect("the console serves on", s == 200, (s, b[:200]))
' || fail "without the reveal service"
expect_eq "no audit entry while it was down" "$entries" "$(grep -c . "$CLOUD_DIR/audit.log")"

phase "the witnessed head in GET /api/audit"
# One supervisor session polls /api/audit (each poll re-evaluated, with a
# deadline: the console keeps a fetched head up to 30 s).
WITNESS_PY='
import json, os, sys, time
from console_client import Client, expect
want = sys.argv[1]
c = Client(); c.login("sue", "console-test-password")
deadline = time.monotonic() + 90
while True:
    s, h, b = c.get("/api/audit")
    expect("GET /api/audit", s == 200, (s, b[:300]))
    v = json.loads(b)["verify"]
    w = v["witness"]
    entries = v["entries"]
    ok = {"intact": w["state"] == "intact" and w["seq"] == entries and w["holds"] is True,
          "cut": w["state"] == "cut" and w["seq"] == entries + 1 and w["holds"] is False,
          "unreachable": w["state"] == "unreachable" and w["seq"] is None and w["holds"] is None}[want]
    if ok or time.monotonic() > deadline:
        break
    time.sleep(0.5)
expect("witness %s" % want, ok, v)
expect("the chain verifies all the same", v["intact"] is True, v)
print(w["message"])
'
witness_is() { console_py -c "$WITNESS_PY" "$1"; }
LOG=$CLOUD_DIR/audit.log
n=$(grep -c . "$LOG")
out=$(witness_is intact) || fail "witness intact: $out"
expect_eq "intact: the message" "audit log $LOG: $n entries, chain intact, witnessed through entry $n" "$out"
cp "$LOG" "$WORK/audit-good.log"
head -n $((n - 1)) "$WORK/audit-good.log" > "$LOG"
expect_match "plain verify cannot tell" "$((n - 1)) entries, chain intact$" \
  "$(anshim-cloud audit verify --config "$CLOUD_CONF")"
out=$(witness_is cut) || fail "witness cut: $out"
expect_match "cut: the message" "but the witnessed head is entry $n: entry $n was cut off the end of the log" "$out"
cat "$WORK/audit-good.log" > "$LOG"
out=$(witness_is intact) || fail "witness intact after the restore: $out"
stop_broker
out=$(witness_is unreachable) || fail "witness unreachable: $out"
expect_match "unreachable: the message names the broker" "cannot read anshim/v1/audit/head on $BROKER_URI" "$out"
check; console_alive || fail "anshim-consoled died"

phase "stopping"
console_stop
sync_stop_all
done_ok
