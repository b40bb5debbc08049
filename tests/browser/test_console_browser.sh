#!/usr/bin/env bash
# The investigator console in a real browser: Debian's chromium (headless),
# driven by puppeteer-core (console.test.mjs), against the real daemons:
# mosquitto, anshim-cloudd, two gateways that ingest a demo case, the
# reveal service (anshim-revealed) and the console (anshim-consoled).
#
# The demo case (two days ago, Korea time):
#   venue 1, Cafe Halla (gateway A), paper register:
#     the case 12:00; Park Bee 12:40 with 2 others; contacts whose names
#     are spreadsheet formulas: =HYPERLINK("http://evil.example/","click")
#     12:50, +1 12:30, -2 12:20, @x 12:10; Eun Ee 13:00 (order 2)
#   venue 2, Museum Jeju (gateway B): Park Bee 18:00, Dong Dee 18:30
#   today at venue 2: the case's own pass scanned, then Fay Scan's pass
# and a second case, for the pages of a long list: Crowd Case at venue 2 at
# 09:00 the same day with 600 people on the paper register 09:05-09:55.
# console.test.mjs then runs the ten steps of the console's browser test
# and the other pages (see its header), and saves a screenshot of every
# page under $ANSHIM_BUILD_DIR/browser-artefacts.  The command line runs as
# nobody: the reveal service takes this test's own user as the console.
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/broker.sh"
. "$SRC/tests/integration/console_lib.sh"
. "$SRC/tests/integration/sync_lib.sh"

need node
need chromium
need setpriv
[ -d "$HERE/node_modules/puppeteer-core" ] ||
  fail "puppeteer-core is not installed in tests/browser: run scripts/setup (it runs 'npm ci' there)"
for prog in anshim-consoled anshim-revealed; do
  command -v "$prog" >/dev/null || fail "$prog was not built (cmake -DANSHIM_CONSOLE=ON)"
done

ARTEFACTS=$ANSHIM_BUILD_DIR/browser-artefacts
rm -rf "$ARTEFACTS"
mkdir -p "$ARTEFACTS"

phase "setup: broker, cloud, two gateways"
start_broker
REVEAL_SOCK=$WORK/reveal/reveal.sock
mkdir -p "$WORK/reveal"
# The console runs as this test's Unix user: the reveal service takes
# that user's requests as the console's, naming the console's account.
# The command line ('anshim-cloud trace') runs as nobody; in this user's
# group it is the break-glass case (reveal_start's default group).
cloud_init "accounts $WORK/cloud/accounts" "reveal_socket $REVEAL_SOCK" \
  "reveal_console_user $(id -un)"
reveal_start "$CLOUD_CONF"
# heartbeats every second: gateway A, stopped near the end of the browser
# test, is silent within seconds
sgw_init A "heartbeat_interval 1s"
sgw_init B "heartbeat_interval 1s"
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[A]}" --venue 1 \
  --venue-name "카페 한라" --category cafe >/dev/null
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[B]}" --venue 2 \
  --venue-name "제주 박물관" --category museum >/dev/null
cloud_start
sgw_start A
sgw_start B

