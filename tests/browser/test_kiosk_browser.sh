#!/usr/bin/env bash
# The gateway's staff screen in a real browser: Debian's chromium (headless),
# driven by puppeteer-core (kiosk.test.mjs), against the real daemons:
# mosquitto, anshim-cloudd (with its reveal service) and one gateway,
# anshim-gatewayd, serving the kiosk page and the staff pages on a free
# loopback port, with a staff PIN and a scan socket.
#
# kiosk.test.mjs runs the seven checks (its header lists them); this script
# sets the world up, then checks what the browser cannot see: neither the
# names nor the phone numbers typed or uploaded appear in the journal's
# data.mdb, in the daemon's log, or in any HTTP response the test saw
# (kiosk.test.mjs saves every response body to responses.txt).
# Screenshots go to browser-artefacts/kiosk/ in the build directory.
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/broker.sh"
. "$SRC/tests/integration/sync_lib.sh"

need node
need chromium
need zbarimg
[ -d "$HERE/node_modules/puppeteer-core" ] ||
  fail "puppeteer-core is not installed in tests/browser: run scripts/setup (it runs 'npm ci' there)"

ARTEFACTS=$ANSHIM_BUILD_DIR/browser-artefacts/kiosk
rm -rf "$ARTEFACTS"
mkdir -p "$ARTEFACTS"
PIN=2468

phase "setup: broker, cloud, a gateway with its staff screen"
start_broker
cloud_init
# a short slot, so the code changes within seconds; the duplicate window
# on, so a second scan of the same visitor is a duplicate
sgw_init A "venue_id 1" "web_dir $SRC/gateway/web" "code_slot 6s" "duplicate_window 10m" \
  "staff_lockout 10m"
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[A]}" --venue 1 \
  --venue-name "카페 한라" --category cafe >/dev/null
expect_match "staff PIN set" "staff PIN set" \
  "$(printf '%s\n' "$PIN" | anshim-gw staff-pin --config "$(sgw_dir A)/gw.conf")"
check; [ "$(stat -c %a "$(sgw_dir A)/state/staff.pin")" = 600 ] || fail "staff.pin is not mode 0600"
check; grep -q '^\$argon2id\$' "$(sgw_dir A)/state/staff.pin" || fail "staff.pin holds no argon2id hash"
check; ! grep -q "$PIN" "$(sgw_dir A)/state/staff.pin" || fail "the PIN itself is in staff.pin"
cloud_start
sgw_start A
URL=$(sgw_q A "s['web']['url']")
expect_match "staff screen URL" '^http://127\.0\.0\.1:[0-9]+/$' "$URL"
sgw_use A
gw_wallet "$WORK/visitor" 010-7400-0001 "Scan Visitor"

# The paper register uploaded in step 6: rows 3 and 5 are bad.
D=$(date +%F)
cat > "$WORK/paper.csv" <<CSV
date,time,name,phone,headcount
$D,$(date -d '-50 min' +%H:%M),Upload One,010-7500-0001,1
2026-13-01,10:00,Upload Bad Date,010-7500-0002,1
$D,$(date -d '-40 min' +%H:%M),Upload Three,010-7500-0003,2
$D,$(date -d '-30 min' +%H:%M),Upload Bad Phone,010-75,1
$D,$(date -d '-20 min' +%H:%M),Upload Five,010-7500-0005,
CSV

phase "the browser test"
check
GW_URL=$URL GW_CONF=$(sgw_dir A)/gw.conf CLOUD_CONF=$CLOUD_CONF ARTEFACTS=$ARTEFACTS PIN=$PIN \
WALLET_DIR=$WORK/visitor CSV_FILE=$WORK/paper.csv SLOT_SECONDS=6 \
FROM=$(date -d yesterday +%F) TO=$(date -d tomorrow +%F) \
  node "$HERE/kiosk.test.mjs" || fail "kiosk.test.mjs failed (screenshots in $ARTEFACTS)"

phase "the same CSV through 'anshim-gw import' reports the same bad lines"
cli=$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper.csv" || true)
expect_eq "bad lines, CLI vs upload" "$(grep '^line ' "$ARTEFACTS/upload-report.txt")" \
  "$(grep '^line ' <<< "$cli")"
expect_match "the CLI finds the uploaded rows recorded" ": 0 imported, 3 already imported" "$cli"

phase "7: no name or phone in the journal, the daemon log or any HTTP response"
wait_delivered 60 A
PHONES=()
for p in 010-7300-0001 010-7500-0001 010-7500-0003 010-7500-0005; do
  mapfile -t -O "${#PHONES[@]}" PHONES < <(phone_spellings "$p")
done
NAMES=("Han Form" "Upload One" "Upload Three" "Upload Five" "Upload Bad Date" "Upload Bad Phone")
expect_absent "journal" "$(sgw_dir A)/state/journal/data.mdb" "${PHONES[@]}" "${NAMES[@]}"
expect_absent "daemon log" "$(sgw_dir A)/gatewayd.log" "${PHONES[@]}" "${NAMES[@]}"
check; [ -s "$ARTEFACTS/responses.txt" ] || fail "kiosk.test.mjs saved no responses"
expect_absent "HTTP responses" "$ARTEFACTS/responses.txt" "${PHONES[@]}" "${NAMES[@]}"
# the names did reach the cloud, sealed: the trace found the entry (step 5)

phase "stopping"
sync_stop_all
reveal_stop
done_ok
