#!/usr/bin/env bash
# A roll-out from a venue list: 'anshim-cloud enroll --csv' enrols the good
# rows (with a gateway or poster-only), names each bad row by line and
# reason, and a re-run changes nothing (the store's data file stays
# byte-identical); 'anshim-cloud poster --csv' makes one PDF per venue and
# one multi-page PDF (--combined), at A4 and A5, whose pages pdftoppm
# rasterizes and zbarimg decodes into a poster code signed for that venue.
# Then the bulk case: 500 venues in one command and their posters, with the
# time of each step printed, and a re-run that changes nothing.
. "$(dirname "$0")/lib.sh"
need zbarimg
need pdftoppm
need pdfinfo

anshim-cloud keys init --dir "$WORK/auth" >/dev/null
cat > "$WORK/cloud.conf" <<EOF
store_dir $WORK/store
keys_dir $WORK/auth
EOF
cloud() { anshim-cloud "$@" --config "$WORK/cloud.conf"; }

# Two gateways whose owners sent their keys.
for g in 1 2; do
  printf 'state_dir %s\nauthority_key %s\n' "$WORK/gw$g" "$WORK/auth/sign.pub" > "$WORK/gw$g.conf"
  anshim-gw init --config "$WORK/gw$g.conf" > "$WORK/init$g"
done
KEY1=$(sed -n 's/^public key: //p' "$WORK/init1")
KEY2=$(sed -n 's/^public key: //p' "$WORK/init2")
GWID1=$(sed -n 's/^gateway id: //p' "$WORK/init1")
expect_match "gateway 1's public key" '^[0-9a-f]{64}$' "$KEY1"

cat > "$WORK/venues.csv" <<EOF
venue_id,name,address,category,dwell,gateway_key
101,제주 바다 카페,"제주시 한림읍 협재리 2497-1, 1층",cafe,45,$KEY1
102,Jeju Night Bar,제주시 연동 1,bar,90,$KEY2
103,한라 노래연습장,,karaoke,,
zz,이름,,cafe,,
104,,,cafe,,
105,Bad category,,Bar & Grill,,
106,Bad key,,bar,,abcdef
101,Twice,,cafe,,
107,"제주 올레 시장",서귀포시,market,30,
EOF

set +e
out=$(cloud enroll --csv "$WORK/venues.csv" 2>"$WORK/err"); rc=$?
set -e
err=$(cat "$WORK/err")
expect_eq "bad rows: exit status" 1 "$rc"
expect_eq "summary" "$WORK/venues.csv: 4 venue(s) added, 0 updated, 0 unchanged, 5 bad row(s)" "$out"
expect_match "line 5: venue id" "venues.csv: line 5: venue_id 'zz' is not a number" "$err"
expect_match "line 6: empty name" "venues.csv: line 6: venue 104: the name is empty" "$err"
expect_match "line 7: category" "venues.csv: line 7: venue 105: category 'Bar & Grill' is not" "$err"
expect_match "line 8: key" "venues.csv: line 8: venue 106: gateway_key is not the 64 hex digits" "$err"
expect_match "line 9: duplicate" "venues.csv: line 9: venue 101 is listed twice" "$err"
expect_eq "exactly the 5 bad rows" 5 "$(grep -c ': line [0-9]*: ' <<<"$err")"

# The registry holds what the good rows say: gateways at their venues.
stats=$(cloud stats --json)
expect_eq "gateway 1 at venue 101" 101 "$(jq -r --arg g "$GWID1" '.gateways[] | select(.gateway == $g) | .venue' <<<"$stats")"
expect_eq "two gateways" 2 "$(jq '.gateways | length' <<<"$stats")"

# A re-run changes nothing: same answer, and the store's data file is
# byte-for-byte the same.
SUM=$(sha256sum < "$WORK/store/data.mdb")
set +e
out=$(cloud enroll --csv "$WORK/venues.csv" 2>/dev/null); rc=$?
set -e
expect_eq "re-run: exit status (the bad rows are still bad)" 1 "$rc"
expect_match "re-run: summary" "4 unchanged, 5 bad row\(s\)"$'\n'"nothing changed" "$out"
expect_eq "re-run: store untouched" "$SUM" "$(sha256sum < "$WORK/store/data.mdb")"

# Fixed rows: only they change; one venue's dwell changed is an update.
grep -v -e '^zz,' -e '^104,' -e '^105,' -e '^106,' -e '^101,Twice' "$WORK/venues.csv" |
  sed 's/^103,한라 노래연습장,,karaoke,,/103,한라 노래연습장,,karaoke,120,/' > "$WORK/fixed.csv"
out=$(cloud enroll --csv "$WORK/fixed.csv")
expect_eq "fixed: one update" "$WORK/fixed.csv: 0 venue(s) added, 1 updated, 3 unchanged, 0 bad row(s)" "$out"
out=$(cloud enroll --csv "$WORK/fixed.csv")
expect_match "fixed re-run" "0 updated, 4 unchanged.*"$'\n'"nothing changed" "$out"

