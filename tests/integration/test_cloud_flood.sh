#!/usr/bin/env bash
# A flood of wallet check-ins much bigger than anshim-cloudd's ingest queue
# (ingest_queue_messages 16, ingest_queue_bytes 1M): the cloud holds the
# broker back instead of queueing without bound (it logs that the queue was
# full, and the most it ever queued stays within the bound), and every
# check-in the broker acknowledged is stored, exactly once: none is
# dropped.  The broker is configured as the shipped one is for this
# (max_queued_messages 100000: it holds what the cloud does not take yet).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

N=3000
QUEUE=16
phase "setup"
BROKER_EXTRA_CONF=$(grep -E '^max_queued_messages[[:space:]]' \
  "$(dirname "$0")/../../packaging/mosquitto/anshim.conf")
check; [ -n "$BROKER_EXTRA_CONF" ] || fail "the shipped anshim.conf sets no max_queued_messages"
start_broker
cloud_init "ingest_queue_messages $QUEUE" "ingest_queue_bytes 1M" "ingest_group 8"
sgw_init V
sgw_enroll V 901
cloud_start

phase "flood: $N check-ins, queue bound $QUEUE"
out=$("$BENCH_DIR/flood_checkins" --broker "$BROKER_URI" --keys "$SYNC_AUTH" --venue 901 \
  --count "$N" --window 500)
expect_match "the broker acknowledged every check-in" "published $N check-ins, $N acknowledged" "$out"
visits_are() { [ "$(cloud_field visits)" = "$1" ]; }
wait_for 300 "all $N check-ins stored" visits_are "$N"
expect_eq "app check-ins rejected" 0 "$(cloud_q "sum(v for k, v in s['rejects'].items())")"
check; grep -q 'ingest: the queue was full' "$CLOUD_LOG" ||
  fail "the queue never filled: the flood did not test the bound"

phase "stopping"
cloud_stop
peak=$(sed -n 's/.*ingest: at most \([0-9]*\) messages.*/\1/p' "$CLOUD_LOG" | tail -n 1)
check; [ -n "$peak" ] || fail "no queue peak in the log"
# At most one message beyond the bound: the one Paho's thread was holding
# when the queue filled.
check; [ "$peak" -le $((QUEUE + 1)) ] || fail "the queue held $peak messages (bound $QUEUE)"
expect_eq "still stored after the restart" "$N" "$(cloud_field visits)"
sync_stop_all
done_ok
