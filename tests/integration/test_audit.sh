#!/usr/bin/env bash
# The audit log through the real CLI and the reveal service: each
# 'anshim-cloud trace' gets one signed, chained entry written by
# anshim-revealed (by --pid or --phone; --reveal as break-glass), recorded
# with the caller's Unix user (--as is refused), and 'anshim-cloud audit
# verify/show' read them back.
#   intact log -> "N entries, chain intact", exit 0; show and show --json
#   list every entry with its fields; no phone number anywhere in the log;
#   an edited field, a deleted line, a torn last line, another authority's
#   key -> "entry K is broken: WHY", exit 1; a trace refuses to run on a
#   torn log (nothing printed); a missing log is an error, not "0 entries".
. "$(dirname "$0")/lib.sh"

need python3
KEYS="$WORK/keys"
LOG="$WORK/audit.log"
CONF="$WORK/cloud.conf"
PHONE=010-4321-8765
PID_A=00112233445566778899aabbccddeeff
PID_B=ffeeddccbbaa99887766554433221100

anshim-cloud keys init --dir "$KEYS" >/dev/null
printf 'store_dir %s\nkeys_dir %s\naudit_log %s\n' "$WORK/store" "$KEYS" "$LOG" > "$CONF"
# enroll creates the store, so the traces below find it (empty: 0 contacts).
anshim-cloud enroll --config "$CONF" --gateway-key "$(printf 'ab%.0s' $(seq 32))" \
  --venue 1 --venue-name "Audit Cafe" >/dev/null
reveal_start "$CONF"
ME=$(id -un)

trace() { anshim-cloud trace --config "$CONF" --from 2026-01-01 --to 2026-01-10 "$@"; }
verify() { anshim-cloud audit verify --config "$CONF" "$@"; }

# --as is refused: a name on the command line proves nothing.
rc=0; out=$(trace --pid "$PID_A" --as "kim jisoo" --reason x 2>&1) || rc=$?
expect_eq "--as: exit status" 2 "$rc"
expect_match "--as: message" "--as is no longer accepted.*records your Unix user" "$out"
check; [ ! -e "$LOG" ] || fail "a refused --as wrote to the audit log"

trace --pid "$PID_A" --reason 'cluster at "Audit Cafe" \ week 1' --case-ref "JEJU-7" >/dev/null
trace --pid "$PID_B" --depth 2 --reveal --reason "second case" >/dev/null
trace --phone "$PHONE" --reason "by phone" >/dev/null

# Intact.
rc=0; out=$(verify 2>&1) || rc=$?
expect_eq "verify intact: exit status" 0 "$rc"
expect_eq "verify intact: output" "audit log $LOG: 3 entries, chain intact" "$out"
expect_eq "log lines" 3 "$(wc -l < "$LOG")"
expect_eq "log mode (group: the console reads it)" 640 "$(stat -c %a "$LOG")"
check; ! grep -Eq '4321[- ]?8765' "$LOG" || fail "the phone number is in the audit log"

out=$(anshim-cloud audit show --config "$CONF")
expect_match "show: entry 1" "1  .*  trace   case $PID_A  by \"$ME\"  case no \"JEJU-7\"" "$out"
expect_match "show: entry 1 reason" 'reason "cluster at \\x22Audit Cafe\\x22 \\x5c week 1"' "$out"
expect_match "show: entry 2" "2  .*  break-glass  case $PID_B  by \"$ME\"" "$out"
expect_match "show: entry 2 depth" "depth 2  contacts 0  revealed 0" "$out"
expect_match "show: count" "3 entries" "$out"
json=$(anshim-cloud audit show --json --config "$CONF")
fields=$(python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
print(len(e), e[0]["who"], e[0]["reason"], e[1]["action"], e[1]["case"], e[2]["who"],
      len(e[2]["case"]), e[0]["window_from"][:10], sep="|")' <<< "$json")
expect_eq "show --json" "3|$ME|cluster at \"Audit Cafe\" \\ week 1|break-glass|$PID_B|$ME|32|2026-01-01" "$fields"

# broken_as WHAT K WHY-REGEX: verify must name entry K and exit 1.
broken_as() {
  local rc=0 out
  out=$(verify 2>&1) || rc=$?
  expect_eq "$1: exit status" 1 "$rc"
  expect_match "$1: output" "^audit log $LOG: entry $2 is broken: $3" "$out"
}
cp "$LOG" "$WORK/good.log"

# An edited field.
sed -i '2s/ depth=2 / depth=1 /' "$LOG"
broken_as "edited depth" 2 "hash mismatch"
cp "$WORK/good.log" "$LOG"
sed -i "1s/who=\"$ME\"/who=\"kim\"/" "$LOG"
broken_as "edited who" 1 "hash mismatch"

# A deleted line.
cp "$WORK/good.log" "$LOG"
sed -i '2d' "$LOG"
broken_as "deleted line 2" 2 "sequence gap"

# A torn last line, and a trace refused on it (nothing printed, exit 1).
head -c -20 "$WORK/good.log" > "$LOG"
broken_as "torn last line" 3 "truncated last entry"
rc=0; out=$(trace --pid "$PID_A" --reason again 2>"$WORK/err") || rc=$?
expect_eq "trace on a torn log: exit status" 1 "$rc"
expect_eq "trace on a torn log: stdout" "" "$out"
expect_match "trace on a torn log: message" "audit entry cannot be written: .*torn entry.*refusing to append" \
  "$(cat "$WORK/err")"
check; cmp -s "$LOG" <(head -c -20 "$WORK/good.log") || fail "a refused trace changed the log"

# Another authority's public key.
cp "$WORK/good.log" "$LOG"
anshim-cloud keys init --dir "$WORK/other" >/dev/null
rc=0; out=$(verify --keys "$WORK/other" 2>&1) || rc=$?
expect_eq "other key: exit status" 1 "$rc"
expect_match "other key: output" "entry 1 is broken: bad signature" "$out"

# Missing log: an error, not an empty log.
mv "$LOG" "$WORK/moved.log"
rc=0; out=$(verify 2>&1) || rc=$?
expect_eq "missing log: exit status" 1 "$rc"
expect_match "missing log: message" "audit log $LOG: cannot open: .*no trace or reveal has been recorded" "$out"
mv "$WORK/moved.log" "$LOG"

# Restored, the log grows again.
trace --pid "$PID_A" --reason "after the checks" >/dev/null
expect_eq "verify after another trace" "audit log $LOG: 4 entries, chain intact" "$(verify)"

done_ok
