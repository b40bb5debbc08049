#!/usr/bin/env bash
# Bad input never takes the gateway down or costs it a record.
#
# Against the real daemon's scan socket and control socket: garbage lines
# (text, binary, NUL bytes), truncated Base45, a 1 MiB line, an expired pass,
# forged passes (one Base45 character changed, in the pid and in the holder
# signature), a stale pass, a replayed pass, a pass from another authority,
# a card, a half line from a client that hangs up, malformed control
# requests, and CSV imports with bad rows and a repeated import.  Each gets
# its exact answer; the daemon stays up; every record journaled before is
# still there, byte for byte in the JSON listing; the only new records are
# the ones that were answered "accepted".
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_start
NOW=$(date +%s)
YESTERDAY=$(date -d '1 day ago' +%F)

# A few good records first: two passes and a CSV import.
gw_wallet "$WORK/w1" 010-3000-0001 "Visitor One"
gw_wallet "$WORK/w2" 010-3000-0002 "Visitor Two"
expect_eq "first pass" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w1")")"
expect_eq "second pass" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w2")")"
cat > "$WORK/good.csv" <<EOF
date,time,name,phone,headcount
$YESTERDAY,09:00,Paper One,010-3000-0101,2
$YESTERDAY,09:30,Paper Two,010-3000-0102,
EOF
expect_eq "good CSV import" "$WORK/good.csv: 2 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/good.csv")"
gw_journal > "$WORK/journal.before"
expect_eq "records before the bad input" 4 "$(wc -l < "$WORK/journal.before")"

# --- garbage on the scan socket ---
python3 - > "$WORK/garbage.txt" <<'PY'
import random, sys
r = random.Random(20260301)
out = sys.stdout.buffer
lines = [b"hello world", b"AP1:", b"AC1:", b"ap1:NCF", b"AP2:NCFOXN*TDD", b"AP1:!!!!",
         b"AP1:" + b"A" * 1000, b"\x00", b"AP1:\x00NCF", b"\xff\xfe\xfd", b":::::",
         b"AP1:NCF OXN*TDD 8 !"]
for _ in range(40):  # random bytes: no line ends, never empty
    n = r.randint(1, 900)
    lines.append(bytes(b for b in (r.randrange(256) for _ in range(n)) if b not in (10, 13)) or b"x")
for l in lines:
    out.write(l + b"\n")
PY
NGARBAGE=$(wc -l < "$WORK/garbage.txt")
gw_scan "$GW_SCAN" < "$WORK/garbage.txt" > "$WORK/garbage.answers"
expect_eq "garbage answers" "$NGARBAGE" "$(wc -l < "$WORK/garbage.answers")"
expect_eq "every garbage line rejected malformed" "rejected malformed" \
  "$(sort -u "$WORK/garbage.answers")"

# --- truncated Base45, and a pass followed by a NUL byte ---
P3=$(gw_pass "$WORK/w1")
gw_wallet "$WORK/w3" 010-3000-0003 "Visitor Three"
P3=$(gw_pass "$WORK/w3")
expect_eq "pass length" 511 "${#P3}"
expect_eq "truncated Base45 (200 chars)" "rejected malformed" "$(gw_scan "$GW_SCAN" "${P3:0:200}")"
expect_eq "truncated Base45 (last char cut)" "rejected malformed" "$(gw_scan "$GW_SCAN" "${P3:0:510}")"
expect_eq "pass with trailing bytes" "rejected malformed" "$(gw_scan "$GW_SCAN" "${P3}AAA")"
check
printf '%s\0tail\n' "$P3" | gw_scan "$GW_SCAN" > "$WORK/nul.answer"
expect_eq "valid pass + NUL + junk (not verified as a truncated copy)" "rejected malformed" \
  "$(cat "$WORK/nul.answer")"

# --- a 1 MiB line, then the same (untouched) pass is still accepted ---
{ head -c 1048576 /dev/zero | tr '\0' 'A'; echo; echo "$P3"; } > "$WORK/oversized.txt"
gw_scan "$GW_SCAN" < "$WORK/oversized.txt" > "$WORK/oversized.answers"
expect_eq "1 MiB line, then a valid pass" "rejected oversized
accepted" "$(cat "$WORK/oversized.answers")"
expect_eq "oversized counted by the source" 1 "$(gw_status | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["sources"][0]["oversized"])')"

# --- passes that verify badly ---
# Expired: a credential issued 10 days ago, valid for 1 day.
anshim-wallet new --dir "$WORK/old" >/dev/null
anshim-cloud issue --at $((NOW - 10 * 86400)) --valid-days 1 --keys "$GW_AUTH" \
  --holder "$WORK/old/holder.pub" --phone 010-3000-0004 --out "$WORK/old/credential" >/dev/null
