#!/usr/bin/env bash
# test_issuer_revoke.sh - revoking a phone, through the signed policy:
#
#   two visitors enrol at anshim-issuerd (HTTPS, certificate made here) and
#   get visit tokens; the gateway (real anshim-gatewayd, the policy listing
#   the issuer) accepts both; 'anshim-issuer revoke --phone' (another
#   spelling of the number) writes the ids of the phone's enrolment and
#   tokens; 'anshim-cloud policy set --revoke-ids' signs them into the
#   policy; after the gateway takes the new policy, the revoked visitor's
#   next pass is refused "revoked" and the other visitor's is accepted; the
#   issuer sends the revoked phone no code and gives its wallet no tokens;
#   'anshim-issuer revoked-ids' lists the same ids again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/issuer_lib.sh"

gw_init
ISSUER_AUTH=$GW_AUTH issuer_init
issuer_start
gw_policy 3 --issuer-key "$ISSUER_DIR/state/issuer.pub"
gw_start

issuer_enrol_wallet "$WORK/bad" "010-4200-0001" +821042000001
issuer_enrol_wallet "$WORK/good" "010-4200-0002" +821042000002
scan() { gw_scan "$GW_SCAN" "$(anshim-wallet pass --dir "$1" --format text)"; }
expect_eq "the first visitor before revocation" accepted "$(scan "$WORK/bad")"
expect_eq "the second visitor before revocation" accepted "$(scan "$WORK/good")"

# Revoke the first visitor's phone.
out=$(anshim-issuer revoke --config "$ISSUER_CONF" --phone "+82 10 4200 0001" \
  --out "$WORK/revoked.ids" 2>&1)
expect_match "revoke says how many ids" "revoked; 65 id\\(s\\) to put in the policy" "$out"
expect_eq "the ids file: the enrolment and 64 tokens" 65 "$(grep -c '^[0-9a-f]\{32\}$' "$WORK/revoked.ids")"
expect_eq "the ids file's mode" 600 "$(stat -c %a "$WORK/revoked.ids")"
anshim-issuer revoked-ids --config "$ISSUER_CONF" --out "$WORK/all.ids" 2>/dev/null
expect_eq "revoked-ids lists the same ids" "$(sort "$WORK/revoked.ids")" "$(sort "$WORK/all.ids")"
out=$(anshim-issuer revoke --config "$ISSUER_CONF" --phone 01042000001 2>&1 >/dev/null)
expect_match "revoking again is harmless" "revoked; 65 id" "$out"
check
! grep -q 42000001 "$ISSUER_LOG" || fail "the issuer's log holds the revoked number"

# Into the signed policy, to the gateway.
out=$(anshim-cloud policy set --config "$GW_AUTH.cloud.conf" --level 3 --revoke-ids "$WORK/revoked.ids" \
  --out "$GW_STATE/policy" --no-publish)
expect_match "policy set counts the revoked ids" "65 revoked credential" "$out"
gw_reload
revoked_in_force() { [ "$(scan "$WORK/bad")" = "rejected revoked" ]; }
wait_for 30 "the gateway to refuse the revoked phone's tokens" revoked_in_force
expect_eq "the revoked visitor again" "rejected revoked" "$(scan "$WORK/bad")"
expect_eq "the other visitor after revocation" accepted "$(scan "$WORK/good")"

# The issuer itself: no code, no tokens for the revoked phone.
issuer_post /v1/enrol/start "{\"phone\":\"010-4200-0001\",\"holder_key\":\"$(holder_key_hex "$WORK/good")\"}"
expect_eq "enrol/start for the revoked phone: status" 403 "$HTTP_STATUS"
expect_eq "enrol/start for the revoked phone: error" revoked "$(json_field error)"
rm "$WORK/bad/tokens"
rc=0; out=$(anshim-wallet tokens --dir "$WORK/bad" 2>&1) || rc=$?
expect_eq "tokens for the revoked wallet: exit status" 1 "$rc"
expect_match "tokens for the revoked wallet: why" "HTTP 403.*revoked" "$out"
# A bad ids file is refused, naming the line.
printf '%s\nnot-an-id\n' "$(head -n 1 "$WORK/revoked.ids")" > "$WORK/bad.ids"
rc=0; out=$(anshim-cloud policy set --config "$GW_AUTH.cloud.conf" --level 3 \
  --revoke-ids "$WORK/bad.ids" --no-publish 2>&1) || rc=$?
expect_eq "policy set with a bad ids file: exit status" 1 "$rc"
expect_match "policy set names the bad line" "bad.ids:2: not an id" "$out"

issuer_stop
gw_stop
done_ok
