#!/usr/bin/env bash
# Version 2 passes (visit tokens) at a real gateway, with the policy set by
# 'anshim-cloud policy set':
#   no issuer key in the policy -> unknown-issuer; with the issuer's key ->
#   accepted, journaled as kind "token" with the token id and no pid; the
#   same pass again, or the same token re-signed later -> duplicate; the
#   wallet's next token -> accepted (a new token id); a pass made from
#   another person's token with one's own token key -> bad-token-signature;
#   an expired token -> expired; a revoked token id -> revoked; a version 1
#   pass keeps working until the policy ends the migration period, then
#   v1-retired while cards and tokens still work; the event stream names
#   kind and reason; the daemon log never holds a pass text or token id.
. "$(dirname "$0")/lib.sh"
TOOL="$ANSHIM_BUILD_DIR/tests/token_tool"

gw_init
anshim-cloud keys init --dir "$WORK/issuer" >/dev/null
ISSUER_PUB=$(sed -n 2p "$WORK/issuer/sign.pub")
gw_wallet "$WORK/a" 010-8200-0001 "Token Visitor A"
gw_wallet "$WORK/b" 010-8200-0002 "Token Visitor B"
"$TOOL" "$WORK/issuer/sign.key" "$WORK/a" 8 > "$WORK/a.ids"
"$TOOL" "$WORK/issuer/sign.key" "$WORK/b" 4 > "$WORK/b.ids"
expect_eq "tokens file mode" 600 "$(stat -c %a "$WORK/a/tokens")"
scan() { gw_scan "$GW_SCAN" "$1"; }

# A policy without issuer keys: no token is accepted.
gw_policy 3
gw_start
anshim-gw events --config "$GW_CONF" > "$WORK/events" 2>>"$WORK/events.err" &
EVENTS_PID=$!
CLEANUP_PIDS+=("$EVENTS_PID")
gw_events_subscribed "$WORK/events"
P1=$(gw_pass "$WORK/a")
expect_match "v2 pass text" '^AP2:[0-9A-Z $%*+./:-]{285}$' "$P1"
expect_eq "no issuer key in the policy" "rejected unknown-issuer" "$(scan "$P1")"

# The authority lists the issuer.
gw_policy 3 --issuer-key "$WORK/issuer/sign.pub"
gw_reload
expect_eq "status: issuer keys" 1 "$(gw_status_field issuer_keys)"
expect_eq "status: no end of v1 passes" null "$(gw_status_field v1_passes_until)"
P1=$(gw_pass "$WORK/a")
expect_eq "v2 pass" accepted "$(scan "$P1")"
expect_eq "same pass again" duplicate "$(scan "$P1")"
gw_journal > "$WORK/journal"
expect_eq "journal: one record" 1 "$(wc -l < "$WORK/journal")"
REC=$(cat "$WORK/journal")
expect_match "journal: kind token, no pid" '"kind":"token".*"pid":"","token":"[0-9a-f]{32}"' "$REC"
TOKEN1=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$REC")
check; grep -qx "$TOKEN1" "$WORK/a.ids" || fail "the journaled token id $TOKEN1 is not one the wallet got"
# The shown token is gone from the wallet's file.
python3 - "$WORK/a/tokens" <<'PY' || fail "cannot check the tokens file"
import sys
data = open(sys.argv[1], "rb").read()
n = int.from_bytes(data[2:4], "little")
assert n == 6, f"{n} tokens left, expected 6 (two shown)"
assert len(data) == 4 + n * 187
PY
check
expect_eq "next token of the same wallet" accepted "$(scan "$(gw_pass "$WORK/a")")"

# Another person's token, signed with one's own token key.
PB=$(gw_pass "$WORK/b")
FORGED=$("$TOOL" forge "$PB" "$WORK/a")
expect_eq "a pass made from another person's token" "rejected bad-token-signature" "$(scan "$FORGED")"
expect_eq "the genuine pass of that token" accepted "$(scan "$PB")"

# Stale: a pass made two minutes ago.
expect_eq "stale v2 pass" "rejected stale" "$(scan "$(gw_pass "$WORK/b" $(( $(date +%s) - 120 )))")"

