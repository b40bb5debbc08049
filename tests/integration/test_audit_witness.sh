#!/usr/bin/env bash
# The witnessed audit log: anshim-cloudd publishes the audit head retained
# on anshim/v1/audit/head, and 'anshim-cloud audit verify --witness'
# compares the log with it.  Real mosquitto with the shipped ACL and
# accounts (anshim-cloud, anshim-cloud/cli, the read-only anshim-witness
# observer), real anshim-cloudd, entries made by real traces (written by
# the real reveal service).
#   - no head on the broker: verify --witness fails and says what to do;
#   - on connecting, the head of the log is published; with
#     audit_witness_every 3 the next one only once 3 entries are new
#     (cloudd is seen to read entry 3 and publish nothing);
#   - verify --witness passes on the intact log; fails on the last entry
#     cut off, on two cut off, and on a rewritten tail (cut, then a new,
#     validly signed entry in its place), where plain verify passes; the
#     daemon logs it, publishes no head over the evidence, and says so
#     again after a restart (from the broker's retained head); a rewrite
#     under a log grown past it is found where the entry's line ended;
#   - audit_witness_interval: with every 100 and a 2 s interval, a new
#     entry is published by the timer;
#   - malformed heads (short, wrong magic, another key's signature) are
#     refused by verify --witness with the reason, and by the daemon, which
#     keeps running and replaces them with the true head.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mosquitto_passwd

HEAD_TOPIC=anshim/v1/audit/head
LOG=$CLOUD_DIR/audit.log
PID_A=00112233445566778899aabbccddeeff

phase "setup"
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
cp "$(dirname "$0")/../../packaging/mosquitto/anshim.acl" "$WORK/anshim.acl"
# The test's intruder: may write the head topic, to put malformed heads there.
printf '\nuser intruder\ntopic write %s\n' "$HEAD_TOPIC" >> "$WORK/anshim.acl"
CLOUD_PW=cloud-$RANDOM$RANDOM
WIT_PW=wit-$RANDOM$RANDOM
INT_PW=int-$RANDOM$RANDOM
cloud_init "broker_username anshim-cloud" "broker_password $CLOUD_PW" "log_level debug" \
  "audit_witness_every 3" "audit_witness_interval 1h"
mosquitto_passwd -b -c "$WORK/passwd" anshim-cloud "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" anshim-cloud/cli "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" anshim-witness "$WIT_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" intruder "$INT_PW" 2>/dev/null
start_broker "$WORK/anshim.acl" "$WORK/passwd"
# The observer (and cloud_start's probe of the retained policy).
MQTT_USER=anshim-witness MQTT_PASS=$WIT_PW
# The store, so that traces find it (empty: 0 contacts).
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "$(printf 'ab%.0s' $(seq 32))" \
  --venue 1 --venue-name "Witness Cafe" >/dev/null
# The reveal service writes the entries (cloud_start finds it running).
reveal_start "$CLOUD_CONF"

entry() {
  anshim-cloud trace --config "$CLOUD_CONF" --from 2026-01-01 --to 2026-01-10 --pid "$PID_A" \
    --reason "$1" >/dev/null
}
verify() { anshim-cloud audit verify --config "$CLOUD_CONF" "$@"; }
witness() { verify --witness --wait 20; }
# seqs FILE: the seq of every head the observer recorded, in order.
seqs() {
  python3 -c '
import sys
out = []
for line in open(sys.argv[1]):
    t, _, h = line.strip().partition(" ")
    if t == sys.argv[2] and len(h) >= 22:
        out.append(str(int.from_bytes(bytes.fromhex(h[6:22]), "little")))
print(" ".join(out))' "$1" "$HEAD_TOPIC"
}
last_seq_is() { [ "$(seqs "$WORK/heads" | awk '{print $NF}')" = "$1" ]; }
log_has() { grep -Eq -- "$1" "$CLOUD_LOG"; }
# expect_witness_fails WHAT REGEX: verify --witness exits 1 saying REGEX.
expect_witness_fails() {
  local rc=0 out
  out=$(witness 2>&1) || rc=$?
  expect_eq "$1: exit status" 1 "$rc"
  expect_match "$1: message" "$2" "$out"
}

phase "no head on the broker yet"
entry one
expect_witness_fails "no head" \
  "the broker $BROKER_URI holds no audit head on $HEAD_TOPIC, so there is nothing to compare the log with.*anshim-cloudd publishes it"

phase "published on connecting"
cloud_start
# Subscribed after the start: the head of entry 1 reaches it retained, if
# it is out already.
msub_start "$WORK/heads" anshim/v1/policy "$HEAD_TOPIC"
wait_for 30 "the head of entry 1" last_seq_is 1
expect_match "connect publish logged" "published the audit head: entry 1 \(on connecting\)" \
  "$(cat "$CLOUD_LOG")"
expect_eq "intact, witnessed" "audit log $LOG: 1 entries, chain intact, witnessed through entry 1" \
  "$(witness)"

phase "every 3 entries"
entry two
entry three
# cloudd has read entry 3 and found no head due (1 + 3 > 3).
wait_for 30 "cloudd to read entry 3" log_has "audit log at entry 3; head published: entry 1"
expect_eq "no head for entries 2 and 3" "1" "$(seqs "$WORK/heads")"
entry four
wait_for 30 "the head of entry 4" last_seq_is 4
expect_eq "heads published" "1 4" "$(seqs "$WORK/heads")"
expect_match "N publish logged" "published the audit head: entry 4 \(3 new entries\)" \
  "$(cat "$CLOUD_LOG")"
expect_eq "intact, witnessed" "audit log $LOG: 4 entries, chain intact, witnessed through entry 4" \
  "$(witness)"
