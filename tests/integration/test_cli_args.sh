#!/usr/bin/env bash
# Every program and subcommand refuses an abbreviated long option ('--conf'
# for '--config'), naming the option it was given and the one it abbreviates,
# with exit status 2 and without doing anything else.  Also the other usage
# errors of the shared parser: a missing value, a value given to a flag.
source "$(dirname "$0")/lib.sh"

# refused WHAT ABBREV FULL COMMAND...: COMMAND must exit 2 and say so.
refused() {
  local what=$1 abbrev=$2 full=$3; shift 3
  local rc=0 err
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  expect_eq "$what: exit status" 2 "$rc"
  expect_match "$what: names the option given" "unknown option '--$abbrev'" "$err"
  expect_match "$what: names the full option" "did you mean '--$full'" "$err"
  expect_match "$what: says where to look" "Try '[a-z_-]+ --help'" "$err"
}

cd "$WORK"
refused "anshim-gatewayd" conf config anshim-gatewayd --conf gw.conf --check-config
refused "anshim-cloudd" conf config anshim-cloudd --conf cloud.conf --check-config
for sub in init status events purge register import journal offline online \
           verify-pass show-code verify-code; do
  refused "anshim-gw $sub" conf config anshim-gw "$sub" --conf gw.conf x
done
refused "anshim-gw status --js" js json anshim-gw status --js
refused "anshim-cloud keys init" di dir anshim-cloud keys init --di keys
for sub in issue "policy set" enroll revoke stats purge "audit verify" "audit show" \
           trace poster; do
  # shellcheck disable=SC2086
  refused "anshim-cloud $sub" conf config anshim-cloud $sub --conf cloud.conf
done
refused "anshim-cloud trace --dep" dep depth anshim-cloud trace --dep 2
for sub in new pass card config checkin checkout diary sync; do
  refused "anshim-wallet $sub" di dir anshim-wallet "$sub" --di wallet
done
refused "visits_gen" vis visits "$ANSHIM_BUILD_DIR/bench/visits_gen" --vis 10
refused "cloud_ingest" bat batch "$ANSHIM_BUILD_DIR/bench/cloud_ingest" --bat 1
refused "pass_verify" sec seconds "$ANSHIM_BUILD_DIR/bench/pass_verify" --sec 1
refused "trace_bench" sto store "$ANSHIM_BUILD_DIR/bench/trace_bench" --sto x
refused "gateway_scan" sock socket "$ANSHIM_BUILD_DIR/bench/gateway_scan" --sock x
if [ -x "$ANSHIM_BUILD_DIR/bench/pg_trace" ]; then # built where libpq is installed
  refused "pg_trace" con conn "$ANSHIM_BUILD_DIR/bench/pg_trace" --con x load
fi
[ ! -e keys ] && [ ! -e wallet ] || fail "a refused command created files: $(ls)"
check

# The other usage errors name the option too.
rc=0; err=$(anshim-gw status --config 2>&1) || rc=$?
expect_eq "missing value: exit status" 2 "$rc"
expect_match "missing value" "option '--config' needs a value" "$err"
rc=0; err=$(anshim-gw status --json=yes 2>&1) || rc=$?
expect_eq "value for a flag: exit status" 2 "$rc"
expect_match "value for a flag" "option '--json' takes no value" "$err"
rc=0; err=$(anshim-gw verify-pass -q x 2>&1) || rc=$?
expect_eq "unknown short option: exit status" 2 "$rc"
expect_match "unknown short option" "unknown option '-q'" "$err"
# The full spelling, --opt=value and "--" still work.
out=$(anshim-gatewayd --help)
expect_match "--help" "Usage: anshim-gatewayd" "$out"
rc=0; err=$(anshim-gw verify-pass --authority="$WORK/none.pub" -- AP1:X 2>&1) || rc=$?
expect_eq "--authority=FILE parsed: exit status" 1 "$rc"
expect_match "--authority=FILE parsed" "none.pub" "$err"
# A TEXT operand '-' reads one line of standard input (its CR LF dropped);
# nothing there is a clear error.
rc=0; out=$(printf 'NOTACODE\r\n' | anshim-gw verify-code - 2>&1) || rc=$?
expect_eq "verify-code -: exit status" 1 "$rc"
expect_match "verify-code -: the line was read" "rejected: malformed \(not an Anshim code" "$out"
rc=0; err=$(anshim-gw verify-code - 2>&1 </dev/null) || rc=$?
expect_eq "verify-code - with no input: exit status" 1 "$rc"
expect_match "verify-code - with no input" "anshim-gw: no venue code text on standard input" "$err"
rc=0; err=$(anshim-gw verify-pass --authority="$WORK/none.pub" - 2>&1 </dev/null) || rc=$?
expect_eq "verify-pass - with no input: exit status" 1 "$rc"
expect_match "verify-pass - with no input" "anshim-gw: no pass text on standard input" "$err"

echo "PASS: $CHECKS checks"
