#!/usr/bin/env bash
# The wallet's delivery (issue 7) against a real mosquitto and a stand-in
# for the cloud's intake (tests/helpers/fake_wallet_cloud: answers like the
# cloud, signed with a given key): online check-in stored at once;
# offline check-ins and a check-out queued, then one sync delivers them and
# a second sends nothing; a cloud that dies before answering leaves the
# message queued until a resend is answered; a resend whose first answer
# was lost is answered "duplicate"; answers not signed by the authority are
# ignored; a rejection is shown with its reason; a broker that refuses the
# wallet's credentials is reported at once.  The real cloud's side is
# tested by the cloud's own scripts.
. "$(dirname "$0")/lib.sh"
need zbarimg
. "$(dirname "$0")/broker.sh"
export PATH="$ANSHIM_BUILD_DIR/tests:$PATH"

W="$WORK/wallet"
anshim-cloud keys init --dir "$WORK/auth" >/dev/null
anshim-cloud keys init --dir "$WORK/other" >/dev/null
cat > "$WORK/gw.conf" <<EOF
state_dir $WORK/gw
authority_key $WORK/auth/sign.pub
venue_id 501
code_slot 30s
EOF
anshim-gw init --config "$WORK/gw.conf" >/dev/null
anshim-wallet new --dir "$W" >/dev/null
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$WORK/auth" --holder "$W/holder.pub" \
  --phone 010-5555-0199 --name "Test Person" --out "$W/credential" >/dev/null
code() { anshim-gw show-code --config "$WORK/gw.conf" --once --format text | grep '^AV1:'; }

start_broker
FAKE_PID=
FAKE_LOG=
# start_fake NAME ARGS...: a fake cloud logging to $WORK/NAME.log, subscribed.
start_fake() {
  FAKE_LOG="$WORK/$1.log"; shift
  fake_wallet_cloud --broker "$BROKER_URI" "$@" > "$FAKE_LOG" 2>&1 &
  FAKE_PID=$!
  CLEANUP_PIDS+=("$FAKE_PID")
  wait_for 10 "the fake cloud subscribed" grep -qx ready "$FAKE_LOG"
}
stop_fake() { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true; }
count() { grep -c "$1" "$FAKE_LOG" || true; }

start_fake fake1 --key "$WORK/auth/sign.key" --verify "$WORK/auth/sign.pub"
anshim-wallet config --dir "$W" --broker "127.0.0.1:$BROKER_PORT" \
  --authority "$WORK/auth/sign.pub" --timeout 5 >/dev/null

# Online: stored at once.
out=$(anshim-wallet checkin --dir "$W" "$(code)")
expect_match "online checkin" "delivered: stored by the cloud" "$out"
ID1=$(sed -n 's/^check-in id //p' <<<"$out")
expect_eq "the cloud stored it" 1 "$(count "^stored ${ID1:0:12} 1$")"

# Offline (the broker unreachable): two check-ins and a check-out queue.
DEAD=$(free_port)
for i in 1 2; do
  out=$(anshim-wallet checkin --dir "$W" "$(code)" --broker "127.0.0.1:$DEAD")
  expect_match "offline checkin $i" "queued, not delivered yet" "$out"
done
out=$(anshim-wallet checkout --dir "$W" --broker "127.0.0.1:$DEAD")
expect_match "offline checkout" "queued, not delivered yet" "$out"
expect_match "diary before sync" "3 visit\(s\), 3 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
before=$(wc -l < "$FAKE_LOG")
out=$(anshim-wallet sync --dir "$W")
expect_match "sync" "delivered 3 message\(s\)" "$out"
expect_match "sync empty" "nothing left queued" "$out"
expect_eq "three messages reached the cloud" 3 "$(( $(wc -l < "$FAKE_LOG") - before ))"
expect_eq "each stored once" 3 "$(tail -n 3 "$FAKE_LOG" | grep -c '^stored ')"
expect_eq "one of them the check-out" 1 "$(tail -n 3 "$FAKE_LOG" | grep -c ' 2$')"
json=$(anshim-wallet diary --dir "$W" --json)
python3 - "$json" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
assert [x["state"] for x in v] == ["stored"] * 3, v
assert v[2]["checkout_state"] == "stored" and v[0]["checkout_state"] is None, v
PY
check
out=$(anshim-wallet sync --dir "$W")
expect_match "second sync" "nothing to send" "$out"
expect_eq "nothing sent again" 0 "$(( $(wc -l < "$FAKE_LOG") - before - 3 ))"

