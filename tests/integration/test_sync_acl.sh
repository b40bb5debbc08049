#!/usr/bin/env bash
# The production broker ACL (packaging/mosquitto/anshim.acl) with a password
# file: each gateway logs in as its own id, the cloud as anshim-cloud.
#
#   - both gateways' legitimate traffic flows under it (own batches and
#     heartbeats out, own acks and the retained policy in) and is delivered
#     exactly once;
#   - gateway A's credentials cannot publish on gateway B's batch topic:
#     mosquitto PUBACKs the publish (mosquitto_pub exits 0: a PUBACK is not
#     a receipt) and drops it.  Proof: a subscriber with the cloud's
#     credentials on every batch topic never sees it, although a control
#     message A publishes on its own topic right afterwards does arrive
#     (the broker routes one client's messages in order), and the cloud
#     counts only the control (as malformed);
#   - A's credentials cannot replace the retained policy, nor read B's
#     acks; a wrong password and an anonymous client are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mosquitto_passwd

phase "setup"
# The port first: the configs name the broker before it starts.
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
cp "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$WORK/anshim.acl"
CLOUD_PW=cloud-$RANDOM$RANDOM
cloud_init "broker_username anshim-cloud" "broker_password $CLOUD_PW"
mosquitto_passwd -b -c "$WORK/passwd" anshim-cloud "$CLOUD_PW" 2>/dev/null
declare -A PW=()
for n in A B; do
  sgw_init $n
  PW[$n]=gw-$n-$RANDOM$RANDOM
  printf 'broker_username %s\nbroker_password %s\n' "${SGW_ID[$n]}" "${PW[$n]}" >> "$(sgw_dir $n)/gw.conf"
  mosquitto_passwd -b "$WORK/passwd" "${SGW_ID[$n]}" "${PW[$n]}" 2>/dev/null
done
chmod 0600 "$WORK/passwd"
# mosquitto started as root drops to its own user before it reads the ACL
# and password files (mosquitto 2.0): let that user reach them (broker.sh
# does not, see the report).
if [ "$(id -u)" = 0 ] && id mosquitto > /dev/null 2>&1; then
  chmod o+x "$WORK"
  chown mosquitto "$WORK/passwd" "$WORK/anshim.acl"
fi
# Test clients (msub / mpub) are the cloud unless told otherwise.
MQTT_USER=anshim-cloud MQTT_PASS=$CLOUD_PW
start_broker "$WORK/anshim.acl" "$WORK/passwd"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B
TOPIC_A=anshim/v1/gw/${SGW_ID[A]}/batch
TOPIC_B=anshim/v1/gw/${SGW_ID[B]}/batch

# Everything on any batch topic, as the cloud's account sees it.  (The
# probe is the retained policy, which this account may read.)
msub_start "$WORK/seen.txt" anshim/v1/policy 'anshim/v1/gw/+/batch'

phase "legitimate traffic at A and B"
sgw_load A 100 400 4
sgw_load B 100 300 4
wait_delivered 30 A B
expect_exactly_once A B
for n in A B; do
  check
  grep -q "^anshim/v1/gw/${SGW_ID[$n]}/batch " "$WORK/seen.txt" ||
    fail "the cloud's account saw no batch of $n"
done
# Each gateway's heartbeat (one on connecting) reaches the cloud under the
# ACL too.
heard_under_acl() {
  [ "$(pyq "$(anshim-cloud gateways --json --config "$CLOUD_CONF")" \
    "all(g[i]['last_heartbeat'] is not None for i in ['${SGW_ID[A]}', '${SGW_ID[B]}'])")" = true ]
}
wait_for 30 "both gateways' heartbeats in the cloud" heard_under_acl

# --- A's credentials on B's topic ---
phase "A publishes on B's topic"
as_a() { MQTT_USER=${SGW_ID[A]} MQTT_PASS=${PW[A]} "$@"; }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
FORBIDDEN=forbidden-$RANDOM$RANDOM
CONTROL=control-$RANDOM$RANDOM
malformed=$(cloud_reject malformed)
visits=$(cloud_field visits)
rc=0; as_a mpub -q 1 -t "$TOPIC_B" -m "$FORBIDDEN" || rc=$?
expect_eq "A's publish on B's topic is PUBACKed (mosquitto_pub exit status)" 0 "$rc"
rc=0; as_a mpub -q 1 -t "$TOPIC_A" -m "$CONTROL" || rc=$?
expect_eq "A's control publish on its own topic" 0 "$rc"
wait_for 20 "the control message on A's topic" grep -q "^$TOPIC_A $(hex "$CONTROL")\$" "$WORK/seen.txt"
check
if grep -q "$(hex "$FORBIDDEN")" "$WORK/seen.txt"; then
  fail "A's message on B's topic reached the cloud's subscription"
