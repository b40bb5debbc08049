#!/usr/bin/env bash
# Venue QR codes, end to end through the real tools and real
# decoders: authority keys and a store, a gateway enrolled at a venue with a
# long Korean name, its poster rendered as PNG and PDF (rasterized with
# pdftoppm) and decoded by zbarimg into a poster code signed by the
# authority for that venue (name cut to 64 bytes at a character boundary);
# the gateway's rotating code (anshim-gw show-code --once --png) decoded into
# a code for this gateway and the current slot, and rejected 5 minutes
# later; a running show-code rewrites its PNG at the next slot and stops on
# SIGTERM.  No network, no daemon.
. "$(dirname "$0")/lib.sh"
need zbarimg
need pdftoppm

zbar() { zbarimg --nodbus --raw -q "$1"; }

anshim-cloud keys init --dir "$WORK/auth" >/dev/null
anshim-cloud keys init --dir "$WORK/other" >/dev/null
cat > "$WORK/cloud.conf" <<EOF
store_dir $WORK/store
keys_dir $WORK/auth
EOF

# The gateway: keys, and a config with the venue it is enrolled at.
VENUE=3107
NAME='제주 안심 카페 — 한림읍 협재리 바다가 보이는 창가 자리가 있는 카페'
ADDRESS='제주특별자치도 제주시 한림읍 협재리 2497-1'
cat > "$WORK/gw.conf" <<EOF
state_dir $WORK/gw
authority_key $WORK/auth/sign.pub
venue_id $VENUE
code_slot 30s
EOF
init=$(anshim-gw init --config "$WORK/gw.conf")
GWID=$(sed -n 's/^gateway id: //p' <<<"$init")
expect_match "gateway id" '^[0-9a-f]{32}$' "$GWID"
anshim-cloud enroll --config "$WORK/cloud.conf" --gateway-key "$WORK/gw/device.pub" \
  --venue "$VENUE" --venue-name "$NAME" --address "$ADDRESS" >/dev/null

