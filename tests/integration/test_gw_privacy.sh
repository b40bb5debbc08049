#!/usr/bin/env bash
# No plaintext personal data at rest on the gateway, nor in what it says.
#
# Paper-register entries go in through 'anshim-gw import' (CSV, including
# rows with swapped columns) and 'anshim-gw register' (answers on stdin,
# including a mistyped phone), and a pass is scanned, all with distinctive
# names and phone numbers.  Then the raw LMDB file, every file in the state
# directory, the daemon log and the CLI's own output are searched, as bytes,
# for every phone number in every spelling (010-1234-5678, 01012345678,
# +821012345678, 821012345678, 1012345678) and every name: none may appear.
# A positive control shows the search does read the journal (the scanned
# pid's bytes are there).  Secret keys are mode 600, directories 700,
# sockets 660.
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_start
YESTERDAY=$(date -d '1 day ago' +%F)

PHONES=(010-1234-5678 010-3141-5926 010-9876-5432 010-5555-6666 010-2718-2818 010-2468-1357)
NAMES=("Marigold Fairweather" Marigold Fairweather "Kim, Seoyeon" Seoyeon "Zebulon Quixote" Zebulon
       Quixote 홍길동 "Swapped Columns" "Persephone Wallet" Persephone)

cat > "$WORK/register.csv" <<EOF
date,time,name,phone
$YESTERDAY,09:00,Marigold Fairweather,010-1234-5678
$YESTERDAY,09:10,"Kim, Seoyeon",+82-10-3141-5926
$YESTERDAY,09:20,010-2718-2818,Swapped Columns
$YESTERDAY,010-2718-2818,Swapped Columns,09:30
EOF
rc=0; anshim-gw import --config "$GW_CONF" "$WORK/register.csv" > "$WORK/import.out" 2>&1 || rc=$?
expect_eq "import exit status (two bad rows)" 1 "$rc"
expect_eq "import summary" "$WORK/register.csv: 2 imported, 0 already imported, 0 rejected by the gateway, 2 invalid rows (fix them and import the file again); dates and times read in the time zone Asia/Seoul" \
  "$(tail -n 1 "$WORK/import.out")"
expect_match "bad rows reported by line" "^line 4: rejected: phone: .*
line 5: rejected: time: " "$(cat "$WORK/import.out")"

# The interactive register: date, time, name, phone (a bad one first, asked
# again), headcount, exit time; then end of input.
printf '%s\n' "$YESTERDAY" 10:00 "Zebulon Quixote" 010-12 "+82 10 9876 5432" 2 11:00 \
  "$YESTERDAY" 12:00 "홍길동" 01055556666 "" "" > "$WORK/register.answers"
rc=0; anshim-gw register --config "$GW_CONF" < "$WORK/register.answers" > "$WORK/register.out" 2>&1 || rc=$?
expect_eq "register exit status" 0 "$rc"
expect_eq "register summary" "2 recorded, 0 already recorded, 0 rejected" "$(tail -n 1 "$WORK/register.out")"
check; grep -q "phone: not a phone number" "$WORK/register.out" || fail "the bad phone was not asked again"

gw_wallet "$WORK/w" 010-2468-1357 "Persephone Wallet"
expect_eq "pass" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w")")"

gw_journal > "$WORK/journal"
expect_eq "journal kinds and headcounts" "manual:1 manual:1 manual:2 manual:1 pass:1" \
  "$(python3 -c '
import json, sys
print(" ".join(r["kind"] + ":" + str(r["headcount"]) for r in map(json.loads, open(sys.argv[1]))))' "$WORK/journal")"
expect_eq "register entry 1: entry and exit times" \
  "$(date -d "$YESTERDAY 10:00" +%s) $(date -d "$YESTERDAY 11:00" +%s)" \
  "$(sed -n 3p "$WORK/journal" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["time"], r["exit"])')"
# Flush everything to the files before reading them raw.
gw_stop

# Positive control: the raw search does see journal content.
PID=$(tail -n 1 "$WORK/journal" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
expect_eq "the scanned pid's bytes are in data.mdb" 1 \
  "$(python3 -c 'import sys; print(int(bytes.fromhex(sys.argv[1]) in open(sys.argv[2], "rb").read()))' \
     "$PID" "$GW_STATE/journal/data.mdb")"

FILES=("$GW_STATE/journal/data.mdb" "$GW_LOG" "$WORK/import.out" "$WORK/register.out")
while IFS= read -r -d '' f; do FILES+=("$f"); done < <(find "$GW_STATE" -type f -print0)
expect_eq "state files searched" "data.mdb device.key device.pub import.key lock.mdb policy" \
  "$(find "$GW_STATE" -type f -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')"
SPELLINGS=()
for phone in "${PHONES[@]}"; do
  mapfile -t spellings < <(phone_spellings "$phone")
  SPELLINGS+=("${spellings[@]}")
done
for f in "${FILES[@]}"; do
  expect_absent "phone number" "$f" "${SPELLINGS[@]}"
  # The CLI's output included: its messages about bad rows and fields must
  # not quote what was typed.
  expect_absent "name" "$f" "${NAMES[@]}"
done

# Modes.
expect_eq "state dir mode" 700 "$(stat -c %a "$GW_STATE")"
expect_eq "journal dir mode" 700 "$(stat -c %a "$GW_STATE/journal")"
expect_eq "data.mdb mode" 600 "$(stat -c %a "$GW_STATE/journal/data.mdb")"
expect_eq "device.key mode" 600 "$(stat -c %a "$GW_STATE/device.key")"
expect_eq "import.key mode" 600 "$(stat -c %a "$GW_STATE/import.key")"
expect_eq "holder.key mode" 600 "$(stat -c %a "$WORK/w/holder.key")"
for k in sign.key contact.key pseudonym.key; do
  expect_eq "authority $k mode" 600 "$(stat -c %a "$GW_AUTH/$k")"
done
gw_start
expect_eq "control socket mode" 660 "$(stat -c %a "$GW_CTL")"
expect_eq "scan socket mode" 660 "$(stat -c %a "$GW_SCAN")"
gw_stop
done_ok
