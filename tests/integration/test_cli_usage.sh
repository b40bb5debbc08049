#!/usr/bin/env bash
# What a new user types first gets a real answer.
#
#  - 'PROG COMMAND --help' (and -h) prints that command's manual on
#    standard output and exits 0, for every command each program's own
#    --help lists (read from the manual, so a new command is covered the day
#    it is documented), and for the daemons' --help;
#  - 'anshim-wallet pass' (and checkin) on a directory with no wallet says
#    to create one with 'anshim-wallet new'; on a wallet without a
#    credential, to have the authority issue one for its holder.pub.
. "$(dirname "$0")/lib.sh"

# commands_of PROG: the command names in PROG's --help "Commands:" list
# (headings "  NAME ..." and "  A | B"), one per line.
commands_of() {
  "$1" --help | awk '
    /^Commands:$/ { on = 1; next }
    on && /^[^ ]/ { exit }
    on && /^  [a-z]/ {
      n = split($0, alt, /\| /)
      for (i = 1; i <= n; i++) { sub(/^ +/, "", alt[i]); split(alt[i], w, " "); if (w[1] ~ /^[a-z][a-z-]*$/) print w[1] }
    }'
}

progs=(anshim-gw anshim-cloud anshim-wallet)
command -v anshim-issuer >/dev/null && progs+=(anshim-issuer)
for prog in "${progs[@]}"; do
  mapfile -t cmds < <(commands_of "$prog")
  least=8; [ "$prog" != anshim-issuer ] || least=4
  check; [ "${#cmds[@]}" -ge "$least" ] || fail "$prog --help lists only ${#cmds[@]} commands: ${cmds[*]}"
  for cmd in "${cmds[@]}"; do
    for flag in --help -h; do
      rc=0
      "$prog" "$cmd" "$flag" > "$WORK/out" 2> "$WORK/err" || rc=$?
      expect_eq "$prog $cmd $flag: exit status" 0 "$rc"
      expect_eq "$prog $cmd $flag: nothing on stderr" "" "$(cat "$WORK/err")"
      expect_match "$prog $cmd $flag: the command's usage" "Usage: $prog ([a-z-]+ \| )?$cmd( |\$)" \
        "$(head -n 1 "$WORK/out")"
      check; [ "$(wc -l < "$WORK/out")" -ge 4 ] || fail "$prog $cmd $flag: no manual: $(cat "$WORK/out")"
      check; ! grep -qi 'see .*--help\|try .*--help' "$WORK/out" || fail "$prog $cmd $flag: points elsewhere"
    done
  done
done
# The trace manual, which once answered "see --help" and exit status 2.
out=$(anshim-cloud trace --help)
expect_match "trace --help: options" "--from TIME --to TIME --reason TEXT" "$out"
expect_match "trace --help: the depth" "--depth" "$out"
expect_match "trace --help: exit status" "Exit status" "$out"
daemons=(anshim-gatewayd anshim-cloudd)
command -v anshim-consoled >/dev/null && daemons+=(anshim-consoled)
command -v anshim-issuerd >/dev/null && daemons+=(anshim-issuerd)
for daemon in "${daemons[@]}"; do
  rc=0; out=$("$daemon" --help 2>&1) || rc=$?
  expect_eq "$daemon --help: exit status" 0 "$rc"
  expect_match "$daemon --help: usage" "Usage: $daemon" "$out"
done
# An unknown command with --help is still an unknown command.
rc=0; out=$(anshim-cloud no-such-command --help 2>&1) || rc=$?
expect_eq "unknown command --help: exit status" 2 "$rc"
expect_match "unknown command --help" "unknown command 'no-such-command'" "$out"

# No wallet, then a wallet without a credential.
for cmd in "pass --dir $WORK/nowallet" "checkin --dir $WORK/nowallet AV1:X"; do
  rc=0; out=$(anshim-wallet $cmd 2>&1) || rc=$?
  expect_eq "${cmd%% *} without a wallet: exit status" 1 "$rc"
  expect_match "${cmd%% *} without a wallet: says to create one" \
    "no wallet in $WORK/nowallet.*anshim-wallet new --dir $WORK/nowallet" "$out"
  check; ! grep -q 'anshim-cloud issue' <<< "$out" || fail "${cmd%% *} without a wallet: sends the user to the authority first: $out"
done
anshim-wallet new --dir "$WORK/w" > /dev/null
rc=0; out=$(anshim-wallet pass --dir "$WORK/w" 2>&1) || rc=$?
expect_eq "pass without a credential: exit status" 1 "$rc"
expect_match "pass without a credential: says what to ask for" \
  "no credential yet.*anshim-cloud issue --holder $WORK/w/holder.pub" "$out"

done_ok
