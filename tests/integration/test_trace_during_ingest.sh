#!/usr/bin/env bash
# Tracing while the aggregator ingests: traces run through LMDB read
# transactions, so they succeed during a steady stream of batches and never
# hold ingest up - the cloud keeps storing visits between and during the
# traces, and everything sent is stored exactly once at the end.
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

phase "a first wave, so there is something to trace"
sgw_load A 200 2000 8
wait_delivered 60 A
sgw_journal A > "$WORK/journal.json"
CASE=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["pid"])' "$WORK/journal.json")
expect_match "a case pid" '^[0-9a-f]{32}$' "$CASE"

phase "traces during a steady stream of check-ins"
"$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir A)/scan.sock" --visitors 300 \
  --count 30000 --concurrency 16 --seconds 120 --quiet > "$WORK/load2.txt" 2>&1 &
LOAD=$!
CLEANUP_PIDS+=("$LOAD")
before=$(cloud_q "s['visits']")
traced=0
for i in $(seq 1 15); do
  out=$(anshim-cloud trace --config "$CLOUD_CONF" --pid "$CASE" --from "$(date -d '-1 day' +%F)" \
    --to "$(date +%F)" --depth 2 --reason "concurrency test $i" --json) ||
    fail "trace $i failed during ingest"
  n=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d["visits"]))' "$out")
  [ "$n" -ge 1 ] || fail "trace $i found no visit of the case"
  traced=$((traced + 1))
  kill -0 "$LOAD" 2>/dev/null || break
done
after=$(cloud_q "s['visits']")
expect_eq "traces completed" 1 "$([ "$traced" -ge 3 ] && echo 1 || echo 0)"
check; [ "$after" -gt "$before" ] || fail "no visit was stored while the traces ran ($before -> $after)"
echo "visits stored while $traced traces ran: $before -> $after"
wait "$LOAD"
expect_match "second wave all accepted" "accepted 30000 duplicate 0 rejected 0" "$(cat "$WORK/load2.txt")"
wait_delivered 120 A
expect_exactly_once A
expect_match "every trace audited" "$((traced)) entries, chain intact" \
  "$(anshim-cloud audit verify --config "$CLOUD_CONF")"
sync_stop_all
done_ok
