#!/usr/bin/env bash
# A version 2 pass is a small QR code that a phone camera reads surely.
#
# Ten passes (each a fresh token) are rendered by the wallet as PNG, then
# degraded the way a phone camera sees a screen, with ImageMagick: resized
# to 200 px, Gaussian blur sigma 1, Gaussian noise (a fixed seed per pass,
# so a failure reproduces) and a 7 degree rotation.  zbarimg must read back
# exactly the pass text every time, each code must be QR version 10 or
# less (at level M, the wallet's), and the gateway must accept the text
# read from the degraded image.  For the record, the same is done to a
# version 1 pass (QR version 14), which is printed, not asserted.
. "$(dirname "$0")/lib.sh"
need zbarimg
TOOL="$ANSHIM_BUILD_DIR/tests/token_tool"

# ImageMagick's convert (a stand-in without ImageMagick may come first on
# PATH): the first candidate that says it is ImageMagick.
IM=
for c in magick convert /usr/bin/convert convert-im6.q16; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -version 2>/dev/null | grep -q ImageMagick; then
    IM=$c; break
  fi
done
[ -n "$IM" ] || { echo "SKIP: ImageMagick not installed (run scripts/setup)"; exit 77; }

degrade() { # IN OUT SEED
  "$IM" "$1" -resize 200x200 -gaussian-blur 0x1 -seed "$3" -attenuate 1 +noise Gaussian \
    -background white -rotate 7 "$2"
}
# The QR version of a wallet PNG: 8 px per module, 4 quiet modules a side.
qr_version() {
  local w
  w=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$1")
  echo $(( (w / 8 - 8 - 17) / 4 ))
}

gw_init
anshim-cloud keys init --dir "$WORK/issuer" >/dev/null
gw_wallet "$WORK/w" 010-8300-0001 "QR Visitor"
"$TOOL" "$WORK/issuer/sign.key" "$WORK/w" 20 > /dev/null
gw_policy 3 --issuer-key "$WORK/issuer/sign.pub"
gw_start

# Read QR codes only, as a venue's scanner does: with every symbology on,
# zbarimg sometimes also finds a short 1D "barcode" in the noise.
zbar_qr() { zbarimg --nodbus --raw -q -Sdisable -Sqrcode.enable "$@"; }

for i in $(seq 1 10); do
  # The text and the image of one pass: render the PNG, read the text
  # back from the undegraded image (the wallet shows each token once).
  anshim-wallet pass --dir "$WORK/w" --format png --out "$WORK/p$i.png" 2>/dev/null
  TEXT=$(zbar_qr "$WORK/p$i.png")
  expect_match "pass $i text" '^AP2:[0-9A-Z $%*+./:-]{285}$' "$TEXT"
  v=$(qr_version "$WORK/p$i.png")
  check; [ "$v" -le 10 ] || fail "pass $i is QR version $v (the target is 10 or less)"
  degrade "$WORK/p$i.png" "$WORK/d$i.png" "$i"
  expect_eq "pass $i decoded after degrading to 200 px" "$TEXT" \
    "$(zbar_qr "$WORK/d$i.png" || true)"
  expect_eq "pass $i at the gateway (read from the degraded image)" accepted \
    "$(gw_scan "$GW_SCAN" "$(zbar_qr "$WORK/d$i.png")")"
done
echo "version 2 passes: QR version $(qr_version "$WORK/p1.png"), 10 of 10 read at 200 px"

# For the record: a version 1 pass under the same degradation.
read_v1=0
for i in $(seq 1 5); do
  anshim-wallet pass --dir "$WORK/w" --v1 --format png --out "$WORK/v1-$i.png"
  degrade "$WORK/v1-$i.png" "$WORK/v1d-$i.png" "$i"
  if zbar_qr "$WORK/v1d-$i.png" >/dev/null 2>&1; then read_v1=$((read_v1 + 1)); fi
done
echo "version 1 passes: QR version $(qr_version "$WORK/v1-1.png"), $read_v1 of 5 read at 200 px"
gw_stop
done_ok
