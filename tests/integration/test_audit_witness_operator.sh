#!/usr/bin/env bash
# The witnessed audit log, seen by the cloud's operator: a Unix user (uid
# 61001, no supplementary group) who cannot read contact.key (the keys are
# root's, mode 0600, in a directory only root may enter) and who reads the
# configuration, the store, the log and the public keys.  Real mosquitto,
# real anshim-cloudd and anshim-revealed (as root, holding the keys); needs
# root, as in CI, to run the tools as another uid.
#   - the operator's traces are written by the reveal service and
#     witnessed: 'audit verify --witness' as the operator passes;
#   - the log cut by one entry: as the operator it fails, naming the entry
#     cut off, exit 1, where plain 'audit verify' still says intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (it runs the tools as another uid)"; exit 77; }
need setpriv

OPERATOR=61001:61001
as_operator() { setpriv --reuid "${OPERATOR%%:*}" --regid "${OPERATOR##*:}" --clear-groups "$@"; }
PID_A=00112233445566778899aabbccddeeff
LOG=$CLOUD_DIR/audit.log

phase "setup"
chmod 755 "$WORK"
start_broker
cloud_init "reveal_socket $WORK/reveal.sock" "audit_witness_every 1"
cloud_start
# The operator reads the configuration, the store and the public keys.
OPCONF=$WORK/operator.conf
cp "$CLOUD_CONF" "$OPCONF"
chmod 644 "$OPCONF"
chmod -R a+rX "$CLOUD_STORE"
chmod a+rw "$CLOUD_STORE/lock.mdb"
chmod 700 "$SYNC_AUTH"
mkdir -m 755 "$WORK/pub"
cp "$SYNC_AUTH/audit.pub" "$SYNC_AUTH/sign.pub" "$WORK/pub/"
chmod 644 "$WORK/pub/"*
expect_eq "contact.key mode" "600 root" "$(stat -c '%a %U' "$SYNC_AUTH/contact.key")"
check; ! as_operator cat "$SYNC_AUTH/contact.key" >/dev/null 2>&1 ||
  fail "the operator can read contact.key"

optrace() {
  as_operator anshim-cloud trace --config "$OPCONF" --pid "$PID_A" --from 2026-01-01 \
    --to 2026-01-10 --reason "$1" >/dev/null
}
opverify() { as_operator anshim-cloud audit verify --config "$OPCONF" --keys "$WORK/pub" "$@"; }
# witnessed_through N: the operator's verify --witness passes through entry N.
witnessed_through() {
  [ "$(opverify --witness --wait 20 2>&1)" = \
    "audit log $LOG: $1 entries, chain intact, witnessed through entry $1" ]
}

phase "the operator's traces, witnessed"
for r in one two three; do optrace "$r"; done
chmod 644 "$LOG" # the reveal service's file: readable, for the operator to verify
expect_match "recorded as the operator" 'by "uid:61001"' "$(anshim-cloud audit show --config "$CLOUD_CONF")"
wait_for 30 "the operator to see the log witnessed through entry 3" witnessed_through 3

phase "the last entry cut off"
head -n 2 "$LOG" > "$WORK/cut.log"
cat "$WORK/cut.log" > "$LOG" # same file, same mode
expect_eq "plain verify cannot tell" "audit log $LOG: 2 entries, chain intact" "$(opverify)"
rc=0; out=$(opverify --witness --wait 20 2>&1) || rc=$?
expect_eq "operator verify --witness on a cut log: exit status" 1 "$rc"
expect_match "operator verify --witness on a cut log: message" \
  "^audit log $LOG: 2 entries, chain intact, but the witnessed head is entry 3: entry 3 was cut off the end of the log" "$out"
cloud_stop
done_ok
