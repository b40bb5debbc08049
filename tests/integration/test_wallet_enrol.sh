#!/usr/bin/env bash
# test_wallet_enrol.sh - 'anshim-wallet enrol' against a real
# anshim-issuerd over HTTPS (a certificate made here):
#  - the wallet shows the consent text, asks for 'yes', has a code sent,
#    reads the code from standard input (a wrong one first: told the tries
#    left, asked again), and keeps the credential: DIR/enrolment, 118
#    bytes, mode 0600, the issuer's key in DIR/issuer.pub and the issuer
#    in wallet.conf;
#  - no agreement: no code is sent and nothing is kept;
#  - an issuer whose certificate the wallet cannot verify is refused;
#  - enrolling again (renewal) works with a new code;
#  - enrol fetches 64 visit tokens (DIR/tokens, 0600); each pass spends
#    one (AP2:); 'anshim-wallet tokens' tops them up again, and 'sync'
#    does when fewer than 16 are left;
#  - 'anshim-wallet consent' prints the text.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/issuer_lib.sh"

issuer_init
issuer_start
W=$WORK/wallet
anshim-wallet new --dir "$W" >/dev/null

out=$(anshim-wallet consent --issuer "$ISSUER_URL" --ca "$ISSUER_CA")
expect_match "consent shows the text" "방문 기록은 8주 동안 보관됩니다" "$out"
expect_match "consent shows the version" "version 1" "$out"

# No agreement: nothing sent, nothing kept.
rc=0
out=$(printf 'no\n' | anshim-wallet enrol --dir "$W" --issuer "$ISSUER_URL" --ca "$ISSUER_CA" \
  --phone 010-2222-3333 2>&1) || rc=$?
expect_eq "enrol without agreement: exit status" 1 "$rc"
expect_match "enrol without agreement says so" "consent was not given" "$out"
check; [ ! -e "$W/enrolment" ] || fail "a credential was kept without consent"
check; [ ! -s "$ISSUER_SINK" ] || fail "a code was sent without consent"

# An issuer certificate the wallet cannot verify (no --ca): refused.
rc=0
out=$(printf 'yes\n' | anshim-wallet enrol --dir "$W" --issuer "$ISSUER_URL" \
  --phone 010-2222-3333 2>&1) || rc=$?
expect_eq "enrol with an unverifiable certificate: exit status" 1 "$rc"
expect_match "it names the TLS failure" "cannot reach the issuer.*(certificate|SSL)" "$out"
check; [ ! -s "$ISSUER_SINK" ] || fail "a code was sent over an unverified connection"

# The real thing: agreement, a wrong code, then the right one.
mkfifo "$WORK/in"
anshim-wallet enrol --dir "$W" --issuer "$ISSUER_URL" --ca "$ISSUER_CA" \
  --phone "010 2222 3333" < "$WORK/in" > "$WORK/enrol.out" 2>&1 &
ENROL_PID=$!
CLEANUP_PIDS+=("$ENROL_PID")
exec 7> "$WORK/in"
echo yes >&7
code_sent() { [ -n "$(issuer_code +821022223333)" ]; }
wait_for 30 "the code to reach the sink" code_sent
CODE=$(issuer_code +821022223333)
printf '%06d\n' $(( (10#$CODE + 7) % 1000000 )) >&7
asked_again() { [ "$(grep -o 'Code: ' "$WORK/enrol.out" | wc -l)" -ge 2 ]; }
wait_for 30 "the wallet to ask for the code again" asked_again
echo "$CODE" >&7
exec 7>&-
rc=0; wait "$ENROL_PID" || rc=$?
out=$(cat "$WORK/enrol.out")
expect_eq "enrol: exit status ($out)" 0 "$rc"
expect_match "enrol showed the consent text" "방문 기록은" "$out"
expect_match "enrol told of the wrong code" "wrong code: 4 more tries" "$out"
expect_match "enrol says until when" "enrolled: consent version 1, valid until [0-9-]+ [0-9:]+ KST" "$out"
check; [[ $out != *"$CODE"* ]] || fail "the wallet printed the code"
expect_eq "the credential's size" 118 "$(stat -c %s "$W/enrolment")"
expect_eq "the credential's mode" 600 "$(stat -c %a "$W/enrolment")"
expect_eq "the issuer key kept" "$(sed -n 2p "$ISSUER_DIR/state/issuer.pub")" "$(sed -n 2p "$W/issuer.pub")"
expect_match "wallet.conf names the issuer" "issuer \"$ISSUER_URL\"" "$(cat "$W/wallet.conf")"
expect_match "enrol fetched a batch of tokens" "64 visit tokens ready" "$out"
expect_eq "the tokens file's mode" 600 "$(stat -c %a "$W/tokens")"

# Passes are made from tokens (AP2:), one token each; 'tokens' tops up.
p1=$(anshim-wallet pass --dir "$W" --format text)
p2=$(anshim-wallet pass --dir "$W" --format text)
expect_match "a pass from a token" '^AP2:' "$p1"
check; [ "$p1" != "$p2" ] || fail "two passes are the same"
out=$(anshim-wallet tokens --dir "$W" --ca "$ISSUER_CA" 2>&1 || true)
expect_match "tokens takes no --ca (the enrolment's is kept)" "tokens takes --dir" "$out"
out=$(anshim-wallet tokens --dir "$W")
expect_eq "tokens tops up the two spent" "64 visit tokens ready (2 new)" "$out"
# Online and low: 'sync' tops up by itself once fewer than 16 are left.
for i in $(seq 1 48); do anshim-wallet pass --dir "$W" --format text >/dev/null; done
out=$(anshim-wallet sync --dir "$W")
check; [[ $out != *"topped up"* ]] || fail "sync topped up with 16 tokens left: $out"
anshim-wallet pass --dir "$W" --format text >/dev/null
out=$(anshim-wallet sync --dir "$W")
expect_match "sync tops up when low" "visit tokens topped up: 64 ready \(49 new\)" "$out"

# Renewal: enrol again (agreeing with --yes), the code from stdin.
mkfifo "$WORK/in2"
anshim-wallet enrol --dir "$W" --issuer "$ISSUER_URL" --ca "$ISSUER_CA" --yes \
  --phone +821022223333 < "$WORK/in2" > "$WORK/enrol2.out" 2>&1 &
ENROL_PID=$!
CLEANUP_PIDS+=("$ENROL_PID")
exec 7> "$WORK/in2"
new_code() { [ "$(grep -c '^+821022223333' "$ISSUER_SINK")" -ge 2 ]; }
wait_for 30 "a second code" new_code
issuer_code +821022223333 >&7
exec 7>&-
rc=0; wait "$ENROL_PID" || rc=$?
expect_eq "renewal: exit status ($(cat "$WORK/enrol2.out"))" 0 "$rc"
expect_match "renewal: enrolled again" "enrolled: consent version 1" "$(cat "$WORK/enrol2.out")"
expect_eq "renewal: the credential's size" 118 "$(stat -c %s "$W/enrolment")"

issuer_stop
done_ok