# Wrong use is a usage error that says what to do.
set +e
out=$(cloud enroll --csv "$WORK/fixed.csv" --venue 3 2>&1); rc=$?
set -e
expect_eq "--csv with --venue" 2 "$rc"
expect_match "--csv with --venue says why" "takes the venues from the file" "$out"
printf 'id,name\n1,x\n' > "$WORK/badheader.csv"
set +e
out=$(cloud enroll --csv "$WORK/badheader.csv" 2>&1); rc=$?
set -e
expect_eq "bad header exit" 1 "$rc"
expect_match "bad header names the column" "line 1: unknown column 'id'" "$out"

# ---- posters ----
# A venue of the list that is not enrolled gets no poster, by line.
set +e
out=$(cloud poster --csv "$WORK/venues.csv" --out "$WORK/posters" 2>"$WORK/err"); rc=$?
set -e
expect_eq "posters with bad rows: exit" 1 "$rc"
expect_match "posters written" "^4 poster\(s\) -> $WORK/posters/venue-ID.pdf" "$out"
expect_eq "one PDF per good venue" "venue-101.pdf venue-102.pdf venue-103.pdf venue-107.pdf" \
  "$(cd "$WORK/posters" && echo *)"

# Decode a poster: page 1 rasterized, the QR read by zbarimg, verified.
decode_page() { # PDF PAGE -> the code text
  pdftoppm -r 150 -png -f "$2" -l "$2" -singlefile "$1" "$WORK/page"
  zbarimg --nodbus --raw -q "$WORK/page.png"
}
TEXT=$(decode_page "$WORK/posters/venue-101.pdf" 1)
out=$(cloud poster --verify "$TEXT" --venue 101)
expect_match "venue 101's poster verifies" "^poster venue=101 name=\"제주 바다 카페\".*"$'\n'"valid$" "$out"
expect_match "A4 by default" "Page size: +595.27.? x 841.89 pts \(A4\)" "$(pdfinfo "$WORK/posters/venue-101.pdf")"

cloud poster --csv "$WORK/fixed.csv" --out "$WORK/all.pdf" --combined --size a5 >/dev/null
info=$(pdfinfo "$WORK/all.pdf")
expect_match "combined: one page per venue" "Pages: +4"$'\n' "$info"
expect_match "combined: A5" "Page size: +419.5[0-9]* x 595.2[0-9]* pts" "$info"
for page in 1 3 4; do
  venue=$(sed -n "$((page + 1))p" "$WORK/fixed.csv" | cut -d, -f1)
  out=$(cloud poster --verify "$(decode_page "$WORK/all.pdf" "$page")" --venue "$venue")
  expect_match "combined page $page is venue $venue, valid" "^poster venue=$venue .*"$'\n'"valid$" "$out"
done

# ---- bulk: 500 venues ----
python3 - "$WORK/bulk.csv" <<'EOF'
import sys
cats = ["bar", "cafe", "karaoke", "restaurant", "gym", ""]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("venue_id,name,address,category,dwell,gateway_key\n")
    for i in range(1, 501):
        f.write(f'{1000 + i},제주 안심 가게 {i}호점,"제주시 노형동 {i}, 1층",{cats[i % 6]},{30 + i % 90},\n')
EOF
ms() { date +%s%3N; }
t0=$(ms); out=$(cloud enroll --csv "$WORK/bulk.csv" 2>/dev/null); t1=$(ms)
expect_eq "bulk enrol" "$WORK/bulk.csv: 500 venue(s) added, 0 updated, 0 unchanged, 0 bad row(s)" "$out"
cloud poster --csv "$WORK/bulk.csv" --out "$WORK/bulk" >/dev/null 2>&1; t2=$(ms)
expect_eq "bulk posters" 500 "$(find "$WORK/bulk" -name 'venue-*.pdf' | wc -l)"
cloud poster --csv "$WORK/bulk.csv" --out "$WORK/bulk.pdf" --combined >/dev/null 2>&1; t3=$(ms)
expect_match "bulk combined" "Pages: +500"$'\n' "$(pdfinfo "$WORK/bulk.pdf")"
SUM=$(sha256sum < "$WORK/store/data.mdb")
t4=$(ms); out=$(cloud enroll --csv "$WORK/bulk.csv" 2>/dev/null); t5=$(ms)
expect_match "bulk re-run" "0 venue\(s\) added, 0 updated, 500 unchanged"$'.*\n'"nothing changed" "$out"
expect_eq "bulk re-run: store untouched" "$SUM" "$(sha256sum < "$WORK/store/data.mdb")"
out=$(cloud poster --verify "$(decode_page "$WORK/bulk/venue-1500.pdf" 1)" --venue 1500)
expect_match "venue 1500's poster" "^poster venue=1500 name=\"제주 안심 가게 500호점\".*"$'\n'"valid$" "$out"
echo "timing (500 venues): enrol $((t1 - t0)) ms, 500 PDFs $((t2 - t1)) ms," \
  "one 500-page PDF $((t3 - t2)) ms, re-run enrol $((t5 - t4)) ms"
done_ok
