#!/usr/bin/env bash
# Crash safety of the gateway journal: "accepted" means durable.
#
# Five rounds of: start the daemon, drive it with bench/gateway_scan (8
# connections, 500 visitors rescanned with duplicate_window 0), which appends
# every pid answered "accepted" to a file (flushed) before its next scan;
# once a few hundred more answers are in the file, kill -9 the daemon
# mid-run.  Afterwards:
#   - every accepted answer has its record: per pid, the journal holds at
#     least as many records as there were "accepted" answers;
#   - the journal holds at most one unanswered record per connection per
#     round (a commit that finished just before the kill);
#   - no record was lost or rewritten by a restart: the journal after each
#     kill is contained, record for record, in the final one, and every
#     round's new records have seqs above all earlier ones (no seq reused);
#   - the daemon restarts on the crashed journal and reports the same count;
#   - a CSV import cut short by a kill -9 can simply be run again: it adds
#     exactly the rows that were not journaled.
. "$(dirname "$0")/lib.sh"

ROUNDS=5
PER_ROUND=300
CONCURRENCY=8

gw_init "duplicate_window 0"
gw_policy 3
ACC=$WORK/accepted.txt
: > "$ACC"

# scan_progress TARGET: the accepted file reached TARGET lines, or the load
# client has stopped (checked right after the wait).
scan_progress() { file_lines_at_least "$ACC" "$1" || ! kill -0 "$SCAN_PID" 2>/dev/null; }

for round in $(seq 1 $ROUNDS); do
  gw_start
  before=$(wc -l < "$ACC")
  "$BENCH_DIR/gateway_scan" --keys "$GW_AUTH" --socket "$GW_SCAN" --visitors 500 \
    --concurrency $CONCURRENCY --seconds 30 --accepted "$ACC" > "$WORK/scan.$round.out" 2>&1 &
  SCAN_PID=$!
  CLEANUP_PIDS+=("$SCAN_PID")
  wait_for 40 "$PER_ROUND more accepted scans in round $round" scan_progress $((before + PER_ROUND))
  check; kill -0 "$SCAN_PID" 2>/dev/null ||
    fail "round $round: gateway_scan stopped early: $(cat "$WORK/scan.$round.out")"
  gw_kill9
  # The load client notices the closed connections and exits on its own.
  rc=0; wait "$SCAN_PID" || rc=$?
  _gw_forget_pid "$SCAN_PID"
  expect_eq "round $round: gateway_scan exit status" 0 "$rc"
  expect_match "round $round: load client saw no rejections" \
    'accepted [0-9]+ duplicate 0 rejected 0 not-collecting 0' "$(cat "$WORK/scan.$round.out")"
  gw_journal > "$WORK/journal.$round.json"
  echo "round $round: $(( $(wc -l < "$ACC") - before )) accepted answers, $(wc -l < "$WORK/journal.$round.json") records in the journal"
done

# The daemon comes back on the journal of the last crash.
gw_start
gw_journal > "$WORK/journal.final.json"
expect_eq "status records after the last crash" "$(wc -l < "$WORK/journal.final.json")" \
  "$(gw_status_field records)"
expect_eq "status last_seq" "$(tail -n 1 "$WORK/journal.final.json" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')" "$(gw_status_field last_seq)"
gw_stop

check
python3 - "$ACC" "$WORK" $ROUNDS $CONCURRENCY <<'PY' || fail "journal does not cover the accepted answers (see above)"
import collections, json, sys
acc_path, work, rounds, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def load(path):
    return [json.loads(l) for l in open(path) if l.strip()]

accepted = collections.Counter(l.strip() for l in open(acc_path) if l.strip())
final = load(f"{work}/journal.final.json")
seqs = [r["seq"] for r in final]
bad = []
if len(set(seqs)) != len(seqs):
    bad.append("duplicate seqs in the journal")
if any(a >= b for a, b in zip(seqs, seqs[1:])):
    bad.append("seqs not strictly increasing")