expect_eq "expired pass" "rejected expired" "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/old")")"

# Forged: one Base45 character moved by one in the alphabet (the bytes stay
# well-formed): in the pid (covered by the issuer signature) and in the
# holder signature.
forge() {
  python3 -c '
import sys
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
t, i = sys.argv[1], int(sys.argv[2])
c = A.index(t[i])
print(t[:i] + (A[c - 1] if c > 0 else A[c + 1]) + t[i + 1:])' "$1" "$2"
}
gw_wallet "$WORK/w4" 010-3000-0005 "Visitor Five"
P4=$(gw_pass "$WORK/w4")
F1=$(forge "$P4" 19)
F2=$(forge "$P4" 508)
expect_eq "forged pass differs in one character" 1 "$(cmp -l <(echo "$P4") <(echo "$F1") | wc -l)"
expect_eq "forged pid" "rejected bad-issuer-signature" "$(gw_scan "$GW_SCAN" "$F1")"
expect_eq "forged holder signature" "rejected bad-holder-signature" "$(gw_scan "$GW_SCAN" "$F2")"
# Stale: a pass made 5 minutes ago (freshness 90 s), and one 5 minutes ahead.
expect_eq "stale pass" "rejected stale" "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w4" $((NOW - 300)))")"
expect_eq "pass from the future" "rejected stale" \
  "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w4" $(( $(date +%s) + 300 )))")"
# None of the bad ones counted as a check-in: the real pass is accepted, and
# replaying its exact text is a duplicate.
expect_eq "genuine pass after its forgeries" accepted "$(gw_scan "$GW_SCAN" "$P4")"
expect_eq "replayed pass" duplicate "$(gw_scan "$GW_SCAN" "$P4")"
# Another authority's credential.
anshim-cloud keys init --dir "$WORK/other" >/dev/null
anshim-wallet new --dir "$WORK/w5" >/dev/null
anshim-cloud issue --at $((NOW - 86400)) --keys "$WORK/other" --holder "$WORK/w5/holder.pub" \
  --phone 010-3000-0006 --out "$WORK/w5/credential" >/dev/null
expect_eq "wrong issuer" "rejected bad-issuer-signature" "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w5")")"
# A card is accepted (kind card); a card's text as a pass prefix is not.
anshim-cloud issue --at $((NOW - 86400)) --keys "$GW_AUTH" --card --phone 010-3000-0007 \
  --out "$WORK/card.cred" >/dev/null
CARD=$(anshim-wallet card --credential "$WORK/card.cred" --format text)
expect_eq "card with a pass prefix" "rejected malformed" "$(gw_scan "$GW_SCAN" "AP1:${CARD#AC1:}")"
expect_eq "card" accepted "$(gw_scan "$GW_SCAN" "$CARD")"
expect_eq "card again" duplicate "$(gw_scan "$GW_SCAN" "$CARD")"

# --- a client that sends half a pass and hangs up; control-socket junk ---
python3 - "$GW_SCAN" "${P3:0:300}" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); s.close()
PY
python3 - "$GW_CTL" > "$WORK/control.answers" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
f = s.makefile("rb")
for req in [b"hello", b"manual 7 x", b"manual 8 1 0 1 zz -", b"manual", b"X" * 5000, b"status"]:
    s.sendall(req + b"\n")
    answer = f.readline().decode().rstrip("\n")
    if answer.startswith("error unknown request ("):  # then the list of requests
        answer = "error unknown request (...)"
    print(answer[:47] if answer.startswith("{") else answer)