cp "$LOG" "$WORK/good.log"

phase "tail cut off"
head -n 3 "$WORK/good.log" > "$LOG"
expect_eq "plain verify cannot tell" "audit log $LOG: 3 entries, chain intact" "$(verify)"
expect_witness_fails "last entry cut" \
  "^audit log $LOG: 3 entries, chain intact, but the witnessed head is entry 4: entry 4 was cut off the end of the log"
wait_for 30 "cloudd to notice the cut" \
  log_has "does not hold the witnessed head: it has 3 entries, but entry 4 was witnessed"
head -n 2 "$WORK/good.log" > "$LOG"
expect_witness_fails "two entries cut" "but the witnessed head is entry 4: entries 3-4 were cut off"
# A restart does not publish the cut log's head over the evidence: the
# retained head (entry 4) is checked first.
cloud_stop
cut2="does not hold the witnessed head: it has 2 entries, but entry 4 was witnessed"
n=$(_log_count "$CLOUD_LOG" "$cut2")
cloud_start
wait_for 30 "cloudd to check the broker's head after the restart" \
  _log_count_above "$CLOUD_LOG" "$cut2" "$n"
expect_witness_fails "cut, after a restart" "entries 3-4 were cut off"

phase "rewritten tail"
cp "$WORK/good.log" "$LOG"
wait_for 30 "cloudd to find the head again" log_has "holds the witnessed head \(entry 4\) again"
head -n 3 "$WORK/good.log" > "$LOG"
entry "four, rewritten"
expect_eq "plain verify cannot tell" "audit log $LOG: 4 entries, chain intact" "$(verify)"
expect_witness_fails "rewritten" \
  "^audit log $LOG: 4 entries, chain intact, but entry 4 is not the one witnessed \(another hash\): the log was rewritten from entry 4 or before"
wait_for 30 "cloudd to notice the rewrite" \
  log_has "its entry 4 is not the one witnessed \(another hash\)"
# Every head published so far is entry 1's or the true entry 4's.
expect_eq "no head published over the evidence" 2 "$(grep "^$HEAD_TOPIC " "$WORK/heads" | sort -u | wc -l)"
cp "$WORK/good.log" "$LOG"
wait_for 30 "verify --witness to pass again" witness

phase "the interval timer"
cloud_stop
sed -i -e 's/^audit_witness_every .*/audit_witness_every 100/' \
  -e 's/^audit_witness_interval .*/audit_witness_interval 2s/' "$CLOUD_CONF"
n=$(_log_count "$CLOUD_LOG" "published the audit head: entry 4 \(on connecting\)")
cloud_start
wait_for 30 "the connect head" \
  _log_count_above "$CLOUD_LOG" "published the audit head: entry 4 \(on connecting\)" "$n"
entry five
wait_for 30 "the head of entry 5, by the timer" \
  log_has "published the audit head: entry 5 \(interval\)"
wait_for 30 "the observer to see entry 5" last_seq_is 5
expect_eq "intact, witnessed" "audit log $LOG: 5 entries, chain intact, witnessed through entry 5" \
  "$(witness)"

phase "rewritten, then grown"
# cloudd published entry 5 itself, so it knows where its line ends: it
# finds it gone from there without walking the log, and publishes nothing.
cp "$LOG" "$WORK/good5.log"
head -n 4 "$WORK/good5.log" > "$LOG"
entry "five, rewritten"
entry "six"
expect_witness_fails "rewritten, then grown" \
  "^audit log $LOG: 6 entries, chain intact, but entry 5 is not the one witnessed"
wait_for 30 "cloudd to find entry 5 no longer where its line ended" \
  log_has "its entry 5 is not the one witnessed \(not where it was\)"
expect_eq "no head for the rewritten log" 5 "$(seqs "$WORK/heads" | awk '{print $NF}')"
cp "$WORK/good5.log" "$LOG"
wait_for 30 "verify --witness to pass again" witness

phase "malformed heads"
good_hex=$(grep "^$HEAD_TOPIC " "$WORK/heads" | tail -n 1 | cut -d' ' -f2)
cloud_stop
ipub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u intruder -P "$INT_PW" -q 1 -r -t "$HEAD_TOPIC" "$@"; }
# mosquitto_pub -s: the message from stdin, bytes as they are.
ipub_hex() { python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1" | ipub -s; }
ipub_hex 540102
expect_witness_fails "3 bytes" "the witnessed head on $BROKER_URI is malformed \(3 bytes: .*truncated"
ipub_hex "55${good_hex:2}"
expect_witness_fails "wrong magic" "is malformed \(107 bytes: "
# The head of entry 5 with its hash changed: the signature no longer holds.
bad=${good_hex:0:22}$(printf '%02x' $(( 0x${good_hex:22:2} ^ 1 )))${good_hex:24}
ipub_hex "$bad"
expect_witness_fails "another signature" "is not signed by the key that signs the log"
n=$(_log_count "$CLOUD_LOG" "malformed audit head")
cloud_start
wait_for 30 "cloudd to refuse the retained bad head" \
  _log_count_above "$CLOUD_LOG" "malformed audit head on $HEAD_TOPIC \(107 bytes\): its signature does not verify" "$n"
wait_for 30 "cloudd to replace it" witness
ipub -m "garbage"
wait_for 30 "cloudd to refuse a live bad head" \
  log_has "malformed audit head on $HEAD_TOPIC \(7 bytes\)"
check; cloud_alive || fail "anshim-cloudd stopped after malformed heads"
wait_for 30 "cloudd to replace it again" witness
expect_eq "intact, witnessed" "audit log $LOG: 5 entries, chain intact, witnessed through entry 5" \
  "$(witness)"
cloud_stop
msub_stop
done_ok
