#!/usr/bin/env bash
# Cluster mode: wallets' app check-ins reach the index nodes, and a trace
# on an index node says how far behind PostgreSQL it is.
#
# One ingest node and one index node on a real PostgreSQL and mosquitto.
# Two wallets check in by a venue's poster (read from its PNG by zbarimg)
# two hours ago; the case checks out 20 minutes later.  Checked:
#   - the index node copies both app visits (and the check-out: the exit);
#   - 'anshim-cloud trace' on the index node's configuration finds the
#     other wallet as the case's contact (source app, 20 minutes), and
#     says, as text, "index node: caught up with PostgreSQL at TIME (N s
#     ago)", and in JSON "index": {"read_at", "age_seconds", "behind": 0,
#     "caught_up_at"};
#   - with the index node stopped, a new check-in stays in PostgreSQL; the
#     trace still reads the index and its report keeps the index node's
#     last reading (its age grows): the investigator sees how old it is;
#   - restarted, the index node copies the new check-in and the trace says
#     so with a new reading;
#   - the same trace on PostgreSQL's own configuration is refused (tracing
#     is the index nodes'), and nothing personal reaches the logs.
. "$(dirname "$0")/lib.sh"
need zbarimg
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

phase "setup"
pg_start pg
URI=${PG_URI[pg]}
start_broker
cloud_init "store $URI" "audit_witness_every 0"
sgw_init A "venue_id 501"   # never started: its key enrols the venue
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[A]}" --venue 501 --venue-name "제주 올레 카페" --dwell 60 \
  >/dev/null || fail "enrolling the poster venue"
reveal_start "$CLOUD_CONF"
node_make_conf 1
node_start 1
wait_for 30 "the retained policy on the broker" _policy_retained
index_make_conf 1
index_start 1

wallet() { # DIR PHONE NAME
  gw_wallet "$1" "$2" "$3"
  anshim-wallet config --dir "$1" --broker "127.0.0.1:$BROKER_PORT" \
    --authority "$SYNC_AUTH/sign.pub" --timeout 15 >/dev/null
}
wallet "$WORK/case" 010-7200-0001 "Case Kang"
wallet "$WORK/visitor" 010-7200-0002 "Poster Visitor"
wallet "$WORK/late" 010-7200-0003 "Late Visitor"

phase "two wallets check in by the poster, the case checks out"
T0=$(date +%s)
anshim-cloud poster --config "$CLOUD_CONF" --venue 501 --format png --out "$WORK/poster.png" >/dev/null
check; [ -s "$WORK/poster.png" ] || fail "no poster PNG"
for w in case visitor; do
  expect_match "$w check-in" "delivered: stored by the cloud" \
    "$(anshim-wallet checkin --dir "$WORK/$w" --image "$WORK/poster.png" --at $((T0 - 7200)))"
done
expect_match "check-out" "delivered: stored by the cloud" \
  "$(anshim-wallet checkout --dir "$WORK/case" --at $((T0 - 7200 + 1200)))"
expect_eq "PostgreSQL holds the two app visits" 2 \
  "$(pg_sql pg "SELECT count(*) FROM visits WHERE checkin_id IS NOT NULL")"
wait_for 30 "the index holding both app visits" index_visits_are 1 2

FROM=$(date -d "@$((T0 - 86400))" +%F)
TO=$(date -d "@$((T0 + 86400))" +%F)
trace() { # FORMAT_FLAG...
  anshim-cloud trace --config "$(index_conf 1)" --phone 010-7200-0001 --from "$FROM" --to "$TO" \
    --reason "cluster: app check-ins on an index node" "$@" 2>>"$WORK/trace.err"
}
# index_read_at: the reading the index node last recorded, via the trace.
index_read_at() { pyq "$(trace --json)" "s['index']['read_at']"; }
# The check-out is a later transaction than the check-in: the index copies
# it in a later step.
exit_copied() { [ "$(pyq "$(trace --json)" "[v['exit_recorded'] for v in s['visits']]")" = "[true]" ]; }
wait_for 30 "the index holding the case's check-out" exit_copied

phase "trace on the index node"
json=$(trace --json)
expect_eq "the case's visit: app, exit recorded" '[[501, "app", true]]' \
  "$(pyq "$json" "[[v['venue'], v['source'], v['exit_recorded']] for v in s['visits']]")"
expect_eq "contact: the poster visitor, app, 20 minutes" '[[1, 501, "app", 20]]' \
  "$(pyq "$json" "[[c['order'], c['venue'], c['source'], c['overlap_minutes']] for c in s['contacts']]")"
expect_eq "JSON: the index node is caught up" 0 "$(pyq "$json" "s['index']['behind']")"
expect_eq "JSON: its reading is recent and it was caught up then" true \
  "$(pyq "$json" "0 <= s['index']['age_seconds'] <= 60 and s['index']['caught_up_at'] == s['index']['read_at']")"
text=$(trace)
echo "$text" | sed -n '1,5p' | sed 's/^/  /'
expect_match "text: the index node's line" \
  "index node: caught up with PostgreSQL at [0-9-]+T[0-9:]+\+09:00 \([0-9]+ s ago\)" "$text"

phase "index node stopped: its last reading ages, the new check-in waits in PostgreSQL"
index_stop 1
before=$(index_read_at) # once stopped: a running node may record a reading at any moment
expect_match "a check-in while the index node is stopped" "delivered: stored by the cloud" \
  "$(anshim-wallet checkin --dir "$WORK/late" --image "$WORK/poster.png" --at $((T0 - 7200 + 600)))"
expect_eq "PostgreSQL holds it" 3 "$(pg_sql pg "SELECT count(*) FROM visits WHERE checkin_id IS NOT NULL")"
expect_eq "the index does not yet" 2 "$(index_visits 1)"
json=$(trace --json)
expect_eq "the report keeps the last reading" "$before" "$(pyq "$json" "s['index']['read_at']")"
expect_eq "one contact still" 1 "$(pyq "$json" "len(s['contacts'])")"

phase "index node restarted: it copies the new check-in and reads anew"
index_start 1
wait_for 30 "the index holding the three app visits" index_visits_are 1 3
json=$(trace --json)
expect_eq "two contacts now" 2 "$(pyq "$json" "len(s['contacts'])")"
check; [ "$(pyq "$json" "s['index']['read_at']")" != "$before" ] || fail "the index node's reading did not change"
expect_eq "caught up" 0 "$(pyq "$json" "s['index']['behind']")"

phase "tracing is the index nodes'"
out=$(anshim-cloud trace --config "$CLOUD_CONF" --phone 010-7200-0001 --from "$FROM" --to "$TO" \
  --reason "cluster: on PostgreSQL" --json 2>&1) && fail "a trace on PostgreSQL's configuration ran: $out"
echo "  $out" | head -n 2
expect_match "the refusal names the index nodes" "trace on an index node" "$out"

phase "stopping"
index_stop 1
node_stop 1
reveal_stop
check; grep -Eq '10[- ]?7200[- ]?[0-9]{4}|Kang|Visitor' "$WORK"/node1.log "$WORK"/index1.log "$REVEAL_LOG" &&
  fail "personal data in a log"
done_ok
