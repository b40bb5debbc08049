#!/usr/bin/env bash
# Completeness: "nobody came" versus "the device was down".  Two real
# gateways (heartbeat_interval 1s) at two venues, the real broker and the
# real cloud:
#
#   - while both run, 'anshim-cloud gateways --json' shows each one heard
#     (its last heartbeat: interval, clock, last seq, chain head, journal
#     size) and
#     'gateways --silent' lists none;
#   - a case's pass is scanned at both venues; then gateway B is killed
#     with SIGKILL (a power cut): 'gateways --silent' lists B (silent now),
#     never A, in JSON and in text;
#   - the case's trace marks the visit at B's venue with B's silence (JSON
#     "gateway_silent", text "!" line, the totals' count) and leaves the
#     visit at A unmarked;
#   - B is started again: it is heard again, and the silence is kept as
#     "down" (the daemon started during it); 'gateways --silent' with a
#     window around the silence lists B and not A, and without a window
#     lists none; the trace now marks B's venue "down";
#   - the chain the cloud follows is shown with the coverage: A's start,
#     the last heartbeat agreeing with it, and, after an older backup of
#     A's journal is restored, the fork (its records found stored already).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init A "heartbeat_interval 1s"
sgw_init B "heartbeat_interval 1s"
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

gateways() { anshim-cloud gateways --config "$CLOUD_CONF" "$@"; }
# heard NAME N: the cloud holds at least N heartbeats of gateway NAME in
# its latest period, and does not count it silent now.
heard() {
  local j
  j=$(gateways --json) || return 1
  [ "$(pyq "$j" "not g['${SGW_ID[$1]}']['silent_now'] and g['${SGW_ID[$1]}']['heard'][-1]['heartbeats'] >= $2")" = true ]
}
# last_seq_heard NAME SEQ: the cloud's last heartbeat of NAME reports SEQ.
last_seq_heard() {
  [ "$(pyq "$(gateways --json)" "g['${SGW_ID[$1]}']['last_heartbeat']['last_seq']")" = "$2" ]
}
# silent_list [OPTIONS]: the ids 'gateways --silent --json' lists, sorted.
silent_list() {
  local j
  j=$(gateways --silent --json "$@") || return 1
  pyq "$j" "' '.join(sorted(x['gateway'] for x in s['gateways']))"
}
silent_is() { local want=$1; shift; [ "$(silent_list "$@")" = "$want" ]; }

phase "heartbeats while both run"
wait_for 60 "3 heartbeats of A in the cloud" heard A 3
wait_for 60 "3 heartbeats of B in the cloud" heard B 3
json=$(gateways --json)
expect_eq "gateways listed" 2 "$(pyq "$json" "s['shown']")"
expect_eq "A's heartbeat interval" 1 "$(pyq "$json" "g['${SGW_ID[A]}']['last_heartbeat']['interval']")"
expect_eq "A's clock" synced "$(pyq "$json" "g['${SGW_ID[A]}']['last_heartbeat']['clock']")"
expect_eq "A's journal size" "$(sgw_q A "s['map_size']")" \
  "$(pyq "$json" "g['${SGW_ID[A]}']['last_heartbeat']['journal_size']")"
expect_eq "A's venue" 1 "$(pyq "$json" "g['${SGW_ID[A]}']['venue']")"
expect_eq "heartbeats sent by A (gateway status)" true \
  "$(sgw_q A "s['sync']['heartbeats_sent'] >= 3")"
expect_match "human status shows the heartbeats" "heartbeat    every 1 s, [0-9]+ sent, last 20" \
  "$(sgw_ctl A status)"
wait_for 30 "no gateway to be listed silent" silent_is ""
expect_match "text: nobody silent" "no gateway is silent" "$(gateways --silent)"

phase "a case visits both venues"
sgw_use A
gw_wallet "$WORK/case" 010-7100-0001 "Case Han"
expect_eq "case's pass at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/case")")"
sgw_use B
expect_eq "case's pass at B" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/case")")"
wait_delivered 60 A B
wait_for 30 "B's heartbeat to report its last seq 1" last_seq_heard B 1
expect_eq "B's heartbeat carries a chain head past the genesis" true \
  "$(pyq "$(gateways --json)" "set(g['${SGW_ID[B]}']['last_heartbeat']['chain_head']) != {'0'}")"

phase "B loses power"
killed_at=$(date +%s)
{ kill -KILL "${SGW_PID[B]}"; wait "${SGW_PID[B]}" || true; } 2>/dev/null
_gw_forget_pid "${SGW_PID[B]}"
SGW_PID[B]=
wait_for 60 "B to be listed silent, and only B" silent_is "${SGW_ID[B]}"
json=$(gateways --json)
expect_eq "B silent now" true "$(pyq "$json" "g['${SGW_ID[B]}']['silent_now']")"
expect_eq "B's open silence" silent "$(pyq "$json" "g['${SGW_ID[B]}']['silent'][-1]['kind']")"
expect_eq "A not silent" false "$(pyq "$json" "g['${SGW_ID[A]}']['silent_now']")"
gateways --silent > "$WORK/silent.txt"
text=$(cat "$WORK/silent.txt")
expect_match "text names B" "gateway ${SGW_ID[B]}  venue 2 Venue B" "$text"
expect_match "text says since when" "SILENT since " "$text"
expect_absent "text leaves A out" "$WORK/silent.txt" "${SGW_ID[A]}"

