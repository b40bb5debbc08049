#!/usr/bin/env bash
# The cluster mode's ingest: three anshim-cloudd --store postgresql://...
# on one real PostgreSQL share one MQTT shared subscription
# ($share/anshim/...), and two index nodes (anshim-cloudd --role index)
# fill their own LMDB stores from it, with five gateways scanning the
# whole time.  One ingest node is killed (kill -9) while batches flow, and
# started again; so is one index node.  Checked:
#   - the shared subscription splits the batches: every node stores some;
#   - at every observation no gateway's acked_seq is above the through_seq
#     PostgreSQL holds for it (an ack is published only after the commit);
#   - at the end every accepted scan is in PostgreSQL exactly once: per
#     gateway, journal seqs 1..N == rows == distinct seqs == through_seq ==
#     acked_seq, unsent 0, and the visits total is the sum; nothing refused
#     but 'gap' (batches behind one the killed node lost);
#   - and in both indexes exactly once: per gateway, the index's records ==
#     through_seq == PostgreSQL's, and the same visits total.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

GATEWAYS=(A B C D E)
NODES=3

phase "setup: PostgreSQL, broker, keys"
pg_start pg
URI=${PG_URI[pg]}
start_broker
cloud_init "store $URI" "shared_group anshim" "audit_witness_every 0"
for n in "${GATEWAYS[@]}"; do sgw_init "$n" "ack_timeout 2s"; done
v=0
for n in "${GATEWAYS[@]}"; do v=$((v + 1)); sgw_enroll "$n" "$v"; done

for i in $(seq 1 $NODES); do node_make_conf "$i"; done
for i in $(seq 1 $NODES); do node_start "$i"; done
for i in 1 2; do index_make_conf "$i"; done
for i in 1 2; do index_start "$i"; done
# Three writers opened the database at once: the schema was applied once
# (each migration of cloud/sql once).
migrations=$(find "$(dirname "$0")/../../cloud/sql" -name '[0-9][0-9][0-9]_*.sql' | wc -l)
expect_eq "each migration applied once" "$migrations $migrations" \
  "$(pg_sql pg "SELECT count(*), count(DISTINCT version) FROM anshim_schema" | tr '|' ' ')"
wait_for 30 "the retained policy on the broker" _policy_retained
for n in "${GATEWAYS[@]}"; do sgw_start "$n"; done

LOAD_PIDS=()
steady_load() {
  "$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir "$1")/scan.sock" \
    --visitors 300 --rate 60 --concurrency 2 --seconds 600 --quiet \
    > "$WORK/load.$1.out" 2>&1 &
  LOAD_PIDS+=($!)
  CLEANUP_PIDS+=($!)
}

pg_through() { pg_sql pg "SELECT through_seq FROM gateways WHERE gw_id = '\\x${SGW_ID[$1]}'"; }
through_above() { [ "$(pg_through "$1")" -gt "$2" ]; }
# consistent WHAT: per gateway, rows == through_seq in PostgreSQL, and the
# gateway's acked_seq is not above it.
consistent() {
  local n a t r
  for n in "${GATEWAYS[@]}"; do
    a=$(sgw_field "$n" acked_seq)
    read -r t r < <(pg_sql pg "SELECT g.through_seq, (SELECT count(*) FROM visits v WHERE
      v.gateway = g.gw_id) FROM gateways g WHERE g.gw_id = '\\x${SGW_ID[$n]}'" | tr '|' ' ')
    expect_eq "$1: $n: rows == through_seq (no duplicate)" "$t" "$r"
    check
    [ "$a" -le "$t" ] || fail "$1: $n: acked_seq $a is above PostgreSQL's through_seq $t"
  done
}

phase "steady scans at ${GATEWAYS[*]}"
for n in "${GATEWAYS[@]}"; do steady_load "$n"; done
for n in "${GATEWAYS[@]}"; do
  wait_for 90 "PostgreSQL storing 100 records of $n" through_above "$n" 100
done
consistent "under load"

phase "kill -9 ingest node 2 while batches flow"
t=$(pg_through A)
node_kill9 2
for n in "${GATEWAYS[@]}"; do
  t=$(pg_through "$n")
  wait_for 90 "the two other nodes storing 100 more records of $n" through_above "$n" $((t + 100))
done
consistent "node 2 down"
phase "kill -9 index node 2 while it copies; restarting both"
index_kill9 2
node_start 2
index_start 2
for n in "${GATEWAYS[@]}"; do
  t=$(pg_through "$n")
  wait_for 90 "three nodes storing 100 more records of $n" through_above "$n" $((t + 100))
done
consistent "node 2 back"

phase "stopping the load"
for p in "${LOAD_PIDS[@]}"; do
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  _gw_forget_pid "$p"
done
for n in "${GATEWAYS[@]}"; do expect_eq "$n: no scan refused" 0 "$(sgw_field "$n" rejected)"; done
phase "waiting for delivery"
wait_delivered 120 "${GATEWAYS[@]}"
expect_exactly_once "${GATEWAYS[@]}"
for n in "${GATEWAYS[@]}"; do
  read -r rows distinct lo hi < <(pg_sql pg "SELECT count(*), count(DISTINCT seq), min(seq),
    max(seq) FROM visits WHERE gateway = '\\x${SGW_ID[$n]}'" | tr '|' ' ')
  last=$(sgw_field "$n" last_seq)
  expect_eq "$n: rows in PostgreSQL" "$last" "$rows"
  expect_eq "$n: distinct seqs in PostgreSQL" "$last" "$distinct"
  expect_eq "$n: seqs from 1" "1 $last" "$lo $hi"
done
phase "both index nodes catch up"
for i in 1 2; do
  wait_for 120 "index node $i holding every visit of PostgreSQL exactly once" index_same "$i"
  check
  echo "  index node $i: $(json_get "$(cat "$WORK/idx$i.json")" visits) visits"
done
expect_eq "no batch rejected except for gaps" '{}' \
  "$(cloud_q "{k: v for k, v in s['rejects'].items() if k != 'gap'}")"
echo "  gaps: $(cloud_reject gap)"

phase "stopping"
for i in 1 3 2; do node_stop "$i"; done
for i in 1 2; do index_stop "$i"; done
# Each node stored records: the shared subscription spread the batches.
for i in $(seq 1 $NODES); do
  check
  s=$(stored_by "$i")
  echo "  ingest node $i stored ${s:-?} records (node 2: since its restart)"
  [ "${s:-0}" -gt 0 ] || fail "ingest node $i stored nothing"
done
for n in "${GATEWAYS[@]}"; do sgw_stop "$n"; done
done_ok
