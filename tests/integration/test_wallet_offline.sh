#!/usr/bin/env bash
# The wallet's own check-in while the cloud cannot be reached:
# check-ins at a gateway's rotating code (as text and as a photo through
# zbarimg) and at a venue poster (a PNG from anshim-cloud poster) are signed,
# recorded and queued, not lost; the diary shows them queued with venue,
# code type, name and check-out; the outbox survives failed deliveries
# byte for byte (nobody listening; then a real broker without a cloud,
# where PUBACKs arrive but no signed answer, so nothing leaves the queue);
# bad photos and bad codes are refused with a reason; outputs never show the
# phone number, the name, or the code and credential texts.
. "$(dirname "$0")/lib.sh"
need zbarimg
need qrencode
. "$(dirname "$0")/broker.sh"

W="$WORK/wallet"
PHONE=010-5555-0123
PERSON='Hong Gildong'
anshim-cloud keys init --dir "$WORK/auth" >/dev/null
cat > "$WORK/cloud.conf" <<EOF
store_dir $WORK/store
keys_dir $WORK/auth
EOF
VENUE=2207
cat > "$WORK/gw.conf" <<EOF
state_dir $WORK/gw
authority_key $WORK/auth/sign.pub
venue_id $VENUE
code_slot 30s
EOF
anshim-gw init --config "$WORK/gw.conf" >/dev/null
anshim-cloud enroll --config "$WORK/cloud.conf" --gateway-key "$WORK/gw/device.pub" \
  --venue "$VENUE" --venue-name "Hallim Cafe" --address "Hallim-eup 1" >/dev/null
anshim-cloud poster --config "$WORK/cloud.conf" --venue "$VENUE" --format png \
  --out "$WORK/poster.png" >/dev/null

anshim-wallet new --dir "$W" >/dev/null
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$WORK/auth" --holder "$W/holder.pub" \
  --phone "$PHONE" --name "$PERSON" --out "$W/credential" >/dev/null

# Everything the wallet prints goes through here, for the privacy check.
OUT="$WORK/all-output"
: > "$OUT"
wallet() { anshim-wallet "$@" 2>&1 | tee -a "$OUT"; return "${PIPESTATUS[0]}"; }

# Before any configuration: recorded and queued, with a hint.
CODE=$(anshim-gw show-code --config "$WORK/gw.conf" --once --format text | grep '^AV1:')
out=$(wallet checkin --dir "$W" "$CODE")
expect_match "unconfigured checkin" "checked in at venue $VENUE \(rotating code\)" "$out"
expect_match "unconfigured checkin says how" "queued: 1 message.*anshim-wallet config --dir" "$out"

# A broker address nobody listens on.
DEAD=$(free_port)
out=$(wallet config --dir "$W" --broker "127.0.0.1:$DEAD" --authority "$WORK/auth/sign.pub" \
  --timeout 3)
expect_match "config broker" "broker +tcp://127.0.0.1:$DEAD" "$out"
expect_match "config authority" "authority +[0-9a-f]{64}" "$out"
check; [ "$(stat -c %a "$W/wallet.conf")" = 600 ] || fail "wallet.conf is not mode 0600"

# Rotating code from a photo of the screen (the kiosk PNG).
anshim-gw show-code --config "$WORK/gw.conf" --once --png "$WORK/screen.png" >/dev/null
start=$(date +%s%N)
set +e
out=$(wallet checkin --dir "$W" --image "$WORK/screen.png"); rc=$?
set -e
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "offline checkin exit" 0 "$rc"
expect_match "offline checkin recorded" "checked in at venue $VENUE \(rotating code\)" "$out"
expect_match "offline checkin queued" "queued, not delivered yet: cannot connect to tcp://127.0.0.1:$DEAD" "$out"
expect_match "offline checkin says sync" "anshim-wallet sync --dir $W" "$out"
check; [ "$took" -lt 3000 ] || fail "an offline checkin took ${took} ms (it should give up at the first failed connection)"

