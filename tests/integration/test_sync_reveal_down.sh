#!/usr/bin/env bash
# anshim-cloudd holds no key that opens capsules: the pids of paper-register
# entries come from the reveal service.  While the service is down, a batch
# holding paper entries is neither stored nor acknowledged (nothing stored
# without its pid), the gateway keeps it, and once the service is back the
# gateway's resend is stored exactly once with the right pids (a trace by
# phone finds the paper visits).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init A "ack_timeout 2s"
sgw_enroll A 1
cloud_start
sgw_start A

phase "the reveal service stops"
reveal_stop

D=$(date -d 'yesterday' +%F)
cat > "$WORK/paper.csv" <<CSV
date,time,name,phone
$D,12:00,Case Kim,010-7300-0001
$D,12:20,Park Bee,010-7300-0002
CSV
expect_match "CSV import" ": 2 imported" "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper.csv")"
wait_for 30 "anshim-cloudd to refuse the batch for want of the reveal service" \
  grep -q "rejected: reveal-service-unavailable" "$CLOUD_LOG"
expect_match "the reason is logged" "the batch is not stored or acknowledged" "$(cat "$CLOUD_LOG")"
expect_eq "nothing stored" 0 "$(cloud_q "s['visits']")"
expect_eq "the gateway keeps the records unacknowledged" 0 "$(sgw_q A "s['acked_seq']")"

phase "the reveal service is back"
reveal_start "$CLOUD_CONF"
wait_delivered 60 A
expect_exactly_once A
FROM=$(date -d '3 days ago' +%F) TO=$(date -d tomorrow +%F)
json=$(anshim-cloud trace --config "$CLOUD_CONF" --phone 010-7300-0001 --from "$FROM" --to "$TO" \
  --reason "test_sync_reveal_down" --json)
expect_eq "the case's paper visit has its pid" 1 "$(pyq "$json" "len(s['visits'])")"
expect_eq "its paper contact too" '["manual"]' "$(pyq "$json" "[c['source'] for c in s['contacts']]")"
check; ! grep -Eq '10[- ]?7300[- ]?[0-9]{4}|Park Bee|Case Kim' "$CLOUD_LOG" "$REVEAL_LOG" ||
  fail "a phone or name in a daemon log"

phase "stopping"
sgw_stop A
cloud_stop
reveal_stop
done_ok
