#!/usr/bin/env bash
# Scan sources other than the socket, end to end through the real daemon:
#   stdin  - the daemon's standard input is a FIFO (as with 'zbarcam --raw |');
#   evdev  - a FIFO of recorded struct input_event (24-byte x86_64 records)
#            typing a pass and a card the way a USB HID scanner does (Shift
#            for capitals and $ % * + :, EV_MSC scan codes, EV_SYN reports,
#            Enter), written in pieces that split records;
#   tty    - a pseudo-terminal (openpty): the pass written to the master side
#            with CR LF, the daemon reading the slave at 9600 baud;
# plus the socket for comparison.  Every scan is accepted, lands in the
# journal with the right pid and is logged under its source's name; status
# lists each source with its state and line count; closing stdin leaves the
# daemon running with that source at "end of input".
. "$(dirname "$0")/lib.sh"
[ -e /dev/ptmx ] || { echo "SKIP: no /dev/ptmx (pseudo-terminals)"; exit 77; }

# The pty, held by a helper that writes each line it reads from a command
# FIFO to the master side, ended by CR LF ("PART text": text alone).
mkfifo "$WORK/pty.cmd" "$WORK/stdin.fifo" "$WORK/evdev.fifo"
"$ANSHIM_PYTHON" -c '
import os, pty, sys
master, slave = pty.openpty()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(os.ttyname(slave))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
for line in sys.stdin.buffer:
    line = line.rstrip(b"\n")
    if line.startswith(b"PART "):
        os.write(master, line[5:])  # no line end yet
    else:
        os.write(master, line + b"\r\n")
' "$WORK/pty.name" < "$WORK/pty.cmd" 5>&- 6>&- 7>&- 8>&- 9>&- &
CLEANUP_PIDS+=("$!")
exec 7<> "$WORK/pty.cmd"   # held open here: the helper never sees EOF
wait_for 10 "the pty helper" test -s "$WORK/pty.name"
PTS=$(cat "$WORK/pty.name")
expect_match "pty slave" '^/dev/pts/[0-9]+$' "$PTS"

gw_init "source stdin" "source evdev $WORK/evdev.fifo" "source tty $PTS 9600"
gw_policy 3
exec 5<> "$WORK/stdin.fifo"  # writers held by this shell only
exec 6<> "$WORK/evdev.fifo"
GW_STDIN=$WORK/stdin.fifo gw_start

sources_summary() {
  gw_status | python3 -c '
import json, sys
print(" ".join(s["name"] + "=" + s["state"] + "," + str(s["lines"]) + "," + str(s["oversized"])
               for s in json.load(sys.stdin)["sources"]))'
}
check; log_has "evdev:$WORK/evdev.fifo: not an evdev device; reading recorded input events without a grab" ||
  fail "no notice that the evdev FIFO is read without a grab"
expect_eq "sources at start" \
  "socket:$GW_SCAN=listening,0,0 stdin=open,0,0 evdev:$WORK/evdev.fifo=open,0,0 tty:$PTS=open,0,0" \
  "$(sources_summary)"

for i in 1 2 3 4 5 6; do gw_wallet "$WORK/w$i" "010-8300-000$i" "Source Visitor $i"; done
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$GW_AUTH" --card --phone 010-8300-0100 \
  --out "$WORK/card.cred" >/dev/null
CARD=$(anshim-wallet card --credential "$WORK/card.cred" --format text)
for i in 1 2 3 4 5 6; do P[$i]=$(gw_pass "$WORK/w$i"); done
pid_of() { anshim-gw verify-pass --authority "$GW_AUTH/sign.pub" "$1" | sed -n 's/^valid [a-z]* pid=\([0-9a-f]*\) .*/\1/p'; }
source_lines_are() { [ "$(sources_summary)" = "$1" ]; }
# TYPE_PY TEXT...: the evdev records a US-layout scanner sends to type each
# TEXT and Enter, written to stdout in 1000-byte pieces.
TYPE_PY=$(cat <<'PY'
import os, struct, sys
EV_SYN, EV_KEY, EV_MSC, MSC_SCAN = 0, 1, 4, 4
LEFTSHIFT, ENTER, SPACE = 42, 28, 57
letters = {c: k for c, k in zip("QWERTYUIOP", range(16, 26))}
letters.update({c: k for c, k in zip("ASDFGHJKL", range(30, 39))})
letters.update({c: k for c, k in zip("ZXCVBNM", range(44, 51))})
digits = {c: k for c, k in zip("1234567890", range(2, 12))}
plain = {" ": SPACE, "-": 12, ".": 52, "/": 53}
shifted = {"$": 5, "%": 6, "*": 9, "+": 13, ":": 39}   # Shift+4, +5, +8, =, ;
t = [1767225600, 0]
out = bytearray()
def ev(typ, code, value):
    out.extend(struct.pack("llHHi", t[0], t[1], typ, code, value))
def report():
    ev(EV_SYN, 0, 0)
    t[1] += 4000
    if t[1] >= 1000000:
        t[0] += 1; t[1] -= 1000000
def key(code, value):
    ev(EV_MSC, MSC_SCAN, 0x70000 + code)  # a usage code, ignored by the decoder
    ev(EV_KEY, code, value)
    report()
def tap(code, shift=False):
    if shift: key(LEFTSHIFT, 1)
    key(code, 1); key(code, 0)
    if shift: key(LEFTSHIFT, 0)
for text in sys.argv[1:]:
    for c in text:
        if c in letters: tap(letters[c], shift=True)
        elif c in digits: tap(digits[c])
        elif c in plain: tap(plain[c])
        elif c in shifted: tap(shifted[c], shift=True)
        else: sys.exit(f"cannot type {c!r}")
    tap(ENTER)
assert len(out) % 24 == 0
for i in range(0, len(out), 1000):  # 1000 is not a multiple of 24: records split
    os.write(1, bytes(out[i:i + 1000]))
PY
)

