#!/usr/bin/env bash
# The production broker ACL (packaging/mosquitto/anshim.acl) and access
# settings (use_username_as_clientid, from anshim.conf) with a password
# file: each gateway logs in as gw/ID (A by default, from its identity; B
# with broker_username), a wallet as wallet/ID, the cloud as anshim-cloud,
# and the test's own observer as a separate account (under
# use_username_as_clientid, a test client on the cloud's account would get
# the cloud's client id and knock it off).
#
#   - both gateways' legitimate traffic flows under it (own batches and
#     heartbeats out, own acks and the retained policy in) and is delivered
#     exactly once;
#   - gateway X's credentials (a third gateway, whose daemon does not run)
#     cannot publish on gateway B's batch topic: mosquitto PUBACKs the
#     publish (mosquitto_pub exits 0: a PUBACK is not a receipt) and drops
#     it.  Proof: a subscriber with the cloud's rights on every batch topic
#     never sees it, although a control message X publishes on its own
#     topic right afterwards does arrive (the broker routes one client's
#     messages in order), and the cloud counts only the control (as
#     malformed);
#   - X's credentials cannot replace the retained policy, nor read B's
#     acks; a wrong password and an anonymous client are refused;
#   - client-id takeover: a wallet account that connects with the cloud's
#     client id (anshim-cloud, and the default anshim-cloudd) or gateway
#     B's (gw/ID, bare ID) is given its own id instead: the cloud and B
#     are never disconnected, and a wallet check-in queued in
#     the cloud's session while the cloud was down is stored after it;
#   - cross-role topics: a gateway cannot publish on its id's wallet
#     check-in topic, a wallet cannot publish on its id's batch topic;
#   - a retained message left on a batch topic is ingested once, live, and
#     ignored when the cloud reconnects.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mosquitto_passwd

phase "setup"
# The port first: the configs name the broker before it starts.
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
cp "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$WORK/anshim.acl"
# The test's observer: reads what the cloud reads, on its own account.
printf '\nuser observer\ntopic read anshim/v1/gw/+/batch\ntopic read anshim/v1/wallet/+/checkin\n' \
  >> "$WORK/anshim.acl"
CLOUD_PW=cloud-$RANDOM$RANDOM
OBS_PW=obs-$RANDOM$RANDOM
cloud_init "broker_username anshim-cloud" "broker_password $CLOUD_PW"
mosquitto_passwd -b -c "$WORK/passwd" anshim-cloud "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" anshim-cloud/cli "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" observer "$OBS_PW" 2>/dev/null
declare -A PW=()
for n in A B; do
  # A shows rotating venue codes (the wallet below checks in at one).
  if [ $n = A ]; then sgw_init A "venue_id 1"; else sgw_init B; fi
  PW[$n]=gw-$n-$RANDOM$RANDOM
  # A's account name follows from its identity; B names it.
  [ $n = A ] || echo "broker_username gw/${SGW_ID[$n]}" >> "$(sgw_dir $n)/gw.conf"
  echo "broker_password ${PW[$n]}" >> "$(sgw_dir $n)/gw.conf"
  mosquitto_passwd -b "$WORK/passwd" "gw/${SGW_ID[$n]}" "${PW[$n]}" 2>/dev/null
done
# X: a third gateway's account, whose credentials the test plays with as
# a compromised gateway would.  Its daemon never runs: one account is one
# connection (its client id), so a test client on A's own account would
# take turns with A's daemon.
sgw_init X
PW[X]=gw-X-$RANDOM$RANDOM
mosquitto_passwd -b "$WORK/passwd" "gw/${SGW_ID[X]}" "${PW[X]}" 2>/dev/null
# A wallet account (a visitor's phone): wallet/HOLDER_ID, its name taken
# from its identity by anshim-wallet.
W=$WORK/wallet
GW_AUTH=$SYNC_AUTH gw_wallet "$W" 010-5500-0001 "Acl Visitor"
HID=$(python3 -c 'import hashlib,sys; pk=bytes.fromhex(open(sys.argv[1]).read().split()[-1]); print(hashlib.blake2b(b"anshim holder id v1" + pk, digest_size=16).hexdigest())' "$W/holder.pub")
W_PW=w-$RANDOM$RANDOM
printf '%s\n' "$W_PW" > "$W/mqtt.pw"
mosquitto_passwd -b "$WORK/passwd" "wallet/$HID" "$W_PW" 2>/dev/null
chmod 0600 "$WORK/passwd"
# mosquitto started as root drops to its own user before it reads the ACL
# and password files (mosquitto 2.0): let that user reach them (broker.sh
# does not, see the report).
if [ "$(id -u)" = 0 ] && id mosquitto > /dev/null 2>&1; then
  chmod o+x "$WORK"
  chown mosquitto "$WORK/passwd" "$WORK/anshim.acl"