# The cloud dies before answering: the message stays queued; a resend is
# answered.
stop_fake
start_fake fake2 --key "$WORK/auth/sign.key" --drop 1
out=$(anshim-wallet checkin --dir "$W" "$(code)" --timeout 2)
expect_match "unanswered checkin" "queued, not delivered yet: no answer from the cloud" "$out"
ID4=$(sed -n 's/^check-in id //p' <<<"$out")
expect_eq "the cloud dropped it" 1 "$(count "^dropped ${ID4:0:12} ")"
out=$(anshim-wallet sync --dir "$W")
expect_match "resend answered" "delivered 1 message" "$out"
expect_eq "stored on resend" 1 "$(count "^stored ${ID4:0:12} 1$")"

# A resend of a message the cloud already has (its answer lost): duplicate,
# and the diary takes it as delivered.
LINE=$(grep -n '^stored ' "$W/diary" | tail -n 1 | cut -d: -f1)
sed -i "${LINE}s/^stored 0 [0-9-]* /queued 0 0 /" "$W/diary"
expect_match "answer forgotten" "1 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
out=$(anshim-wallet sync --dir "$W")
expect_match "duplicate resend" "delivered 1 message" "$out"
expect_eq "answered duplicate" 1 "$(count "^duplicate ${ID4:0:12} 1$")"
expect_match "diary shows duplicate" "duplicate" "$(anshim-wallet diary --dir "$W" | grep "${ID4:0:12}")"

# Answers signed by another key are ignored: the message stays queued.
stop_fake
start_fake fake3 --key "$WORK/other/sign.key"
out=$(anshim-wallet checkin --dir "$W" "$(code)" --timeout 2 2>&1)
expect_match "forged answer ignored" "ignored an answer that is not valid \(bad signature\)" "$out"
expect_match "forged answer: still queued" "queued, not delivered yet: no answer from the cloud" "$out"
expect_eq "the fake answered it" 1 "$(count '^stored ')"

# A rejection: shown with its reason, exit 1, final (sync does not resend),
# and a rejected check-in cannot be checked out of.
stop_fake
start_fake fake4 --key "$WORK/auth/sign.key" --reject 8
set +e
out=$(anshim-wallet checkin --dir "$W" "$(code)" 2>&1); rc=$?
set -e
expect_eq "rejected exit" 1 "$rc"
expect_match "rejected reason" "the cloud rejected it: remote" "$out"
ID6=$(sed -n 's/^check-in id //p' <<<"$out")
expect_match "diary rejected" "rejected: remote" "$(anshim-wallet diary --dir "$W" | grep "${ID6:0:12}")"
set +e
out=$(anshim-wallet checkout --dir "$W" --checkin "$ID6" 2>&1); rc=$?
set -e
expect_eq "checkout of rejected exit" 1 "$rc"
expect_match "checkout of rejected" "was rejected by the cloud \(remote\)" "$out"
# The forged-answer check-in from above was resent with this one and
# rejected too (the fake rejects everything now).
expect_match "diary: nothing queued" "0 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
stop_fake

# A broker that refuses the wallet: reported at once, nothing lost.
cat > "$WORK/acl" <<EOF
user cloud
topic readwrite anshim/#
EOF
: > "$WORK/passwd"
mosquitto_passwd -b "$WORK/passwd" cloud s3cret
restart_broker "$WORK/acl" "$WORK/passwd"
out=$(anshim-wallet checkin --dir "$W" "$(code)" --broker "127.0.0.1:$BROKER_PORT")
expect_match "refused by broker" "refused the connection: .*code 5.*user name and password" "$out"
expect_match "refused: queued" "1 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"

done_ok
