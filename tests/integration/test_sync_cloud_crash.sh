#!/usr/bin/env bash
# The cloud aggregator crashes (kill -9) in the middle of ingest.
#
# Two gateways receive a steady stream of scans the whole time.  Three
# rounds of: wait until the cloud has stored a few hundred more records
# (ingest is running), kill -9 anshim-cloudd, wait until the gateways have
# journaled a few hundred more while it is down, restart it on the same
# store.  Checked:
#   - a restarted cloud opens the crashed store and keeps everything it had
#     acknowledged: a gateway's acked_seq is never above the cloud's
#     through_seq for it (an ack is only sent after the commit), and
#     through_seq never goes back across a crash;
#   - at every observation the cloud holds no duplicate: records ==
#     through_seq per gateway;
#   - at the end nothing is lost or doubled: per gateway, journal seqs
#     1..N == cloud records == through_seq == acked_seq, unsent 0, and the
#     cloud's visits total is the sum; no batch was rejected for any reason
#     but 'gap' (batches behind one the crash lost);
#   - the cloud also stops cleanly (exit 0) after the crashes, and its
#     counts survive that restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

ROUNDS=3

phase "setup"
start_broker
cloud_init
# A batch the crashed cloud took from the broker but never committed is
# resent after ack_timeout: keep it short.
sgw_init A "ack_timeout 2s"
sgw_init B "ack_timeout 2s"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

# steady_load NAME: scans at about 150/s until killed.
LOAD_PIDS=()
steady_load() {
  "$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir "$1")/scan.sock" \
    --visitors 300 --rate 150 --concurrency 4 --seconds 600 --quiet \
    > "$WORK/load.$1.out" 2>&1 &
  LOAD_PIDS+=($!)
  CLEANUP_PIDS+=($!)
}

# through NAME: the cloud's through_seq for gateway NAME.
through() { cloud_gw_field "${SGW_ID[$1]}" through_seq; }
through_above() { [ "$(through "$1")" -gt "$2" ]; }
last_seq_above() { [ "$(sgw_field "$1" last_seq)" -gt "$2" ]; }

# consistent WHAT: per gateway, the cloud holds records == through_seq, and
# the gateway's acked_seq is not above it (acked only after commit).
consistent() {
  local n t r a
  for n in A B; do
    # acked first: it can only grow after this, and only up to what the
    # cloud holds.  One stats call for both cloud numbers.
    a=$(sgw_field $n acked_seq)
    read -r t r < <(cloud_q "'%d %d' % (g['${SGW_ID[$n]}']['through_seq'], g['${SGW_ID[$n]}']['records'])")
    expect_eq "$1: $n: cloud records == through_seq (no duplicate)" "$t" "$r"
    check
    [ "$a" -le "$t" ] || fail "$1: $n: acked_seq $a is above the cloud's through_seq $t"
  done
}

phase "steady scans at A and B"
steady_load A
steady_load B
declare -A T_KILL=()
for round in $(seq 1 $ROUNDS); do
  for n in A B; do
    t=$(through $n)
    wait_for 60 "round $round: the cloud storing 200 more records of $n" through_above $n $((t + 200))
  done
  for n in A B; do T_KILL[$n]=$(through $n); done
  cloud_kill9
  phase "round $round: cloud killed at through A ${T_KILL[A]}, B ${T_KILL[B]}"
  for n in A B; do
    l=$(sgw_field $n last_seq)
    wait_for 60 "round $round: $n journaling 200 more records while the cloud is down" \
      last_seq_above $n $((l + 200))
  done
  consistent "round $round, cloud down"
  phase "round $round: restarting the cloud"
  cloud_start
  phase "round $round: cloud connected"
  for n in A B; do
    check
    [ "$(through $n)" -ge "${T_KILL[$n]}" ] ||
      fail "round $round: $n: through_seq went back from ${T_KILL[$n]} to $(through $n) across the crash"
    wait_for 60 "round $round: the restarted cloud storing more of $n" through_above $n "${T_KILL[$n]}"
  done
  consistent "round $round, cloud back"
  phase "round $round: cloud storing again"
done

phase "stopping the load"
for p in "${LOAD_PIDS[@]}"; do
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  _gw_forget_pid "$p"
done
for n in A B; do
  check
  [ "$(sgw_field $n last_seq)" -ge 1000 ] || fail "$n: only $(sgw_field $n last_seq) records"
  expect_eq "$n: no scan refused" 0 "$(sgw_field $n rejected)"
done
phase "waiting for delivery"
wait_delivered 90 A B
expect_exactly_once A B
# A batch lost in a crash makes the next ones arrive past a gap: they are
# counted as 'gap' and acknowledged with the contiguous through_seq, which
# makes the gateway resend.  Nothing else may be refused.
expect_eq "no batch rejected except for gaps" '{}' \
  "$(cloud_q "{k: v for k, v in s['rejects'].items() if k != 'gap'}")"
echo "  gaps: $(cloud_reject gap)"
echo "  resends: A $(sgw_field A resends), B $(sgw_field B resends)"

phase "clean cloud restart"
visits=$(cloud_field visits)
cloud_stop
cloud_start
expect_eq "visits after a clean restart" "$visits" "$(cloud_field visits)"
expect_exactly_once A B

phase "stopping"
sync_stop_all
done_ok
