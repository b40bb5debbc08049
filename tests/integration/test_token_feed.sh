#!/usr/bin/env bash
# Visit tokens in the cloud, with real daemons: mosquitto, anshim-cloudd,
# anshim-revealed, two gateways (venues 1 and 2), wallets holding tokens
# (token_tool mints them with the issuer key) and the issuer's outbox and
# publisher of their capsules (capsulefeed_tool runs cloud/issuer/
# capsulefeed.c, the module anshim-issuerd uses).
#
#   - the issuer's capsule batches reach the cloud (acknowledged, the
#     outbox empties), one issue of tokens each, whose ids (made with the
#     cloud's tokenid.key) the cloud reads back to their issue; a batch from a key the policy does not list is
#     refused and never acknowledged;
#   - passes (version 2) scanned at two venues are stored under the one pid
#     the reveal service derives from the capsules: a trace by the holder's
#     phone finds both visits, the source 'scan';
#   - a token replayed at a second venue (the same pass shown at B after A)
#     is flagged in the cloud: refused, replayed-tokens 1, logged, no visit;
#   - a token scanned before its capsule arrived waits (pending-tokens 1,
#     the gateway's records acknowledged all the same) and is stored when
#     the capsule comes;
#   - anshim-issuerd's side killed with SIGKILL after publishing, before the
#     ack: the outbox still holds the batch, and a restart delivers it
#     (stored once: the cloud acknowledges a batch it holds already);
#   - anshim-cloudd killed with SIGKILL while a batch waits for the reveal
#     service: nothing lost, the batch is stored once both are back;
#   - 'anshim-cloud keys init --token-ids' adds tokenid.key (0600) to a key
#     set made before visit tokens and never overwrites one;
#   - anshim-cloudd without tokenid.key warns at start and refuses a batch
#     with a token record (not acknowledged: the gateway keeps it); with
#     the key back it is stored;
#   - no phone number in any daemon's log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

FT=$ANSHIM_BUILD_DIR/tests/capsulefeed_tool
TT=$ANSHIM_BUILD_DIR/tests/token_tool
ISS=$WORK/issuer
EXPIRES=$(( $(date +%s) + 7 * 86400 ))
FEED_PID=

# feed_status KEY: a number of the publisher's status file.
feed_status() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$ISS/status"; }
feed_run() { "$FT" run "$ISS" "$BROKER_URI" "$SYNC_AUTH/sign.pub" 1000 --until-empty >> "$WORK/feed.log" 2>&1; }
feed_start() {
  "$FT" run "$ISS" "$BROKER_URI" "$SYNC_AUTH/sign.pub" 1000 >> "$WORK/feed.log" 2>&1 &
  FEED_PID=$!
  CLEANUP_PIDS+=("$FEED_PID")
}
outbox() { "$FT" count "$ISS"; }
tokens_q() { cloud_q "s['tokens']['$1']"; }
tokens_is() { [ "$(cloud_field "$1")" = "$2" ]; }
# wallet DIR COUNT SERIAL: a wallet holding issue SERIAL of COUNT tokens;
# their ids in DIR/ids, the issue in DIR/issue.
wallet() {
  anshim-wallet new --dir "$1" >/dev/null
  "$TT" "$ISS/issuer.key" "$1" "$2" "$EXPIRES" "$SYNC_AUTH/tokenid.key" "$3" > "$1/ids"
  echo "$3 $2" > "$1/issue"
}
# announce DIR PHONE: the issuer's capsule batch for the wallet's issue.
announce() {
  # shellcheck disable=SC2046
  "$FT" append "$ISS" "$SYNC_AUTH/contact.pub" "$2" "$EXPIRES" $(cat "$1/issue") >/dev/null
}
scan_at() { sgw_use "$1"; gw_scan "$GW_SCAN" "$2"; }
trace_phone() {
  sync_trace_ready
  anshim-cloud trace --config "$SYNC_TRACE_CONF" --phone "$1" --from "$(date -d yesterday +%F)" \
    --to "$(date -d tomorrow +%F)" --reason "test_token_feed" --json
}

phase "setup"
start_broker
cloud_init
mkdir -p "$ISS"
"$FT" keygen "$ISS"
anshim-cloud policy set --config "$CLOUD_CONF" --level 3 --issuer-key "$ISS/issuer.pub" \
  --no-publish >/dev/null
sgw_init A
sgw_init B
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

phase "tokenid.key for a key set made before visit tokens"
mkdir -p "$WORK/oldkeys"
anshim-cloud keys init --dir "$WORK/oldkeys" >/dev/null
rm "$WORK/oldkeys/tokenid.key"
anshim-cloud keys init --token-ids --dir "$WORK/oldkeys" >/dev/null ||
  fail "keys init --token-ids failed"
