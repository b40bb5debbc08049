#!/usr/bin/env bash
# One batch the store cannot take holds up only itself.
#
# The cloud stores whatever messages are waiting in one transaction.  When
# that transaction fails, nothing of the group is acknowledged; a message
# that fails every time (here: a visit of a person whose index entries in
# the store are damaged) used to fail every group it shared with other
# gateways' batches, so they waited for resends that met it again (a chaos
# soak saw every gateway's ingest stop for good).
#
#   - gateway A's visitor X has a damaged by_pid entry (one byte cut, as
#     only a damaged disk would leave it);
#   - while another process holds the store's write lock, A scans X and B
#     scans its own visitors: their batches wait in anshim-cloudd's queue
#     together, behind one junk message that took the ingest thread first;
#   - when the lock is released, B's batch is stored and acknowledged
#     without a resend; A's is not, and the log names its topic, what
#     failed and LMDB's code ("corrupt: reading by_pid ...: MDB_CORRUPTED");
#     A's through_seq stays where it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mdb_dump
need mdb_load

phase "setup"
start_broker
cloud_init
sgw_init A "ack_timeout 30s"
sgw_init B "ack_timeout 30s"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

phase "a first visit of X at A, and visitors at B"
sgw_use A
gw_wallet "$WORK/x" 010-7000-0001 "Visitor X"
pid=$(anshim-gw verify-pass "$(gw_pass "$WORK/x")" --config "$GW_CONF" |
  sed -n 's/.*pid=\([0-9a-f]*\).*/\1/p')
expect_match "X's pid" '^[0-9a-f]{32}$' "$pid"
expect_eq "X at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/x")")"
sgw_load B 5 5 1
wait_delivered 30 A B
through_a=$(cloud_gw_field "${SGW_ID[A]}" through_seq)

phase "damaging X's by_pid entries"
cloud_stop
mdb_dump -s persons "$CLOUD_STORE" > "$WORK/persons.dump"
person=$(python3 - "$WORK/persons.dump" "$pid" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
body = lines[lines.index("HEADER=END") + 1:]
for k, v in zip(body[0::2], body[1::2]):
    if k.strip() == sys.argv[2]:
        print(v.strip()[:8])
EOF
)
expect_match "X's person number" '^[0-9a-f]{8}$' "$person"
mdb_dump -s by_pid "$CLOUD_STORE" > "$WORK/by_pid.dump"
python3 - "$WORK/by_pid.dump" "$person" > "$WORK/by_pid.load" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
end = lines.index("HEADER=END")
body = lines[end + 1:]
out = []
for k, v in zip(body[0::2], body[1::2]):
    if k.strip().endswith(sys.argv[2]):
        out += [k, v[:-2]]      # one byte cut: no longer whole entries
if not out:
    sys.exit("no by_pid entry of the person")
print("\n".join(lines[:end + 1] + out + ["DATA=END"]))
EOF
check; [ -s "$WORK/by_pid.load" ] || fail "no by_pid entry of X to damage"
mdb_load -s by_pid "$CLOUD_STORE" < "$WORK/by_pid.load" || fail "mdb_load by_pid failed"
cloud_start

phase "batches of A and B queued together behind a held write lock"
# mdb_load begins its write transaction after the header and then waits
# for records on the fifo: the store's write lock is held until the fifo
# is closed.
mkfifo "$WORK/hold.fifo"
mdb_load -s counters "$CLOUD_STORE" < "$WORK/hold.fifo" > "$WORK/hold.out" 2>&1 &
hold=$!
CLEANUP_PIDS+=("$hold")
exec 3> "$WORK/hold.fifo"
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n' >&3
# The ingest thread takes this one and waits for the lock with it.
mpub -q 1 -t "anshim/v1/gw/00000000000000000000000000000000/batch" -m junk
sent_a=$(sgw_field A batches_sent)
sent_b=$(sgw_field B batches_sent)
resends_b=$(sgw_field B resends)
sgw_use A
expect_eq "X at A again" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/x")")"
sgw_load B 5 5 1
sent_more() { [ "$(sgw_field "$1" batches_sent)" -gt "$2" ]; }
wait_for 30 "A to publish its batch" sent_more A "$sent_a"
wait_for 30 "B to publish its batch" sent_more B "$sent_b"
check; cloud_alive || fail "anshim-cloudd died"
exec 3>&-
rc=0; wait "$hold" || rc=$?
expect_eq "the lock holder's exit status ($(cat "$WORK/hold.out"))" 0 "$rc"

phase "B is stored; A's batch alone is not"
wait_delivered 60 B
expect_eq "B was acknowledged without resending" "$resends_b" "$(sgw_field B resends)"
a_failed() { grep -Eq "storing the message on 'anshim/v1/gw/${SGW_ID[A]}/batch' .*failed: .*corrupt: reading by_pid .*MDB_CORRUPTED" "$CLOUD_LOG"; }
wait_for 30 "the log to name A's batch as the one that failed" a_failed
expect_eq "A's through_seq (its batch not stored)" "$through_a" \
  "$(cloud_gw_field "${SGW_ID[A]}" through_seq)"
check; cloud_alive || fail "anshim-cloudd died"
phase "stopping"
sync_stop_all
done_ok