if any(r["kind"] != "pass" for r in final):
    bad.append("a record that is not a pass")
journaled = collections.Counter(r["pid"] for r in final)
short = {p: (n, journaled[p]) for p, n in accepted.items() if journaled[p] < n}
if short:
    bad.append(f"{len(short)} pids have fewer records than accepted answers, e.g. "
               + ", ".join(f"{p}: accepted {a}, journaled {j}" for p, (a, j) in list(short.items())[:5]))
total_acc, total_rec = sum(accepted.values()), len(final)
if total_rec < total_acc:
    bad.append(f"{total_rec} records < {total_acc} accepted answers")
if total_rec - total_acc > rounds * conc:
    bad.append(f"{total_rec - total_acc} unanswered records: more than one in flight per "
               f"connection per round ({rounds * conc})")
by_seq = {r["seq"]: r for r in final}
prev_max = 0
for i in range(1, rounds + 1):
    snap = load(f"{work}/journal.{i}.json")
    changed = [r["seq"] for r in snap if by_seq.get(r["seq"]) != r]
    if changed:
        bad.append(f"round {i}: {len(changed)} records lost or rewritten later, first seq {changed[0]}")
    new = [r["seq"] for r in snap if r["seq"] > prev_max]
    if len(new) < 300:
        bad.append(f"round {i}: only {len(new)} new records above seq {prev_max}")
    if len(snap) - len(new) != (0 if i == 1 else len(load(f"{work}/journal.{i-1}.json"))):
        bad.append(f"round {i}: a new record reused a seq at or below {prev_max}")
    prev_max = max(r["seq"] for r in snap)
if len(final) != len(load(f"{work}/journal.{rounds}.json")):
    bad.append("the journal changed between the last crash and the restart")
print(f"{total_acc} accepted answers for {len(accepted)} pids; {total_rec} records, "
      f"seq {seqs[0]}..{seqs[-1]}")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# A crash in the middle of a CSV import: the import says so, and running it
# again adds exactly the rows that were not journaled - none twice.
ROWS=8000
DAY=$(date -d '2 days ago' +%F)
python3 - "$DAY" $ROWS > "$WORK/big.csv" <<'PY'
import sys
day, n = sys.argv[1], int(sys.argv[2])
print("date,time,name,phone")
for i in range(n):
    print(f"{day},{(i // 60) % 24:02d}:{i % 60:02d},Crash Row {i},010-6{i // 10000:03d}-{i % 10000:04d}")
PY
SCANS=$(wc -l < "$WORK/journal.final.json")
gw_start
anshim-gw import --config "$GW_CONF" "$WORK/big.csv" > "$WORK/import1.out" 2>&1 &
IMPORT_PID=$!
CLEANUP_PIDS+=("$IMPORT_PID")
import_progress() { [ "$(gw_status_field records)" -gt $((SCANS + 1500)) ] || ! kill -0 "$IMPORT_PID" 2>/dev/null; }
wait_for 60 "1500 imported rows" import_progress
check; kill -0 "$IMPORT_PID" 2>/dev/null || fail "the import finished before the crash: $(tail -n 1 "$WORK/import1.out")"
gw_kill9
rc=0; wait "$IMPORT_PID" || rc=$?
_gw_forget_pid "$IMPORT_PID"
expect_eq "interrupted import exit status" 1 "$rc"
expect_match "interrupted import message" "lost the connection to the daemon after [0-9]+ of [0-9]+ rows; run the same import again" \
  "$(cat "$WORK/import1.out")"
JOURNALED=$(( $(gw_journal_count) - SCANS ))
gw_start
expect_eq "import again after the crash" \
  "$WORK/big.csv: $((ROWS - JOURNALED)) imported, $JOURNALED already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/big.csv")"
expect_eq "paper rows journaled, each once" $ROWS "$(gw_journal | grep -c '"kind":"manual"')"
gw_stop
done_ok
