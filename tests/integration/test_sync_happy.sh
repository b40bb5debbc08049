#!/usr/bin/env bash
# Sync, the normal case: two gateways at two venues, one cloud, one broker.
#
#   - pass scans at both gateways (at the same time) and a CSV import of the
#     paper register at one all reach the cloud exactly once: per gateway,
#     journal seqs 1..N == cloud records == cloud through_seq == acked_seq,
#     unsent 0; cloud visits == the sum of the journals;
#   - the ack is what makes 'unsent' 0: with the cloud stopped, batches are
#     published (and PUBACKed by the broker) and stay unsent until the
#     restarted cloud acknowledges them; the cloud's
#     acks for one gateway come in store order (through_seq never goes
#     down), so a gateway has no reason to resend in the normal case
#     (once a bug, ACK-ORDER: cloud/aggregator/ingest.c published each ingest group's
#     acks newest first, and the gateway took a late, lower ack for a
#     missing batch and resent its window);
#   - a paper entry's phone yields the same pseudonym as a credential issued
#     for that phone: a pass for 010-5555-1234 scanned at gateway A and a
#     register row with "+82 10 5555 1234" imported at gateway B are two
#     visits of ONE person: 'anshim-cloud trace --pid' (and --phone in a
#     third spelling) lists exactly those two visits, and 'people' (one
#     capsule per pid) grows for the pass, not for the paper row, while
#     visits grow by one each; a control row with another phone does add a
#     person, so the count does see paper entries.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
# The default ack_timeout: in the normal case nothing is ever resent, even
# on a slow machine.
sgw_init A "ack_timeout 30s"
sgw_init B "ack_timeout 30s"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B
# Every ack the cloud publishes, to check their order.
msub_start "$WORK/acks.txt" anshim/v1/gw/probe/ack 'anshim/v1/gw/+/ack'

# --- scans at both venues at once, and a paper register at A ---
phase "scanning at A and B"
sgw_load A 300 1500 8 > "$WORK/load.A" 2>&1 &
load_a=$!
sgw_load B 300 1000 8 > "$WORK/load.B" 2>&1 &
load_b=$!
rc=0; wait "$load_a" || rc=$?
check; [ "$rc" = 0 ] || fail "load at A: $(cat "$WORK/load.A")"
rc=0; wait "$load_b" || rc=$?
check; [ "$rc" = 0 ] || fail "load at B: $(cat "$WORK/load.B")"

# Earlier today (or late yesterday): within sent_retention (24 h), so the
# gateway's purge keeps them after the ack whatever the time of day.
at() { date -d "$1" '+%F,%H:%M'; }
cat > "$WORK/paper-a.csv" <<EOF
date,time,name,phone,headcount
$(at '-5 hours'),Paper One,010-3000-0101,2
$(at '-4 hours'),Paper Two,010-3000-0102,
$(at '-3 hours'),Paper Three,+82 10 3000 0103,1
EOF
expect_eq "CSV import at A" \
  "$WORK/paper-a.csv: 3 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper-a.csv")"

phase "waiting for delivery"
wait_delivered 60 A B
expect_exactly_once A B
expect_eq "A: records journaled" 1503 "$(sgw_field A last_seq)"
expect_eq "B: records journaled" 1000 "$(sgw_field B last_seq)"
for n in A B; do
  check
  [ "$(sgw_field $n acks)" -ge 1 ] || fail "$n: no ack counted"
  # Without resends every batch sent stored something new (the cloud counts
  # only those).
  expect_eq "$n: no resends in the normal case" 0 "$(sgw_field $n resends)"
  expect_eq "$n: cloud batches == batches sent" "$(sgw_field $n batches_sent)" \
    "$(cloud_gw_field "${SGW_ID[$n]}" batches)"
  expect_eq "$n: venue" "$([ $n = A ] && echo 1 || echo 2)" "$(cloud_gw_field "${SGW_ID[$n]}" venue)"
