#!/usr/bin/env bash
# Broker failover with a bridged pair of mosquitto brokers, as an operator
# would run it (docs/OPERATE-CLOUD.md, "Brokers in failover order"): the
# production ACL (packaging/mosquitto/anshim.acl) and access settings on
# both brokers, one password file, every client on its own account, and
# the bridge on its account anshim-bridge with the ACL block the doc gives.
#
#   - two real mosquittos on free loopback ports, A and B; B bridges the
#     anshim/v1/# topics both ways to A (try_private, so retained messages
#     cross too);
#   - the gateway lists 'broker A B', the aggregator 'broker B A': while both
#     run they sit on different brokers, so every batch, ack and the
#     retained policy cross the bridge (the aggregator publishes the policy
#     on B; it is retained on A, and the gateway reads it there); 150 scans
#     are delivered exactly once;
#   - A is stopped: the gateway fails over to B by itself (status shows B),
#     and 250 scans made after that reach the aggregator through B, exactly
#     once;
#   - A comes back (empty: no persistence) and B is stopped: the gateway and
#     the aggregator both fail over to A, the aggregator republishes the
#     retained policy there, and 250 more scans are delivered exactly once.
#   - Nothing is refused but for gaps (a broker that stops loses what it
#     held; the gateway resends), and each switch is logged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

need mosquitto_passwd

# ---- accounts: one password file and one ACL for both brokers ----
ACL=$WORK/anshim.acl
PASSWD=$WORK/passwd
cp "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$ACL"
# The bridge's account (docs/OPERATE-CLOUD.md), and the test's observer,
# which may only probe the bridge and read the policy.
printf '\nuser anshim-bridge\ntopic readwrite anshim/v1/#\n' >> "$ACL"
printf '\nuser observer\ntopic readwrite anshim/v1/probe\ntopic read anshim/v1/policy\n' >> "$ACL"
CLOUD_PW=cloud-$RANDOM$RANDOM
BRIDGE_PW=bridge-$RANDOM$RANDOM
GW_PW=gw-$RANDOM$RANDOM
export MQTT_USER=observer MQTT_PASS=obs-$RANDOM$RANDOM   # msub / mpub
mosquitto_passwd -b -c "$PASSWD" anshim-cloud "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$PASSWD" anshim-cloud/cli "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$PASSWD" anshim-bridge "$BRIDGE_PW" 2>/dev/null
mosquitto_passwd -b "$PASSWD" observer "$MQTT_PASS" 2>/dev/null

# ---- broker B: the bridged second broker ----
B_PORT=$(free_port)
B_URI="tcp://127.0.0.1:$B_PORT"
B_PID=
start_broker_b() {
  # The listener first: access settings before any listener would open a
  # second, default one on port 1883.
  {
    echo "listener $B_PORT 127.0.0.1"
    echo "per_listener_settings false"
    echo "persistence false"
    echo "user $(id -un)"
    echo "allow_anonymous false"
    echo "acl_file $ACL"
    echo "password_file $PASSWD"
    grep -E '^use_username_as_clientid[[:space:]]' \
      "$(dirname "$0")/../../packaging/mosquitto/anshim.conf"
    echo "connection anshim-pair"
    echo "address 127.0.0.1:$BROKER_PORT"
    echo "remote_username anshim-bridge"
    echo "remote_password $BRIDGE_PW"
    echo "topic anshim/v1/# both 1"
    echo "bridge_protocol_version mqttv311"
    echo "try_private true"
    echo "cleansession false"
    echo "restart_timeout 1 2"
  } > "$WORK/mosquitto-b.conf"
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
# bridge_carries: a retained probe published on A (as the observer) is on B
# (sent again on each poll; the bridge delivers it live, or as retained
# when it connects).
bridge_carries() {
  mpub -t anshim/v1/probe -q 1 -r -m bridge-probe &&
    [ "$(mosquitto_sub -h 127.0.0.1 -p "$B_PORT" -u observer -P "$MQTT_PASS" \
           -t anshim/v1/probe -C 1 -W 2 2>/dev/null)" = bridge-probe ]
}

# The port of A first: the bridge names it before A starts.
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
A_URI=$BROKER_URI
start_broker "$ACL" "$PASSWD"
phase "setup: broker A on $BROKER_PORT, broker B on $B_PORT bridged to A"
start_broker_b
wait_for 30 "the bridge to carry a message from A to B" bridge_carries
mpub -t anshim/v1/probe -q 1 -r -n   # clear the probe

cloud_init "broker $B_URI $A_URI" "broker_username anshim-cloud" "broker_password $CLOUD_PW"
sgw_init G "broker $A_URI $B_URI" "broker_password $GW_PW"
mosquitto_passwd -b "$PASSWD" "gw/${SGW_ID[G]}" "$GW_PW" 2>/dev/null
# Both brokers re-read the password file.
kill -HUP "$BROKER_PID" "$B_PID"
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
start_broker "$ACL" "$PASSWD"
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