fi
# Test clients (msub / mpub) are the observer unless told otherwise.
MQTT_USER=observer MQTT_PASS=$OBS_PW
start_broker "$WORK/anshim.acl" "$WORK/passwd"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B
TOPIC_A=anshim/v1/gw/${SGW_ID[A]}/batch
TOPIC_X=anshim/v1/gw/${SGW_ID[X]}/batch
TOPIC_B=anshim/v1/gw/${SGW_ID[B]}/batch

# Everything on any batch topic, as the cloud's rights see it.  (The
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
    fail "the observer saw no batch of $n"
done
# Each gateway's heartbeat (one on connecting) reaches the cloud under the
# ACL too.
heard_under_acl() {
  [ "$(pyq "$(anshim-cloud gateways --json --config "$CLOUD_CONF")" \
    "all(g[i]['last_heartbeat'] is not None for i in ['${SGW_ID[A]}', '${SGW_ID[B]}'])")" = true ]
}
wait_for 30 "both gateways' heartbeats in the cloud" heard_under_acl

# --- X's credentials on B's topic ---
phase "X publishes on B's topic"
as_x() { MQTT_USER=gw/${SGW_ID[X]} MQTT_PASS=${PW[X]} "$@"; }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
FORBIDDEN=forbidden-$RANDOM$RANDOM
CONTROL=control-$RANDOM$RANDOM
malformed=$(cloud_reject malformed)
visits=$(cloud_field visits)
rc=0; as_x mpub -q 1 -t "$TOPIC_B" -m "$FORBIDDEN" || rc=$?
expect_eq "X's publish on B's topic is PUBACKed (mosquitto_pub exit status)" 0 "$rc"
rc=0; as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL" || rc=$?
expect_eq "X's control publish on its own topic" 0 "$rc"
wait_for 20 "the control message on X's topic" grep -q "^$TOPIC_X $(hex "$CONTROL")\$" "$WORK/seen.txt"
check
if grep -q "$(hex "$FORBIDDEN")" "$WORK/seen.txt"; then
  fail "X's message on B's topic reached the cloud's subscription"
fi
malformed_above() { [ "$(cloud_reject malformed)" -gt "$1" ]; }
wait_for 20 "the cloud to count the control message" malformed_above "$malformed"
expect_eq "the cloud counted only the control message" $((malformed + 1)) "$(cloud_reject malformed)"
expect_eq "rejects in all" $((malformed + 1)) "$(cloud_field rejects_total)"
expect_eq "nothing stored" "$visits" "$(cloud_field visits)"

# A valid batch of B replayed with X's credentials: dropped as well (B's
# acks count would grow if the cloud had seen it).
python3 - "$WORK/seen.txt" "$TOPIC_B" "$WORK/b-batch.bin" <<'PY'
import sys
path, topic, out = sys.argv[1:]
frames = [bytes.fromhex(l.split()[1]) for l in open(path) if l.split()[0] == topic]
open(out, "wb").write(frames[-1])
PY
acks_b=$(sgw_field B acks)
CONTROL2=control-$RANDOM$RANDOM
as_x mpub -q 1 -t "$TOPIC_B" -f "$WORK/b-batch.bin"
as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL2"
wait_for 20 "the second control message" grep -q "^$TOPIC_X $(hex "$CONTROL2")\$" "$WORK/seen.txt"
# The frame's line goes through a pattern file: a batch of a few hundred
# records is longer in hex than one command-line argument may be.
printf '%s %s\n' "$TOPIC_B" "$(od -An -v -tx1 "$WORK/b-batch.bin" | tr -d ' \n')" >"$WORK/b-batch.line"
expect_eq "B's batch via X's account: not seen on B's topic" 1 \
  "$(grep -cxF -f "$WORK/b-batch.line" "$WORK/seen.txt")"