expect_eq "tokenid.key's mode" 600 "$(stat -c %a "$WORK/oldkeys/tokenid.key")"
cp "$WORK/oldkeys/tokenid.key" "$WORK/tokenid.before"
if out=$(anshim-cloud keys init --token-ids --dir "$WORK/oldkeys" 2>&1); then
  fail "keys init --token-ids overwrote tokenid.key"
fi
expect_match "the refusal names the file" "tokenid.key already exists" "$out"
cmp -s "$WORK/tokenid.before" "$WORK/oldkeys/tokenid.key" || fail "tokenid.key changed"

phase "the issuer's capsules reach the cloud"
wallet "$WORK/w1" 4 1
announce "$WORK/w1" 010-7100-0001
expect_eq "one batch in the outbox" 1 "$(outbox)"
feed_run || fail "the outbox did not empty: $(tail -n 3 "$WORK/feed.log")"
expect_eq "the outbox is empty" 0 "$(outbox)"
expect_eq "issues known to the cloud" 1 "$(tokens_q known)"
expect_eq "no bad acks" 0 "$(feed_status bad_acks)"

phase "a batch signed by a key the policy does not list"
mkdir -p "$WORK/rogue"
"$FT" keygen "$WORK/rogue"
"$FT" append "$WORK/rogue" "$SYNC_AUTH/contact.pub" 010-7100-0009 "$EXPIRES" 7 1 >/dev/null
"$FT" run "$WORK/rogue" "$BROKER_URI" "$SYNC_AUTH/sign.pub" 1000 >> "$WORK/feed.log" 2>&1 &
ROGUE_PID=$!
CLEANUP_PIDS+=("$ROGUE_PID")
wait_for 30 "the cloud to refuse the rogue issuer's batch" \
  grep -q "rejected: feed-unknown-issuer" "$CLOUD_LOG"
kill "$ROGUE_PID"
wait "$ROGUE_PID" || fail "the rogue publisher did not stop cleanly"
expect_eq "the rogue batch stays unacknowledged" 1 "$("$FT" count "$WORK/rogue")"
expect_eq "no issue of it in the cloud" 1 "$(tokens_q known)"

phase "version 2 passes at two venues: one pid"
expect_eq "pass 1 at A" accepted "$(scan_at A "$(gw_pass "$WORK/w1")")"
expect_eq "pass 2 at B" accepted "$(scan_at B "$(gw_pass "$WORK/w1")")"
wait_delivered 60 A B
expect_eq "visits stored" 2 "$(cloud_q "s['visits']")"
json=$(trace_phone 010-7100-0001)
expect_eq "the holder's visits, by phone" "[1, 2]" "$(pyq "$json" "sorted(v['venue'] for v in s['visits'])")"
expect_eq "as scans" '["scan", "scan"]' "$(pyq "$json" "[v['source'] for v in s['visits']]")"

phase "a token replayed at a second venue is flagged"
P=$(gw_pass "$WORK/w1")
expect_eq "pass 3 at A" accepted "$(scan_at A "$P")"
expect_eq "the same pass at B (B cannot know)" accepted "$(scan_at B "$P")"
wait_delivered 60 A B
expect_eq "replayed-tokens" 1 "$(tokens_q replayed)"
expect_eq "no visit for the replay" 3 "$(cloud_q "s['visits']")"
check; grep -q "holds 1 replayed visit token" "$CLOUD_LOG" || fail "the replay is not in the log"
json=$(trace_phone 010-7100-0001)
expect_eq "the holder's visits now" 3 "$(pyq "$json" "len(s['visits'])")"

phase "a token scanned before its capsule arrives waits, then is stored"
wallet "$WORK/w2" 2 2
expect_eq "w2's pass at B" accepted "$(scan_at B "$(gw_pass "$WORK/w2")")"
wait_delivered 60 B
expect_eq "pending-tokens" 1 "$(tokens_q pending)"
expect_eq "no visit yet" 3 "$(cloud_q "s['visits']")"
# In cluster mode the index node passes the waiting record's seq now, so
# the visit stored later reaches it by another way than its seq.
sync_trace_ready
announce "$WORK/w2" 010-7100-0002
feed_run || fail "the outbox did not empty: $(tail -n 3 "$WORK/feed.log")"
wait_for 30 "the waiting record to be stored" tokens_is visits 4
expect_eq "pending-tokens after the capsule" 0 "$(tokens_q pending)"
json=$(trace_phone 010-7100-0002)
expect_eq "w2's visit at B, by phone" "[2]" "$(pyq "$json" "[v['venue'] for v in s['visits']]")"

phase "the issuer's side killed (SIGKILL) after publishing, before the ack"
reveal_stop
wallet "$WORK/w3" 8 3
announce "$WORK/w3" 010-7100-0003
"$FT" dump "$ISS" 3 > "$WORK/batch3.bin"
n=$(_log_count "$CLOUD_LOG" "capsule batch cannot be derived")
feed_start
wait_for 30 "the cloud to hold the batch back (no reveal service)" \
  _log_count_above "$CLOUD_LOG" "capsule batch cannot be derived" "$n"