# The name in the code: the longest prefix of whole characters in 64 bytes.
CUT=$(python3 -c 'import sys
b=sys.argv[1].encode(); n=64
while n and (b[n] & 0xC0) == 0x80: n -= 1
print(b[:n].decode())' "$NAME")
check; [ "${#NAME}" -gt "${#CUT}" ] || fail "the test name should be longer than 64 bytes"

# ---- posters ----
anshim-cloud poster --config "$WORK/cloud.conf" --venue "$VENUE" --out "$WORK/poster.png" >/dev/null
anshim-cloud poster --config "$WORK/cloud.conf" --venue "$VENUE" --out "$WORK/poster.pdf" \
  --size a5 >/dev/null
anshim-cloud poster --store "$WORK/store" --keys "$WORK/auth" --venue "$VENUE" --format svg \
  --out "$WORK/poster.svg.tmp" >/dev/null
expect_eq "png signature" "89504e47" "$(head -c 4 "$WORK/poster.png" | od -An -tx1 | tr -d ' \n')"
expect_eq "pdf header" "%PDF-" "$(head -c 5 "$WORK/poster.pdf")"
expect_match "svg" '^<\?xml' "$(head -c 5 "$WORK/poster.svg.tmp")"
pdftoppm -r 150 -png -singlefile "$WORK/poster.pdf" "$WORK/poster-pdf"

for img in poster.png poster-pdf.png; do
  TEXT=$(zbar "$WORK/$img")
  expect_match "$img: venue code text" '^AV1:[0-9A-Z $%*+./:-]+$' "$TEXT"
  out=$(anshim-cloud poster --config "$WORK/cloud.conf" --verify "$TEXT" --venue "$VENUE")
  expect_match "$img: poster verifies" $'\nvalid$' "$out"
  expect_eq "$img: venue and name" "poster venue=$VENUE name=\"$CUT\"" "${out%% issued=*}"
  out=$(anshim-gw verify-code --authority "$WORK/auth/sign.pub" "$TEXT")
  expect_match "$img: anshim-gw verify-code" "^poster venue=$VENUE"$'.*\nvalid$' "$out"
  out=$(anshim-gw verify-code --authority "$WORK/other/sign.pub" "$TEXT" || true)
  expect_match "$img: another authority" 'rejected: bad-signature$' "$out"
  out=$(anshim-cloud poster --config "$WORK/cloud.conf" --verify "$TEXT" --venue 1 || true)
  expect_match "$img: another venue" 'rejected: wrong-venue' "$out"
done

# Errors name the input and the fix.
set +e
out=$(anshim-cloud poster --config "$WORK/cloud.conf" --venue 999 --out "$WORK/x.pdf" 2>&1); rc=$?
set -e
expect_eq "unknown venue exit" 1 "$rc"
expect_match "unknown venue says how to enroll" 'venue 999 is not in the registry.*anshim-cloud enroll' "$out"
check; [ ! -e "$WORK/x.pdf" ] || fail "a poster was written for an unknown venue"
set +e
anshim-cloud poster --config "$WORK/cloud.conf" --venue "$VENUE" --out "$WORK/x.jpg" 2>/dev/null; rc=$?
set -e
expect_eq "unknown extension is a usage error" 2 "$rc"
out=$(anshim-cloud poster --config "$WORK/cloud.conf" --verify "AV1:0000" 2>&1 || true)
expect_match "garbage poster" '^rejected: malformed' "$out"

# ---- rotating code ----
BEFORE=$(date +%s)
anshim-gw show-code --config "$WORK/gw.conf" --once --png "$WORK/code.png" > "$WORK/code.out"
TEXT=$(zbar "$WORK/code.png")
AFTER=$(date +%s)
expect_match "rotating text" '^AV1:[0-9A-Z $%*+./:-]+$' "$TEXT"
expect_match "status line" "venue $VENUE  gateway ${GWID:0:8}  [0-9]+ s left" "$(cat "$WORK/code.out")"
out=$(anshim-gw verify-code --config "$WORK/gw.conf" "$TEXT")
expect_match "rotating code verifies with device.pub" $'\nvalid$' "$out"
expect_match "rotating fields" "^rotating venue=$VENUE gateway=$GWID slot_start=[0-9]+ slot_seconds=30 " "$out"
SLOT=$(sed -n 's/.* slot_start=\([0-9]*\) .*/\1/p' <<<"$out")
check; [ "$SLOT" -ge $((BEFORE / 30 * 30)) ] && [ "$SLOT" -le $((AFTER / 30 * 30)) ] ||
  fail "slot_start $SLOT is not the slot of $BEFORE..$AFTER"
# Against the key given explicitly, and against another gateway's key.
out=$(anshim-gw verify-code --gateway-key "$WORK/gw/device.pub" --at "$SLOT" "$TEXT")
expect_match "explicit gateway key" $'\nvalid$' "$out"
out=$(anshim-gw verify-code --gateway-key "$WORK/auth/sign.pub" --at "$SLOT" "$TEXT" || true)
expect_match "another gateway's key" 'rejected: wrong-gateway$' "$out"
# A screenshot used 5 minutes later is stale.
out=$(anshim-gw verify-code --config "$WORK/gw.conf" --at $((SLOT + 300)) "$TEXT" || true)
expect_match "screenshot 5 min later" 'rejected: stale$' "$out"
# The text form is the same code.
anshim-gw show-code --config "$WORK/gw.conf" --once --format text > "$WORK/code.txt"
expect_match "text form" '^AV1:' "$(head -n 1 "$WORK/code.txt")"

# Without venue_id, show-code refuses and says what to set.
sed '/^venue_id/d' "$WORK/gw.conf" > "$WORK/gw-novenue.conf"
set +e
out=$(anshim-gw show-code --config "$WORK/gw-novenue.conf" --once 2>&1); rc=$?
set -e
expect_eq "no venue_id exit" 1 "$rc"
expect_match "no venue_id message" "set 'venue_id ID'.*enrolled with" "$out"

# A running show-code rewrites its PNG (a new file, by rename) at the next
# slot, and stops cleanly on SIGTERM.
sed 's/^code_slot .*/code_slot 5s/' "$WORK/gw.conf" > "$WORK/gw-fast.conf"
anshim-gw show-code --config "$WORK/gw-fast.conf" --png "$WORK/kiosk.png" > "$WORK/kiosk.out" 2>&1 &
SHOW=$!
CLEANUP_PIDS+=("$SHOW")
wait_for 10 "the first kiosk PNG" test -s "$WORK/kiosk.png"
FIRST=$(stat -c %i "$WORK/kiosk.png")
inode_changed() { [ "$(stat -c %i "$WORK/kiosk.png")" != "$FIRST" ]; }
wait_for 15 "the kiosk PNG of the next slot" inode_changed
out=$(anshim-gw verify-code --config "$WORK/gw-fast.conf" "$(zbar "$WORK/kiosk.png")")
expect_match "kiosk code verifies" $'slot_seconds=5 .*\nvalid$' "$out"
kill -TERM "$SHOW"
set +e; wait "$SHOW"; rc=$?; set -e
expect_eq "show-code exit on SIGTERM" 0 "$rc"
check; [ "$(ls "$WORK" | grep -c '^kiosk.png.')" -eq 0 ] || fail "temporary files left beside kiosk.png"
done_ok