# Expired: a token whose expiry has passed (its pass made before).
anshim-wallet new --dir "$WORK/c" >/dev/null
EXP=$(( $(date +%s) - 10 ))
"$TOOL" "$WORK/issuer/sign.key" "$WORK/c" 1 "$EXP" > /dev/null
expect_eq "expired token" "rejected expired" \
  "$(scan "$(anshim-wallet pass --dir "$WORK/c" --at $((EXP - 20)) --format text 2>/dev/null)")"
# A wallet with tokens but none usable shows no pass by itself (no silent
# fall back to the linkable version 1 pass).
rc=0; out=$(anshim-wallet pass --dir "$WORK/c" --format text 2>&1) || rc=$?
expect_eq "wallet without a usable token: exit status" 1 "$rc"
expect_match "wallet without a usable token: message" "no visit token left in .*anshim-wallet tokens.*--v1" "$out"

# Revocation: token ids go into the policy's revoked list.
revoke=()
for id in $(cat "$WORK/b.ids"); do revoke+=(--revoke-credential "$id"); done
gw_policy 3 "${revoke[@]}"
gw_reload
expect_eq "revoked token" "rejected revoked" "$(scan "$(gw_pass "$WORK/b")")"

# Version 1 passes work during the migration period...
expect_eq "v1 pass during the migration" accepted "$(scan "$(anshim-wallet pass --dir "$WORK/a" --v1 \
  --format text)")"
gw_policy 3 --v1-passes-until "$(date -d '+1 hour' +%FT%T)"
gw_reload
expect_eq "v1 pass before the deadline" duplicate "$(scan "$(anshim-wallet pass --dir "$WORK/a" --v1 \
  --format text)")"
# ...and are refused after it; printed cards (people without a phone that
# could hold tokens) and tokens still work.
gw_policy 3 --v1-passes refuse
gw_reload
expect_eq "status: v1 passes refused" 0 "$(gw_status_field v1_passes_until)"
expect_match "anshim-gw status" "passes +version 2 from 1 issuer key\\(s\\); version 1 refused" \
  "$(anshim-gw status --config "$GW_CONF")"
expect_eq "v1 pass after the migration" "rejected v1-retired" "$(scan "$(anshim-wallet pass --dir "$WORK/b" \
  --v1 --format text)")"
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$GW_AUTH" --card --phone 010-8200-0100 \
  --out "$WORK/card.cred" >/dev/null
expect_eq "card after the migration" accepted \
  "$(scan "$(anshim-wallet card --credential "$WORK/card.cred" --format text)")"
expect_eq "v2 pass after the migration" accepted "$(scan "$(gw_pass "$WORK/a")")"
# The same checks offline, by hand, against the gateway's saved policy.
expect_match "verify-pass of a v2 pass" '^valid pass v2 token=[0-9a-f]{32} expires=' \
  "$(anshim-gw verify-pass --config "$GW_CONF" "$(gw_pass "$WORK/a")")"
expect_match "verify-pass of the forged pass" '^rejected: bad-token-signature' \
  "$(anshim-gw verify-pass --config "$GW_CONF" "$FORGED" || true)"
# Dropping the issuer's key stops its tokens.
gw_policy 3 --drop-issuer-key "$ISSUER_PUB"
gw_reload
expect_eq "issuer dropped" "rejected unknown-issuer" "$(scan "$(gw_pass "$WORK/a")")"

# Events: kind and reason, never the pass.
# The last scan's event (the second unknown-issuer), re-read on every poll.
two_unknown() { [ "$(grep -c '"reason":"unknown-issuer"' "$WORK/events")" -ge 2 ]; }
wait_for 20 "the event of the last scan" two_unknown
expect_match "event of an accepted v2 pass" '"outcome":"accepted","source":"[^"]*","kind":"token"' "$(cat "$WORK/events")"
expect_match "event of a forged pass" '"outcome":"rejected","reason":"bad-token-signature","source":"[^"]*","kind":"token"' \
  "$(cat "$WORK/events")"
kill "$EVENTS_PID"; wait "$EVENTS_PID" 2>/dev/null || true
gw_stop
# No pass text or token id in the log.
check; ! grep -q 'AP2:' "$GW_LOG" || fail "a pass text is in the daemon log"
for id in $(cat "$WORK/a.ids" "$WORK/b.ids"); do
  check; ! grep -q "$id" "$GW_LOG" || fail "token id $id is in the daemon log"
done
done_ok