wait_for 20 "the cloud to count the second control" malformed_above $((malformed + 1))
expect_eq "B got no ack for the replay it did not send" "$acks_b" "$(sgw_field B acks)"
msub_stop

# --- policy, acks, passwords ---
phase "policy, acks and logins"
retained() { msub -t anshim/v1/policy -C 1 -W 5 -F '%x'; }
policy_before=$(retained)
as_x mpub -q 1 -r -t anshim/v1/policy -m "fake-policy" || true
CONTROL3=control-$RANDOM$RANDOM
msub_start "$WORK/seen2.txt" anshim/v1/policy "$TOPIC_X"
as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL3"
wait_for 20 "the third control message" grep -q "^$TOPIC_X $(hex "$CONTROL3")\$" "$WORK/seen2.txt"
msub_stop
expect_eq "X cannot replace the retained policy" "$policy_before" "$(retained)"
expect_eq "A still applies the cloud's policy" true "$(sgw_field A collecting)"

# X listens on B's ack topic (and the policy, to know it is subscribed)
# while B gets acks: none arrives.
as_x msub_start "$WORK/a-reads-b.txt" anshim/v1/policy "anshim/v1/gw/${SGW_ID[B]}/ack"
acks_b=$(sgw_field B acks)
sgw_load B 50 100 2
wait_delivered 30 B
check
[ "$(sgw_field B acks)" -gt "$acks_b" ] || fail "B got no acks"
msub_stop
check
if grep -q "/ack " "$WORK/a-reads-b.txt"; then
  fail "X's account read B's acks: $(grep "/ack " "$WORK/a-reads-b.txt" | head -n 2)"
fi

rc=0; MQTT_USER=gw/${SGW_ID[X]} MQTT_PASS=wrong mpub -q 1 -t "$TOPIC_X" -m x 2> "$WORK/wrong.err" || rc=$?
check; [ "$rc" != 0 ] || fail "a wrong password was accepted"
rc=0; MQTT_USER= mpub -q 1 -t "$TOPIC_X" -m x 2> "$WORK/anon.err" || rc=$?
check; [ "$rc" != 0 ] || fail "an anonymous client was accepted"

# --- client-id takeover (a wallet account) and nothing lost ---
phase "a wallet account tries the cloud's and B's client ids"
as_w() { MQTT_USER=wallet/$HID MQTT_PASS=$W_PW "$@"; }
cloud_drops() { _log_count "$CLOUD_LOG" 'disconnected from the broker'; }
b_drops() { _log_count "$(sgw_dir B)/gatewayd.log" 'sync: disconnected'; }
as_w_connects() { grep -c "as wallet/$HID " "$WORK/mosquitto.log" || true; }
cloud_drops0=$(cloud_drops)
b_drops0=$(b_drops)
w_connects0=$(as_w_connects)
TAKEOVER_IDS=(anshim-cloud anshim-cloudd "gw/${SGW_ID[B]}" "${SGW_ID[B]}")
for round in 1 2 3; do
  for id in "${TAKEOVER_IDS[@]}"; do
    # Connects, takes the retained policy, leaves (a clean session).
    as_w msub -i "$id" -t anshim/v1/policy -C 1 -W 5 > /dev/null
  done
