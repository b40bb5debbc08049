#!/usr/bin/env bash
# A large backlog drains within the in-flight window, exactly once.
#
# A gateway with inflight_batches 4 and batch_max_records 200 is put
# offline ('anshim-gw offline') and journals 20,000 scans; then
# 'anshim-gw online'.  During the drain its status is sampled (over the
# control socket, every 5 ms, bounded by a deadline): the number of batches
# in flight never exceeds 4, and acked_seq only grows.  When acked_seq reaches the last seq: journal seqs 1..20000 ==
# cloud records == through_seq == acked_seq, unsent 0, visits 20000; every
# batch the cloud stored held at most 200 records (at least 100 batches);
# nothing rejected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

RECORDS=${SYNC_BACKLOG_RECORDS:-20000}
INFLIGHT=4
BATCH=200

phase "setup"
start_broker
cloud_init
sgw_init A "inflight_batches $INFLIGHT" "batch_max_records $BATCH" "log_level notice"
sgw_enroll A 1
cloud_start
sgw_start A
ID=${SGW_ID[A]}

phase "offline: journaling $RECORDS scans"
sgw_ctl A offline > /dev/null
wait_for 10 "status offline" sgw_field_is A offline true
sgw_load A 2000 "$RECORDS" 32
expect_eq "backlog journaled" "$RECORDS" "$(sgw_field A last_seq)"
expect_eq "backlog unsent" "$RECORDS" "$(sgw_field A unsent)"
expect_eq "nothing in the cloud yet" 0 "$(cloud_gw_field "$ID" through_seq)"

phase "online: draining, sampling the window"
# The sampler asks the control socket for status every 5 ms (one process,
# so hundreds of samples per second) until acked_seq reaches the last
# record or 120 s pass; it reports every sample above the window.
cat > "$WORK/sampler.py" <<'PY'
import collections, json, socket, sys, time
path, want, window, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
f = s.makefile("rb")
hist, bad, samples, prev, acked = collections.Counter(), [], 0, 0, 0
deadline = time.monotonic() + 120
while acked < want and time.monotonic() < deadline:
    s.sendall(b"status\n")
    sync = json.loads(f.readline())["sync"]
    inflight, acked = sync["inflight"], sync["acked_seq"]
    samples += 1
    hist[inflight] += 1
    if inflight > window:
        bad.append(f"sample {samples}: {inflight} batches in flight (acked_seq {acked})")
    if acked < prev:
        bad.append(f"sample {samples}: acked_seq went back from {prev} to {acked}")
    prev = acked
    if samples == 1:
        open(ready, "w").write("sampling\n")
    time.sleep(0.005)
busy = samples - hist[0]
print(f"  {samples} samples, {busy} with batches in flight; in flight: "
      + ", ".join(f"{k}: {v}" for k, v in sorted(hist.items())))
if acked < want:
    bad.append(f"not drained after 120 s: acked_seq {acked} of {want}")
if busy < 10:
    bad.append(f"only {busy} samples saw batches in flight")
for b in bad[:10]:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
"$ANSHIM_PYTHON" "$WORK/sampler.py" "$(sgw_dir A)/control.sock" "$RECORDS" "$INFLIGHT" "$WORK/sampling" \
  > "$WORK/sampler.out" 2>&1 &
SAMPLER=$!
CLEANUP_PIDS+=("$SAMPLER")
wait_for 20 "the sampler to start" test -s "$WORK/sampling"
# The wire as well: every batch and ack of A, in the order the broker
# routes them.
msub_start "$WORK/wire.txt" anshim/test/probe "anshim/v1/gw/$ID/batch" "anshim/v1/gw/$ID/ack"
sgw_ctl A online > /dev/null
rc=0; wait "$SAMPLER" || rc=$?
_gw_forget_pid "$SAMPLER"
cat "$WORK/sampler.out"
expect_eq "the drain stayed within inflight_batches $INFLIGHT (sampler exit status)" 0 "$rc"
phase "drained"
wait_delivered 30 A
msub_stop
# On the wire: no batch holds more than batch_max_records, and no batch
# reaches further than inflight_batches x batch_max_records records past the
# latest ack the broker had routed before it (the gateway only sends more
# after an ack, which the broker routes to this subscriber too).
check
python3 - "$WORK/wire.txt" "$INFLIGHT" "$BATCH" "$RECORDS" <<'PY' || fail "the wire shows the window exceeded (see above)"
import sys
path, window, batch, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
u64 = lambda b, o: int.from_bytes(b[o:o + 8], "little")
through = max_last = n_batches = n_acks = worst = 0
seen, bad = set(), []
for line in open(path):
    topic, _, hexpay = line.strip().partition(" ")
    if topic.endswith("/ack"):
        through = max(through, u64(bytes.fromhex(hexpay), 18))
        n_acks += 1
    elif topic.endswith("/batch"):
        b = bytes.fromhex(hexpay)
        first, last = u64(b, 26), u64(b, 34)
        n_batches += 1
        seen.update(range(first, last + 1))
        if last - first + 1 > batch:
            bad.append(f"a batch of {last - first + 1} records ({first}..{last})")
        max_last = max(max_last, last)
        worst = max(worst, max_last - through)
        if max_last - through > window * batch:
            bad.append(f"batch {first}..{last} sent with the cloud's ack at {through}: "
                       f"{max_last - through} records outstanding")
print(f"  wire: {n_batches} batches, {n_acks} acks, at most {worst} records past the "
      f"latest ack (limit {window * batch})")
if seen != set(range(1, want + 1)):
    bad.append(f"the batches on the wire cover {len(seen)} seqs, not 1..{want}")
for b in bad[:10]:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

expect_exactly_once A
batches=$(cloud_gw_field "$ID" batches)
echo "  cloud stored $RECORDS records in $batches batches"
check
[ "$batches" -ge $(( (RECORDS + BATCH - 1) / BATCH )) ] ||
  fail "$batches batches for $RECORDS records: some held more than batch_max_records $BATCH"
expect_eq "no batch rejected" 0 "$(cloud_field rejects_total)"

phase "stopping"
sync_stop_all
done_ok