phase "the demo case: paper registers and two passes"
D=$(date -d '2 days ago' +%F)
cat > "$WORK/paper-a.csv" <<CSV
date,time,name,phone,headcount
$D,12:00,Case Kim,010-7000-0001,1
$D,12:10,@x,010-7000-0013,1
$D,12:20,-2,010-7000-0012,1
$D,12:30,+1,010-7000-0011,1
$D,12:40,Park Bee,010-7000-0002,3
$D,12:50,"=HYPERLINK(""http://evil.example/"",""click"")",010-7000-0003,
$D,13:00,Eun Ee,010-7000-0005,1
CSV
cat > "$WORK/paper-b.csv" <<CSV
date,time,name,phone
$D,18:00,Park Bee,+82 10 7000 0002
$D,18:30,Dong Dee,010-7000-0004
CSV
expect_match "CSV import at A" ": 7 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper-a.csv")"
expect_match "CSV import at B" ": 2 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-b.csv")"
{
  echo "date,time,name,phone"
  echo "$D,09:00,Crowd Case,010-7200-0000"
  for i in $(seq 1 600); do
    printf '%s,09:%02d,방문자 %03d,010-7200-%04d\n' "$D" $((5 + i % 51)) "$i" "$i"
  done
} > "$WORK/paper-crowd.csv"
expect_match "CSV import of the crowd at B" ": 601 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-crowd.csv")"
sgw_use B
gw_wallet "$WORK/wcase" 010-7000-0001 "Case Kim"
gw_wallet "$WORK/wf" 010-7000-0006 "Fay Scan"
expect_eq "the case's pass at B" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/wcase")")"
expect_eq "F's pass at B" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/wf")")"
wait_delivered 60 A B
expect_eq "visits stored" 612 "$(cloud_q "s['visits']")"

phase "accounts"
PW_INV="investigator-pass-1"
PW_SUP1="supervisor-pass-1"
PW_SUP2="supervisor-pass-2"
PW_ANA="analyst-pass-1"
user_add() { printf '%s\n' "$3" | anshim-cloud user add "$1" --role "$2" --config "$CLOUD_CONF" >/dev/null; }
user_add inv.lee investigator "$PW_INV"
user_add sup.park supervisor "$PW_SUP1"
user_add sup.kim supervisor "$PW_SUP2"
user_add ana.choi analyst "$PW_ANA"

# nobody may read the store and the configuration (not the keys), to run
# 'anshim-cloud trace' as an operator would
chmod 0755 "$WORK" "$CLOUD_DIR" "$CLOUD_STORE"
chmod 0644 "$CLOUD_CONF" "$CLOUD_STORE"/data.mdb
chmod 0666 "$CLOUD_STORE"/lock.mdb

phase "the console"
mkdir -p "$CONSOLE_DIR"
console_start "web_dir $SRC/cloud/console/web"
expect_match "console URL" '^http://127\.0\.0\.1:[0-9]+$' "$CONSOLE_URL"

phase "the browser test"
check
FROM=$(date -d '4 days ago' +%F) TO=$(date -d tomorrow +%F) \
CONSOLE_URL=$CONSOLE_URL CLOUD_CONF=$CLOUD_CONF AUDIT_LOG=$CLOUD_DIR/audit.log ARTEFACTS=$ARTEFACTS \
CASE_PHONE_SPELLING="+82 10-7000-0001" CROWD_PHONE="01072000000" \
CLI_AS="65534:65534" BREAK_GLASS_AS="65534:$(id -g)" GW_A_PID="${SGW_PID[A]}" GW_A_ID="${SGW_ID[A]}" \
USERS="inv.lee:$PW_INV sup.park:$PW_SUP1 sup.kim:$PW_SUP2 ana.choi:$PW_ANA" \
  node "$HERE/console.test.mjs" || fail "console.test.mjs failed (screenshots in $ARTEFACTS)"

phase "the daemons are still up and their logs hold nothing personal"
check; kill -0 "$CONSOLE_PID" || fail "anshim-consoled died during the browser test"
check; kill -0 "$REVEAL_PID" || fail "anshim-revealed died during the browser test"
for log in "$CONSOLE_LOG" "$CLOUD_LOG" "$REVEAL_LOG"; do
  check
  # The test's phones in any spelling (010-7000-0001, +82 10 7000 0002,
  # 01072000000): a bare "7000" would also match a random hex id.
  ! grep -Eq '10[- ]?7[02]00[- ]?[0-9]{4}|Park Bee|HYPERLINK|Dong Dee|방문자' "$log" || fail "a phone or a name in $log"
done

phase "stopping"
console_stop
sync_stop_all
reveal_stop
done_ok
