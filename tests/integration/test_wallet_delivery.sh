#!/usr/bin/env bash
# The wallet's delivery on a real mosquitto with the real
# anshim-cloudd (and a second anshim-cloudd holding another authority key):
#
#  - online: a check-in is stored at once;
#  - offline (broker unreachable): two check-ins and a check-out queue; one
#    sync delivers all three (visits grow by exactly the two check-ins, the
#    check-out is the visit's exit in 'anshim-cloud trace'); a second sync
#    publishes nothing;
#  - the cloud is down when the wallet sends: (a) stopped: the broker keeps
#    the message in the cloud's session, the cloud stores it once when it is
#    back and the wallet's next sync takes the answer; (b) killed, and the
#    broker restarted (its queue lost): only the wallet's resend reaches the
#    cloud, stored once;
#  - a lost answer: the cloud is SIGSTOPped while the wallet sends, the
#    wallet's persistent session is discarded, the cloud continues and
#    answers into the void; the resend is answered "duplicate", no second
#    visit;
#  - answers signed by another authority are ignored: a second cloud with
#    its own key answers while the right one is stopped; the message stays
#    queued until the right cloud answers it;
#  - a rejection (a screenshot of a rotating code used 5 minutes later:
#    'remote') is shown with its reason, counted, and final;
#  - a broker that refuses the wallet's credentials is reported at once.
#
# A mosquitto_sub observer on the wallet topics counts what the wallet
# publishes and what the clouds answer; observed_all (a marker message
# through the same broker) makes "nothing more was sent" a checkable fact.
. "$(dirname "$0")/lib.sh"
need zbarimg
need mosquitto_passwd
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init "app_slot_tolerance 60s"
sgw_init A "venue_id 501" "code_slot 30s"
sgw_enroll A 501
cloud_start

W=$WORK/wallet
PHONE=010-5555-0199
anshim-wallet new --dir "$W" >/dev/null
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$SYNC_AUTH" --holder "$W/holder.pub" \
  --phone "$PHONE" --name "Test Person" --out "$W/credential" >/dev/null
anshim-wallet config --dir "$W" --broker "127.0.0.1:$BROKER_PORT" \
  --authority "$SYNC_AUTH/sign.pub" --timeout 15 >/dev/null
anshim-cloud poster --config "$CLOUD_CONF" --venue 501 --format png --out "$WORK/poster.png" >/dev/null
POSTER=$(zbarimg -q --raw "$WORK/poster.png" 2>>"$WORK/zbarimg.err")
expect_match "poster code" "^AV1:" "$POSTER"
code() { anshim-gw show-code --config "$(sgw_dir A)/gw.conf" --once --format text | grep '^AV1:'; }
visits() { cloud_field visits; }
checkin_id() { sed -n 's/^check-in id //p' <<<"$1"; }
diary_line() { anshim-wallet diary --dir "$W" | grep "${1:0:12}"; }

# freeze PID / thaw PID: SIGSTOP / SIGCONT a daemon.  A test that fails
# while one is frozen continues it on exit: cleanup's SIGTERM would stay
# pending and its wait hang.
FROZEN=
freeze() { kill -STOP "$1"; FROZEN=$1; }
thaw() { kill -CONT "$1"; FROZEN=; }
_set_rc() { return "$1"; }
_thaw_exit() {
  local rc=$?
  [ -z "$FROZEN" ] || kill -CONT "$FROZEN" 2>/dev/null || true
  if [ "$rc" = 0 ]; then _sync_exit; else _set_rc "$rc" || _sync_exit; fi
}
trap _thaw_exit EXIT

