#!/usr/bin/env bash
# A full journal: refuse new check-ins, lose nothing, recover by purging.
#
# map_size 1M (the minimum).  Three scans now, then a CSV import of 6000
# paper-register rows dated 40 days ago fills the journal: the rows that do
# not fit are answered "storage-full" (reported by the import with their
# line), as are the scans after them; the daemon stays up, status counts
# storage_full, every record stored before is still there, and a restart or
# a crash on the full journal keeps them all.  Then: retention 30d, SIGHUP, 'anshim-gw
# purge': the 40-day-old rows lose their personal data and new scans are
# accepted again.
. "$(dirname "$0")/lib.sh"

gw_init "map_size 1M" "duplicate_window 0"
gw_policy 3
gw_start
expect_eq "map_size in status" 1048576 "$(gw_status_field map_size)"

for i in 1 2 3; do
  gw_wallet "$WORK/w$i" "010-6000-000$i" "Early Visitor $i"
  expect_eq "scan $i before the journal fills" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w$i")")"
done
gw_journal > "$WORK/journal.early"

OLD=$(date -d '40 days ago' +%F)
ROWS=6000
python3 - "$OLD" $ROWS > "$WORK/fill.csv" <<'PY'
import sys
day, n = sys.argv[1], int(sys.argv[2])
print("date,time,name,phone")
for i in range(n):
    print(f"{day},{(i // 60) % 24:02d}:{i % 60:02d},Filler {i},010-5{i // 10000:03d}-{i % 10000:04d}")
PY
rc=0; anshim-gw import --config "$GW_CONF" "$WORK/fill.csv" > "$WORK/fill.out" 2>&1 || rc=$?
expect_eq "import into a full journal exits 1" 1 "$rc"
summary=$(tail -n 1 "$WORK/fill.out")
expect_match "import summary" "^$WORK/fill.csv: ([0-9]+) imported, 0 already imported, ([0-9]+) rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul\$" "$summary"
IMPORTED=${BASH_REMATCH[1]} REFUSED=${BASH_REMATCH[2]}
echo "the 1 MiB journal took $IMPORTED of $ROWS rows"
check; [ "$IMPORTED" -gt 1000 ] && [ "$REFUSED" -gt 0 ] || fail "expected the journal to fill: $summary"
expect_eq "rows accounted for" $ROWS $((IMPORTED + REFUSED))
expect_eq "every refused row reported with its line as storage-full" "$REFUSED" \
  "$(grep -Ec '^line [0-9]+: rejected by the gateway: storage-full$' "$WORK/fill.out")"

# The import's groups no longer fit; single scans may still (a group needs
# more pages than one record on top of the reserve).  Top the journal off by
# rescanning one pass (duplicate_window 0) until the scans are refused too.
gw_wallet "$WORK/w4" 010-6000-0004 "Late Visitor"
P4=$(gw_pass "$WORK/w4")
for i in $(seq 1000); do echo "$P4"; done | gw_scan "$GW_SCAN" > "$WORK/topoff.answers"
check; grep -qvxE 'accepted|rejected storage-full' "$WORK/topoff.answers" &&
  fail "top-off answers are accepted or storage-full only: $(sort -u "$WORK/topoff.answers" | tr '\n' '|')"
expect_eq "the last scans are all refused" "rejected storage-full" \
  "$(tail -n 20 "$WORK/topoff.answers" | sort -u)"
TOPOFF=$(grep -c '^accepted$' "$WORK/topoff.answers" || true)
SCANS_FULL=$(grep -c 'storage-full' "$WORK/topoff.answers" || true)
echo "top-off: $TOPOFF more scans fitted, $SCANS_FULL refused"
# A refused scan is not remembered for the duplicate window: with the
# default window (10 min) a retry is refused again, not called a duplicate.
gw_write_config "map_size 1M"
gw_reload
gw_wallet "$WORK/w5" 010-6000-0005 "Retrying Visitor"
P5=$(gw_pass "$WORK/w5")
expect_eq "scan into a full journal" "rejected storage-full" "$(gw_scan "$GW_SCAN" "$P5")"
expect_eq "the same scan again (not taken for a duplicate)" "rejected storage-full" \
  "$(gw_scan "$GW_SCAN" "$P5")"
check; gw_alive || fail "the daemon died when the journal filled"
expect_eq "status storage_full" $((REFUSED + SCANS_FULL + 2)) "$(gw_status_field storage_full)"
expect_eq "status last_error" "storage full" "$(gw_status_field last_error)"
expect_eq "status records" $((IMPORTED + 3 + TOPOFF)) "$(gw_status_field records)"
gw_journal > "$WORK/journal.full"
expect_eq "journal records" $((IMPORTED + 3 + TOPOFF)) "$(wc -l < "$WORK/journal.full")"
expect_eq "the early scans are unchanged" "$(cat "$WORK/journal.early")" "$(head -n 3 "$WORK/journal.full")"
expect_eq "seqs 1..N, kinds" "1 $((IMPORTED + 3 + TOPOFF)) $((IMPORTED + 3 + TOPOFF)) manual=$IMPORTED pass=$((3 + TOPOFF))" \
  "$(python3 -c '
import collections, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
seqs = [r["seq"] for r in recs]
kinds = collections.Counter(r["kind"] for r in recs)
print(seqs[0], seqs[-1], len(set(seqs)), " ".join(f"{k}={v}" for k, v in sorted(kinds.items())))' \
  "$WORK/journal.full")"

# A full journal survives a clean restart and a crash.
gw_stop
gw_start
expect_eq "records after a restart" $((IMPORTED + 3 + TOPOFF)) "$(gw_status_field records)"
gw_kill9
gw_start
expect_eq "journal after a crash on a full journal" "$(cat "$WORK/journal.full")" "$(gw_journal)"
expect_eq "still refusing" "rejected storage-full" "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w5")")"

# Free space: the 40-day-old rows are now past retention.
gw_write_config "map_size 1M" "retention 30d"
gw_reload
rc=0; out=$(anshim-gw purge --config "$GW_CONF" 2>&1) || rc=$?
# (Purging a full journal used to fail with "storage full", leaving the
# gateway stuck for good: bug journal-full-purge, fixed in bd44294.)
expect_eq "anshim-gw purge on a full journal" "0 purged $IMPORTED records" "$rc $out"
gw_journal > "$WORK/journal.purged"
expect_eq "early scans survive the purge" "$(cat "$WORK/journal.early")" "$(head -n 3 "$WORK/journal.purged")"
# Past retention: gone, or an "expired" placeholder without personal
# data; everything newer is untouched.
expect_eq "old records purged, recent ones kept" "0 $((3 + TOPOFF))" "$(python3 -c '
import json, sys, time
horizon = time.time() - 30 * 86400
full = [json.loads(l) for l in open(sys.argv[1])]
now = [json.loads(l) for l in open(sys.argv[2])]
old_left = [r for r in now if r["time"] < horizon and (r["kind"] != "expired" or r["pid"])]
recent = [r for r in full if r["time"] >= horizon]
print(len(old_left), sum(1 for r in recent if r in now))' "$WORK/journal.full" "$WORK/journal.purged")"
expect_eq "a scan after the purge" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w5")")"
check; gw_alive || fail "the daemon died"
gw_stop
done_ok
