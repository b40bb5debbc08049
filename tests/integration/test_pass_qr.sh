#!/usr/bin/env bash
# Pass and card QR codes, end to end through the real tools and a real
# decoder: authority keys -> wallet -> issued credential -> pass/card
# rendered to PNG and SVG-free text -> zbarimg decodes the same text ->
# anshim-gw verify-pass gives the right verdict for valid and bad passes.
. "$(dirname "$0")/lib.sh"
need zbarimg

anshim-cloud keys init --dir "$WORK/auth" >/dev/null
anshim-cloud keys init --dir "$WORK/other" >/dev/null
# Key files: secrets 0600; refusing to overwrite.
expect_eq "sign.key mode" 600 "$(stat -c %a "$WORK/auth/sign.key")"
expect_eq "pseudonym.key mode" 600 "$(stat -c %a "$WORK/auth/pseudonym.key")"
check; if anshim-cloud keys init --dir "$WORK/auth" 2>/dev/null; then fail "keys init overwrote keys"; fi

NOW=$(date +%s)
anshim-wallet new --dir "$WORK/w" >/dev/null
# Issued a day ago, so passes a little before "now" are inside its validity.
anshim-cloud issue --at $((NOW - 86400)) --keys "$WORK/auth" --holder "$WORK/w/holder.pub" \
  --phone 010-1234-5678 --name "Kim Minsu" --out "$WORK/w/credential" >/dev/null
anshim-cloud issue --at $((NOW - 86400)) --keys "$WORK/auth" --card --phone "+82 10 9876 5432" \
  --out "$WORK/card.cred" >/dev/null

anshim-wallet pass --dir "$WORK/w" --at "$NOW" --format text > "$WORK/pass.txt"
anshim-wallet pass --dir "$WORK/w" --at "$NOW" --format png --out "$WORK/pass.png"
anshim-wallet card --credential "$WORK/card.cred" --format text > "$WORK/card.txt"
anshim-wallet card --credential "$WORK/card.cred" --format png --out "$WORK/card.png"
anshim-wallet card --credential "$WORK/card.cred" --format svg --out "$WORK/card.svg"

PASS=$(cat "$WORK/pass.txt")
CARD=$(cat "$WORK/card.txt")
expect_match "pass text prefix" '^AP1:[0-9A-Z $%*+./:-]+$' "$PASS"
expect_match "card text prefix" '^AC1:[0-9A-Z $%*+./:-]+$' "$CARD"

# The real decoder reads back exactly what we rendered.
expect_eq "pass QR round trip" "$PASS" "$(zbarimg --nodbus --raw -q "$WORK/pass.png")"
expect_eq "card QR round trip" "$CARD" "$(zbarimg --nodbus --raw -q "$WORK/card.png")"
expect_match "card svg" '^<\?xml' "$(head -c 5 "$WORK/card.svg")"

verify() { anshim-gw verify-pass --authority "$WORK/auth/sign.pub" "$@" 2>&1 || true; }
expect_match "valid pass" '^valid pass pid=[0-9a-f]{32} ' "$(verify --at "$NOW" "$PASS")"
expect_match "valid card" '^valid card pid=[0-9a-f]{32} ' "$(verify --at "$NOW" "$CARD")"
expect_match "stale pass (+120 s)" '^rejected: stale' "$(verify --at $((NOW + 120)) "$PASS")"
expect_match "pass from the future" '^rejected: stale' "$(verify --at $((NOW - 120)) "$PASS")"
expect_match "expired" '^rejected: expired' "$(verify --at $((NOW + 400 * 86400)) "$PASS")"
expect_match "wrong issuer" '^rejected: bad-issuer-signature' \
  "$(anshim-gw verify-pass --authority "$WORK/other/sign.pub" --at "$NOW" "$PASS" || true)"
expect_match "truncated" '^rejected: malformed' "$(verify --at "$NOW" "${PASS:0:200}")"
expect_match "garbage" '^rejected: malformed' "$(verify --at "$NOW" "hello world")"
# Exit status: 0 valid, 1 rejected, 2 usage.
check; anshim-gw verify-pass --authority "$WORK/auth/sign.pub" --at "$NOW" "$PASS" >/dev/null
check; set +e; anshim-gw verify-pass --authority "$WORK/auth/sign.pub" "junk" >/dev/null; rc=$?; set -e
expect_eq "reject exit status" 1 "$rc"
set +e; anshim-gw verify-pass >/dev/null 2>&1; rc=$?; set -e
expect_eq "usage exit status" 2 "$rc"

# A secret key readable by others is refused with a clear message.
chmod 0644 "$WORK/auth/sign.key"
out=$(anshim-cloud issue --keys "$WORK/auth" --card --phone 01011112222 --out "$WORK/x.cred" 2>&1 || true)
expect_match "group-readable key refused" 'readable by group or others' "$out"
done_ok