fi
malformed_above() { [ "$(cloud_reject malformed)" -gt "$1" ]; }
wait_for 20 "the cloud to count the control message" malformed_above "$malformed"
expect_eq "the cloud counted only the control message" $((malformed + 1)) "$(cloud_reject malformed)"
expect_eq "rejects in all" $((malformed + 1)) "$(cloud_field rejects_total)"
expect_eq "nothing stored" "$visits" "$(cloud_field visits)"

# A valid batch of B replayed with A's credentials: dropped as well (B's
# acks count would grow if the cloud had seen it).
python3 - "$WORK/seen.txt" "$TOPIC_B" "$WORK/b-batch.bin" <<'PY'
import sys
path, topic, out = sys.argv[1:]
frames = [bytes.fromhex(l.split()[1]) for l in open(path) if l.split()[0] == topic]
open(out, "wb").write(frames[-1])
PY
acks_b=$(sgw_field B acks)
CONTROL2=control-$RANDOM$RANDOM
as_a mpub -q 1 -t "$TOPIC_B" -f "$WORK/b-batch.bin"
as_a mpub -q 1 -t "$TOPIC_A" -m "$CONTROL2"
wait_for 20 "the second control message" grep -q "^$TOPIC_A $(hex "$CONTROL2")\$" "$WORK/seen.txt"
expect_eq "B's batch via A's account: not seen on B's topic" 1 \
  "$(grep -c "^$TOPIC_B $(od -An -tx1 "$WORK/b-batch.bin" | tr -d ' \n')\$" "$WORK/seen.txt")"
wait_for 20 "the cloud to count the second control" malformed_above $((malformed + 1))
expect_eq "B got no ack for the replay it did not send" "$acks_b" "$(sgw_field B acks)"
msub_stop

# --- policy, acks, passwords ---
phase "policy, acks and logins"
retained() { msub -t anshim/v1/policy -C 1 -W 5 -F '%x'; }
policy_before=$(retained)
as_a mpub -q 1 -r -t anshim/v1/policy -m "fake-policy" || true
CONTROL3=control-$RANDOM$RANDOM
msub_start "$WORK/seen2.txt" anshim/v1/policy "$TOPIC_A"
as_a mpub -q 1 -t "$TOPIC_A" -m "$CONTROL3"
wait_for 20 "the third control message" grep -q "^$TOPIC_A $(hex "$CONTROL3")\$" "$WORK/seen2.txt"
msub_stop
expect_eq "A cannot replace the retained policy" "$policy_before" "$(retained)"
expect_eq "A still applies the cloud's policy" true "$(sgw_field A collecting)"

# A listens on B's ack topic (and the policy, to know it is subscribed)
# while B gets acks: none arrives.
as_a msub_start "$WORK/a-reads-b.txt" anshim/v1/policy "anshim/v1/gw/${SGW_ID[B]}/ack"
acks_b=$(sgw_field B acks)
sgw_load B 50 100 2
wait_delivered 30 B
check
[ "$(sgw_field B acks)" -gt "$acks_b" ] || fail "B got no acks"
msub_stop
check
if grep -q "/ack " "$WORK/a-reads-b.txt"; then
  fail "A's account read B's acks: $(grep "/ack " "$WORK/a-reads-b.txt" | head -n 2)"
fi

rc=0; MQTT_USER=${SGW_ID[A]} MQTT_PASS=wrong mpub -q 1 -t "$TOPIC_A" -m x 2> "$WORK/wrong.err" || rc=$?
check; [ "$rc" != 0 ] || fail "a wrong password was accepted"
rc=0; MQTT_USER= mpub -q 1 -t "$TOPIC_A" -m x 2> "$WORK/anon.err" || rc=$?
check; [ "$rc" != 0 ] || fail "an anonymous client was accepted"

# --- both gateways still deliver ---
phase "legitimate traffic again"
sgw_load A 100 300 4
sgw_load B 100 200 4
wait_delivered 30 A B
expect_exactly_once A B
expect_eq "rejects: only the three control messages" '{"malformed": 3}' "$(cloud_q "s['rejects']")"

phase "stopping"
sync_stop_all
done_ok