# The observer: every message on the wallet topics, as "topic hex".
OBS=$WORK/observed
observer_start() { msub_start "$OBS" anshim-test/mark 'anshim/v1/wallet/+/checkin' 'anshim/v1/wallet/+/ack'; }
sent() { _log_count "$OBS" '^anshim/v1/wallet/[0-9a-f]+/checkin '; }
answers() { _log_count "$OBS" '^anshim/v1/wallet/[0-9a-f]+/ack '; }
answers_above() { [ "$(answers)" -gt "$1" ]; }
visits_are() { [ "$(visits 2>/dev/null)" = "$1" ]; }
# observed_all: everything published before now has reached the observer
# (the broker forwards one subscriber's messages in the order it got them).
MARKS=0
observed_all() {
  local hex
  MARKS=$((MARKS + 1))
  hex=$(printf 'mark%s' "$MARKS" | od -An -tx1 | tr -d ' \n')
  mpub -q 1 -t anshim-test/mark -m "mark$MARKS"
  wait_for 10 "marker $MARKS at the observer" grep -qx "anshim-test/mark $hex" "$OBS"
}
observer_start

phase "online: stored at once"
out=$(anshim-wallet checkin --dir "$W" "$POSTER")
expect_match "online checkin" "delivered: stored by the cloud" "$out"
expect_eq "visits" 1 "$(visits)"
observed_all
expect_eq "one message sent" 1 "$(sent)"
HID=$(grep -o -m 1 '^anshim/v1/wallet/[0-9a-f]*/checkin' "$OBS" | cut -d/ -f4)
expect_match "holder id from the wallet's topic" "^[0-9a-f]+$" "$HID"

phase "offline: two check-ins and a check-out queue, one sync delivers them"
T0=$(date +%s)
DEAD=$(free_port)
# (Hours ago: the cloud refuses times more than 10 minutes ahead.)
for at in $((T0 - 14400)) $((T0 - 7200)); do
  out=$(anshim-wallet checkin --dir "$W" "$POSTER" --at "$at" --broker "127.0.0.1:$DEAD")
  expect_match "offline checkin at $((at - T0))s" "queued, not delivered yet" "$out"
done
out=$(anshim-wallet checkout --dir "$W" --at $((T0 - 7200 + 1200)) --broker "127.0.0.1:$DEAD")
expect_match "offline checkout" "queued, not delivered yet" "$out"
expect_match "diary before sync" "3 visit\(s\), 3 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
observed_all
expect_eq "nothing reached the broker" 1 "$(sent)"
expect_eq "visits" 1 "$(visits)"
out=$(anshim-wallet sync --dir "$W")
expect_match "sync" "delivered 3 message\(s\)" "$out"
expect_match "sync empty" "nothing left queued" "$out"
expect_eq "visits grew by the two check-ins" 3 "$(visits)"
observed_all
expect_eq "three messages sent" 4 "$(sent)"
expect_eq "diary" '[["stored", null], ["stored", null], ["stored", "stored"]]' \
  "$(pyq "$(anshim-wallet diary --dir "$W" --json)" "[[x['state'], x['checkout_state']] for x in s]")"
json=$(anshim-cloud trace --config "$CLOUD_CONF" --phone "$PHONE" \
  --from "$(date -d "@$((T0 - 86400))" +%F)" --to "$(date -d "@$((T0 + 86400))" +%F)" \
  --json --reason "test: wallet delivery" 2>>"$WORK/trace.err")
# [entry - T0 rounded to minutes, exit recorded, minutes to the end]
expect_eq "the check-out is the second offline visit's exit, 20 minutes in" \
  '[[-240, false], [-120, true, 20], [0, false]]' \
  "$(pyq "$json" "[[round((__import__('datetime').datetime.fromisoformat(v['start']).timestamp() - $T0) / 60), v['exit_recorded']] + ([round((__import__('datetime').datetime.fromisoformat(v['end']) - __import__('datetime').datetime.fromisoformat(v['start'])).total_seconds() / 60)] if v['exit_recorded'] else []) for v in sorted(s['visits'], key=lambda v: v['start'])]")"
