#!/usr/bin/env bash
# Time sanity: times outside [now - retention, now + skew] are refused at
# every entry point, each with its own reason, and what slipped in while a
# clock was wrong is purged once it is right.
#
#  - wallet: 'anshim-wallet checkin --at' 300 days ahead is refused by the
#    wallet itself; check-ins dated 2076 and 400 days ago sent anyway
#    (signed with a valid credential) are answered "rejected" by the cloud
#    (a 1969 one does not even decode: times are positive), counted as
#    app-time-future / app-time-past, and store nothing;
#  - a gateway whose clock is 50 years ahead (libfaketime) takes a paper
#    row dated 2076, and one whose clock is 400 days behind a row of that
#    day (the register refuses years before 2000 outright): the cloud
#    refuses both batches (time-future, time-past) and
#    stores nothing; once their clocks are right, their purge replaces the
#    rows by placeholders, which the cloud acknowledges: the journal is
#    delivered and the rows are never stored;
#  - a gateway with an unsynced clock a day ahead: the cloud refuses its
#    first batch but acknowledges it (unchanged through_seq), the gateway
#    learns the cloud's time from that ack, corrects the record and sends
#    it again: stored, with the right time;
#  - the register: an exit more than 24 h after the entry, and an exit in
#    the future, are refused by the daemon with their own reasons
#    (exit-too-late, in-the-future).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need faketime

NOW=$(date +%s)
Y2076=$(date -d "2076-06-01T12:00:00Z" +%s)
YPAST=$((NOW - 400 * 86400))

phase "setup"
start_broker
cloud_init
sgw_init F "clock synced" "venue_id 1"
sgw_init P "clock synced"
sgw_init U "clock unsynced"
sgw_enroll F 1
sgw_enroll P 2
sgw_enroll U 3
cloud_start
visits() { cloud_field visits; }

# --- wallet check-ins ---
phase "wallet: --at 300 days ahead refused by the wallet"
W=$WORK/wallet
GW_AUTH=$SYNC_AUTH gw_wallet "$W" 010-6600-0001 "Time Visitor"
anshim-wallet config --dir "$W" --broker "$BROKER_URI" --authority "$SYNC_AUTH/sign.pub" \
  --timeout 10 > /dev/null
CODE=$(anshim-gw show-code --config "$(sgw_dir F)/gw.conf" --once --format text | grep '^AV1:')
rc=0; out=$(anshim-wallet checkin --dir "$W" "$CODE" --at $((NOW + 300 * 86400)) 2>&1) || rc=$?
expect_eq "exit status" 1 "$rc"
expect_match "the wallet says why" "in the future; the cloud refuses a check-in more than 10 minutes ahead" "$out"
expect_match "nothing queued" "0 message\(s\) queued" "$(anshim-wallet diary --dir "$W")"

phase "cloud: wallet check-ins dated 2076 and 400 days ago refused"
before=$(visits)
for at in "$Y2076" $((NOW - 400 * 86400)); do
  out=$("$BENCH_DIR/flood_checkins" --broker "$BROKER_URI" --keys "$SYNC_AUTH" --venue 1 --count 1 \
    --holders 1 --at "$at")
  expect_match "published (at $at)" "published 1 check-ins, 1 acknowledged" "$out"
done
rejected_app() { [ "$(cloud_reject app-time-future)" = 1 ] && [ "$(cloud_reject app-time-past)" = 1 ]; }
wait_for 30 "the cloud to refuse both (app-time-future, app-time-past)" rejected_app
expect_eq "no visit stored" "$before" "$(visits)"

