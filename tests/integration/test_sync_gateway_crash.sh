#!/usr/bin/env bash
# The gateway crashes (kill -9) while it drains a large backlog.
#
# A gateway kept offline journals a backlog of scans; then it goes online
# and, three times, while the backlog is being sent (the cloud's
# through_seq has moved but is still short of the journal), it is killed
# with SIGKILL and restarted.  Checked:
#   - acked_seq is durable: after the restart it is at least what status
#     showed just before the kill, and never above the cloud's through_seq;
#   - the cloud holds no duplicate at any time (records == through_seq),
#     and a restarted gateway resends from acked_seq + 1, which the cloud
#     de-duplicates;
#   - at the end: journal seqs 1..N == cloud records == through_seq ==
#     acked_seq, unsent 0, visits == N; no batch rejected except 'gap';
#     the restarted gateway is not left offline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

ROUNDS=3
BACKLOG=6000

phase "setup"
start_broker
cloud_init
# Small batches and a small window, so the drain takes long enough to be
# interrupted three times.
sgw_init A "batch_max_records 20" "inflight_batches 2"
sgw_enroll A 1
cloud_start
sgw_start A
ID=${SGW_ID[A]}

phase "offline: journaling a backlog of $BACKLOG"
sgw_ctl A offline > /dev/null
wait_for 10 "status offline" sgw_field_is A offline true
sgw_load A 500 $BACKLOG 16
expect_eq "backlog unsent" $BACKLOG "$(sgw_field A unsent)"

through() { cloud_gw_field "$ID" through_seq; }
through_above() { [ "$(through)" -gt "$1" ]; }

# check_cloud WHAT: records == through_seq (one stats call); prints it.
check_cloud() {
  local t r
  read -r t r < <(cloud_q "'%d %d' % (g['$ID']['through_seq'], g['$ID']['records'])")
  expect_eq "$1: cloud records == through_seq (no duplicate)" "$t" "$r"
  echo "$t"
}

phase "online: draining"
sgw_ctl A online > /dev/null
last_t=0
for round in $(seq 1 $ROUNDS); do
  wait_for 60 "round $round: the drain to move on ($((last_t + 300)) stored)" through_above $((last_t + 300))
  acked_before=$(sgw_field A acked_seq)
  sgw_kill9 A
  t=$(check_cloud "round $round, gateway down")
  phase "round $round: gateway killed at acked_seq >= $acked_before, cloud through $t of $BACKLOG"
  check
  [ "$t" -lt "$BACKLOG" ] || fail "round $round: the backlog was drained before the kill ($t); make it larger"
  sgw_start A nowait
  # (The restarted gateway may already have reconnected and had more
  # acks: compare with the cloud as read after its status.)
  a=$(sgw_field A acked_seq)
  t=$(check_cloud "round $round, gateway restarted")
  check
  [ "$a" -ge "$acked_before" ] || fail "round $round: acked_seq went back from $acked_before to $a across the crash"
  check
  [ "$a" -le "$t" ] || fail "round $round: acked_seq $a is above the cloud's through_seq $t"
  expect_eq "round $round: restarted gateway is not offline" false "$(sgw_field A offline)"
  wait_for 30 "round $round: gateway reconnected" sgw_field_is A connected true
  last_t=$t
done

phase "draining the rest"
wait_delivered 90 A
check_cloud "end" > /dev/null
expect_exactly_once A
expect_eq "records in all" $BACKLOG "$(sgw_field A last_seq)"
expect_eq "no batch rejected except for gaps" '{}' \
  "$(cloud_q "{k: v for k, v in s['rejects'].items() if k != 'gap'}")"

phase "stopping"
sync_stop_all
done_ok
