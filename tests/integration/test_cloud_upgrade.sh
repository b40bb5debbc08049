#!/usr/bin/env bash
# A store of version 4 (one row of `visits` per visit, as an earlier
# release left it), taken over by the real aggregator:
#   - read-only commands read it as it is: the same visit count and traces;
#   - anshim-cloudd makes it version 5 and moves every row into visit
#     blocks in the background, says so in its log, and leaves no row;
#   - every visit is still traced, and the aggregator goes on ingesting
#     (the new visits' ids follow the old ones; none is lost or doubled).
# The version 4 store is made from a version 5 one by bench/store_upgrade
# --to-version4 (the same rows the earlier release wrote).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mdb_stat
need mdb_dump

rows_left() { # rows of `visits` (version 4's layout) in the cloud's store
  mdb_stat -s visits "$CLOUD_STORE" | sed -n 's/^ *Entries: //p'
}
store_version() {
  mdb_dump -s meta "$CLOUD_STORE" | python3 -c '
import sys
lines = [l.strip() for l in sys.stdin if l.startswith(" ")]
for k, v in zip(lines[0::2], lines[1::2]):
    if bytes.fromhex(k) == b"version": print(int(v, 16))'
}
PHONES=(010-4500-0001 010-4500-0002 010-4500-0003)
trace_count() { # PHONE: the case's visits in the last 10 days
  anshim-cloud trace --config "$CLOUD_CONF" --phone "$1" --from "$(date -d '-10 days' +%F)" \
    --to "$(date +%F)" --reason "upgrade test" --json |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["visits"]))'
}
register() { # FILE DAYS_AGO: 20 visits of each phone, DAYS_AGO days ago
  {
    echo "date,time,name,phone"
    for p in "${PHONES[@]}"; do
      for m in $(seq 10 29); do echo "$(date -d "-$2 days" +%F),10:$m,Visitor,$p"; done
    done
  } > "$1"
}

phase "setup: 60 visits of 3 people stored by the aggregator"
start_broker
cloud_init
sgw_init A
sgw_enroll A 1
cloud_start
sgw_start A
register "$WORK/first.csv" 3
anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/first.csv" >/dev/null
wait_for 60 "60 visits in the cloud" cloud_is "s['visits']" 60
cloud_stop
expect_eq "a version 5 store" 5 "$(store_version)"
expect_eq "no version 4 rows" 0 "$(rows_left)"

phase "the store as version 4 left it"
out=$("$BENCH_DIR/store_upgrade" --to-version4 "$CLOUD_STORE")
expect_match "made version 4" "60 visits as version 4 rows, store version 4" "$out"
expect_eq "version 4" 4 "$(store_version)"
expect_eq "60 rows" 60 "$(rows_left)"
expect_eq "read-only stats count them" 60 "$(cloud_q "s['visits']")"
for p in "${PHONES[@]}"; do
  expect_eq "read-only trace of $p" 20 "$(trace_count "$p")"
done
expect_eq "read-only left it version 4" 4 "$(store_version)"

phase "the aggregator upgrades it in the background"
cloud_start
wait_for 60 "the upgrade's log line" grep -q "store upgrade: 60 visits moved into visit blocks" "$CLOUD_LOG"
expect_eq "version 5" 5 "$(store_version)"
expect_eq "no row left" 0 "$(rows_left)"
expect_eq "60 visits" 60 "$(cloud_q "s['visits']")"
for p in "${PHONES[@]}"; do
  expect_eq "trace of $p after the upgrade" 20 "$(trace_count "$p")"
done

phase "ingest goes on"
register "$WORK/second.csv" 1
anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/second.csv" >/dev/null
wait_for 60 "120 visits in the cloud" cloud_is "s['visits']" 120
for p in "${PHONES[@]}"; do
  expect_eq "trace of $p with the new visits" 40 "$(trace_count "$p")"
done
cloud_stop
expect_eq "still no row" 0 "$(rows_left)"
sync_stop_all
done_ok