done
expect_eq "paper entries at A are stored as visits" 1503 "$(cloud_gw_field "${SGW_ID[A]}" records)"
expect_eq "no batch rejected" 0 "$(cloud_field rejects_total)"
# The cloud acks each gateway's batches in the order it stored them.
expect_eq "acks published with a lower through_seq than an earlier ack" 0 \
  "$(ack_order_check "$WORK/acks.txt")"
msub_stop

# --- a PUBACK is not a receipt: only the cloud's ack makes unsent 0 ---
phase "cloud stopped: sent but not acknowledged"
cloud_stop
sent=$(sgw_field A batches_sent)
acked=$(sgw_field A acked_seq)
sgw_load A 50 20 1
sent_more() { [ "$(sgw_field A batches_sent)" -gt "$1" ]; }
wait_for 30 "A to publish while the cloud is down" sent_more "$sent"
expect_eq "sent (and PUBACKed by the broker) but unsent" 20 "$(sgw_field A unsent)"
expect_eq "acked_seq unchanged without the cloud" "$acked" "$(sgw_field A acked_seq)"
cloud_start
wait_delivered 30 A
expect_eq "unsent after the cloud's ack" 0 "$(sgw_field A unsent)"

# --- the same person by pass at A and on paper at B ---
phase "one person by pass at A, on paper at B"
sgw_use A
gw_wallet "$WORK/w" 010-5555-1234 "Kim Same"
pass=$(gw_pass "$WORK/w")
pid=$(anshim-gw verify-pass "$pass" --config "$GW_CONF" | sed -n 's/.*pid=\([0-9a-f]*\).*/\1/p')
expect_match "the pass's pid" '^[0-9a-f]{32}$' "$pid"
people0=$(cloud_field people)
visits0=$(cloud_field visits)
expect_eq "pass for 010-5555-1234 at A" accepted "$(gw_scan "$GW_SCAN" "$pass")"
expect_eq "A journaled the pass under its pid" "$pid" "$(sgw_journal A | tail -n 1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
wait_delivered 30 A
expect_eq "visits after the pass" $((visits0 + 1)) "$(cloud_field visits)"
expect_eq "people after the pass (a new person)" $((people0 + 1)) "$(cloud_field people)"

cat > "$WORK/paper-b.csv" <<EOF
date,time,name,phone
$(at "-2 hours"),Kim Same,+82 10 5555 1234
EOF
expect_eq "CSV import at B" \
  "$WORK/paper-b.csv: 1 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-b.csv")"
expect_eq "B journals the paper entry without a pid" '""' "$(sgw_journal B | tail -n 1 |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps(r["pid"]) if r["kind"]=="manual" else "not manual")')"
wait_delivered 30 B
expect_eq "visits after the paper entry" $((visits0 + 2)) "$(cloud_field visits)"
expect_eq "people after the paper entry (the same person: same pid)" $((people0 + 1)) \
  "$(cloud_field people)"

# The cloud's own answer: tracing that pid, or that phone (turned into a pid
# with the pseudonym key), finds one person with the two visits: the pass at
# venue 1 and the paper entry at venue 2.
trace_visits() {
  anshim-cloud trace --config "$CLOUD_CONF" "$@" --from "$(date -d '3 days ago' +%F)" \
    --to "$(date -d tomorrow +%F)" --reason "test_sync_happy" --json |
    python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["case"]["pid"], sorted((v["venue"], v["source"]) for v in t["visits"]))'
}
expect_eq "trace --pid of the pass" "$pid [(1, 'scan'), (2, 'manual')]" "$(trace_visits --pid "$pid")"
expect_eq "trace --phone in another spelling" "$pid [(1, 'scan'), (2, 'manual')]" \
  "$(trace_visits --phone 01055551234)"

# Control: another phone on paper is another person.
cat > "$WORK/paper-c.csv" <<EOF
date,time,name,phone
$(at "-1 hours"),Lee Other,010-5555-9876
EOF
anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-c.csv" > /dev/null
wait_delivered 30 B
expect_eq "visits after the control row" $((visits0 + 3)) "$(cloud_field visits)"
expect_eq "people after the control row (a new person)" $((people0 + 2)) "$(cloud_field people)"

expect_exactly_once A B
phase "stopping"
sync_stop_all
done_ok
