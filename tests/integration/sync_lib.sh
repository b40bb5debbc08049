# Shared setup for the sync integration tests (test_sync_*.sh): one cloud
# aggregator and any number of named gateways on one real mosquitto.
# Source after lib.sh and broker.sh.
#
# Cloud:    cloud_init [CONFIG_LINE]... (keys in $SYNC_AUTH, store, config),
#           cloud_start / cloud_stop / cloud_kill9, cloud_stats (JSON),
#           reveal_stop (the reveal service cloud_start started),
#           cloud_q PYEXPR (evaluate with s = stats, g = {gw id: entry}).
# Gateways: sgw_init NAME [CONFIG_LINE]... (state dir, keys, config with the
#           broker; a line overrides the default with the same key),
#           sgw_enroll NAME VENUE, sgw_start / sgw_stop / sgw_kill9 NAME,
#           sgw_q NAME PYEXPR (s = status JSON), sgw_use NAME (points
#           lib.sh's GW_* variables at NAME so gw_scan, gw_journal, ... work),
#           sgw_load NAME ... (bench/gateway_scan on its scan socket).
# Checks:   sgw_delivered NAME (everything journaled is acked and stored),
#           expect_exactly_once NAME... (journal == cloud, record for record
#           count, per gateway and in total).
# MQTT:     msub / mpub: mosquitto_sub / mosquitto_pub on the test broker,
#           with MQTT_USER / MQTT_PASS if set.

need python3

# SYNC_STORE=postgresql (set by the test_cluster_* scripts that run an
# embedded-mode script again): cloud_init puts the cloud's store in a
# PostgreSQL started here (pg_lib.sh), so the same assertions run against
# the cluster mode.
if [ "${SYNC_STORE:-}" = postgresql ]; then
  . "$(dirname "${BASH_SOURCE[0]}")/pg_lib.sh"
fi

SYNC_AUTH=$WORK/auth
CLOUD_DIR=$WORK/cloud
CLOUD_CONF=$CLOUD_DIR/cloud.conf
CLOUD_STORE=$CLOUD_DIR/store
CLOUD_LOG=$WORK/cloudd.log
CLOUD_PID=
SYNC_VENUE_SEQ=0
declare -A SGW_ID=() SGW_PK=() SGW_PID=()

# On exit: with SYNC_KEEP_LOGS=DIR, copy the daemon logs there; on failure,
# show the end of each; then lib.sh's cleanup.
_sync_exit() {
  local rc=$? f
  if [ -n "${SYNC_KEEP_LOGS:-}" ]; then
    mkdir -p "$SYNC_KEEP_LOGS"
    for f in "$WORK"/*.log "$WORK"/gw-*/gatewayd.log; do
      [ -f "$f" ] && cp "$f" "$SYNC_KEEP_LOGS/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
  fi
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    for f in "$WORK"/cloudd.log "$WORK"/revealed.log "$WORK"/gw-*/gatewayd.log; do
      [ -f "$f" ] || continue
      echo "--- last lines of $f" >&2
      grep -v 'check-in {' "$f" | tail -n 15 >&2
    done
  fi
  cleanup
}
trap _sync_exit EXIT

# ---- small helpers ----

# phase TEXT: print TEXT with the seconds since the test started.
SYNC_T0=$(date +%s%N)
phase() { echo "[+$(( ($(date +%s%N) - SYNC_T0) / 1000000000 ))s] $*"; }

# pyq JSON PYEXPR: print PYEXPR evaluated with s = the parsed JSON.
_PYQ=$(cat <<'PY'
import json, sys
s = json.loads(sys.argv[1])
g = {x["gateway"]: x for x in s.get("gateways", [])} if isinstance(s, dict) else {}
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (bool, dict, list, tuple)) or v is None else v)
PY
)
pyq() { python3 -c "$_PYQ" "$1" "$2"; }

