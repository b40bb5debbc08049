#!/usr/bin/env bash
# The investigator console on an index node (cluster mode) in a real
# browser: Debian's chromium (headless), driven by puppeteer-core
# (index_lag.test.mjs), against the real daemons: PostgreSQL, mosquitto,
# an ingest node and an index node (anshim-cloudd), the reveal service and
# the console (anshim-consoled) reading the index node's store.  Two
# wallets check in by a venue's poster; the investigator traces the case
# and the pages say how far behind PostgreSQL the index node is.
# Screenshots go to $ANSHIM_BUILD_DIR/browser-artefacts/index.
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/broker.sh"
. "$SRC/tests/integration/console_lib.sh"
. "$SRC/tests/integration/sync_lib.sh"
. "$SRC/tests/integration/pg_lib.sh"
. "$SRC/tests/integration/cluster_lib.sh"

need node
need chromium
need zbarimg
[ -d "$HERE/node_modules/puppeteer-core" ] ||
  fail "puppeteer-core is not installed in tests/browser: run scripts/setup (it runs 'npm ci' there)"
for prog in anshim-consoled anshim-revealed; do
  command -v "$prog" >/dev/null || fail "$prog was not built (cmake -DANSHIM_CONSOLE=ON)"
done
ARTEFACTS=$ANSHIM_BUILD_DIR/browser-artefacts/index
rm -rf "$ARTEFACTS"
mkdir -p "$ARTEFACTS"

phase "setup: PostgreSQL, broker, an ingest node, an index node"
pg_start pg
URI=${PG_URI[pg]}
start_broker
mkdir -p "$WORK/reveal"
cloud_init "store $URI" "audit_witness_every 0" "accounts $WORK/cloud/accounts" \
  "reveal_socket $WORK/reveal/reveal.sock" "reveal_console_user $(id -un)"
sgw_init A "venue_id 501"   # never started: its key enrols the venue
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[A]}" --venue 501 \
  --venue-name "제주 올레 카페" --category cafe --dwell 60 >/dev/null || fail "enrolling the venue"
reveal_start "$CLOUD_CONF"
node_make_conf 1
node_start 1
wait_for 30 "the retained policy on the broker" _policy_retained
index_make_conf 1
index_start 1

phase "two wallets check in by the poster"
wallet() { # DIR PHONE NAME
  gw_wallet "$1" "$2" "$3"
  anshim-wallet config --dir "$1" --broker "127.0.0.1:$BROKER_PORT" \
    --authority "$SYNC_AUTH/sign.pub" --timeout 15 >/dev/null
}
wallet "$WORK/case" 010-7300-0001 "Case Oh"
wallet "$WORK/visitor" 010-7300-0002 "Poster Visitor"
T0=$(date +%s)
anshim-cloud poster --config "$CLOUD_CONF" --venue 501 --format png --out "$WORK/poster.png" >/dev/null
for w in case visitor; do
  expect_match "$w check-in" "delivered: stored by the cloud" \
    "$(anshim-wallet checkin --dir "$WORK/$w" --image "$WORK/poster.png" --at $((T0 - 7200)))"
done
wait_for 30 "the index holding both app visits" index_visits_are 1 2

phase "the console on the index node"
PW="investigator-pass-1"
printf '%s\n' "$PW" | anshim-cloud user add inv.lee --role investigator --config "$(index_conf 1)" >/dev/null
mkdir -p "$CONSOLE_DIR"
console_start "web_dir $SRC/cloud/console/web" "cloud_config $(index_conf 1)"

phase "the browser test"
FROM=$(date -d '2 days ago' +%F) TO=$(date -d tomorrow +%F) CASE_PHONE=010-7300-0001 \
CONSOLE_URL=$CONSOLE_URL ARTEFACTS=$ARTEFACTS USER_NAME=inv.lee USER_PASSWORD=$PW \
  node "$HERE/index_lag.test.mjs" || fail "index_lag.test.mjs failed (screenshots in $ARTEFACTS)"

phase "stopping"
console_stop
index_stop 1
node_stop 1
reveal_stop
check; grep -Eq '10[- ]?7300[- ]?[0-9]{4}|Case Oh|Visitor' "$CONSOLE_LOG" "$WORK"/node1.log \
  "$WORK"/index1.log "$REVEAL_LOG" && fail "personal data in a log"
done_ok
