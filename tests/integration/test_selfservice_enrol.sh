#!/usr/bin/env bash
# Self-service enrolment, with a real broker, anshim-cloudd and
# anshim-gatewayd:
#   - 'anshim-gw init --venue-name ...' prints an enrolment request as a QR
#     code and as text (and a PNG that zbarimg decodes to the same text),
#     signed by the device key;
#   - the running gateway says it is not enrolled yet;
#   - 'anshim-cloud enroll --requests DIR' lists them (a tampered request
#     is refused by its line), asks on a terminal (approve A and B, reject
#     C), and a second import asks nothing;
#   - after 'policy set', the gateway's status says "enrolled as venue N"
#     (N chosen by the authority for A, the number B's owner typed for B),
#     and its scans reach the cloud.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need zbarimg
need script

phase "setup"
start_broker
cloud_init
cloud_start
for g in A B C; do sgw_init "$g"; done

phase "owners make their requests"
out=$(anshim-gw init --config "$(sgw_dir A)/gw.conf" --venue-name "제주 바다 카페" \
  --address "제주시 한림읍 협재리 1" --category cafe --dwell 45 --png "$WORK/a.png")
REQ_A=$(cat "$(sgw_dir A)/state/enrol-request")
expect_match "request text" '^AE1:[0-9A-Z $%*+./:-]+$' "$REQ_A"
expect_match "init prints the QR code" '▀' "$out"
check; grep -qxF -- "$REQ_A" <<<"$out" || fail "init does not print the request text"
expect_match "init says what next" "send this request .* to the health authority" "$out"
expect_eq "the PNG decodes to the request" "$REQ_A" "$(zbarimg --nodbus --raw -q "$WORK/a.png")"
anshim-gw init --config "$(sgw_dir B)/gw.conf" --venue-name "Night Bar" --category bar \
  --venue 77 --qr text >/dev/null
anshim-gw init --config "$(sgw_dir C)/gw.conf" --venue-name "Unknown shop" --qr text >/dev/null
set +e
out=$(anshim-gw init --config "$(sgw_dir C)/gw.conf" --category Bar 2>&1); rc=$?
set -e
expect_eq "bad category at init: exit" 2 "$rc"
expect_match "bad category at init: why" "1-24 letters a-z" "$out"

mkdir "$WORK/requests"
zbarimg --nodbus --raw -q "$WORK/a.png" > "$WORK/requests/a.txt"
cp "$(sgw_dir B)/state/enrol-request" "$WORK/requests/b.txt"
cp "$(sgw_dir C)/state/enrol-request" "$WORK/requests/c.txt"
# A request changed after signing (another venue name) fails its signature.
python3 - "$REQ_A" > "$WORK/requests/bad.txt" <<'EOF'
import sys
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
t = sys.argv[1][4:]
raw = []
for i in range(0, len(t) - len(t) % 3, 3):
    n = A.index(t[i]) + A.index(t[i+1]) * 45 + A.index(t[i+2]) * 2025
    raw += [n >> 8, n & 255]
if len(t) % 3:
    n = A.index(t[-2]) + A.index(t[-1]) * 45
    raw.append(n)
b = bytearray(raw)
b[60] ^= 1  # a byte of the venue name
out = ""
for i in range(0, len(b) - 1, 2):
    n = b[i] * 256 + b[i+1]
    out += A[n % 45] + A[n // 45 % 45] + A[n // 2025]
if len(b) % 2:
    out += A[b[-1] % 45] + A[b[-1] // 45]
print("AE1:" + out)
EOF

phase "the gateway runs, not enrolled yet"
sgw_start A
expect_eq "A: enrolled" false "$(sgw_field A enrolled)"
expect_match "A: status in words" "enrolled     not yet" "$(anshim-gw status --config "$(sgw_dir A)/gw.conf")"

phase "the authority imports the requests"
set +e
out=$(anshim-cloud enroll --config "$CLOUD_CONF" --requests "$WORK/requests" --list 2>"$WORK/err"); rc=$?
set -e
expect_eq "list: exit (a bad request)" 1 "$rc"
expect_match "list: summary" "3 request\(s\) waiting, 0 decided or enrolled before, 1 bad" "$out"
expect_match "list: A's details" "\"제주 바다 카페\", 제주시 한림읍 협재리 1"$'\n'"  category cafe, usual visit 45 min" "$out"
expect_match "the tampered request, by file and line" "requests/bad.txt:1: not a valid enrolment request: .*signature" "$(cat "$WORK/err")"
set +e
anshim-cloud enroll --config "$CLOUD_CONF" --requests "$WORK/requests" < /dev/null > /dev/null 2>&1; rc=$?
set -e
expect_eq "no terminal and no --approve-all: usage error" 2 "$rc"

# On a terminal: a.txt approve, b.txt approve, (bad.txt refused), c.txt reject.
set +e
out=$(printf 'a\na\nr\n' | script -qec "anshim-cloud enroll --config '$CLOUD_CONF' --requests '$WORK/requests'" /dev/null); rc=$?
set -e
out=$(tr -d '\r' <<<"$out")
expect_eq "interactive: exit (the bad request)" 1 "$rc"
expect_match "A approved as a new venue" "approved: enrolled as venue 1" "$out"
expect_match "B approved at the venue its owner typed" "approved: enrolled as venue 77" "$out"
expect_match "C rejected" "  rejected" "$out"
expect_match "summary" "2 approved, 1 rejected, 0 skipped, 0 decided or enrolled before, 1 bad" "$out"
out=$(anshim-cloud enroll --config "$CLOUD_CONF" --requests "$WORK/requests" --approve-all 2>/dev/null || true)
expect_match "second import asks nothing" "0 approved, 0 rejected, 0 skipped, 3 decided or enrolled before, 1 bad" "$out"
stats=$(cloud_stats)
expect_eq "registry: A at venue 1" 1 "$(pyq "$stats" "g['${SGW_ID[A]}']['venue']")"
expect_eq "registry: B at venue 77" 77 "$(pyq "$stats" "g['${SGW_ID[B]}']['venue']")"
expect_eq "registry: C not enrolled" false "$(pyq "$stats" "'${SGW_ID[C]}' in g")"

phase "the policy tells the gateway"
out=$(anshim-cloud policy set --config "$CLOUD_CONF" --level 3)
expect_match "policy published" "published retained" "$out"
wait_for 30 "A to learn its venue" sgw_field_is A enrolled_venue 1
expect_eq "A: enrolled" true "$(sgw_field A enrolled)"
expect_match "A: status in words" "enrolled     as venue 1" "$(anshim-gw status --config "$(sgw_dir A)/gw.conf")"
expect_match "A: its category" "category cafe" "$(anshim-gw status --config "$(sgw_dir A)/gw.conf")"
sgw_use A
check; log_has "sync: new policy applied: alert level 3, enrolled as venue 1, category cafe" ||
  fail "the gateway's log does not say it is enrolled"
GW_AUTH=$SYNC_AUTH
gw_wallet "$WORK/w" 010-3333-4444 "Visitor"
expect_eq "A: scan" accepted "$(gw_scan "$(sgw_dir A)/scan.sock" "$(gw_pass "$WORK/w")")"
wait_delivered 60 A
expect_eq "A: stored in the cloud" 1 "$(cloud_gw_field "${SGW_ID[A]}" records)"

sync_stop_all
done_ok