# The poster, from its PNG: the name travels in the code.
out=$(wallet checkin --dir "$W" --image "$WORK/poster.png")
expect_match "poster checkin" "checked in at venue $VENUE \"Hallim Cafe\" \(poster code\)" "$out"
ID3=$(sed -n 's/^check-in id //p' <<<"$out")
expect_match "check-in id" '^[0-9a-f]{16}$' "$ID3"

# Check out of the latest (the poster visit), at a given time.
AT=$(( $(date +%s) + 300 ))  # ahead, within the 10 minutes the cloud allows
out=$(wallet checkout --dir "$W" --at "$AT")
expect_match "checkout" "checked out of venue $VENUE at .*\(check-in $ID3\)" "$out"
expect_match "checkout queued" "queued, not delivered yet" "$out"
set +e
out=$(wallet checkout --dir "$W" 2>&1); rc=$?
set -e
expect_eq "second checkout exit" 1 "$rc"
expect_match "second checkout" "no open check-in" "$out"
# Check out of the first visit by its id prefix.
FIRST=$(wallet diary --dir "$W" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["checkin_id"][:10])')
out=$(wallet checkout --dir "$W" --checkin "$FIRST")
expect_match "checkout by id" "\(check-in $FIRST" "$out"

# The diary: three visits, all queued, five messages.
out=$(wallet diary --dir "$W")
expect_eq "diary visits" 3 "$(grep -c "^[0-9].* $VENUE .* queued" <<<"$out")"
expect_match "diary summary" "3 visit\(s\), 5 message\(s\) queued" "$out"
expect_eq "diary poster line" 1 "$(grep -c "poster .* queued .* Hallim Cafe$" <<<"$out")"
json=$(wallet diary --dir "$W" --json)
python3 - "$json" "$VENUE" "$AT" <<'PY'
import json, sys
visits = json.loads(sys.argv[1]); venue = int(sys.argv[2]); at = int(sys.argv[3])
assert len(visits) == 3, visits
assert [v["code_type"] for v in visits] == ["rotating", "rotating", "poster"], visits
assert all(v["venue_id"] == venue and v["state"] == "queued" and v["reason"] is None for v in visits)
assert visits[2]["venue_name"] == "Hallim Cafe" and visits[0]["venue_name"] is None
assert visits[2]["checkout_time"] == at and visits[2]["checkout_state"] == "queued"
assert visits[0]["checkout_time"] is not None and visits[1]["checkout_time"] is None
assert len({v["checkin_id"] for v in visits}) == 3
PY
check

# The outbox survives failed deliveries byte for byte; sync is bounded.
cp "$W/diary" "$WORK/diary.before"
set +e
out=$(wallet sync --dir "$W" --timeout 2); rc=$?
set -e
expect_eq "sync offline exit" 1 "$rc"
expect_match "sync offline" "5 message\(s\) still queued: no usable connection to tcp://127.0.0.1:$DEAD within 2 s" "$out"
check; cmp -s "$W/diary" "$WORK/diary.before" || fail "a failed sync changed the diary"
check; [ "$(stat -c %a "$W/diary")" = 600 ] || fail "the diary is not mode 0600"

# A real broker but no cloud: the broker acknowledges every publish, yet
# nothing leaves the queue without the cloud's signed answer.
start_broker
mosquitto_sub -p "$BROKER_PORT" -h 127.0.0.1 -q 1 -t 'anshim/v1/wallet/+/checkin' -F '%t %l' \
  > "$WORK/seen" 2>&1 &