kill -KILL "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
expect_eq "the batch is still in the outbox" 1 "$(outbox)"
reveal_start "$CLOUD_CONF"
feed_run || fail "the outbox did not empty: $(tail -n 3 "$WORK/feed.log")"
expect_eq "the outbox is empty" 0 "$(outbox)"
expect_eq "issues known" 3 "$(tokens_q known)"

phase "a batch the cloud holds already, sent again: acknowledged, stored once"
ID=$("$FT" id "$ISS")
msub_start "$WORK/acks" anshim/v1/policy "anshim/v1/issuer/$ID/ack"
mpub -q 1 -t "anshim/v1/issuer/$ID/capsules" -f "$WORK/batch3.bin"
wait_for 30 "the cloud's ack of the batch sent again" grep -q "^anshim/v1/issuer/$ID/ack " "$WORK/acks"
msub_stop
expect_eq "issues known" 3 "$(tokens_q known)"

phase "anshim-cloudd killed (SIGKILL) while a batch waits for the reveal service"
reveal_stop
wallet "$WORK/w4" 3 4
announce "$WORK/w4" 010-7100-0004
n=$(_log_count "$CLOUD_LOG" "capsule batch cannot be derived")
feed_start
wait_for 30 "the cloud to hold the batch back (no reveal service)" \
  _log_count_above "$CLOUD_LOG" "capsule batch cannot be derived" "$n"
cloud_kill9
expect_eq "not acknowledged" 1 "$(outbox)"
reveal_start "$CLOUD_CONF"
cloud_start
outbox_empty() { [ "$(outbox)" = 0 ]; }
( wait_for 60 "the publisher's resend to be acknowledged" outbox_empty ) ||
  fail "the outbox did not empty; publisher: $(cat "$ISS/status"); cloud: $(cloud_stats)"
expect_eq "issues known" 4 "$(tokens_q known)"
kill "$FEED_PID"
wait "$FEED_PID" || fail "the publisher did not stop cleanly"
expect_eq "w4's pass at A" accepted "$(scan_at A "$(gw_pass "$WORK/w4")")"
wait_delivered 60 A
json=$(trace_phone 010-7100-0004)
expect_eq "w4's visit, by phone" "[1]" "$(pyq "$json" "[v['venue'] for v in s['visits']]")"

phase "the issuer publishes while anshim-cloudd is down (SIGKILL)"
cloud_kill9
wallet "$WORK/w5" 2 5
announce "$WORK/w5" 010-7100-0005
feed_start
wait_for 30 "the broker to take the batch" [ "$(feed_status taken 2>/dev/null || echo 0)" -ge 1 ]
cloud_start
( wait_for 60 "the batch to be acknowledged" outbox_empty ) ||
  fail "the outbox did not empty; publisher: $(cat "$ISS/status"); cloud: $(cloud_stats)"
expect_eq "issues known" 5 "$(tokens_q known)"
kill "$FEED_PID"
wait "$FEED_PID" || fail "the publisher did not stop cleanly"

phase "anshim-cloudd without tokenid.key: token records wait at the gateway"
wallet "$WORK/w6" 1 6
announce "$WORK/w6" 010-7100-0006
feed_run || fail "the outbox did not empty: $(tail -n 3 "$WORK/feed.log")"
cloud_stop
mv "$SYNC_AUTH/tokenid.key" "$WORK/tokenid.key.away"
cloud_start
check; grep -q "tokenid.key is missing" "$CLOUD_LOG" || fail "no warning of the missing key at start"
before=$(cloud_q "s['visits']")
n=$(_log_count "$CLOUD_LOG" "has no tokenid.key to read it")
expect_eq "w6's pass at A" accepted "$(scan_at A "$(gw_pass "$WORK/w6")")"
wait_for 30 "the cloud to refuse the batch (no key)" \
  _log_count_above "$CLOUD_LOG" "has no tokenid.key to read it" "$n"
expect_eq "no visit without the key" "$before" "$(cloud_q "s['visits']")"
cloud_stop
mv "$WORK/tokenid.key.away" "$SYNC_AUTH/tokenid.key"
cloud_start
wait_delivered 60 A
expect_eq "the visit, stored once the key is back" "$((before + 1))" "$(cloud_q "s['visits']")"
json=$(trace_phone 010-7100-0006)
expect_eq "w6's visit, by phone" "[1]" "$(pyq "$json" "[v['venue'] for v in s['visits']]")"

phase "stopping"
check; ! grep -Eq '10[- ]?71[0-9]{2}[- ]?[0-9]{4}' "$CLOUD_LOG" "$REVEAL_LOG" "$WORK/feed.log" ||
  fail "a phone number in a daemon's log"
sgw_stop A
sgw_stop B
cloud_stop
reveal_stop
done_ok
