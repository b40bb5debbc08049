#!/usr/bin/env bash
# Broker failover with a bridged pair of mosquitto brokers, as an operator
# would run it (docs/OPERATE-CLOUD.md, "A pair of brokers"):
#
#   - two real mosquittos on free loopback ports, A and B; B bridges the
#     anshim/v1/# topics both ways to A (try_private, so retained messages
#     cross too);
#   - the gateway lists 'broker A B', the aggregator 'broker B A': while both
#     run they sit on different brokers, so every batch, ack and the
#     retained policy cross the bridge (the aggregator publishes the policy
#     on B; the gateway reads it on A); 150 scans are delivered exactly once;
#   - A is stopped: the gateway fails over to B by itself (status shows B),
#     and 250 scans made after that reach the aggregator through B, exactly
#     once;
#   - A comes back (empty: no persistence) and B is stopped: the gateway and
#     the aggregator both fail over to A, the aggregator republishes the
#     retained policy there, and 250 more scans are delivered exactly once.
#   - Nothing is refused but for gaps (a broker that stops loses what it
#     held; the gateway resends), and the aggregator logs each switch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

# ---- broker B: the bridged second broker ----
B_PORT=$(free_port)
B_URI="tcp://127.0.0.1:$B_PORT"
B_PID=
start_broker_b() {
  cat > "$WORK/mosquitto-b.conf" <<EOF
per_listener_settings false
persistence false
allow_anonymous true
listener $B_PORT 127.0.0.1
connection anshim-pair
address 127.0.0.1:$BROKER_PORT
topic anshim/v1/# both 1
bridge_protocol_version mqttv311
try_private true
cleansession false
restart_timeout 1
EOF
  mosquitto -c "$WORK/mosquitto-b.conf" >> "$WORK/mosquitto-b.log" 2>&1 &
  B_PID=$!
  CLEANUP_PIDS+=("$B_PID")
  wait_for 10 "mosquitto B on port $B_PORT" broker_b_up
}
broker_b_up() {
  python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$B_PORT),0.5); s.close()"
}
stop_broker_b() {
  kill "$B_PID" 2>/dev/null || true
  wait "$B_PID" 2>/dev/null || true
  _gw_forget_pid "$B_PID"
  B_PID=
}
# on_b ARGS: mosquitto_sub against B.
on_b() { mosquitto_sub -h 127.0.0.1 -p "$B_PORT" "$@"; }
# bridge_carries: a retained probe published on A is on B (sent again on
# each poll; the bridge delivers it live, or as retained when it connects).
bridge_carries() {
  mpub -t anshim/v1/probe -q 1 -r -m bridge-probe &&
    [ "$(on_b -t anshim/v1/probe -C 1 -W 2 2>/dev/null)" = bridge-probe ]
}

start_broker
phase "setup: broker A on $BROKER_PORT, broker B on $B_PORT bridged to A"
A_URI=$BROKER_URI
start_broker_b
wait_for 30 "the bridge to carry a message from A to B" bridge_carries
mpub -t anshim/v1/probe -q 1 -r -n   # clear the probe

cloud_init "broker $B_URI $A_URI"
sgw_init G "broker $A_URI $B_URI"
sgw_enroll G 1
# cloud_start waits for the retained policy on A: the aggregator is on B,
# so the bridge carried it, retained.
cloud_start
expect_match "the aggregator is on B, the first of its list" "connected to $B_URI; subscribing" \
  "$(grep 'subscribing' "$CLOUD_LOG" | tail -n 1)"
sgw_start G
ID=${SGW_ID[G]}
wait_for 30 "the gateway to connect" sgw_field_is G connected true
expect_eq "the gateway is on A, the first of its list" "$A_URI" "$(sgw_field G broker)"
expect_match "anshim-gw status names the broker" "cloud +connected via $A_URI," \
  "$(anshim-gw status --config "$(sgw_dir G)/gw.conf")"

phase "both brokers up: 150 scans cross the bridge"
sgw_load G 100 150 4
wait_delivered 60 G
expect_exactly_once G
expect_eq "records so far" 150 "$(sgw_field G last_seq)"

phase "stopping broker A"
stop_broker
wait_for 60 "the gateway to fail over to B" sgw_is G "s['sync']['broker'], s['sync']['connected']" \
  "[\"$B_URI\", true]"
grep -q "trying the next broker, $B_URI" "$(sgw_dir G)/gatewayd.log" ||
  fail "the gateway did not log its failover to $B_URI"
check
sgw_load G 100 250 4
wait_delivered 60 G
expect_exactly_once G
expect_eq "records after the failover to B" 400 "$(sgw_field G last_seq)"

phase "broker A back (empty), broker B stopped: both daemons fail over to A"
start_broker
n=$(_log_count "$CLOUD_LOG" "connected to $A_URI; subscribing")
stop_broker_b
wait_for 60 "the aggregator to fail over to A" \
  _log_count_above "$CLOUD_LOG" "connected to $A_URI; subscribing" "$n"
wait_for 60 "the gateway to fail over to A" sgw_is G "s['sync']['broker'], s['sync']['connected']" \
  "[\"$A_URI\", true]"
wait_for 30 "the aggregator to republish the retained policy on A" _policy_retained
sgw_load G 100 250 4
wait_delivered 60 G
expect_exactly_once G
expect_eq "records after the failover to A" 650 "$(sgw_field G last_seq)"
expect_eq "no batch rejected except for gaps" '{}' \
  "$(cloud_q "{k: v for k, v in s['rejects'].items() if k != 'gap'}")"

phase "stopping"
sync_stop_all
stop_broker
done_ok