# Fast scalar lookups without python3 (for polling loops; python3 costs
# a few hundred ms per call on a loaded machine).
# json_get JSON KEY: the first "KEY": scalar in JSON (strings unquoted).
json_get() {
  local re="\"$2\":(\"[^\"]*\"|[^,}]*)" v
  [[ $1 =~ $re ]] || return 1
  v=${BASH_REMATCH[1]}
  v=${v#\"}
  echo "${v%\"}"
}

# _merge_config DEFAULTS_ARRAY_NAME LINE...: print the defaults whose key no
# LINE sets, then the LINEs (keys may not repeat, except 'source').
_merge_config() {
  local -n _defaults=$1
  shift
  local d l key skip
  for d in "${_defaults[@]}"; do
    key=${d%% *}; skip=0
    for l in "$@"; do [ "${l%% *}" = "$key" ] && skip=1; done
    [ "$skip" = 1 ] || echo "$d"
  done
  for l in "$@"; do echo "$l"; done
}

_mqtt_auth() {
  if [ -n "${MQTT_USER:-}" ]; then
    printf '%s\n' -u "$MQTT_USER" -P "$MQTT_PASS"
  fi
}
msub() {
  local a=(); mapfile -t a < <(_mqtt_auth)
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" "${a[@]}" "$@"
}
mpub() {
  local a=(); mapfile -t a < <(_mqtt_auth)
  mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" "${a[@]}" "$@"
}

# msub_start FILE PROBE_TOPIC TOPIC...: a background mosquitto_sub (QoS 1)
# writing each message on TOPIC... or PROBE_TOPIC to FILE as "topic hex",
# one per line; returns once it is subscribed: probes published on
# PROBE_TOPIC (also with MQTT_USER, if set) until one comes through.  The
# probe topic anshim/v1/policy is not published to: its retained message
# (put there by anshim-cloudd) is the probe.
msub_start() {
  local file=$1 probe=$2 try t args=() auth=()
  shift 2
  for t in "$@" "$probe"; do args+=(-t "$t"); done
  mapfile -t auth < <(_mqtt_auth)
  # mosquitto_sub itself, not the msub function: a function in the
  # background runs in a subshell, $! would be that subshell, and killing
  # it would leave mosquitto_sub running.
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" "${auth[@]}" -q 1 -F '%t %x' "${args[@]}" \
    > "$file" 2>> "$WORK/msub.err" &
  MSUB_PID=$!
  CLEANUP_PIDS+=("$MSUB_PID")
  for try in 1 2 3 4 5 6 7 8 9 10; do
    [ "$probe" = anshim/v1/policy ] || mpub -q 1 -t "$probe" -m "probe" || true
    if (wait_for 2 "the probe" grep -q "^$probe " "$file") 2>/dev/null; then
      return 0
    fi
  done
  fail "mosquitto_sub did not subscribe (no probe in $file)"
}

# msub_stop: end the background mosquitto_sub.
msub_stop() {
  kill "$MSUB_PID" 2>/dev/null || true
  wait "$MSUB_PID" 2>/dev/null || true
  _gw_forget_pid "$MSUB_PID"
}

# ack_order_check FILE: the acks recorded by msub_start are, per gateway,
# in non-decreasing through_seq order; prints the count of out-of-order
# acks (0 when all are in order).
_ACK_ORDER_PY=$(cat <<'PY'
import sys
last, back, n = {}, 0, 0
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 2 or not parts[0].endswith("/ack"):
        continue
    through = int.from_bytes(bytes.fromhex(parts[1])[18:26], "little")
    n += 1
    if through < last.get(parts[0], 0):
        back += 1
    last[parts[0]] = max(last.get(parts[0], 0), through)
print(back)
print(f"  {n} acks seen, {back} with a lower through_seq than an earlier one", file=sys.stderr)
PY
)
ack_order_check() { python3 -c "$_ACK_ORDER_PY" "$1"; }

# _log_count FILE REGEX: lines of FILE matching REGEX.
_log_count() {
  if [ -f "$1" ]; then grep -Ec -- "$2" "$1" || true; else echo 0; fi
}
_log_count_above() { [ "$(_log_count "$1" "$2")" -gt "$3" ]; }

# _sanitizer_clean WHAT FILE
_sanitizer_clean() {
  check
  if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$2"; then
    fail "sanitizer report in the $1 log: $(grep -E -m 5 'runtime error:|Sanitizer' "$2")"
  fi
}

# ---- the cloud ----

CLOUD_DEFAULTS=()
cloud_init() {
  mkdir -p "$CLOUD_DIR"
  [ -e "$SYNC_AUTH/sign.pub" ] || anshim-cloud keys init --dir "$SYNC_AUTH" >/dev/null
  CLOUD_DEFAULTS=(
    "store_dir $CLOUD_STORE"
    "keys_dir $SYNC_AUTH"
    "broker $BROKER_URI"
    "audit_log $CLOUD_DIR/audit.log"
    "map_size 1G"
    "log_level info"
  )
  if [ "${SYNC_STORE:-}" = postgresql ]; then
    [ -n "${PG_URI[sync]:-}" ] || pg_start sync
    CLOUD_DEFAULTS+=("store ${PG_URI[sync]}")
  fi
  _merge_config CLOUD_DEFAULTS "$@" > "$CLOUD_CONF"
  chmod 0640 "$CLOUD_CONF" # it may hold broker_password: not for every user
  # Signed and saved in the store only: anshim-cloudd publishes it retained
  # when it connects (which cloud_start waits for), gateways get a copy.
  anshim-cloud policy set --config "$CLOUD_CONF" --level 3 --no-publish >/dev/null
}

# _policy_retained: the broker holds the retained policy.  anshim-cloudd
# subscribes to the batches before it publishes the policy on connecting,
# so on a fresh broker this also means the subscription is in place.
_policy_retained() { msub -t anshim/v1/policy -C 1 -W 2 >/dev/null 2>&1; }

# cloud_start: start anshim-cloudd (and the reveal service, the first
# time) and wait until it is connected and the retained policy is on the
# broker.  With CLOUD_FAKETIME set (e.g. +50y),
# the daemon sees its wall clock that far off (libfaketime).
# In cluster mode (SYNC_STORE) traces run on an index node: cloud_start
# starts one the first time (its own LMDB store in $WORK/index, filled from
# PostgreSQL), and sync_trace_ready waits until it holds every gateway visit
# PostgreSQL holds and has passed every gateway's through_seq;
# SYNC_TRACE_CONF is the configuration to trace with
# ($CLOUD_CONF in the embedded mode).
SYNC_TRACE_CONF=$CLOUD_CONF
SYNC_INDEX_PID=
# _sync_index_launch NAME: write $WORK/NAME.conf (store_dir $WORK/NAME)
# and start an index node on it, logging to $WORK/NAME.log; its pid in
# _SYNC_LAUNCHED.
_sync_index_launch() {
  { grep -v '^store_dir \|^store \|^client_id ' "$CLOUD_CONF"; echo "store_dir $WORK/$1"; } \
    > "$WORK/$1.conf"
  chmod 0640 "$WORK/$1.conf"
  anshim-cloudd --config "$WORK/$1.conf" --role index --store "${PG_URI[sync]}" \
    >> "$WORK/$1.log" 2>&1 5>&- 6>&- 7>&- 8>&- 9>&- &
  _SYNC_LAUNCHED=$!
  CLEANUP_PIDS+=("$_SYNC_LAUNCHED")
}
_sync_index_start() {
  SYNC_TRACE_CONF=$WORK/index.conf
  _sync_index_launch index
  SYNC_INDEX_PID=$_SYNC_LAUNCHED
  wait_for 30 "the index node to start" grep -q 'ready: .*index node' "$WORK/index.log"
}
_sync_index_caught_up() {
  local pg idx conf=${1:-$SYNC_TRACE_CONF}
  pg=$(pg_sql sync "SELECT (SELECT count(*) FROM visits WHERE gateway IS NOT NULL) || ' ' ||
    coalesce((SELECT string_agg(encode(gw_id, 'hex') || ':' || through_seq, ' ' ORDER BY gw_id)
    FROM gateways), '')") || return 1
  idx=$(anshim-cloud stats --json --config "$conf") || return 1
  [ "$(pyq "$idx" "' '.join([str(s['visits'])] + sorted(g['gateway'] + ':' + str(g['through_seq']) for g in s['gateways']))")" = "$pg" ]
}
sync_trace_ready() {
  [ "${SYNC_STORE:-}" = postgresql ] || return 0
  wait_for 60 "the index node to hold every visit PostgreSQL holds" _sync_index_caught_up >&2
}
# sync_index_fresh_same: in cluster mode, a new index node built from
# scratch (an empty store) ends holding every visit PostgreSQL holds, each
# once, as the running one does; it is stopped after.
sync_index_fresh_same() {
  [ "${SYNC_STORE:-}" = postgresql ] || return 0
  local pid rc=0
  _sync_index_launch index-fresh
  pid=$_SYNC_LAUNCHED
  wait_for 60 "a fresh index node to hold every visit PostgreSQL holds" \
    _sync_index_caught_up "$WORK/index-fresh.conf" >&2
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  _gw_forget_pid "$pid"
  expect_eq "the fresh index node's exit status after SIGTERM" 0 "$rc"
  _sanitizer_clean anshim-cloudd "$WORK/index-fresh.log"
}

cloud_start() {
  local n pre=()
  [ -z "${CLOUD_FAKETIME:-}" ] || pre=(env $(faketime_env "$CLOUD_FAKETIME"))
  [ -n "$REVEAL_PID" ] || reveal_start "$CLOUD_CONF"
  # (after reveal_start, which names its socket in $CLOUD_CONF)
  [ "${SYNC_STORE:-}" != postgresql ] || [ -n "$SYNC_INDEX_PID" ] || _sync_index_start
  local conf=$CLOUD_CONF
  if [ "${SYNC_STORE:-}" = postgresql ]; then
    # An ingest node on a machine of its own: its store_dir is not the
    # CLI's.  The saved policy and revoked ids are copied there (as an
    # operator installs them on each node); the policy history reaches it
    # only through PostgreSQL.
    conf=$WORK/node.conf
    mkdir -p "$WORK/node-store"
    { grep -v '^store_dir ' "$CLOUD_CONF"; echo "store_dir $WORK/node-store"; } > "$conf"
    chmod 0640 "$conf"
    for f in policy revoked-credentials; do
      [ ! -f "$CLOUD_STORE/$f" ] || cp "$CLOUD_STORE/$f" "$WORK/node-store/$f"
    done
  fi
  n=$(_log_count "$CLOUD_LOG" 'connected to .*subscribing')
  "${pre[@]}" anshim-cloudd --config "$conf" >> "$CLOUD_LOG" 2>&1 5>&- 6>&- 7>&- 8>&- 9>&- &
  CLOUD_PID=$!
  CLEANUP_PIDS+=("$CLOUD_PID")
  wait_for 30 "anshim-cloudd to connect to the broker" \
    _log_count_above "$CLOUD_LOG" 'connected to .*subscribing' "$n"
  wait_for 30 "the retained policy on the broker" _policy_retained
}

# reveal_stop: SIGTERM the reveal service (lib.sh's reveal_start); it must
# exit 0 with a clean log.
reveal_stop() {
  local rc=0
  kill -TERM "$REVEAL_PID"
  wait "$REVEAL_PID" || rc=$?
  _gw_forget_pid "$REVEAL_PID"
  expect_eq "anshim-revealed exit status after SIGTERM" 0 "$rc"
  REVEAL_PID=
  _sanitizer_clean anshim-revealed "$REVEAL_LOG"
}

cloud_alive() { [ -n "$CLOUD_PID" ] && kill -0 "$CLOUD_PID" 2>/dev/null; }

# cloud_stop: SIGTERM; it must exit 0 with a clean log.
cloud_stop() {
  local rc=0
  kill -TERM "$CLOUD_PID"
  wait "$CLOUD_PID" || rc=$?
  _gw_forget_pid "$CLOUD_PID"
  expect_eq "anshim-cloudd exit status after SIGTERM" 0 "$rc"
  CLOUD_PID=
  _sanitizer_clean anshim-cloudd "$CLOUD_LOG"
}

cloud_kill9() {
  kill -KILL "$CLOUD_PID"
  wait "$CLOUD_PID" 2>/dev/null || true
  _gw_forget_pid "$CLOUD_PID"
  CLOUD_PID=
}

cloud_stats() { anshim-cloud stats --json --config "$CLOUD_CONF"; }
cloud_q() { local j; j=$(cloud_stats) || return 1; pyq "$j" "$1"; }
# cloud_field KEY: a top-level number of the stats (visits, people, ...).
cloud_field() { local j; j=$(cloud_stats) || return 1; json_get "$j" "$1"; }
# cloud_gw_field GW_ID KEY: a field of one gateway's entry in the stats.
cloud_gw_field() {
  local j re="\\{\"gateway\":\"$1\"[^}]*"
  j=$(cloud_stats) || return 1
  [[ $j =~ $re ]] || return 1
  json_get "${BASH_REMATCH[0]}" "$2"
}
# cloud_reject REASON: the reject counter for REASON (0 if never counted).
cloud_reject() {
  local j re='"rejects":\{[^}]*'
  j=$(cloud_stats) || return 1
  [[ $j =~ $re ]] || return 1
  json_get "${BASH_REMATCH[0]}" "$1" || echo 0
}
# cloud_is PYEXPR VALUE
cloud_is() { [ "$(cloud_q "$1" 2>/dev/null)" = "$2" ]; }

# ---- gateways ----

sgw_dir() { echo "$WORK/gw-$1"; }

# sgw_use NAME: point lib.sh's GW_* variables at gateway NAME.
sgw_use() {
  local d; d=$(sgw_dir "$1")
  GW_AUTH=$SYNC_AUTH GW_STATE=$d/state GW_CONF=$d/gw.conf GW_LOG=$d/gatewayd.log
  GW_CTL=$d/control.sock GW_SCAN=$d/scan.sock GW_PID=${SGW_PID[$1]:-}
}

# sgw_init NAME [CONFIG_LINE]...: a gateway with its own state dir and
# device key.  Defaults: duplicate_window 0 (load generators rescan the same
# visitors), clock synced, ack_timeout 5s and reconnects within 1-2 s (so a
# lost batch is resent quickly); a line with the same key replaces one.
sgw_init() {
  local name=$1 d out
  shift
  d=$(sgw_dir "$name")
  mkdir -p "$d"
  sgw_use "$name"
  local defaults=(
    "state_dir $GW_STATE"
    "authority_key $SYNC_AUTH/sign.pub"
    "control_socket $GW_CTL"
    "source socket $GW_SCAN"
    "log_level info"
    "broker $BROKER_URI"
    "clock synced"
    "duplicate_window 0"
    "ack_timeout 5s"
    "reconnect_min 1s"
    "reconnect_max 2s"
    "web_port 0"
  )
  _merge_config defaults "$@" > "$GW_CONF"
  chmod 0640 "$GW_CONF" # it may hold broker_password: not for every user
  out=$(anshim-gw init --config "$GW_CONF")
  [[ $out =~ gateway\ id:\ ([0-9a-f]{32}) ]] || fail "anshim-gw init printed no gateway id: $out"
  SGW_ID[$name]=${BASH_REMATCH[1]}
  [[ $out =~ public\ key:\ ([0-9a-f]{64}) ]] || fail "anshim-gw init printed no public key: $out"
  SGW_PK[$name]=${BASH_REMATCH[1]}
  # The policy the cloud signed, as an offline gateway would get it.
  cp "$CLOUD_STORE/policy" "$GW_STATE/policy"
}

# sgw_enroll NAME VENUE_ID: enrol the gateway at a venue of its own name.
sgw_enroll() {
  anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[$1]}" --venue "$2" \
    --venue-name "Venue $1" >/dev/null
}

# sgw_start NAME [nowait]: start the daemon; unless 'nowait', wait until it
# is connected and subscribed.
sgw_start() {
  sgw_use "$1"
  gw_start
  SGW_PID[$1]=$GW_PID
  [ "${2:-}" = nowait ] || wait_for 30 "gateway $1 to connect" sgw_field_is "$1" connected true
}

sgw_stop() { sgw_use "$1"; gw_stop; SGW_PID[$1]=; }
sgw_kill9() { sgw_use "$1"; gw_kill9; SGW_PID[$1]=; }
sgw_alive() { [ -n "${SGW_PID[$1]:-}" ] && kill -0 "${SGW_PID[$1]}" 2>/dev/null; }

sgw_status() { anshim-gw status --json --config "$(sgw_dir "$1")/gw.conf"; }
sgw_q() { local j; j=$(sgw_status "$1") || return 1; pyq "$j" "$2"; }
sgw_is() { [ "$(sgw_q "$1" "$2" 2>/dev/null)" = "$3" ]; }
# sgw_field NAME KEY: the first KEY in the status JSON: top-level for
# last_seq, acked_seq, unsent, records, ...; the sync object's for
# connected, offline, inflight, acks, resends, batches_sent, send_next.
sgw_field() { local j; j=$(sgw_status "$1") || return 1; json_get "$j" "$2"; }
sgw_field_is() { [ "$(sgw_field "$1" "$2" 2>/dev/null)" = "$3" ]; }
sgw_ctl() { anshim-gw "$2" --config "$(sgw_dir "$1")/gw.conf"; }
sgw_journal() { anshim-gw journal --json --config "$(sgw_dir "$1")/gw.conf"; }

# sgw_load NAME VISITORS COUNT CONCURRENCY [gateway_scan option]...: scan
# COUNT passes of VISITORS test visitors, in the foreground; every one must
# be accepted.
sgw_load() {
  local name=$1 visitors=$2 count=$3 conc=$4 out
  shift 4
  out=$("$BENCH_DIR/gateway_scan" --keys "$SYNC_AUTH" --socket "$(sgw_dir "$name")/scan.sock" \
    --visitors "$visitors" --count "$count" --concurrency "$conc" --seconds 600 --quiet "$@" 2>&1) ||
    fail "gateway_scan at $name failed: $out"
  expect_match "gateway_scan at $name: all $count accepted" \
    "accepted $count duplicate 0 rejected 0 not-collecting 0" "$out"
}

# sgw_delivered NAME: the gateway's last seq is acked (unsent 0) and the
# cloud stores that gateway through it.
sgw_delivered() {
  local st last
  st=$(sgw_status "$1") || return 1
  last=$(json_get "$st" last_seq) || return 1
  [ "$(json_get "$st" unsent)" = 0 ] && [ "$(json_get "$st" acked_seq)" = "$last" ] &&
    [ "$(cloud_gw_field "${SGW_ID[$1]}" through_seq)" = "$last" ]
}

# sgw_caught_up NAME: every record of the gateway is acknowledged (unsent
# 0, acked_seq = last_seq), whatever the cloud's through_seq (which, after
# a journal made anew or restored, may count another branch's records).
sgw_caught_up() {
  local st
  st=$(sgw_status "$1") || return 1
  [ "$(json_get "$st" unsent)" = 0 ] && [ "$(json_get "$st" acked_seq)" = "$(json_get "$st" last_seq)" ]
}

# wait_delivered SECONDS NAME...
wait_delivered() {
  local limit=$1 n
  shift
  for n in "$@"; do
    wait_for "$limit" "gateway $n to be delivered and acknowledged" sgw_delivered "$n"
  done
}

# expect_exactly_once NAME...: for each gateway (give every enrolled one):
# its journal holds seqs 1..N without a hole; its status says last_seq N,
# acked_seq N, unsent 0; the cloud stores N records through_seq N for it;
# and the cloud's visits total is the sum of the N (plus SYNC_OTHER_VISITS,
# visits stored from gateways not given, if set).
_EXACTLY_ONCE_PY=$(cat <<'PY'
import json, os, sys
stats = json.load(open(sys.argv[1]))
gws = {x["gateway"]: x for x in stats["gateways"]}
bad, total = [], 0
for arg in sys.argv[2:]:
    name, gid, jpath, spath = arg.split(":")
    seqs = [json.loads(l)["seq"] for l in open(jpath) if l.strip()]
    st = json.load(open(spath))
    n = len(seqs)
    total += n
    if seqs != list(range(1, n + 1)):
        bad.append(f"{name}: journal seqs are not 1..{n}")
    for k, want in (("last_seq", n), ("acked_seq", n), ("unsent", 0)):
        if st[k] != want:
            bad.append(f"{name}: status {k} {st[k]}, expected {want}")
    c = gws.get(gid)
    if c is None:
        bad.append(f"{name}: gateway {gid} not in the cloud's stats")
        continue
    for k in ("records", "through_seq"):
        if c[k] != n:
            bad.append(f"{name}: cloud {k} {c[k]}, journal has {n} records")
    print(f"  {name}: journal {n} records, cloud records {c['records']} through_seq {c['through_seq']}")
total += int(os.environ.get("SYNC_OTHER_VISITS", "0"))
if stats["visits"] != total:
    bad.append(f"cloud visits {stats['visits']} != {total} journaled records in total")
print(f"  cloud visits {stats['visits']}, journals {total}")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
)
expect_exactly_once() {
  local name args=() d
  for name in "$@"; do
    d=$(sgw_dir "$name")
    sgw_journal "$name" > "$d/journal.check.json"
    sgw_status "$name" > "$d/status.check.json"
    args+=("$name:${SGW_ID[$name]}:$d/journal.check.json:$d/status.check.json")
  done
  cloud_stats > "$WORK/stats.check.json"
  check
  python3 -c "$_EXACTLY_ONCE_PY" "$WORK/stats.check.json" "${args[@]}" ||
    fail "records were not delivered exactly once (see above)"
}

# sync_logs_clean: no sanitizer report in any daemon log (also call after
# kill -9 rounds, where gw_stop / cloud_stop do not run).
sync_logs_clean() {
  local n
  [ -f "$CLOUD_LOG" ] && _sanitizer_clean anshim-cloudd "$CLOUD_LOG"
  for n in "${!SGW_ID[@]}"; do
    [ -f "$(sgw_dir "$n")/gatewayd.log" ] && _sanitizer_clean "gateway $n" "$(sgw_dir "$n")/gatewayd.log"
  done
  return 0
}

# sync_stop_all: stop every running gateway, then the cloud, cleanly.
sync_stop_all() {
  local n
  for n in "${!SGW_ID[@]}"; do
    sgw_alive "$n" && sgw_stop "$n"
  done
  cloud_alive && cloud_stop
  sync_logs_clean
}