out=$(anshim-wallet sync --dir "$W")
expect_match "second sync" "nothing to send" "$out"
observed_all
expect_eq "nothing sent again" 4 "$(sent)"
expect_eq "visits" 3 "$(visits)"

phase "the cloud is stopped when the wallet sends"
cloud_stop
out=$(anshim-wallet checkin --dir "$W" "$POSTER" --timeout 2)
expect_match "checkin, cloud stopped" "queued, not delivered yet: no answer from the cloud" "$out"
ID=$(checkin_id "$out")
observed_all
expect_eq "the message reached the broker" 5 "$(sent)"
expect_eq "not stored yet" 3 "$(visits)"
a=$(answers)
cloud_start
# The broker kept it in the cloud's persistent session.
wait_for 30 "the cloud to store it" visits_are 4
wait_for 30 "the cloud's answer" answers_above "$a"
out=$(anshim-wallet sync --dir "$W")
expect_match "sync after the cloud is back" "delivered 1 message" "$out"
expect_match "diary: stored" "stored" "$(diary_line "$ID")"
expect_eq "stored once" 4 "$(visits)"

phase "the cloud is killed when the wallet sends, and the broker restarts"
cloud_kill9
out=$(anshim-wallet checkin --dir "$W" "$POSTER" --timeout 2)
expect_match "checkin, cloud killed" "queued, not delivered yet: no answer from the cloud" "$out"
ID=$(checkin_id "$out")
observed_all
expect_eq "the message reached the broker" 6 "$(sent)"
# mosquitto runs without persistence: the copy queued for the cloud is gone.
msub_stop
restart_broker
rm -f "$OBS"
observer_start
cloud_start
observed_all
expect_eq "nothing reached the cloud" 4 "$(visits)"
out=$(anshim-wallet sync --dir "$W")
expect_match "resend answered" "delivered 1 message" "$out"
expect_match "diary: stored" "stored" "$(diary_line "$ID")"
expect_eq "stored once" 5 "$(visits)"
observed_all
expect_eq "the resend" 1 "$(sent)"

phase "a lost answer: the resend is answered 'duplicate'"
freeze "$CLOUD_PID"
out=$(anshim-wallet checkin --dir "$W" "$POSTER" --timeout 2)
expect_match "checkin, cloud frozen" "queued, not delivered yet: no answer from the cloud" "$out"
ID=$(checkin_id "$out")
observed_all
expect_eq "sent" 2 "$(sent)"
a=$(answers)
# Discard the wallet's persistent session (and its subscription to the
# answers): a client with the wallet's id connects with a clean session.
mpub -i "wallet/$HID" -q 1 -t anshim-test/session -m clear
thaw "$CLOUD_PID"
wait_for 30 "the cloud to store it" visits_are 6
wait_for 30 "the cloud's answer (to nobody but the observer)" answers_above "$a"
expect_match "still queued in the wallet" "1 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
out=$(anshim-wallet sync --dir "$W")
expect_match "duplicate resend" "delivered 1 message" "$out"
expect_match "diary shows duplicate" "duplicate" "$(diary_line "$ID")"
expect_eq "no second visit" 6 "$(visits)"
observed_all
expect_eq "the resend" 3 "$(sent)"

