#!/usr/bin/env bash
# Retention purge, end to end through the real aggregator:
#   - visits older than the cloud's retention are deleted by anshim-cloudd's
#     own purge (its timer runs shortly after start) from every index: trace
#     finds nothing for the old person, the recent person is untouched;
#   - the person's pid and sealed capsule leave the store: after LMDB
#     compaction (mdb_copy -c, what docs/OPERATE-CLOUD.md prescribes) their
#     bytes are nowhere in the data file.  Before compaction LMDB may keep
#     freed pages' old bytes (it reuses pages, it does not zero them): that
#     is reported, not asserted.
#   - the audit log survives the purge;
#   - a visit dated 2076, stored by a cloud whose clock was 50 years ahead
#     (libfaketime: the cloud and the wallet both in 2076, where it is
#     valid), is traced until 'anshim-cloud purge' at the right time deletes
#     it with its person (later than now + time_skew).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mdb_copy
need faketime

has_bytes() { # FILE HEX: does FILE contain these bytes?
  python3 -c 'import sys; sys.exit(0 if bytes.fromhex(sys.argv[2]) in open(sys.argv[1],"rb").read() else 1)' "$1" "$2"
}

phase "setup"
start_broker
cloud_init
sgw_init A
sgw_enroll A 1

phase "a cloud whose clock is 50 years ahead stores a wallet check-in dated 2076"
NOW=$(date +%s)
Y2076=$(date -d "2076-06-01T12:00:00Z" +%s)
SHIFT="+$((Y2076 - NOW))"
CLOUD_FAKETIME=$SHIFT cloud_start
out=$(env $(faketime_env "$SHIFT") "$BENCH_DIR/flood_checkins" --broker "$BROKER_URI" \
  --keys "$SYNC_AUTH" --venue 1 --count 1 --holders 1 --at "$Y2076")
expect_match "published" "published 1 check-ins, 1 acknowledged" "$out"
wait_for 60 "the 2076 visit in the store" cloud_is "s['visits']" 1
cloud_stop
FLOOD_PHONE=010-7700-0000 # flood_checkins' first holder
trace_2076() { # number of visits of the 2076 visitor traced in 2076
  anshim-cloud trace --config "$CLOUD_CONF" --phone "$FLOOD_PHONE" --from 2076-05-31 \
    --to 2076-06-02 --reason "purge test" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["visits"]))'
}
expect_eq "the 2076 visit is traced before the purge" 1 "$(trace_2076)"

phase "anshim-cloud purge at the right time deletes it"
out=$(anshim-cloud purge --config "$CLOUD_CONF")
expect_match "purge says so" "^purged 1 visits older than 56 days or dated later than 600 s from now" "$out"
expect_eq "the 2076 visit is not traced after the purge" 0 "$(trace_2076)"
expect_eq "no visit left" 0 "$(cloud_q "s['visits']")"
expect_eq "no person left" 0 "$(cloud_q "s['people']")"

phase "the cloud at the right time"
cloud_start
sgw_start A

OLD_PHONE=010-4400-0040 NEW_PHONE=010-4400-0002
pid_of() { anshim-cloud issue --config "$CLOUD_CONF" --card --phone "$1" --out "$WORK/c.cred" | sed -n 's/.*pid=\([0-9a-f]*\).*/\1/p'; }
OLD_PID=$(pid_of $OLD_PHONE)
NEW_PID=$(pid_of $NEW_PHONE)
expect_match "old pid" '^[0-9a-f]{32}$' "$OLD_PID"

phase "paper register: one visit 40 days ago, one 2 days ago"
{
  echo "date,time,name,phone"
  echo "$(date -d '-40 days' +%F),10:00,Old Visitor,$OLD_PHONE"
  echo "$(date -d '-2 days' +%F),10:00,New Visitor,$NEW_PHONE"
} > "$WORK/register.csv"
anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/register.csv" >/dev/null
wait_for 60 "both visits in the cloud" cloud_is "s['visits']" 2
check; has_bytes "$CLOUD_STORE/data.mdb" "$OLD_PID" || fail "positive control: the old pid is not in data.mdb before the purge"

trace_visits() { # PID: number of the case's visits in the last 60 days
  anshim-cloud trace --config "$CLOUD_CONF" --pid "$1" --from "$(date -d '-60 days' +%F)" \
    --to "$(date +%F)" --reason "purge test" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["visits"]))'
}
expect_eq "old visit traceable before the purge" 1 "$(trace_visits "$OLD_PID")"

phase "the aggregator restarts with 30 days of retention and purges"
cloud_stop
sed -i '/^retention /d' "$CLOUD_CONF"
echo "retention 30d" >> "$CLOUD_CONF"
cloud_start
wait_for 60 "anshim-cloudd's purge" cloud_is "s['visits']" 1
wait_for 30 "the purge log line" grep -q "retention purge: 1 visits" "$CLOUD_LOG"
expect_eq "old visit gone from every query" 0 "$(trace_visits "$OLD_PID")"
expect_eq "recent visit kept" 1 "$(trace_visits "$NEW_PID")"
expect_eq "people left" 1 "$(cloud_q "s['people']")"

phase "compaction removes the purged bytes"
mkdir -p "$WORK/compact"
mdb_copy -c "$CLOUD_STORE" "$WORK/compact"
check; if has_bytes "$WORK/compact/data.mdb" "$OLD_PID"; then fail "the purged pid is still in the compacted store"; fi
check; has_bytes "$WORK/compact/data.mdb" "$NEW_PID" || fail "positive control: the kept pid is missing from the compacted store"
if has_bytes "$CLOUD_STORE/data.mdb" "$OLD_PID"; then
  echo "note: before compaction the purged pid's bytes remain in freed LMDB pages (expected; see docs/OPERATE-CLOUD.md)"
fi

phase "the audit log is kept"
out=$(anshim-cloud audit verify --config "$CLOUD_CONF")
expect_match "audit log intact after purge" "5 entries, chain intact" "$out"
sync_stop_all
done_ok
