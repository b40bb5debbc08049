#!/usr/bin/env bash
# 'anshim-gw scan' hands scans to the running daemon through its scan socket
# (no socat needed): passes as arguments or as lines of standard input, each
# answered on its own line; the exit status says whether every scan was
# accepted or a duplicate; the socket comes from the configuration's
# 'source socket' line or --scan-socket; clear errors without that line or
# without a running daemon.
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_wallet "$WORK/w1" 010-3100-0001 "Scan One"
gw_wallet "$WORK/w2" 010-3100-0002 "Scan Two"
gw_wallet "$WORK/w3" 010-3100-0003 "Scan Three"

rc=0; out=$(anshim-gw scan --config "$GW_CONF" "$(gw_pass "$WORK/w1")" 2>&1) || rc=$?
expect_eq "no daemon: exit status" 1 "$rc"
expect_match "no daemon: says what to check" "cannot connect to the gateway daemon at $GW_SCAN.*is anshim-gatewayd running" "$out"

gw_start
P1=$(gw_pass "$WORK/w1")
rc=0; out=$(anshim-gw scan --config "$GW_CONF" "$P1") || rc=$?
expect_eq "a pass as an argument" accepted "$out"
expect_eq "accepted: exit status" 0 "$rc"
rc=0; out=$(anshim-gw scan --config "$GW_CONF" "$P1") || rc=$?
expect_eq "the same pass again" duplicate "$out"
expect_eq "duplicate: exit status" 0 "$rc"

# Standard input, one scan per line; the empty line is skipped, as the
# daemon skips it.
rc=0
out=$(printf '%s\n\nnot-a-pass\n' "$(gw_pass "$WORK/w2")" | anshim-gw scan --config "$GW_CONF" -) || rc=$?
expect_eq "two lines of standard input, two answers" $'accepted\nrejected malformed' "$out"
expect_eq "a rejection: exit status" 1 "$rc"

# --scan-socket names the socket; no configuration needed for it.
rc=0; out=$(anshim-gw scan --scan-socket "$GW_SCAN" "$(gw_pass "$WORK/w3")") || rc=$?
expect_eq "--scan-socket" accepted "$out"
expect_eq "--scan-socket: exit status" 0 "$rc"
expect_eq "journaled: the three accepted scans" 3 "$(gw_journal_count)"

# A configuration without a socket source.
grep -v '^source ' "$GW_CONF" > "$WORK/nosocket.conf"
echo "source stdin" >> "$WORK/nosocket.conf"
rc=0; out=$(anshim-gw scan --config "$WORK/nosocket.conf" "$P1" 2>&1) || rc=$?
expect_eq "no socket source: exit status" 1 "$rc"
expect_match "no socket source: says what to add" "no 'source socket PATH'.*--scan-socket" "$out"

gw_stop
done_ok