# --- paper rows typed on gateways with wrong clocks ---
csv_row() { # TIME: a register row dated TIME (local time of the gateway)
  printf 'date,time,name,phone,headcount\n%s,Paper %s,010-6600-%04d,1\n' \
    "$(date -d "@$1" '+%F,%H:%M')" "$2" "$3"
}
import_at() { # NAME FAKETIME CSV
  env $(faketime_env "$2") anshim-gw import --config "$(sgw_dir "$1")/gw.conf" "$3"
}
phase "gateway F 50 years ahead imports a row dated 2076; P 400 days behind, a row of then"
# (libfaketime offsets in seconds: the rows are a few seconds old there)
F_SHIFT="+$((Y2076 - NOW))"
P_SHIFT="-$((NOW - YPAST))"
GW_FAKETIME=$F_SHIFT sgw_start F
GW_FAKETIME=$P_SHIFT sgw_start P
csv_row "$Y2076" Future 1 > "$WORK/f.csv"
csv_row "$YPAST" Past 2 > "$WORK/p.csv"
expect_match "F imports the 2076 row (its clock agrees)" ": 1 imported" "$(import_at F "$F_SHIFT" "$WORK/f.csv")"
expect_match "P imports the row of 400 days ago (its clock agrees)" ": 1 imported" "$(import_at P "$P_SHIFT" "$WORK/p.csv")"
refused_batches() { [ "$(cloud_reject time-future)" -ge 1 ] && [ "$(cloud_reject time-past)" -ge 1 ]; }
wait_for 60 "the cloud to refuse the 2076 and the 400-day-old batches" refused_batches
expect_eq "no visit stored" "$before" "$(visits)"
expect_eq "F: nothing acknowledged" 0 "$(sgw_field F acked_seq)"
expect_eq "P: nothing acknowledged" 0 "$(sgw_field P acked_seq)"

phase "their clocks are fixed: the purge replaces the rows, the cloud acknowledges"
for g in F P; do
  sgw_stop "$g"
  sgw_start "$g"
  sgw_ctl "$g" purge > /dev/null
done
wait_delivered 60 F P
for g in F P; do
  expect_eq "$g: the row is an expired placeholder" '["expired"]' \
    "$(sgw_journal "$g" | python3 -c 'import json,sys; print(json.dumps([json.loads(l)["kind"] for l in sys.stdin]))')"
done
expect_eq "still no visit stored" "$before" "$(visits)"

# --- an unsynced clock a day ahead: refused, acknowledged, corrected ---
phase "gateway U, unsynced and a day ahead: refused once, corrected, stored"
tf=$(cloud_reject time-future)
GW_FAKETIME=+1d sgw_start U
sgw_use U
V=$WORK/visitor
GW_AUTH=$SYNC_AUTH gw_wallet "$V" 010-6600-0003 "Unsynced Visitor"
expect_eq "the pass (made at its clock's time) is accepted" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$V" $(($(date +%s) + 86400)))")"
wait_delivered 60 U
expect_eq "stored" $((before + 1)) "$(visits)"
expect_eq "refused once (counted), then stored corrected" $((tf + 1)) "$(cloud_reject time-future)"
entry=$(sgw_journal U | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][0]["time"])')
check; python3 -c "import sys; t=int(sys.argv[1]); n=int(sys.argv[2]); sys.exit(0 if abs(t-n) < 3600 else 1)" \
  "$entry" "$(date +%s)" || fail "the stored record's time was not corrected: $entry"

# --- the register: exits ---
phase "register: an exit beyond entry + 24 h, an exit in the future"
sgw_use F
# gw_manual ENTRY EXIT: a raw 'manual' request on the control socket (what
# anshim-gw register sends, without its checks); prints the answer.
gw_manual() {
  python3 - "$GW_CTL" "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.sendall(f"manual t1 {sys.argv[2]} {sys.argv[3]} 1 {'00' * 131} -\n".encode())
print(s.makefile("rb").readline().decode().rstrip("\n"))
PY
}
T=$((NOW - 3 * 86400))
expect_eq "exit more than 24 h after the entry" "t1 rejected exit-too-late" \
  "$(gw_manual "$T" $((T + 86400 + 60)))"
expect_eq "exit in the future" "t1 rejected in-the-future" "$(gw_manual $((NOW - 3600)) $((NOW + 3600)))"
expect_eq "an exit 23 h after the entry is fine" "t1 accepted" \
  "$(gw_manual "$T" $((T + 23 * 3600)) | sed 's/ seq=.*//')"

phase "stopping"
sync_stop_all
done_ok
