#!/usr/bin/env bash
# Sync across a broker outage, and the operator's offline / online switch.
#
#   - a steady stream of scans runs while mosquitto is stopped and later
#     restarted on the same port (with no persistence: its sessions, queued
#     messages and the retained policy are gone): every scan is answered
#     'accepted' during the outage, acked_seq and the cloud's through_seq do
#     not move while the broker is down, and afterwards every record is in
#     the cloud exactly once (journal seqs 1..N == cloud records ==
#     through_seq == acked_seq, unsent 0, visits == N);
#   - both daemons reconnect by themselves; the cloud republishes the
#     retained policy the restarted broker lost;
#   - 'anshim-gw offline' drops the connection on purpose (status offline,
#     not connected; scans still accepted and journaled, nothing reaches the
#     cloud), 'anshim-gw online' restores it and the backlog drains, again
#     exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init A
sgw_enroll A 1
cloud_start
sgw_start A
ID=${SGW_ID[A]}

phase "warm-up: 300 scans delivered"
sgw_load A 100 300 4
wait_delivered 30 A
expect_exactly_once A

# --- a steady stream of scans across a broker outage ---
phase "steady scans; stopping the broker"
ACC=$WORK/accepted.txt
: > "$ACC"
"$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir A)/scan.sock" --visitors 200 \
  --count 2400 --rate 200 --concurrency 4 --seconds 120 --accepted "$ACC" --quiet \
  > "$WORK/load.out" 2>&1 &
LOAD_PID=$!
CLEANUP_PIDS+=("$LOAD_PID")
wait_for 30 "400 scans accepted before the outage" file_lines_at_least "$ACC" 400
stop_broker
wait_for 30 "the gateway to notice the outage" sgw_field_is A connected false
# acked_seq is the durable one: an ack taken just before the outage may
# still be on its way to the journal.  The single writer commits in order,
# so once scans sent after the outage was noticed are accepted (the load
# has at most 4 in flight), that write is done and acked_seq is final.
n=$(wc -l < "$ACC")
wait_for 30 "50 more scans accepted after the outage was noticed" file_lines_at_least "$ACC" $((n + 50))
acked_down=$(sgw_field A acked_seq)
through_down=$(cloud_gw_field "$ID" through_seq)
accepted_down=$(wc -l < "$ACC")
phase "broker down at acked_seq $acked_down (cloud through $through_down), $accepted_down accepted"
wait_for 30 "600 more scans accepted while the broker is down" \
  file_lines_at_least "$ACC" $((accepted_down + 600))
check; kill -0 "$LOAD_PID" 2>/dev/null || fail "the load stopped during the outage: $(cat "$WORK/load.out")"
expect_eq "acked_seq does not move while the broker is down" "$acked_down" "$(sgw_field A acked_seq)"
expect_eq "the cloud's through_seq does not move while the broker is down" "$through_down" \
  "$(cloud_gw_field "$ID" through_seq)"
check
[ "$(sgw_field A unsent)" -ge 600 ] || fail "unsent is $(sgw_field A unsent) during the outage"
expect_eq "status while the broker is down: not connected, not offline on purpose" '[false, false]' \
  "$(sgw_q A "s['sync']['connected'], s['sync']['offline']")"

phase "restarting the broker on port $BROKER_PORT"
restart_broker
wait_for 60 "the gateway to reconnect" sgw_field_is A connected true
wait_for 60 "the cloud to reconnect and republish the retained policy" _policy_retained
rc=0; wait "$LOAD_PID" || rc=$?
_gw_forget_pid "$LOAD_PID"
expect_eq "load client exit status" 0 "$rc"
expect_match "every scan accepted through the outage" \
  'accepted 2400 duplicate 0 rejected 0 not-collecting 0' "$(cat "$WORK/load.out")"
phase "load done; waiting for delivery"
wait_delivered 60 A
expect_exactly_once A
expect_eq "records in all" 2700 "$(sgw_field A last_seq)"
check
[ "$(_log_count "$CLOUD_LOG" 'disconnected from the broker')" -ge 1 ] ||
  fail "the cloud never logged the outage"

# --- offline / online on request ---
phase "anshim-gw offline"
expect_match "anshim-gw offline" '.' "$(sgw_ctl A offline)"
wait_for 10 "status offline" sgw_is A "s['sync']['offline'], s['sync']['connected']" '[true, false]'
through_off=$(cloud_gw_field "$ID" through_seq)
expect_eq "nothing unacked when going offline" "$(sgw_field A last_seq)" "$through_off"
sgw_load A 100 500 4
expect_eq "scans journaled while offline" $((through_off + 500)) "$(sgw_field A last_seq)"
expect_eq "unsent while offline" 500 "$(sgw_field A unsent)"
expect_eq "nothing reached the cloud while offline" "$through_off" "$(cloud_gw_field "$ID" through_seq)"
# Offline means offline: no reconnection attempt brings it back by itself
# (the gateway's reconnect delay is 1-2 s; this waits for several).
check
if (wait_for 6 "a reconnection" sgw_field_is A connected true) 2>/dev/null; then
  fail "the gateway reconnected by itself while offline"
fi
expect_eq "still nothing in the cloud" "$through_off" "$(cloud_gw_field "$ID" through_seq)"

phase "anshim-gw online"
expect_match "anshim-gw online" '.' "$(sgw_ctl A online)"
wait_for 30 "status online and connected" sgw_is A "s['sync']['offline'], s['sync']['connected']" \
  '[false, true]'
wait_delivered 30 A
expect_exactly_once A
expect_eq "records in all" 3200 "$(sgw_field A last_seq)"
# A broker restart loses what it held: batches after the lost one arrive
# past a gap, are counted as 'gap' and acknowledged with the contiguous
# through_seq, which makes the gateway resend.  Nothing else may be refused.
expect_eq "no batch rejected except for gaps" '{}' \
  "$(cloud_q "{k: v for k, v in s['rejects'].items() if k != 'gap'}")"

phase "stopping"
sync_stop_all
done_ok