phase "answers signed by another authority are ignored"
cloud_stop
OTHER=$WORK/other
anshim-cloud keys init --dir "$OTHER/keys" >/dev/null
cat > "$OTHER/cloud.conf" <<EOF
store_dir $OTHER/store
keys_dir $OTHER/keys
broker $BROKER_URI
client_id anshim-cloudd-other
audit_log $OTHER/audit.log
map_size 64M
log_level info
EOF
# Its own policy: published retained after it subscribes, so seeing it on
# the broker means its subscription is in place.
anshim-cloud policy set --config "$OTHER/cloud.conf" --level 3 --no-publish >/dev/null
mpub -r -n -t anshim/v1/policy
anshim-cloudd --config "$OTHER/cloud.conf" >> "$WORK/cloudd-other.log" 2>&1 &
OTHER_PID=$!
CLEANUP_PIDS+=("$OTHER_PID")
wait_for 30 "the other cloud's policy on the broker" _policy_retained
# Frozen while the wallet sends, so that its answer waits in the wallet's
# session and the next run is sure to see it.
freeze "$OTHER_PID"
out=$(anshim-wallet checkin --dir "$W" "$POSTER" --timeout 2)
expect_match "checkin, only the other cloud" "queued, not delivered yet: no answer from the cloud" "$out"
ID=$(checkin_id "$out")
a=$(answers)
thaw "$OTHER_PID"
wait_for 30 "the other cloud's answer" answers_above "$a"
out=$(anshim-wallet sync --dir "$W" --timeout 2 2>&1) && rc=0 || rc=$?
expect_eq "sync exit status: still queued" 1 "$rc"
expect_match "forged answer ignored" "ignored an answer that is not valid \(bad signature\)" "$out"
expect_match "forged answer: still queued" "1 message\(s\) still queued: no answer from the cloud" "$out"
expect_match "diary: queued" "queued" "$(diary_line "$ID")"
expect_eq "nothing stored" 6 "$(visits)"
rc=0
kill -TERM "$OTHER_PID"
wait "$OTHER_PID" || rc=$?
_gw_forget_pid "$OTHER_PID"
expect_eq "the other cloud's exit status" 0 "$rc"
_sanitizer_clean "other anshim-cloudd" "$WORK/cloudd-other.log"
# The right cloud, back, answers it (cloud_start waits for its policy).
mpub -r -n -t anshim/v1/policy
cloud_start
wait_for 30 "the right cloud to store it" visits_are 7
out=$(anshim-wallet sync --dir "$W")
expect_match "the right cloud answered" "delivered 1 message" "$out"
expect_match "diary: stored" "stored" "$(diary_line "$ID")"
expect_eq "stored once" 7 "$(visits)"

phase "a rejection is shown with its reason and is final"
out=$(anshim-wallet checkin --dir "$W" "$(code)" --at $(( $(date +%s) + 300 )) 2>&1) && rc=0 || rc=$?
expect_eq "rejected exit" 1 "$rc"
expect_match "rejected reason" "the cloud rejected it: remote" "$out"
ID=$(checkin_id "$out")
expect_match "diary rejected" "rejected: remote" "$(diary_line "$ID")"
expect_eq "counted: app-remote" 1 "$(cloud_reject app-remote)"
expect_eq "no visit" 7 "$(visits)"
out=$(anshim-wallet checkout --dir "$W" --checkin "$ID" 2>&1) && rc=0 || rc=$?
expect_eq "checkout of rejected exit" 1 "$rc"
expect_match "checkout of rejected" "was rejected by the cloud \(remote\)" "$out"
observed_all
n=$(sent)
expect_match "sync sends nothing" "nothing to send" "$(anshim-wallet sync --dir "$W")"
expect_match "diary: nothing queued" "0 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"
observed_all
expect_eq "nothing resent" "$n" "$(sent)"
expect_eq "counted once" 1 "$(cloud_reject app-remote)"

phase "a broker that refuses the wallet"
msub_stop
cloud_stop
cat > "$WORK/acl" <<EOF
user cloud
topic readwrite anshim/#
EOF
: > "$WORK/passwd"
mosquitto_passwd -b "$WORK/passwd" cloud s3cret
chmod 0600 "$WORK/passwd"
restart_broker "$WORK/acl" "$WORK/passwd"
out=$(anshim-wallet checkin --dir "$W" "$POSTER")
expect_match "refused by broker" "refused the connection: .*code 5.*user name and password" "$out"
expect_match "refused: queued" "1 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"

phase "clean logs"
check; grep -Eq '5555[- ]?0199|Test Person' "$CLOUD_LOG" && fail "personal data in the cloud's log"
sync_stop_all
done_ok
