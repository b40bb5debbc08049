#!/usr/bin/env bash
# The contact key leaves the tools: only anshim-revealed can open capsules,
# and it writes the audit entry itself.  Real processes, real uids (needs
# root, as in CI): the service runs as root and holds the keys (mode 0600);
# the cloud's operator is uid 61001 with no supplementary group; the
# console is uid 61002; a break-glass official is uid 61003 in group 61010.
#
#   operator: cannot read contact.key; 'trace --reveal' is refused (not in
#     the break-glass group), prints nothing and writes no break-glass entry;
#     a plain trace works and is recorded as the operator's Unix user; --as
#     is refused; a copied configuration pointing audit_log at a private
#     file still cannot reveal (the service keeps its own log), nor can the
#     operator run a reveal service of their own (contact.key unreadable);
#     mdb_dump of the store holds no phone (5 spellings) and no name (as text
#     or as hex), only sealed capsules;
#   break-glass official: 'trace --reveal' opens the names, one break-glass
#     entry with their Unix user;
#   console (client API, tests/integration/reveal_client.c): an analyst
#     cannot ask; a supervisor cannot approve their own request; an
#     investigator cannot decide; nobody opens before approval; another
#     supervisor approves; another user cannot open it; a refused request
#     does not open; the asker opens it and gets the names of that trace's
#     contacts only; a non-console caller cannot ask or open; the ask,
#     approve and reveal entries are in the log and 'audit verify' is intact;
#   bad requests (not JSON, unknown op or field, wrong types, over 1 MiB, a
#     silent connection held open) are refused or dropped and the service
#     goes on serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (it runs the tools as other uids)"; exit 77; }
need setpriv
need mdb_dump

OPERATOR=61001:61001 CONSOLE=61002:61002 BREAKGLASS_GID=61010
as_uid() { local who=$1; shift; setpriv --reuid "${who%%:*}" --regid "${who##*:}" --clear-groups "$@"; }
as_official() { setpriv --reuid 61003 --regid 61003 --groups "$BREAKGLASS_GID" "$@"; }
RC="$ANSHIM_BUILD_DIR/tests/reveal_client"

phase "setup: a store with paper-register entries"
chmod 755 "$WORK"
start_broker
cloud_init "reveal_socket $WORK/reveal.sock" "accounts $WORK/accounts" \
  "reveal_console_user ${CONSOLE%%:*}" "reveal_breakglass_group $BREAKGLASS_GID"
