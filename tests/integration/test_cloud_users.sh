#!/usr/bin/env bash
# 'anshim-cloud user add|passwd|disable|list': the console's accounts file
# (the configuration's 'accounts') through the real CLI.
#
#  - the password comes from standard input (one line) or from a terminal
#    with echo off, asked twice (a real pseudo-terminal here), never from
#    the command line; too short, empty and mismatched passwords are
#    refused with a clear message and change nothing;
#  - the file is mode 0600, holds argon2id hashes and never the password,
#    and keeps its owner when root rewrites it;
#  - list (text and JSON), passwd (a new hash), disable, and the errors:
#    unknown account, duplicate, bad role, malformed file named by line.
. "$(dirname "$0")/lib.sh"
need python3

ACC=$WORK/console/accounts
mkdir -p "$WORK/console"
CONF=$WORK/cloud.conf
printf 'store_dir %s\nkeys_dir %s\naccounts %s\n' "$WORK/store" "$WORK/auth" "$ACC" > "$CONF"
PW='correct horse battery staple'
PW2='another long passphrase'

user() { anshim-cloud user "$@" --config "$CONF"; }

# run_rc VAR CMD...: run CMD, its stdout+stderr in $OUT, exit status in VAR.
run_rc() {
  local __var=$1; shift
  local __rc=0
  OUT=$("$@" 2>&1) || __rc=$?
  printf -v "$__var" '%s' "$__rc"
}

# ---- no file yet ----
run_rc rc user list
expect_eq "list without a file: exit status" 0 "$rc"
expect_match "list without a file: says how to add the first" \
  "no accounts yet .*user add NAME --role supervisor" "$OUT"

# ---- passwords from standard input ----
out=$(printf '%s\n' "$PW" | user add kim.jiwoo --role supervisor)
expect_eq "add from stdin" "account kim.jiwoo added (supervisor) to $ACC" "$out"
expect_eq "accounts file mode" 600 "$(stat -c %a "$ACC")"
check; grep -q '^kim.jiwoo supervisor enabled [0-9]* [0-9]* 0 0 0 \$argon2id\$v=19\$m=65536,t=2,p=1\$' "$ACC" ||
  fail "no argon2id line for kim.jiwoo: $(cat "$ACC")"
check; ! grep -q "horse" "$ACC" || fail "the password is in the file"

run_rc rc sh -c "printf 'short\n' | anshim-cloud user add lee --role analyst --config '$CONF'"
expect_eq "short password: exit status" 1 "$rc"
expect_match "short password: says the minimum" "too short \(5 bytes\): use at least 10" "$OUT"
: > "$WORK/empty"
run_rc rc sh -c "anshim-cloud user add lee --role analyst --config '$CONF' < '$WORK/empty'"
expect_eq "no password: exit status" 1 "$rc"
expect_match "no password: says where it comes from" "no password: .*standard input \(never on the command line\)" "$OUT"
long=$(head -c 1025 /dev/zero | tr '\0' x)
run_rc rc sh -c "printf '%s\n' '$long' | anshim-cloud user add lee --role analyst --config '$CONF'"
expect_eq "too long password: exit status" 1 "$rc"
expect_match "too long password" "too long: use at most 1024" "$OUT"
check; ! grep -q '^lee ' "$ACC" || fail "a refused add wrote lee"

# No way to give it on the command line.
run_rc rc user add lee --role analyst --password "$PW"
expect_eq "--password: exit status" 2 "$rc"
expect_match "--password is unknown" "unrecognized option|unknown option" "$OUT"

run_rc rc sh -c "printf '%s\n' '$PW2' | anshim-cloud user add kim.jiwoo --role analyst --config '$CONF'"
expect_eq "duplicate: exit status" 1 "$rc"
expect_match "duplicate: says so and what to do" "account 'kim.jiwoo' already exists .*user passwd kim.jiwoo" "$OUT"
run_rc rc user add lee --role admin
expect_eq "bad role: exit status" 2 "$rc"
expect_match "bad role" "--role 'admin': give analyst, investigator or supervisor" "$OUT"
run_rc rc user add lee
expect_eq "no role: exit status" 2 "$rc"
run_rc rc sh -c "printf '%s\n' '$PW' | anshim-cloud user add Lee --role analyst --config '$CONF'"
expect_eq "bad name: exit status" 1 "$rc"
expect_match "bad name: says what a name is" "account name 'Lee' is not valid: use 1 to 63 of a-z" "$OUT"

