# The cluster mode for integration scripts (sourced after lib.sh,
# broker.sh, sync_lib.sh and pg_lib.sh, once cloud_init has written
# $CLOUD_CONF with the 'store' line and URI holds the PostgreSQL URI):
# ingest nodes (anshim-cloudd --store URI, each its own client_id) and
# index nodes (anshim-cloudd --role index, each its own LMDB store).
#
#   node_make_conf I / node_start I / node_kill9 I / node_stop I
#   stored_by I             the records ingest node I logged at its stop
#   index_make_conf I / index_start I / index_kill9 I / index_stop I
#   index_same I            index I holds, per gateway, records ==
#                           through_seq == PostgreSQL's, and as many visits
#   index_visits I          the visits index I holds

declare -A NODE_PID=() INDEX_PID=()
node_conf() { echo "$WORK/node$1.conf"; }
node_log() { echo "$WORK/node$1.log"; }
node_make_conf() {
  { grep -v '^client_id ' "$CLOUD_CONF"; echo "client_id anshim-cloudd-$1"; } > "$(node_conf "$1")"
  chmod 0640 "$(node_conf "$1")"
}
# node_start I: start ingest node I (its URI on the command line) and wait
# until it has subscribed.
node_start() {
  local i=$1 n
  n=$(_log_count "$(node_log "$i")" 'connected to .*subscribing')
  anshim-cloudd --config "$(node_conf "$i")" --store "$URI" >> "$(node_log "$i")" 2>&1 &
  NODE_PID[$i]=$!
  CLEANUP_PIDS+=("${NODE_PID[$i]}")
  wait_for 30 "ingest node $i to subscribe" \
    _log_count_above "$(node_log "$i")" 'connected to .*subscribing' "$n"
}
node_kill9() {
  kill -KILL "${NODE_PID[$1]}"
  wait "${NODE_PID[$1]}" 2>/dev/null || true
  _gw_forget_pid "${NODE_PID[$1]}"
}
node_stop() {
  local rc=0
  kill -TERM "${NODE_PID[$1]}"
  wait "${NODE_PID[$1]}" || rc=$?
  _gw_forget_pid "${NODE_PID[$1]}"
  expect_eq "ingest node $1 exit status after SIGTERM" 0 "$rc"
  _sanitizer_clean anshim-cloudd "$(node_log "$1")"
}
# stored_by I: the records ingest node I said it stored in its last run
# (its line when it stops).
stored_by() {
  grep -o 'ingest: [0-9]* batches taken, [0-9]* records' "$(node_log "$1")" | tail -n 1 |
    awk '{print $5}'
}

# Index nodes: each its own LMDB store, filled from PostgreSQL.
index_conf() { echo "$WORK/index$1.conf"; }
index_make_conf() {
  # No 'store' line: anshim-cloud commands with this file read the index's
  # LMDB store; the index node gets the PostgreSQL URI with --store.
  { grep -v '^store_dir \|^store \|^client_id ' "$CLOUD_CONF"; echo "store_dir $WORK/index$1";
    echo "client_id index-$1"; } > "$(index_conf "$1")"
  chmod 0640 "$(index_conf "$1")"
}
index_start() {
  anshim-cloudd --config "$(index_conf "$1")" --role index --store "$URI" >> "$WORK/index$1.log" 2>&1 &
  INDEX_PID[$1]=$!
  CLEANUP_PIDS+=("${INDEX_PID[$1]}")
  wait_for 30 "index node $1 ready" grep -q 'ready: .*index node' "$WORK/index$1.log"
}
index_kill9() {
  kill -KILL "${INDEX_PID[$1]}"
  wait "${INDEX_PID[$1]}" 2>/dev/null || true
  _gw_forget_pid "${INDEX_PID[$1]}"
}
# index_same I: index I holds, per gateway, records == through_seq ==
# PostgreSQL's through_seq, and as many visits as PostgreSQL.
_INDEX_PY=$(cat <<'PY'
import json, sys
idx = json.load(open(sys.argv[1]))
pg = dict(l.split("|") for l in open(sys.argv[2]).read().split())
g = {x["gateway"]: x for x in idx["gateways"]}
ok = all(k in g and g[k]["through_seq"] == int(v) == g[k]["records"] for k, v in pg.items() if k != "visits")
sys.exit(0 if ok and idx["visits"] == int(pg["visits"]) else 1)
PY
)
index_same() {
  anshim-cloud stats --json --config "$(index_conf "$1")" > "$WORK/idx$1.json" 2>/dev/null || return 1
  pg_sql pg "SELECT encode(gw_id, 'hex') || '|' || through_seq FROM gateways
    UNION ALL SELECT 'visits|' || count(*) FROM visits" > "$WORK/pg$1.txt" || return 1
  python3 -c "$_INDEX_PY" "$WORK/idx$1.json" "$WORK/pg$1.txt"
}
index_stop() {
  local rc=0
  kill -TERM "${INDEX_PID[$1]}"
  wait "${INDEX_PID[$1]}" || rc=$?
  _gw_forget_pid "${INDEX_PID[$1]}"
  expect_eq "index node $1 exit status after SIGTERM" 0 "$rc"
  _sanitizer_clean anshim-cloudd "$WORK/index$1.log"
}
index_visits() {
  anshim-cloud stats --json --config "$(index_conf "$1")" | python3 -c 'import json,sys; print(json.load(sys.stdin)["visits"])'
}
index_visits_are() { [ "$(index_visits "$1" 2>/dev/null)" = "$2" ]; }
