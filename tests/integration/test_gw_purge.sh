#!/usr/bin/env bash
# Retention purge: exactly the records older than the retention period go.
#
# Paper-register rows dated 10, 20, 29, 31, 40 and 50 days ago (the default
# retention, 56d, accepts them all) and scans made now.  A purge at 56d
# removes nothing.  After SIGHUP with 'retention 30d', 'anshim-gw purge'
# removes the 31-, 40- and 50-day rows (none was ever sent to a cloud, so
# each may stay as an "expired" placeholder without personal data, keeping
# the seqs contiguous) and leaves every other record exactly as it was; the
# result survives a restart, and a second purge finds nothing to do.
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_start

day() { date -d "$1 days ago" +%F; }
cat > "$WORK/rows.csv" <<EOF
date,time,name,phone,headcount
$(day 10),12:00,Ten Days,010-8200-0010,1
$(day 10),13:30,Ten Days Later,010-8200-0011,3
$(day 20),12:00,Twenty Days,010-8200-0020,1
$(day 29),12:00,Twenty Nine Days,010-8200-0029,1
$(day 31),12:00,Thirty One Days,010-8200-0031,1
$(day 40),12:00,Forty Days,010-8200-0040,2
$(day 40),18:00,Forty Days Later,010-8200-0041,1
$(day 50),12:00,Fifty Days,010-8200-0050,1
EOF
expect_eq "import" "$WORK/rows.csv: 8 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/rows.csv")"
gw_wallet "$WORK/w1" 010-8200-0001 "Scan Now"
expect_eq "scan now" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w1")")"
gw_journal > "$WORK/journal.before"
expect_eq "records before" 9 "$(wc -l < "$WORK/journal.before")"

# At the configured retention (56d) nothing is due.
expect_eq "purge at 56d" "purged 0 records" "$(anshim-gw purge --config "$GW_CONF")"
expect_eq "journal after a purge at 56d" "$(cat "$WORK/journal.before")" "$(gw_journal)"

gw_write_config "retention 30d"
gw_reload
expect_eq "purge at 30d" "purged 4 records" "$(anshim-gw purge --config "$GW_CONF")"
gw_journal > "$WORK/journal.after"

# ages_by_kind: each record as "AGE:KIND[:pid]" in seq order, AGE being how
# many local calendar days ago its entry time is.
ages_by_kind() {
  python3 -c '
import datetime, json, sys
today = datetime.date.today()
out = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    age, kind = (today - datetime.date.fromtimestamp(r["time"])).days, r["kind"]
    out.append(f"{age}:{kind}" + (":pid" if r["pid"] else ""))
print(" ".join(out))' "$1"
}
expect_eq "before: ages and kinds" "10:manual 10:manual 20:manual 29:manual 31:manual 40:manual 40:manual 50:manual 0:pass:pid" \
  "$(ages_by_kind "$WORK/journal.before")"
# Gone, or a placeholder ("expired", no pid); nothing else.
expect_eq "after: the 31-, 40- and 50-day records are gone" \
  "10:manual 10:manual 20:manual 29:manual 0:pass:pid" \
  "$(ages_by_kind "$WORK/journal.after" | tr ' ' '\n' | grep -v ':expired$' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "placeholders, if any, are only for the purged rows" "" \
  "$(ages_by_kind "$WORK/journal.after" | tr ' ' '\n' | grep ':expired' | grep -Ev '^(31|40|50):expired$' || true)"
# The kept records are byte-for-byte the same JSON as before.
expect_eq "kept records unchanged" \
  "$(grep -v -e "\"time\":$(date -d "$(day 31) 12:00" +%s)," -e "\"time\":$(date -d "$(day 40) 12:00" +%s)," \
     -e "\"time\":$(date -d "$(day 40) 18:00" +%s)," -e "\"time\":$(date -d "$(day 50) 12:00" +%s)," \
     "$WORK/journal.before")" \
  "$(grep -v '"kind":"expired"' "$WORK/journal.after")"
expect_eq "seqs never reused" "1 2 3 4 9" \
  "$(grep -v '"kind":"expired"' "$WORK/journal.after" | python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')"
expect_eq "status records" "$(wc -l < "$WORK/journal.after")" "$(gw_status_field records)"
check; log_has "purged 4 records past retention" || fail "no purge line in the log"

# Durable, and idempotent.
gw_stop
gw_start
expect_eq "journal after a restart" "$(cat "$WORK/journal.after")" "$(gw_journal)"
expect_eq "second purge" "purged 0 records" "$(anshim-gw purge --config "$GW_CONF")"
# New records still get new seqs after the purge.
gw_wallet "$WORK/w2" 010-8200-0002 "Scan Later"
expect_eq "scan after the purge" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w2")")"
expect_eq "new seq" 10 "$(gw_journal | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')"
gw_stop
done_ok