# ---- passwords from a terminal: echo off, asked twice ----
# tty_run INPUT1 INPUT2 CMD...: run CMD on a new pseudo-terminal, answer
# each prompt, print everything the terminal showed, then "EXIT n".
tty_run() {
  python3 - "$@" <<'PY'
import os, pty, sys, select, time
answers, cmd = sys.argv[1:3], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen, deadline = b"", time.time() + 60
prompts = [b"New password for", b"Type it again: "]
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    while prompts and prompts[0] in seen:
        prompts.pop(0)
        os.write(fd, (answers.pop(0) + "\n").encode())
if time.time() >= deadline:
    os.kill(pid, 9)
    seen += b"\n(timed out waiting for the prompts; killed)"
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
print("\nEXIT %d" % os.waitstatus_to_exitcode(status))
PY
}
out=$(tty_run "$PW2" "$PW2" anshim-cloud user add lee --role investigator --config "$CONF")
expect_match "tty add: asks twice and adds" "New password for lee: .*Type it again: .*account lee added \(investigator\)" "$(tr -d '\r\n' <<< "$out")"
expect_match "tty add: exit status" "EXIT 0\$" "$out"
check; ! grep -q "another long" <<< "$out" || fail "the password was echoed: $out"
check; grep -q '^lee investigator enabled ' "$ACC" || fail "lee not in the file"
out=$(tty_run "$PW2" "not the same one" anshim-cloud user add park --role analyst --config "$CONF")
expect_match "tty mismatch: refused" "the two passwords differ; nothing was changed" "$out"
expect_match "tty mismatch: exit status" "EXIT 1\$" "$out"
check; ! grep -q '^park ' "$ACC" || fail "a mismatched add wrote park"

# ---- passwd, disable, list ----
old_hash=$(awk '$1 == "lee" { print $9 }' "$ACC")
out=$(printf '%s\n' "$PW" | user passwd lee)
expect_match "passwd" "password of lee changed" "$out"
new_hash=$(awk '$1 == "lee" { print $9 }' "$ACC")
check; [ -n "$new_hash" ] && [ "$new_hash" != "$old_hash" ] || fail "passwd left the hash as it was"
run_rc rc sh -c "printf '%s\n' '$PW' | anshim-cloud user passwd ghost --config '$CONF'"
expect_eq "passwd unknown: exit status" 1 "$rc"
expect_match "passwd unknown" "no account 'ghost' in $ACC \(see 'anshim-cloud user list'\)" "$OUT"

out=$(printf '%s\n' "$PW" | user add han --role analyst)
out=$(user disable han)
expect_eq "disable" "account han disabled: it can no longer log in" "$out"
out=$(user disable han)
expect_eq "disable again" "account han was already disabled" "$out"
run_rc rc user disable ghost
expect_eq "disable unknown: exit status" 1 "$rc"

out=$(user list)
expect_match "list: header" "^NAME +ROLE +STATE +FAILED +CREATED" "$out"
expect_match "list: kim" $'\n''kim.jiwoo +supervisor +enabled +0 ' "$out"
expect_match "list: han disabled" $'\n''han +analyst +disabled ' "$out"
expect_match "list: never logged in" "never" "$out"
json=$(user list --json)
summary=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(" ".join("%s:%s:%s:%s" % (a["name"], a["role"], a["disabled"], a["last_login"]) for a in d["accounts"]))
' "$json")
expect_eq "list --json" "han:analyst:True:None kim.jiwoo:supervisor:False:None lee:investigator:False:None" "$summary"
expect_eq "accounts file mode after changes" 600 "$(stat -c %a "$ACC")"
check; [ "$(ls "$WORK/console" | sort | tr '\n' ' ')" = "accounts accounts.lock " ] ||
  fail "stray files beside the accounts file: $(ls "$WORK/console")"

# ---- the file keeps its owner when root rewrites it ----
if [ "$(id -u)" = 0 ]; then
  chown -R nobody: "$WORK/console"
  printf '%s\n' "$PW" | user add root.made --role analyst > /dev/null
  expect_eq "owner kept when root rewrites" "nobody 600" "$(stat -c '%U %a' "$ACC")"
  chown root: "$ACC"
  rm -f "$WORK/console/accounts.lock"
fi

# ---- a malformed file is refused, naming the line ----
cp "$ACC" "$WORK/good"
sed -i '0,/ supervisor /s// boss /' "$ACC"
run_rc rc user list
expect_eq "malformed file: exit status" 1 "$rc"
expect_match "malformed file: names file, line and fault" \
  "$ACC:[0-9]+: the role 'boss' is not analyst, investigator or supervisor; fix or remove the line" "$OUT"
run_rc rc sh -c "printf '%s\n' '$PW' | anshim-cloud user add new --role analyst --config '$CONF'"
expect_eq "malformed file: add refused" 1 "$rc"
check; grep -q ' boss ' "$ACC" || fail "a refused add rewrote the malformed file"
cp "$WORK/good" "$ACC"; chmod 644 "$ACC"
run_rc rc user list
expect_eq "readable by others: exit status" 1 "$rc"
expect_match "readable by others: says to chmod" "mode 644.*chmod 600 $ACC" "$OUT"

# ---- its manual ----
out=$(anshim-cloud user --help)
expect_match "user --help: usage" "^Usage: anshim-cloud user add NAME --role ROLE" "$out"
expect_match "user --help: passwords" "never on the command line" "$out"
expect_match "user --help: exit status" "Exit status" "$out"

done_ok