# stdin: two passes.
printf '%s\n%s\n' "${P[1]}" "${P[2]}" >&5
# evdev: a pass and the card, typed.
python3 -c "$TYPE_PY" "${P[3]}" "$CARD" >&6
# tty: a pass with CR LF.
echo "${P[4]}" >&7
# socket.
expect_eq "socket scan" accepted "$(gw_scan "$GW_SCAN" "${P[5]}")"

wait_for 20 "every source's lines to be read" source_lines_are \
  "socket:$GW_SCAN=listening,1,0 stdin=open,2,0 evdev:$WORK/evdev.fifo=open,2,0 tty:$PTS=open,1,0"
wait_for 20 "6 accepted check-ins" gw_status_is accepted 6
expect_eq "nothing rejected" "0 0 0" \
  "$(gw_status_field rejected) $(gw_status_field duplicate) $(gw_status_field not_collecting)"

# Each source's scans are in the journal, under the right pids, and the log
# names the source of each.
gw_journal > "$WORK/journal"
expect_eq "journal records" 6 "$(wc -l < "$WORK/journal")"
check
python3 - "$WORK/journal" "$GW_LOG" \
  "socket:$GW_SCAN=$(pid_of "${P[5]}")" \
  "stdin=$(pid_of "${P[1]}"),$(pid_of "${P[2]}")" \
  "evdev:$WORK/evdev.fifo=$(pid_of "${P[3]}"),$(pid_of "$CARD")" \
  "tty:$PTS=$(pid_of "${P[4]}")" <<'PY' || fail "journal or log does not match the sources (above)"
import collections, json, sys
journal = {r["seq"]: r for r in map(json.loads, open(sys.argv[1]))}
by_source = collections.defaultdict(set)
for line in open(sys.argv[2]):
    if "check-in {" in line:
        ev = json.loads(line.split("check-in ", 1)[1])
        if ev["outcome"] != "accepted":
            print("not accepted:", line.strip(), file=sys.stderr); sys.exit(1)
        r = journal[ev["seq"]]
        by_source[ev["source"]].add((r["pid"], r["kind"], ev["kind"]))
bad = 0
for arg in sys.argv[3:]:
    source, pids = arg.rsplit("=", 1)
    got = {p for p, _, _ in by_source.pop(source, set())}
    if got != set(pids.split(",")):
        print(f"{source}: journal pids {sorted(got)}, expected {pids}", file=sys.stderr); bad = 1
if by_source:
    print("unexpected sources:", dict(by_source), file=sys.stderr); bad = 1
sys.exit(bad)
PY
expect_eq "kinds" "card pass pass pass pass pass" \
  "$(python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["kind"] for l in open(sys.argv[1]))))' "$WORK/journal")"

# A scan split across two writes on the tty is still one line.
echo "PART ${P[6]:0:100}" >&7
echo "${P[6]:100}" >&7
wait_for 20 "the split tty scan" gw_status_is accepted 7

# End of stdin: the source says so, the daemon keeps running.
exec 5>&-
wait_for 20 "stdin at end of input" eval '[[ "$(sources_summary)" == *"stdin=end of input,2,0"* ]]'
check; gw_alive || fail "the daemon stopped when stdin ended"
expect_eq "socket still works" duplicate "$(gw_scan "$GW_SCAN" "${P[5]}")"
expect_eq "sources at the end" \
  "socket:$GW_SCAN=listening,2,0 stdin=end of input,2,0 evdev:$WORK/evdev.fifo=open,2,0 tty:$PTS=open,2,0" \
  "$(sources_summary)"
gw_stop
exec 6>&- 7>&-

# Recorded events in a regular file (sources.h: "a FIFO or file of recorded
# struct input_event is read ungrabbed"): read once to the end.  (The file
# used to be polled, which fails with EPERM for regular files, so nothing was
# ever read: bug evdev-regular-file, fixed in a1e37e5.)
gw_write_config "source evdev $WORK/recorded.bin"
gw_wallet "$WORK/w7" 010-8300-0007 "Source Visitor 7"
python3 -c "$TYPE_PY" "$(gw_pass "$WORK/w7")" "$CARD" > "$WORK/recorded.bin"
gw_start
wait_for 20 "the recorded file to be read" eval '[[ "$(sources_summary)" == *"recorded.bin=end of input,"* ]]'
expect_eq "evdev file source" "socket:$GW_SCAN=listening,0,0 evdev:$WORK/recorded.bin=end of input,2,0" \
  "$(sources_summary)"
expect_eq "from the file: a new pass and the card again" "1 1" \
  "$(gw_status_field accepted) $(gw_status_field duplicate)"
expect_eq "journal" 8 "$(gw_journal_count)"
check; gw_alive || fail "the daemon died on an evdev file source"
gw_stop
done_ok