FROM=$(date -d yesterday +%F)
TO=$(date -d tomorrow +%F)
trace() {
  anshim-cloud trace --config "$CLOUD_CONF" --from "$FROM" --to "$TO" \
    --reason "coverage test" --phone 010-7100-0001 "$@" 2>>"$WORK/trace.err"
}
phase "the trace marks the venue whose gateway was silent"
tj=$(trace --json) || fail "trace --json: $(cat "$WORK/trace.err")"
expect_eq "case visits" 2 "$(pyq "$tj" "len(s['visits'])")"
expect_eq "visit at A unmarked" "[]" \
  "$(pyq "$tj" "[v['gateway_silent'] for v in s['visits'] if v['venue'] == 1][0]")"
expect_eq "visit at B marked with B" "${SGW_ID[B]} silent" \
  "$(pyq "$tj" "' '.join(m['gateway'] + ' ' + m['kind'] for v in s['visits'] if v['venue'] == 2 for m in v['gateway_silent'])")"
expect_eq "totals count one marked visit" 1 "$(pyq "$tj" "s['visits_gateway_silent']")"
tt=$(trace) || fail "trace: $(cat "$WORK/trace.err")"
expect_match "text trace marks B" "! gateway ${SGW_ID[B]} was silent \(silent\)" "$tt"
expect_match "text trace counts it" "Case visits at a venue whose gateway was silent: 1" "$tt"

phase "B comes back"
silence_start=$(pyq "$json" "g['${SGW_ID[B]}']['silent'][-1]['from']")
sgw_start B
wait_for 60 "B to be heard again" heard B 2
json=$(gateways --json)
expect_eq "B no longer silent" false "$(pyq "$json" "g['${SGW_ID[B]}']['silent_now']")"
expect_eq "B's silence kept, as down" down \
  "$(pyq "$json" "[x['kind'] for x in g['${SGW_ID[B]}']['silent'] if x['from'] == '$silence_start'][0]")"
expect_eq "B heard in two periods" 2 "$(pyq "$json" "len(g['${SGW_ID[B]}']['heard'])")"
wait_for 30 "nobody silent now" silent_is ""
expect_eq "--silent over a window holding the silence lists B" "${SGW_ID[B]}" \
  "$(silent_list --from "$killed_at" --to "$(date +%s)")"
expect_match "text: the silence is shown as down" "SILENT .*down" "$(gateways)"
tj=$(trace --json) || fail "trace --json: $(cat "$WORK/trace.err")"
expect_eq "the trace now says down" "${SGW_ID[B]} down" \
  "$(pyq "$tj" "' '.join(m['gateway'] + ' ' + m['kind'] for v in s['visits'] if v['venue'] == 2 for m in v['gateway_silent'])")"

phase "the chain the cloud follows, and a fork"
json=$(gateways --json)
expect_eq "A's chain followed" true "$(pyq "$json" "g['${SGW_ID[A]}']['chain']['followed']")"
expect_eq "A's chain events: the start" start \
  "$(pyq "$json" "' '.join(e['kind'] for e in g['${SGW_ID[A]}']['chain']['events'])")"
expect_eq "A's last heartbeat agrees with the chain" agrees \
  "$(pyq "$json" "g['${SGW_ID[A]}']['chain']['heartbeat']")"
# A journals two visits offline, its journal is backed up, they and one
# more are delivered; then the backup is restored and journals a new visit
# before it reaches the cloud (no broker configured): its two unsent
# records and the new one continue an earlier link of the chain: a fork,
# whose two first records the cloud finds stored already.
sgw_use A
gw_wallet "$WORK/v2" 010-7100-0002 "Visitor Two"
sgw_ctl A offline > /dev/null
wait_for 10 "A offline" sgw_field_is A offline true
for i in 1 2; do
  expect_eq "offline visit $i at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/v2")")"
done
sgw_stop A
cp -a "$(sgw_dir A)/state/journal" "$WORK/journal-a.backup"
sgw_start A
sgw_ctl A online > /dev/null
sgw_use A
expect_eq "one more visit at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/v2")")"
wait_delivered 60 A
sgw_stop A
rm -rf "$(sgw_dir A)/state/journal"
cp -a "$WORK/journal-a.backup" "$(sgw_dir A)/state/journal"
sed -i '/^broker /d' "$(sgw_dir A)/gw.conf"
sgw_start A nowait
sgw_use A
expect_eq "a new visit at the restored A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/v2")")"
sgw_stop A
echo "broker $BROKER_URI" >> "$(sgw_dir A)/gw.conf"
sgw_start A
wait_delivered 60 A
json=$(gateways --json)
expect_eq "A's fork is listed" "fork 2" \
  "$(pyq "$json" "' '.join(e['kind'] + ' ' + str(e['reconciled']) for e in g['${SGW_ID[A]}']['chain']['events'] if e['kind'] != 'start')")"
expect_eq "counted as a fork or break" 1 "$(pyq "$json" "g['${SGW_ID[A]}']['chain']['forks_or_breaks']")"
expect_match "text lists the fork" "fork .*2 records found stored already" "$(gateways)"

phase "usage"
expect_match "--help is a manual" "offline .*could not reach" "$(gateways --help | tr '\n' ' ')"
rc=0; gateways --from yesterday-ish >/dev/null 2>"$WORK/usage.err" || rc=$?
expect_eq "bad --from is a usage error" 2 "$rc"
expect_match "the error names the option" "--from 'yesterday-ish'" "$(cat "$WORK/usage.err")"
rc=0; gateways --sil >/dev/null 2>"$WORK/usage.err" || rc=$?
expect_eq "an abbreviated option is a usage error" 2 "$rc"
expect_match "the error names the option" "--silent" "$(cat "$WORK/usage.err")"

sync_stop_all
sync_logs_clean
done_ok
