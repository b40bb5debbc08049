#!/usr/bin/env bash
# A flood of wallet check-ins much bigger than anshim-cloudd's ingest queue
# (ingest_queue_messages 16, ingest_queue_bytes 1M): the cloud holds the
# broker back instead of queueing without bound (it logs that the queue was
# full, and the most it ever queued stays within the bound), and every
# check-in the broker acknowledged is stored, exactly once: none is
# dropped.  The broker is configured as the shipped one is for this
# (max_queued_messages 100000: it holds what the cloud does not take yet).
#
# Then 200 malformed messages in a burst: all counted, but the log gets a
# few WARNING lines, then one line with the count of the rest.
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

phase "200 malformed messages: counted, logged sparingly"
JUNK_TOPIC=anshim/v1/gw/$(printf '%032d' 0)/batch
printf 'junk\n%.0s' {1..200} | mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$JUNK_TOPIC" -l
malformed_is() { [ "$(cloud_reject malformed)" = "$1" ]; }
wait_for 60 "the cloud to count 200 malformed" malformed_is 200
lines=$(_log_count "$CLOUD_LOG" 'rejected: malformed')
# Five per 10-second window; the burst may straddle two.
check; [ "$lines" -ge 5 ] && [ "$lines" -le 10 ] ||
  fail "expected 5 to 10 WARNING lines for 200 refusals, got $lines"
# Once the window is over, the next refusal first reports the rest.
summary_logged() {
  mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$JUNK_TOPIC" -m junk
  grep -q 'more messages rejected in' "$CLOUD_LOG"
}
wait_for 40 "the line counting the refusals not logged" summary_logged
n=$(sed -n 's/.*ingest: \([0-9]*\) more messages rejected in.*/\1/p' "$CLOUD_LOG" | head -n 1)
check; [ "$n" -ge $((200 - lines)) ] ||
  fail "the summary counts $n refusals not logged; expected at least $((200 - lines))"

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