done
# Each attempt was let in under the wallet's own client id.
expect_eq "attempts logged by the broker under the wallet's own id" \
  $((w_connects0 + 3 * ${#TAKEOVER_IDS[@]})) "$(as_w_connects)"
# Both victims still work (a kick would have been logged before these).
CONTROL4=control-$RANDOM$RANDOM
as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL4"
wait_for 20 "the cloud to count the fourth control" malformed_above $((malformed + 3))
acks_b=$(sgw_field B acks)
sgw_load B 20 40 2
wait_delivered 30 B
expect_eq "the cloud was never disconnected" "$cloud_drops0" "$(cloud_drops)"
expect_eq "gateway B was never disconnected" "$b_drops0" "$(b_drops)"
check; [ "$(sgw_field B acks)" -gt "$acks_b" ] || fail "B got no acks after the attempts"

# --- cross-role topics ---
phase "a gateway on a wallet topic, a wallet on a batch topic"
msub_start "$WORK/seen3.txt" anshim/v1/policy 'anshim/v1/gw/+/batch' 'anshim/v1/wallet/+/checkin'
X_GW=x-gw-$RANDOM$RANDOM
X_W=x-w-$RANDOM$RANDOM
as_x mpub -q 1 -t "anshim/v1/wallet/${SGW_ID[X]}/checkin" -m "$X_GW"
as_w mpub -q 1 -t "anshim/v1/gw/$HID/batch" -m "$X_W"
CONTROL5=control-$RANDOM$RANDOM
as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL5"
as_w mpub -q 1 -t "anshim/v1/wallet/$HID/checkin" -m "$CONTROL5"
wait_for 20 "X's control" grep -q "^$TOPIC_X $(hex "$CONTROL5")\$" "$WORK/seen3.txt"
wait_for 20 "the wallet's control" grep -q "^anshim/v1/wallet/$HID/checkin $(hex "$CONTROL5")\$" "$WORK/seen3.txt"
msub_stop
check
if grep -q -e "$(hex "$X_GW")" -e "$(hex "$X_W")" "$WORK/seen3.txt"; then
  fail "a cross-role message got through: $(grep -e "$(hex "$X_GW")" -e "$(hex "$X_W")" "$WORK/seen3.txt")"
fi
wait_for 20 "the cloud to count X's fifth control" malformed_above $((malformed + 4))
app_malformed_above() { [ "$(cloud_reject app-malformed)" -gt 0 ]; }
wait_for 20 "the cloud to answer the wallet's control" app_malformed_above

# --- retained junk on an ingest topic ---
phase "a retained message on X's batch topic: ingested live once, ignored on reconnect"
as_x mpub -q 1 -r -t "$TOPIC_X" -m "retained-junk-$RANDOM"
wait_for 20 "the cloud to count the retained junk (live)" malformed_above $((malformed + 5))
cloud_stop
cloud_start
CONTROL6=control-$RANDOM$RANDOM
as_x mpub -q 1 -t "$TOPIC_X" -m "$CONTROL6"
wait_for 20 "the cloud to count the sixth control" malformed_above $((malformed + 6))
expect_eq "the retained junk was not ingested again" $((malformed + 7)) "$(cloud_reject malformed)"
# Clear it (subscribers get the empty message live: one more malformed).
as_x mpub -q 1 -r -n -t "$TOPIC_X"
wait_for 20 "the cloud to count the clearing message" malformed_above $((malformed + 7))

# --- both gateways still deliver ---
phase "legitimate traffic again"
sgw_load A 100 300 4
sgw_load B 100 200 4
wait_delivered 30 A B
expect_exactly_once A B
expect_eq "rejects: only the control messages" \
  '{"app-malformed": 1, "malformed": 8}' "$(cloud_q "s['rejects']")"

# --- (last: its app visit is not in any journal) ---
phase "a check-in queued in the cloud's session survives a takeover attempt"
cloud_stop
anshim-wallet config --dir "$W" --broker "127.0.0.1:$BROKER_PORT" --authority "$SYNC_AUTH/sign.pub" \
  --password-file "$W/mqtt.pw" --timeout 10 > /dev/null
CODE=$(anshim-gw show-code --config "$(sgw_dir A)/gw.conf" --once --format text | grep '^AV1:')
msub_start "$WORK/seen4.txt" anshim/v1/policy "anshim/v1/wallet/$HID/checkin"
out=$(anshim-wallet checkin --dir "$W" "$CODE" 2>&1 || true)
expect_match "the wallet's check-in is queued (no answer while the cloud is down)" \
  "queued, not delivered yet" "$out"
wait_for 20 "the wallet's check-in on the broker" grep -q "^anshim/v1/wallet/$HID/checkin " "$WORK/seen4.txt"
msub_stop
visits_before=$(cloud_field visits)
for id in anshim-cloud anshim-cloudd; do
  as_w msub -i "$id" -t anshim/v1/policy -C 1 -W 5 > /dev/null
done
cloud_start
visits_above() { [ "$(cloud_field visits)" -gt "$1" ]; }
wait_for 30 "the queued wallet check-in to be stored" visits_above "$visits_before"
out=$(anshim-wallet sync --dir "$W" 2>&1 || true)
expect_match "the wallet gets its answer" "delivered 1 message" "$out"

phase "stopping"
sync_stop_all
done_ok