PY
expect_eq "control socket answers" "error unknown request (...)
7 rejected malformed
8 rejected malformed
error unknown request (...)
error request too long
{\"gateway_id\":\"$(gw_status_field gateway_id)" "$(cat "$WORK/control.answers")"

# --- CSV: bad dates and phones by line number; valid rows imported ---
cat > "$WORK/mixed.csv" <<EOF
date,time,name,phone
$YESTERDAY,10:00,Row Two,010-3000-0201
2026-02-30,10:00,Row Three,010-3000-0202
$YESTERDAY,11:00,Row Four,010-12
$YESTERDAY,25:00,Row Five,010-3000-0203
not-a-date,11:30,Row Six,010-3000-0204
$YESTERDAY,12:00,Row Seven,phone
$YESTERDAY,12:30,Row Eight,010-3000-0205
EOF
rc=0; anshim-gw import --config "$GW_CONF" "$WORK/mixed.csv" > "$WORK/mixed.out" 2>&1 || rc=$?
expect_eq "import with bad rows exits 1" 1 "$rc"
expect_eq "import report" "line 3: rejected: date: '2026-02-30' is not a date (use YYYY-MM-DD, YYYY.MM.DD or YYYY/MM/DD)
line 4: rejected: phone: not a phone number (write it as 010-XXXX-XXXX, or +, country code and number for a foreign phone)
line 5: rejected: time: '25:00' is not a time (use HH:MM or HH:MM:SS, 24-hour)
line 6: rejected: date: the value is not a date (use YYYY-MM-DD, YYYY.MM.DD or YYYY/MM/DD)
line 7: rejected: phone: not a phone number (write it as 010-XXXX-XXXX, or +, country code and number for a foreign phone)
$WORK/mixed.csv: 2 imported, 0 already imported, 0 rejected by the gateway, 5 invalid rows (fix them and import the file again); dates and times read in the time zone Asia/Seoul" \
  "$(cat "$WORK/mixed.out")"
# The same files again add nothing.
expect_eq "repeated good import" "$WORK/good.csv: 0 imported, 2 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/good.csv")"
rc=0; out=$(anshim-gw import --config "$GW_CONF" "$WORK/mixed.csv") || rc=$?
expect_eq "repeated mixed import exit status" 1 "$rc"
expect_eq "repeated mixed import summary" "$WORK/mixed.csv: 0 imported, 2 already imported, 0 rejected by the gateway, 5 invalid rows (fix them and import the file again); dates and times read in the time zone Asia/Seoul" \
  "$(tail -n 1 <<< "$out")"
# A file that is not a register at all.
printf 'name,phone\nX,010-3000-0301\n' > "$WORK/noheader.csv"
rc=0; anshim-gw import --config "$GW_CONF" "$WORK/noheader.csv" > /dev/null 2>&1 || rc=$?
expect_eq "bad header exit status" 1 "$rc"

# --- still up, nothing lost ---
check; gw_alive || fail "the daemon died: $(tail -n 20 "$GW_LOG")"
gw_journal > "$WORK/journal.after"
expect_eq "records journaled before are unchanged" "$(cat "$WORK/journal.before")" \
  "$(head -n 4 "$WORK/journal.after")"
# New: P3 (after the 1 MiB line), P4, the card, two CSV rows.
expect_eq "new records by kind" "card manual manual pass pass" \
  "$(tail -n +5 "$WORK/journal.after" | python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["kind"] for l in sys.stdin)))')"
expect_eq "status records" 9 "$(gw_status_field records)"
expect_eq "status accepted" 9 "$(gw_status_field accepted)"
expect_eq "status duplicate (replay, card, 2 + 2 re-imported rows)" 6 "$(gw_status_field duplicate)"
expect_eq "status storage_full" 0 "$(gw_status_field storage_full)"
# And it still takes scans.
gw_wallet "$WORK/w6" 010-3000-0008 "Visitor Eight"
expect_eq "a scan after all that" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w6")")"

# A replayed pass is still a duplicate after a restart (the duplicate window
# is reloaded from the journal).
gw_stop
gw_start
expect_eq "replayed pass after a restart" duplicate "$(gw_scan "$GW_SCAN" "$P4")"

# Pipelined lines (a client that writes the next scan before the answer to
# the previous one) are answered in the order they were written: a kiosk
# pairs each answer with its scan.  (A rejection used to be answered at once
# and an acceptance only after its commit, so a garbage line could appear
# "accepted": bug scan-socket-answer-order, fixed in a1e37e5.)
gw_wallet "$WORK/w7" 010-3000-0009 "Visitor Nine"
gw_wallet "$WORK/w8" 010-3000-0010 "Visitor Ten"
P7=$(gw_pass "$WORK/w7")
P8=$(gw_pass "$WORK/w8")
answers=$(python3 - "$GW_SCAN" "$P7" "$P8" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
p7, p8 = sys.argv[2], sys.argv[3]
s.sendall(f"{p7}\ngarbage\n{p8}\n{p8}\n{'A' * 2000}\n{p7}\n".encode())
f = s.makefile("rb")
print(" / ".join(f.readline().decode().strip() for _ in range(6)))
PY
)
expect_eq "answers to pipelined lines, in order" \
  "accepted / rejected malformed / accepted / duplicate / rejected oversized / duplicate" "$answers"
expect_eq "the pipelined passes were journaled" 12 "$(gw_journal_count)"
gw_stop
done_ok