CLEANUP_PIDS+=("$!")
# The subscription is in place once a probe published after it arrives.
probe() { mosquitto_pub -p "$BROKER_PORT" -h 127.0.0.1 -q 1 -t anshim/v1/wallet/probe/checkin -m x; grep -q probe "$WORK/seen"; }
wait_for 10 "mosquitto_sub subscribed" probe
set +e
out=$(wallet sync --dir "$W" --broker "127.0.0.1:$BROKER_PORT" --timeout 2); rc=$?
set -e
expect_eq "sync without cloud exit" 1 "$rc"
expect_match "sync without cloud" "5 message\(s\) still queued: no answer from the cloud for 5 message\(s\) within 2 s" "$out"
HID=$(python3 -c 'import hashlib,sys
pk=bytes.fromhex(open(sys.argv[1]).read().split()[2])
print(hashlib.blake2b(b"anshim holder id v1"+pk, digest_size=16).hexdigest())' "$W/holder.pub")
wait_for 10 "five check-in messages on the broker" \
  bash -c "[ \$(grep -c '^anshim/v1/wallet/$HID/checkin ' '$WORK/seen') -ge 5 ]"
lens=$(grep "^anshim/v1/wallet/$HID/checkin " "$WORK/seen" | awk '{print $2}' | sort -n | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')
expect_eq "message sizes on the wire (2 check-outs, 3 rotating/poster check-ins)" \
  "2x387 1x$(( 293 + 80 + 11 + 64 )) 2x454 " "$lens"
check; cmp -s "$W/diary" "$WORK/diary.before" || fail "a sync without answers changed the diary"

# Bad input: a photo with another QR code, a photo with none, a code that is
# not a venue code, a cut code.
qrencode -o "$WORK/other.png" "https://example.org/menu"
set +e
out=$(wallet checkin --dir "$W" --image "$WORK/other.png" 2>&1); rc=$?
set -e
expect_eq "other QR exit" 1 "$rc"
expect_match "other QR" "holds 1 QR code\(s\), but no Anshim venue code" "$out"
python3 -c 'import zlib,struct,sys
def chunk(t,d): return struct.pack(">I",len(d))+t+d+struct.pack(">I",zlib.crc32(t+d))
raw=b"".join(b"\0"+b"\xff"*64 for _ in range(64))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n"+chunk(b"IHDR",struct.pack(">IIBBBBB",64,64,8,0,0,0,0))+chunk(b"IDAT",zlib.compress(raw))+chunk(b"IEND",b""))' > "$WORK/blank.png"
set +e
out=$(wallet checkin --dir "$W" --image "$WORK/blank.png" 2>&1); rc=$?
set -e
expect_eq "blank photo exit" 1 "$rc"
expect_match "blank photo" "no QR code found in $WORK/blank.png" "$out"
set +e
out=$(wallet checkin --dir "$W" --image "$WORK/missing.png" 2>&1); rc=$?
set -e
expect_eq "missing photo exit" 1 "$rc"
expect_match "missing photo" "cannot read $WORK/missing.png: zbarimg exited with status" "$out"
PASS=$(anshim-wallet pass --dir "$W" --format text)
set +e
out=$(wallet checkin --dir "$W" "$PASS" 2>&1); rc=$?
set -e
expect_eq "pass as venue code exit" 1 "$rc"
expect_match "pass as venue code" "not a valid venue code: .*starts with AV1:" "$out"
set +e
out=$(wallet checkin --dir "$W" "${CODE:0:60}" 2>&1); rc=$?
out2=$(wallet checkin --dir "$W" 2>&1); rc2=$?
set -e
expect_eq "cut code exit" 1 "$rc"
expect_match "cut code" "not a valid venue code" "$out"
expect_eq "no code exit" 2 "$rc2"
expect_match "no code" "needs the code's text or --image" "$out2"
check; cmp -s "$W/diary" "$WORK/diary.before" || fail "refused check-ins changed the diary"

# A crash during a save leaves a torn temp file: ignored.
printf 'anshim-wallet-diary 1\nqueued 0 0 57' > "$W/diary.tmp.Xy12Zq"
out=$(wallet diary --dir "$W")
expect_match "diary after a torn temp file" "3 visit\(s\), 5 message\(s\) queued" "$out"

# Privacy: no phone number, name, code or pass text, or credential bytes.
CRED_HEX=$(od -An -tx1 -v "$W/credential" | tr -d ' \n')
for secret in "$PHONE" "$PERSON" "${CODE:0:24}" "${PASS:0:24}" "${CRED_HEX:0:32}" "${CRED_HEX:100:32}"; do
  check; ! grep -qF -- "$secret" "$OUT" || fail "the wallet printed '$secret'"
done

done_ok
