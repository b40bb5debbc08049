#!/usr/bin/env bash
# The cluster mode survives the loss of its PostgreSQL primary.
#
# A primary and a streaming standby, synchronous (synchronous_commit on,
# the standby in synchronous_standby_names), so a commit returns only once
# the standby has it.  An ingest node reaches them by one multi-host URI
# (target_session_attrs=read-write: libpq connects to whichever takes
# writes).  Two gateways scan the whole time.  The primary is stopped
# (immediate mode: a crash) and the standby promoted with pg_ctl promote.
# Checked:
#   - the standby was streaming synchronously before the failover;
#   - every record a gateway had been acknowledged before the failover is
#     on the promoted standby (acked_seq <= its through_seq);
#   - ingest resumes after reconnecting, on the new primary alone;
#   - at the end every scan is stored exactly once and acknowledged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/pg_lib.sh"

GATEWAYS=(A B)

phase "setup: a primary and a synchronous standby"
pg_start pg1 "synchronous_commit = on"
pg_standby pg2 pg1
# Synchronous only once the standby runs (a commit waits for it).
pg_sql pg1 "ALTER SYSTEM SET synchronous_standby_names = 'pg2'" > /dev/null
pg_sql pg1 "SELECT pg_reload_conf()" > /dev/null
sync_standby() { [ "$(pg_sql pg1 "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2'")" = sync ]; }
wait_for 60 "pg2 streaming synchronously from pg1" sync_standby
check
URI="postgresql://anshim@127.0.0.1:${PG_PORT[pg1]},127.0.0.1:${PG_PORT[pg2]}/anshim?target_session_attrs=read-write&connect_timeout=5"

start_broker
cloud_init "store $URI" "audit_witness_every 0"
for n in "${GATEWAYS[@]}"; do sgw_init "$n" "ack_timeout 2s"; done
sgw_enroll A 1
sgw_enroll B 2
CLOUD_LOG=$WORK/cloudd.log
n=$(_log_count "$CLOUD_LOG" 'connected to .*subscribing')
anshim-cloudd --config "$CLOUD_CONF" >> "$CLOUD_LOG" 2>&1 &
CLOUD_PID=$!
CLEANUP_PIDS+=("$CLOUD_PID")
wait_for 30 "anshim-cloudd to subscribe" _log_count_above "$CLOUD_LOG" 'connected to .*subscribing' "$n"
wait_for 30 "the retained policy on the broker" _policy_retained
for n in "${GATEWAYS[@]}"; do sgw_start "$n"; done

LOAD_PIDS=()
for n in "${GATEWAYS[@]}"; do
  "$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir "$n")/scan.sock" \
    --visitors 300 --rate 60 --concurrency 2 --seconds 600 --quiet > "$WORK/load.$n.out" 2>&1 &
  LOAD_PIDS+=($!)
  CLEANUP_PIDS+=($!)
done

through_on() { pg_sql "$1" "SELECT through_seq FROM gateways WHERE gw_id = '\\x${SGW_ID[$2]}'"; }
through_above() { [ "$(through_on "$1" "$2")" -gt "$3" ]; }
acked_above() { [ "$(sgw_field "$1" acked_seq)" -gt "$2" ]; }

phase "scans stored through pg1"
for n in "${GATEWAYS[@]}"; do
  wait_for 90 "pg1 storing 150 records of $n" through_above pg1 "$n" 150
  wait_for 90 "$n acknowledged past 100" acked_above "$n" 100
done

phase "stopping the primary (immediate) while batches flow"
declare -A ACKED=()
pg_stop pg1 immediate
for n in "${GATEWAYS[@]}"; do ACKED[$n]=$(sgw_field "$n" acked_seq); done
phase "promoting pg2"
pg_promote pg2
for n in "${GATEWAYS[@]}"; do
  t=$(through_on pg2 "$n")
  check
  [ "${ACKED[$n]}" -le "$t" ] ||
    fail "$n: acknowledged through ${ACKED[$n]} but the promoted standby holds through $t"
  echo "  $n: acked ${ACKED[$n]} before the failover, pg2 holds through $t"
done

phase "ingest resumes on pg2"
for n in "${GATEWAYS[@]}"; do
  t=$(through_on pg2 "$n")
  wait_for 90 "pg2 storing 100 more records of $n" through_above pg2 "$n" $((t + 100))
done

phase "stopping the load"
for p in "${LOAD_PIDS[@]}"; do
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  _gw_forget_pid "$p"
done
wait_delivered 120 "${GATEWAYS[@]}"
expect_exactly_once "${GATEWAYS[@]}"
for n in "${GATEWAYS[@]}"; do
  read -r rows distinct < <(pg_sql pg2 "SELECT count(*), count(DISTINCT seq) FROM visits
    WHERE gateway = '\\x${SGW_ID[$n]}'" | tr '|' ' ')
  expect_eq "$n: rows on pg2 == distinct seqs" "$rows" "$distinct"
  expect_eq "$n: rows on pg2 == the journal" "$(sgw_field "$n" last_seq)" "$rows"
done
check
grep -q 'not acknowledged' "$CLOUD_LOG" || fail "the outage left no trace in the daemon's log"

phase "stopping"
cloud_stop
for n in "${GATEWAYS[@]}"; do sgw_stop "$n"; done
done_ok
