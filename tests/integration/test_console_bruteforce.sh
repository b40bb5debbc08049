#!/usr/bin/env bash
# test_console_bruteforce.sh - a login brute force against the real
# console: 5 wrong passwords lock the account; then the right password is
# refused too (429 with Retry-After, never 200), and so are 30 more
# guesses sent 10 at a time; the lock does not spill over to another
# account; the daemon keeps serving; 'anshim-cloud user list' shows the
# lock; 'anshim-cloud user passwd' lifts it.  (The lock's end after 15
# minutes is tested on the accounts module: tests/unit/test_accounts.c.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need python3

console_init
console_user victim investigator 'the-right-password'
console_user other analyst 'other-password-1'
console_start "threads 4"

console_py - <<'PY'
from concurrent.futures import ThreadPoolExecutor
from console_client import Client, json, expect

for i in range(5):
    s, h, b = Client().login("victim", "guess-number-%d" % i)
    expect("wrong password %d: 401" % (i + 1), s == 401, (s, b))

def try_login(pw):
    s, h, b = Client().login("victim", pw)
    return s, h, b

s, h, b = try_login("the-right-password")
expect("right password while locked: 429", s == 429, (s, b))
ra = h.get("retry-after", "")
expect("Retry-After present", ra.isdigit() and 1 <= int(ra) <= 15 * 60, ra)
expect("says locked", "locked" in json(b)["error"], b)
expect("no cookie while locked", "set-cookie" not in h)

with ThreadPoolExecutor(max_workers=10) as pool:
    results = list(pool.map(try_login, ["guess-%d" % i for i in range(29)] + ["the-right-password"]))
statuses = [r[0] for r in results]
expect("30 more guesses: all 429", all(s == 429 for s in statuses), statuses)
expect("every 429 has Retry-After", all("retry-after" in r[1] for r in results))

s, h, b = try_login("the-right-password")
expect("still locked after the storm", s == 429, (s, b))

o = Client()
s, h, b = o.login("other", "other-password-1")
expect("another account still logs in", s == 200, (s, b))
expect("and is served", o.get("/api/me")[0] == 200)
print("python checks passed")
PY
check

check
list=$(anshim-cloud user list --json --config "$CLOUD_CONF")
python3 - "$list" <<'PY' || fail "user list does not show the lock: $list"
import json, sys
a = {x["name"]: x for x in json.loads(sys.argv[1])["accounts"]}
assert a["victim"]["locked_until"] is not None, a["victim"]
assert a["other"]["locked_until"] is None, a["other"]
PY

# A supervisor's passwd lifts the lock at once.
printf '%s\n' 'a-new-password-2' | anshim-cloud user passwd victim --config "$CLOUD_CONF" >/dev/null
console_py - <<'PY'
from console_client import Client, expect
s, h, b = Client().login("victim", "a-new-password-2")
expect("after passwd: 200", s == 200, (s, b))
PY
check
console_alive || fail "anshim-consoled died"
console_stop
done_ok
