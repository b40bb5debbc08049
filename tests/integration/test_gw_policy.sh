#!/usr/bin/env bash
# Policy gating: the gateway collects only while the authority's signed
# alert level is at least collect_level (3), and only believes policies
# signed by its authority that are newer than the one it has.
#   no policy file -> not-collecting; level 3 -> accepted; level 2 ->
#   not-collecting; level 4 -> accepted; an older policy replayed -> ignored;
#   a policy signed by another authority, or a torn file -> refused, the
#   level stays (log says refused); a revoked credential (pass or card) ->
#   "rejected revoked" while others are still accepted; a restart on a
#   refused policy file fails closed (not collecting).
. "$(dirname "$0")/lib.sh"

gw_init
for i in 1 2 3 4 5 6 7; do gw_wallet "$WORK/w$i" "010-8100-000$i" "Policy Visitor $i"; done
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$GW_AUTH" --card --phone 010-8100-0100 \
  --out "$WORK/card.cred" >/dev/null
CARD=$(anshim-wallet card --credential "$WORK/card.cred" --format text)
scan() { gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w$1")"; }
level_is() { gw_status_is alert_level "$1"; }

# No policy at all.
check; [ ! -e "$GW_STATE/policy" ] || fail "a policy exists before the test made one"
gw_start
expect_eq "no policy: collecting" false "$(gw_status_field collecting)"
expect_eq "no policy: alert_level" 0 "$(gw_status_field alert_level)"
expect_eq "no policy: scan" not-collecting "$(scan 1)"
expect_eq "no policy: card" not-collecting "$(gw_scan "$GW_SCAN" "$CARD")"
check; log_has "no policy yet .*'not-collecting'" || fail "no warning about the missing policy"
# Paper entries cannot even be sealed without a policy (no contact key).
printf 'date,time,name,phone\n%s,10:00,Paper Person,010-8100-0200\n' "$(date -d '1 day ago' +%F)" > "$WORK/row.csv"
rc=0; out=$(anshim-gw import --config "$GW_CONF" "$WORK/row.csv" 2>&1) || rc=$?
expect_eq "import without a policy: exit status" 1 "$rc"
expect_match "import without a policy: message" "has no signed policy yet.*error no-policy" "$out"

# Level 3.
gw_policy 3
gw_reload
expect_eq "level 3: alert_level" 3 "$(gw_status_field alert_level)"
expect_eq "level 3: collecting" true "$(gw_status_field collecting)"
expect_eq "level 3: scan" accepted "$(scan 1)"
check; log_has "policy applied: alert level 3, collecting" || fail "no 'policy applied' log line for level 3"
cp "$GW_STATE/policy" "$WORK/policy.level3"

# Level 2, newer: collection stops.
gw_policy 2
gw_reload
expect_eq "level 2: alert_level" 2 "$(gw_status_field alert_level)"
expect_eq "level 2: collecting" false "$(gw_status_field collecting)"
expect_eq "level 2: scan" not-collecting "$(scan 2)"
check; log_has "policy applied: alert level 2, not collecting" || fail "no 'policy applied' log line for level 2"

# Level 4.
gw_policy 4
gw_reload
expect_eq "level 4: alert_level" 4 "$(gw_status_field alert_level)"
expect_eq "level 4: scan" accepted "$(scan 2)"
expect_eq "level 4: card" accepted "$(gw_scan "$GW_SCAN" "$CARD")"
cp "$GW_STATE/policy" "$WORK/policy.level4"

# An older, validly signed policy (level 3) put back: not applied, silently.
cp "$WORK/policy.level3" "$GW_STATE/policy"
gw_reload
expect_eq "replayed older policy: alert_level" 4 "$(gw_status_field alert_level)"

# A policy signed by another authority.
anshim-cloud keys init --dir "$WORK/other" >/dev/null
cloud_policy "$WORK/other" "$GW_STATE/policy" 1
gw_reload
expect_eq "foreign policy: alert_level" 4 "$(gw_status_field alert_level)"
expect_eq "foreign policy: still collecting" true "$(gw_status_field collecting)"
expect_eq "foreign policy: scan" accepted "$(scan 3)"
check; log_has "policy file $GW_STATE/policy refused: .*\(keeping alert level 4\)" ||
  fail "no 'refused' log line for the foreign policy: $(tail -n 3 "$GW_LOG")"
# A torn policy file (half of a real one).
head -c 60 "$WORK/policy.level4" > "$GW_STATE/policy"
n=$(grep -c 'refused' "$GW_LOG")
gw_reload
expect_eq "torn policy: alert_level" 4 "$(gw_status_field alert_level)"
expect_eq "torn policy: a second 'refused' line" $((n + 1)) "$(grep -c "policy file $GW_STATE/policy refused" "$GW_LOG")"

# Revocation: a new level-3 policy revoking wallet 5's credential and the card.
gw_policy 3 --revoke-credential "$WORK/w5/credential" --revoke-credential "$WORK/card.cred"
gw_reload
expect_eq "revocation policy: alert_level" 3 "$(gw_status_field alert_level)"
expect_eq "revoked pass" "rejected revoked" "$(scan 5)"
expect_eq "revoked card" "rejected revoked" "$(gw_scan "$GW_SCAN" "$CARD")"
expect_eq "another pass" accepted "$(scan 6)"
gw_write_config "collect_level 4"
gw_reload
expect_eq "collect_level 4 at alert level 3: collecting" false "$(gw_status_field collecting)"
expect_eq "collect_level 4 at alert level 3: scan" not-collecting "$(scan 7)"
gw_write_config
gw_reload
expect_eq "collect_level back to 3" true "$(gw_status_field collecting)"

# What the journal got: the accepted scans only.
expect_eq "journal kinds" "pass pass card pass pass" \
  "$(gw_journal | python3 -c 'import json,sys; print(" ".join(json.loads(l)["kind"] for l in sys.stdin))')"
expect_eq "status counters: accepted not_collecting rejected" "5 4 2" \
  "$(gw_status_field accepted) $(gw_status_field not_collecting) $(gw_status_field rejected)"
gw_stop

# Restart on a refused policy file: fail closed.
cloud_policy "$WORK/other" "$GW_STATE/policy" 4
gw_start
expect_eq "restart on a foreign policy: collecting" false "$(gw_status_field collecting)"
expect_eq "restart on a foreign policy: scan" not-collecting "$(scan 6)"
check; log_has "is not a valid policy signed by this authority" || fail "no error logged for the foreign policy at start"
gw_stop
done_ok