sgw_init A
sgw_enroll A 1
cloud_start
sgw_start A
D=$(date -d '2 days ago' +%F)
cat > "$WORK/paper.csv" <<EOF
date,time,name,phone,headcount
$D,12:00,Case Kim,010-7000-0001,1
$D,12:20,Park Bee,010-7000-0002,1
$D,12:30,Choi Cee,010-7000-0003,1
EOF
expect_match "CSV import" ": 3 imported" "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper.csv")"
wait_delivered 60 A
expect_eq "visits stored" 3 "$(cloud_q "s['visits']")"
FROM=$(date -d '4 days ago' +%F) TO=$(date -d tomorrow +%F)
CASE=$(pyq "$(anshim-cloud trace --config "$CLOUD_CONF" --phone 010-7000-0001 --from "$FROM" \
  --to "$TO" --reason "setup: the case's pid" --json)" "s['case']['pid']")
expect_match "the case's pid" '^[0-9a-f]{32}$' "$CASE"

# The operator reads the store and the configuration, nothing else: the
# keys stay root's, mode 0600, in a directory only root may enter.
OPCONF=$WORK/operator.conf
cp "$CLOUD_CONF" "$OPCONF"
chmod 644 "$OPCONF"
chmod -R a+rX "$CLOUD_STORE"
chmod a+rw "$CLOUD_STORE/lock.mdb"
expect_eq "contact.key mode" "600 root" "$(stat -c '%a %U' "$SYNC_AUTH/contact.key")"
check; ! as_uid "$OPERATOR" cat "$SYNC_AUTH/contact.key" >/dev/null 2>&1 ||
  fail "the operator can read contact.key"
optrace() {
  as_uid "$OPERATOR" anshim-cloud trace --config "${CONF:-$OPCONF}" --pid "$CASE" --from "$FROM" \
    --to "$TO" "$@"
}
entries() { wc -l < "$CLOUD_DIR/audit.log"; }

phase "operator: break-glass refused, a trace recorded as the Unix user"
n=$(entries)
rc=0; out=$(optrace --reveal --reason "operator tries" 2>"$WORK/op.err") || rc=$?
expect_eq "operator --reveal: exit status" 1 "$rc"
expect_eq "operator --reveal: nothing printed" "" "$out"
expect_match "operator --reveal: why" "not in the group $BREAKGLASS_GID" "$(cat "$WORK/op.err")"
expect_eq "operator --reveal: no entry" "$n" "$(entries)"
rc=0; out=$(optrace --as "someone else" --reason x 2>&1) || rc=$?
expect_eq "operator --as: refused" 2 "$rc"
out=$(optrace --reason "operator traces" --json)
expect_eq "operator trace: 2 contacts" 2 "$(pyq "$out" "len(s['contacts'])")"
# The test's phones in any spelling (a bare "7000" could be part of a hex id).
PHONES_RE='10[- ]?7000[- ]?[0-9]{4}'
check; ! grep -Eq "$PHONES_RE|Park|Choi" <<<"$out" || fail "a phone or name in the operator's trace"
out=$(as_uid "$OPERATOR" anshim-cloud trace --config "$OPCONF" --phone '+82 10-7000-0001' \
  --from "$FROM" --to "$TO" --reason "operator by phone" --json)
expect_eq "operator trace by phone (no pseudonym.key): the case" "$CASE" "$(pyq "$out" "s['case']['pid']")"
n=$((n + 1))
expect_match "operator trace: recorded as uid:61001" \
  "$((n + 1))  .*  trace   case $CASE  by \"uid:61001\"" "$(anshim-cloud audit show --config "$CLOUD_CONF")"

phase "a copied configuration with a private audit log still cannot reveal"
mkdir -p "$WORK/op" && chown "$OPERATOR" "$WORK/op"
sed -e "s|^audit_log .*|audit_log $WORK/op/private.log|" "$OPCONF" > "$WORK/op/copy.conf"
chown "$OPERATOR" "$WORK/op/copy.conf"
n=$(entries)
rc=0; out=$(CONF=$WORK/op/copy.conf optrace --reveal --reason "private log" 2>"$WORK/op.err") || rc=$?
expect_eq "copied config --reveal: exit status" 1 "$rc"
expect_eq "copied config --reveal: nothing printed" "" "$out"
check; [ ! -e "$WORK/op/private.log" ] || fail "something was written to the private log"
expect_eq "copied config: no entry in the real log" "$n" "$(entries)"
rc=0; out=$(as_uid "$OPERATOR" anshim-revealed --check-config --config "$WORK/op/copy.conf" 2>&1) || rc=$?
expect_eq "operator's own reveal service: refused" 1 "$rc"
expect_match "operator's own reveal service: why" "contact.key" "$out"

phase "mdb_dump of the store: sealed capsules only"
as_uid "$OPERATOR" mdb_dump -a "$CLOUD_STORE" > "$WORK/dump.hex"
as_uid "$OPERATOR" mdb_dump -a -p "$CLOUD_STORE" > "$WORK/dump.txt"
check; [ "$(wc -c < "$WORK/dump.hex")" -gt 1000 ] || fail "mdb_dump printed almost nothing"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
tr -d ' \n' < "$WORK/dump.hex" > "$WORK/dump.flat"
while read -r spelling; do
  check; ! grep -qF -- "$spelling" "$WORK/dump.txt" || fail "'$spelling' in mdb_dump -p of the store"
  check; ! grep -qF "$(hex "$spelling")" "$WORK/dump.flat" ||
    fail "'$spelling' (hex) in mdb_dump of the store"
done < <(phone_spellings 010-7000-0002; phone_spellings 010-7000-0001
         printf '%s\n' "Park Bee" "Choi Cee" "Case Kim")

phase "break-glass by a member of the group"
n=$(entries)
out=$(as_official anshim-cloud trace --config "$OPCONF" --pid "$CASE" --from "$FROM" --to "$TO" \
  --reveal --reason "break glass" --json)
expect_eq "break-glass: names" '["Choi Cee", "Park Bee"]' \
  "$(pyq "$out" "sorted(c['name'] for c in s['contacts'])")"
expect_match "break-glass entry" "$((n + 1))  .*  break-glass  case $CASE  by \"uid:61003\"" \
  "$(anshim-cloud audit show --config "$CLOUD_CONF")"

phase "two-person reveal over the client API, as the console"
for u in kim:investigator lee:supervisor park:supervisor ana:analyst; do
  printf 'password-%s-1234\n' "${u%%:*}" |
    anshim-cloud user add "${u%%:*}" --role "${u##*:}" --config "$CLOUD_CONF" >/dev/null
done
SOCK=$WORK/reveal.sock
T0=$(date -d "$FROM" +%s) T1=$(date -d "$TO 23:59:59" +%s)
console() { as_uid "$CONSOLE" "$RC" "$SOCK" "$@"; }
refused() { # WHAT CODE CMD...
  local what=$1 code=$2 rc=0 err; shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  expect_eq "$what: refused" 3 "$rc"
  expect_match "$what: why" "^refused $code" "$err"
}
refused "an analyst asks" EPERM console ask ana "$CASE" "$T0" "$T1" 1 "why" "JEJU-9"
ID=$(console ask kim "$CASE" "$T0" "$T1" 1 "call the contacts" "JEJU-42")
expect_match "kim's request" '^[0-9]+$' "$ID"
OWN=$(console ask lee "$CASE" "$T0" "$T1" 1 "my own" "JEJU-43")
refused "a supervisor approves their own request" EPERM console decide lee "$OWN" approve ok
expect_match "two-person rule named" "two-person rule" \
  "$(console decide lee "$OWN" approve ok 2>&1 || true)"
refused "an investigator decides" EPERM console decide kim "$ID" approve ok
refused "open before approval" EALREADY console open kim "$ID"
refused "the operator asks (not the console)" EPERM as_uid "$OPERATOR" "$RC" "$SOCK" ask kim "$CASE" \
  "$T0" "$T1" 1 "x" "y"
console decide park "$ID" approve "checked the case file" >/dev/null
refused "decided twice" EALREADY console decide lee "$ID" refuse "too late"
refused "someone else opens it" EPERM console open lee "$ID"
refused "the operator opens it as kim" EPERM as_uid "$OPERATOR" "$RC" "$SOCK" open kim "$ID"
console decide park "$OWN" refuse "no reason given" >/dev/null
refused "a refused request" EALREADY console open lee "$OWN"
refused "no such request" AS_E_NOT_FOUND console open kim 999999
out=$(console open kim "$ID")
expect_eq "the asker opens it: that trace's contacts" \
  "+821070000002 Park Bee|+821070000003 Choi Cee" \
  "$(cut -d' ' -f2- <<<"$out" | sort | paste -sd'|')"

phase "bad requests: refused, bounded, and the service keeps serving"
bad=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
path = sys.argv[1]
def call(data, shut=True):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    out = b""
    try:
        while True:
            x = s.recv(65536)
            if not x:
                break
            out += x
    except OSError:
        pass
    s.close()
    return out
silent = socket.socket(socket.AF_UNIX); silent.connect(path)   # says nothing
res = []
for data in (b"not json", b'{"op": 7}', b'{"op": "drop_tables"}', b'[1, 2]',
             b'{"op": "log_trace", "who": "", "contacts": 1, "scope": {}, "extra": 1}',
             b'{"op": "derive_pids", "capsules": ["zz"]}'):
    a = json.loads(call(data))
    res.append(a.get("code", "ok"))
res.append("big:%d" % len(call(b'{"op": "' + b"x" * (2 << 20) + b'"}')))
res.append(json.loads(call(json.dumps({"op": "derive_pids", "capsules": []}).encode())).get("code", "ok"))
silent.close()
print(" ".join(res))
PY
)
expect_eq "bad requests" "field field field field field field big:0 ok" "$bad"
check; kill -0 "$REVEAL_PID" || fail "anshim-revealed died on bad requests"

phase "the audit log"
show=$(anshim-cloud audit show --config "$CLOUD_CONF")
expect_match "ask entry" "$ID  .*  ask  *case $CASE  by \"kim\"  case no \"JEJU-42\"" "$show"
expect_match "approve entry" "  approve  case $CASE  by \"park\"  request $ID  case no \"JEJU-42\"" "$show"
expect_match "reveal entry" "  reveal  case $CASE  by \"kim\"  request $ID" "$show"
expect_match "refuse entry" "  refuse  case $CASE  by \"park\"  request $OWN" "$show"
check; ! grep -q "approve .*by \"lee\"" <<<"$show" || fail "lee's self-approval is in the log"
expect_match "audit verify" "chain intact" "$(anshim-cloud audit verify --config "$CLOUD_CONF")"
check; ! grep -Eq "$PHONES_RE|Park|Choi|Case Kim" "$CLOUD_DIR/audit.log" "$REVEAL_LOG" "$CLOUD_LOG" ||
  fail "a phone or name in the audit log or a daemon log"

phase "stopping"
sgw_stop A
cloud_stop
reveal_stop
done_ok
