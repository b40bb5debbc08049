#!/usr/bin/env bash
# An unsynced gateway clock and the cloud's signed time.
#
# A gateway with 'clock unsynced' (a Pi without RTC or network) journals
# 2,000 scans offline, flagged clock-unsynced; then it goes online.  By
# design (gateway/sync.h) it sends one single-record batch at a time until
# the first ack tells it the cloud's time, corrects this boot's records in
# the journal, and only then sends the rest, so that little leaves with an
# uncorrected time.  Checked, on the wire (every batch captured from the
# broker) and in the stores:
#   - every record is delivered exactly once (journal == cloud);
#   - the journal ends with every record corrected, none unsynced;
#   - the first batch holds one record, and it is the only record ever sent
#     flagged unsynced: sending waits until the correction is committed
#     (once a bug, CLOCK-CORRECT-RACE: whole batches left uncorrected);
#   - the times sent stay within a minute of the real time (this machine's
#     clock is right, so the learned offset is about 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

RECORDS=2000

phase "setup"
start_broker
cloud_init
sgw_init A "clock unsynced"
sgw_enroll A 1
cloud_start
sgw_start A
ID=${SGW_ID[A]}

phase "offline: $RECORDS scans with an unsynced clock"
sgw_ctl A offline > /dev/null
wait_for 10 "status offline" sgw_field_is A offline true
sgw_load A 200 $RECORDS 16
expect_eq "journaled unsynced" "$RECORDS" \
  "$(sgw_journal A | python3 -c 'import json,sys; print(sum(json.loads(l)["unsynced"] for l in sys.stdin))')"

phase "online"
T0=$(date +%s)
msub_start "$WORK/wire.txt" anshim/test/probe "anshim/v1/gw/$ID/batch"
sgw_ctl A online > /dev/null
wait_delivered 60 A
T1=$(date +%s)
msub_stop
expect_exactly_once A
expect_eq "journal after the first ack: corrected, unsynced" "$RECORDS 0" \
  "$(sgw_journal A | python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin]; print(sum(x["corrected"] for x in r), sum(x["unsynced"] for x in r))')"
check
[ "$(_log_count "$(sgw_dir A)/gatewayd.log" 'corrected the time of')" -ge 1 ] ||
  fail "the gateway never logged the correction"

read -r first_count unsynced_sent bad_times < <(python3 - "$WORK/wire.txt" "$T0" "$T1" <<'PY'
import sys
path, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u64 = lambda b, o: int.from_bytes(b[o:o + 8], "little")
i64 = lambda b, o: int.from_bytes(b[o:o + 8], "little", signed=True)
first_flags, first_count, bad = {}, None, 0
for line in open(path):
    topic, _, hexpay = line.strip().partition(" ")
    if not topic.endswith("/batch"):
        continue
    b = bytes.fromhex(hexpay)
    n = int.from_bytes(b[42:46], "little")
    if first_count is None:
        first_count = n
    for i in range(n):
        r = 134 + 249 * i + 2                # batch version 2: rec_len u16, then the record
        flags, seq, entry = b[r + 3], u64(b, r + 4), i64(b, r + 12)
        first_flags.setdefault(seq, flags)
        if not (t0 - 600 <= entry <= t1 + 60):
            bad += 1
print(first_count, sum(1 for f in first_flags.values() if f & 0x01), bad)
print(f"  first batch {first_count} record(s); {len(first_flags)} seqs on the wire, "
      f"{sum(1 for f in first_flags.values() if f & 1)} first sent flagged unsynced", file=sys.stderr)
PY
)
expect_eq "the first batch, before any ack, holds one record" 1 "$first_count"
expect_eq "entry times on the wire within the test's time span" 0 "$bad_times"
expect_eq "records sent flagged unsynced (only the first probe may be)" 1 "$unsynced_sent"

phase "stopping"
sync_stop_all
done_ok
