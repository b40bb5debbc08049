#!/usr/bin/env bash
# test_issuer_e2e.sh - the whole path of a self-enrolled visitor, with real
# daemons: anshim-issuerd over HTTPS (a certificate made here), mosquitto
# with the shipped ACL and an account per client (the issuer's is
# issuer/ID), two gateways, anshim-cloudd and the reveal service.
#
#   the wallet enrols by a code sent to its phone and gets 64 visit tokens;
#   the issuer's capsule feed delivers the tokens' capsules to the cloud;
#   the visitor checks in with version 2 passes at venue 1 and venue 2;
#   'anshim-cloud trace --phone' (the phone in another spelling) finds
#   both visits under one pid, the pid of that phone, and a second visitor
#   at venue 1 is the case's contact; no gateway journal holds that pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/issuer_lib.sh"

phase "setup"
need mosquitto_passwd
# The production broker ACL and accounts: the cloud as anshim-cloud, each
# gateway as gw/ID, the issuer as issuer/ID (ID from 'anshim-issuer id').
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
CLOUD_PW=cloud-$RANDOM$RANDOM
ISSUER_PW=issuer-$RANDOM$RANDOM
cloud_init "broker_username anshim-cloud" "broker_password $CLOUD_PW"
mosquitto_passwd -b -c "$WORK/passwd" anshim-cloud "$CLOUD_PW" 2>/dev/null
# The test's own client (it waits for the retained policy): every account
# may read the policy.
OBS_PW=obs-$RANDOM$RANDOM
mosquitto_passwd -b "$WORK/passwd" observer "$OBS_PW" 2>/dev/null
MQTT_USER=observer MQTT_PASS=$OBS_PW
ISSUER_AUTH=$SYNC_AUTH ISSUER_BROKER=$BROKER_URI
issuer_init
# The first start makes the issuer's key; its id names its account.
issuer_start
ISSUER_ID=$(anshim-issuer id --config "$ISSUER_CONF")
expect_match "anshim-issuer id" '^[0-9a-f]{32}$' "$ISSUER_ID"
issuer_stop
issuer_write_config "broker_username issuer/$ISSUER_ID" "broker_password $ISSUER_PW"
chmod 0640 "$ISSUER_CONF"
mosquitto_passwd -b "$WORK/passwd" "issuer/$ISSUER_ID" "$ISSUER_PW" 2>/dev/null
# The authority certifies the issuer's key in the policy.
anshim-cloud policy set --config "$CLOUD_CONF" --level 3 --no-publish \
  --issuer-key "$(anshim-issuer key --config "$ISSUER_CONF")" >/dev/null
declare -A PW=()
for n in A B; do
  sgw_init $n
  PW[$n]=gw-$n-$RANDOM$RANDOM
  echo "broker_password ${PW[$n]}" >> "$(sgw_dir $n)/gw.conf"
  mosquitto_passwd -b "$WORK/passwd" "gw/${SGW_ID[$n]}" "${PW[$n]}" 2>/dev/null
done
sgw_enroll A 1
sgw_enroll B 2
start_broker "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$WORK/passwd"
cloud_start
sgw_start A
sgw_start B
issuer_start

phase "enrol two visitors"
issuer_enrol_wallet "$WORK/case" "010-4100-0001" +821041000001
issuer_enrol_wallet "$WORK/other" "+82 10 4100 0002" +821041000002
expect_eq "the case's wallet holds no credential from the authority" no \
  "$([ -e "$WORK/case/credential" ] && echo yes || echo no)"

phase "check in"
P1=$(anshim-wallet pass --dir "$WORK/case" --format text)
P2=$(anshim-wallet pass --dir "$WORK/case" --format text)
P3=$(anshim-wallet pass --dir "$WORK/other" --format text)
expect_match "a version 2 pass" '^AP2:' "$P1"
sgw_use A
expect_eq "the case at venue 1" accepted "$(gw_scan "$GW_SCAN" "$P1")"
expect_eq "the other visitor at venue 1" accepted "$(gw_scan "$GW_SCAN" "$P3")"
sgw_use B
expect_eq "the case at venue 2" accepted "$(gw_scan "$GW_SCAN" "$P2")"
wait_delivered 60 A B
tokens_resolved() { cloud_is "s['visits']" 3 && cloud_is "s['tokens']['pending']" 0; }
wait_for 60 "the three visits stored under their pids (capsules delivered)" tokens_resolved
expect_eq "replayed tokens" 0 "$(cloud_q "s['tokens']['replayed']")"

phase "trace"
FROM=$(date -d yesterday +%F)
TO=$(date -d tomorrow +%F)
sync_trace_ready # in cluster mode, traces run on an index node
json=$(anshim-cloud trace --config "$SYNC_TRACE_CONF" --from "$FROM" --to "$TO" \
  --reason "e2e: self-enrolled case" --phone "+82-10-4100-0001" --json)
CASE=$(pyq "$json" "s['case']['pid']")
expect_match "case pid" '^[0-9a-f]{32}$' "$CASE"
expect_eq "both visits of the case, at venues 1 and 2, from passes" '[[1, "scan"], [2, "scan"]]' \
  "$(pyq "$json" "sorted([v['venue'], v['source']] for v in s['visits'])")"
expect_eq "the other visitor is the case's contact at venue 1" 1 \
  "$(pyq "$json" "len([c for c in s['contacts'] if c['venue'] == 1])")"
json2=$(anshim-cloud trace --config "$SYNC_TRACE_CONF" --from "$FROM" --to "$TO" \
  --reason "e2e: same case, by pid" --pid "$CASE" --json)
expect_eq "the pid alone finds the same two visits" 2 "$(pyq "$json2" "len(s['visits'])")"
for n in A B; do
  check
  ! sgw_journal "$n" | grep -q "$CASE" || fail "gateway $n's journal holds the case's pid"
done

phase "stop"
issuer_stop
sync_stop_all
done_ok
