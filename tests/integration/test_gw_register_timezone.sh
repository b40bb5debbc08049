#!/usr/bin/env bash
# The paper register's times are wall-clock times of the gateway's
# 'timezone' (default Asia/Seoul), not of the machine running anshim-gw:
#
#   - on a machine whose zone is UTC, an imported row at 12:00 is stored as
#     12:00 KST (03:00 UTC), and a typed entry at 12:30 as 03:30 UTC; the
#     import's summary and the register's banner name the zone used;
#   - 'timezone Europe/Berlin' reads the same row as 12:00 in Berlin;
#   - an unknown zone is refused by import, register and --check-config,
#     naming the key and the file (the C library would silently use UTC);
#   - --help lists the accepted date and time formats.
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_start
D=$(TZ=Asia/Seoul date -d '1 day ago' +%F)
KST_1200=$(TZ=Asia/Seoul date -d "$D 12:00" +%s)
expect_eq "12:00 KST is 03:00 UTC" "$(TZ=UTC date -d "$D 03:00" +%s)" "$KST_1200"

# anshim-gw's time field of the journal entry with headcount HC.
entry_time() {
  gw_journal_json | python3 -c '
import json, sys
hc = int(sys.argv[1])
print(" ".join(str(r["time"]) for r in map(json.loads, sys.stdin) if r["headcount"] == hc))' "$1"
}
gw_journal_json() { anshim-gw journal --json --config "$GW_CONF"; }

printf 'date,time,name,phone,headcount\n%s,12:00,Kim Zone,010-3333-1001,3\n' "$D" > "$WORK/noon.csv"
out=$(TZ=UTC anshim-gw import --config "$GW_CONF" "$WORK/noon.csv")
expect_eq "import on a UTC machine: summary names the zone" \
  "$WORK/noon.csv: 1 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" "$out"
expect_eq "12:00 stored as 12:00 KST (03:00 UTC)" "$KST_1200" "$(entry_time 3)"

printf '%s\n' "$D" 12:30 "Lee Typed" 010-3333-1002 4 "" > "$WORK/answers"
out=$(TZ=UTC anshim-gw register --config "$GW_CONF" < "$WORK/answers")
expect_match "register banner names the zone" "Dates and times are in the time zone Asia/Seoul \('timezone' in $GW_CONF\)" "$out"
expect_eq "typed 12:30 stored as 12:30 KST" "$((KST_1200 + 1800))" "$(entry_time 4)"

gw_write_config "timezone Europe/Berlin"
printf 'date,time,name,phone,headcount\n%s,12:00,Park Berlin,010-3333-1003,5\n' "$D" > "$WORK/berlin.csv"
out=$(TZ=UTC anshim-gw import --config "$GW_CONF" "$WORK/berlin.csv")
expect_match "summary names Berlin" "read in the time zone Europe/Berlin$" "$out"
expect_eq "12:00 in Berlin" "$(TZ=Europe/Berlin date -d "$D 12:00" +%s)" "$(entry_time 5)"

gw_write_config "timezone Mars/Olympus_Mons"
for cmd in "import $WORK/noon.csv" register; do
  rc=0
  # shellcheck disable=SC2086
  out=$(anshim-gw $cmd --config "$GW_CONF" </dev/null 2>&1) || rc=$?
  expect_eq "unknown zone, $cmd: exit status" 1 "$rc"
  expect_match "unknown zone, $cmd: names key, file and fix" \
    "timezone 'Mars/Olympus_Mons' in $GW_CONF is not a time zone this machine knows: give a name from the tz database such as Asia/Seoul" "$out"
done
rc=0; out=$(anshim-gatewayd --check-config --config "$GW_CONF" 2>&1) || rc=$?
expect_eq "unknown zone: --check-config fails" 1 "$rc"
expect_match "unknown zone: --check-config says why" "would not start: timezone 'Mars/Olympus_Mons'" "$out"
expect_eq "nothing imported with an unknown zone" 3 "$(gw_journal_json | wc -l)"

help=$(anshim-gw --help)
expect_match "--help: date formats" "YYYY-MM-DD, YYYY\.MM\.DD or YYYY/MM/DD" "$help"
expect_match "--help: time formats" "H:MM or H:MM:SS" "$help"
expect_match "--help: the zone" "timezone" "$help"
gw_stop
done_ok
