#!/usr/bin/env bash
# The broker account of a wallet, made as docs/OPERATE-CLOUD.md says, on a
# real mosquitto with the shipped ACL and a password file:
#
#   - 'anshim-wallet new' shows the holder id and 'anshim-wallet id' prints
#     it; the operator adds it with mosquitto_passwd (the first call with -c)
#     and reloads the broker (SIGHUP); the wallet, configured with that user
#     name and a password file, checks in and the cloud stores the visit;
#   - the id is what the ACL checks: the same wallet logged in under another
#     wallet's account is not stored (the check-in stays queued).
. "$(dirname "$0")/lib.sh"
need zbarimg
need mosquitto_passwd
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup: the cloud's account"
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
cp "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$WORK/anshim.acl"
CLOUD_PW=cloud-$RANDOM$RANDOM
PASSWD=$WORK/anshim.passwd
mosquitto_passwd -c -b "$PASSWD" anshim-cloud "$CLOUD_PW"
# The test's own client (probes of the retained policy, which every
# account may read): not the cloud's account, whose client id it would
# take under use_username_as_clientid.
OBS_PW=obs-$RANDOM$RANDOM
mosquitto_passwd -b "$PASSWD" observer "$OBS_PW"
chmod 0600 "$PASSWD"
start_broker "$WORK/anshim.acl" "$PASSWD"
MQTT_USER=observer MQTT_PASS=$OBS_PW
cloud_init "app_slot_tolerance 60s" "broker_username anshim-cloud" "broker_password $CLOUD_PW"
sgw_init A "venue_id 601"
sgw_enroll A 601
cloud_start
anshim-cloud poster --config "$CLOUD_CONF" --venue 601 --format png --out "$WORK/poster.png" >/dev/null
POSTER=$(zbarimg -q --raw "$WORK/poster.png" 2>>"$WORK/zbarimg.err")
expect_match "poster code" "^AV1:" "$POSTER"

phase "a wallet and its account"
W=$WORK/wallet
out=$(anshim-wallet new --dir "$W")
ID=$(anshim-wallet id --dir "$W")
expect_match "id: 32 hex digits" "^[0-9a-f]{32}$" "$ID"
expect_match "new shows the holder id" "holder id: $ID " "$out"
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$SYNC_AUTH" --holder "$W/holder.pub" \
  --phone 010-5555-0601 --name "Account Person" --out "$W/credential" >/dev/null
WALLET_PW=wallet-$RANDOM$RANDOM
mosquitto_passwd -b "$PASSWD" "wallet/$ID" "$WALLET_PW"
kill -HUP "$BROKER_PID"   # mosquitto re-reads its password file
printf '%s\n' "$WALLET_PW" > "$WORK/wallet.pw"
chmod 0600 "$WORK/wallet.pw"
# No --username: with a password, the wallet logs in as wallet/ID.
anshim-wallet config --dir "$W" --broker "$BROKER_URI" --authority "$SYNC_AUTH/sign.pub" \
  --password-file "$WORK/wallet.pw" --timeout 15 >/dev/null
# The broker applies the reload when it next runs its loop: retry a refused
# first attempt for a bounded time (the check-in is queued, sync resends).
out=$(anshim-wallet checkin --dir "$W" "$POSTER" 2>&1 || true)
deliver() { anshim-wallet sync --dir "$W" >/dev/null 2>&1; }
if [[ $out != *stored* ]]; then wait_for 30 "the wallet's account to work" deliver; fi
wait_for 30 "the visit stored" cloud_is 's["visits"]' 1
expect_match "delivered and stored" "stored" "$(anshim-wallet diary --dir "$W")"

phase "another wallet's account does not do"
W2=$WORK/wallet2
anshim-wallet new --dir "$W2" >/dev/null
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$SYNC_AUTH" --holder "$W2/holder.pub" \
  --phone 010-5555-0602 --name "Borrowed Account" --out "$W2/credential" >/dev/null
anshim-wallet config --dir "$W2" --broker "$BROKER_URI" --authority "$SYNC_AUTH/sign.pub" \
  --username "wallet/$ID" --password-file "$WORK/wallet.pw" --timeout 3 >/dev/null
anshim-wallet checkin --dir "$W2" "$POSTER" >/dev/null 2>&1 || true
expect_match "under another wallet's account: still queued" "queued" "$(anshim-wallet diary --dir "$W2")"
expect_eq "nothing stored for it" 1 "$(cloud_q 's["visits"]')"

cloud_stop
done_ok
