#!/usr/bin/env bash
# The shipped example configurations are exactly what the daemons' config
# tables generate (so no key goes undocumented and no default drifts), and
# each one parses.  --check-config checks what start-up checks: it says
# "valid" only when the daemon would start, and otherwise names what is
# missing (init never run, authority key absent, cloud keys absent) the same
# way the daemon does when it refuses to start.  Without the file, the
# daemons and 'anshim-gw init' refuse alike, naming the file.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

pairs=("anshim-gatewayd gateway.conf" "anshim-cloudd cloud.conf")
command -v anshim-consoled >/dev/null && pairs+=("anshim-consoled console.conf")
command -v anshim-issuerd >/dev/null && pairs+=("anshim-issuerd issuer.conf")
for pair in "${pairs[@]}"; do
  set -- $pair
  "$1" --print-example-config > "$WORK/$2"
  check
  diff -u "$ROOT/packaging/$2" "$WORK/$2" >&2 ||
    fail "packaging/$2 is stale: regenerate it with '$1 --print-example-config > packaging/$2'"
  # The settings parse (whether this machine could run them is the rest of
  # this test, with files it controls).
  out=$("$1" --check-config --config "$ROOT/packaging/$2" 2>&1 || true)
  expect_match "$2 parses" "is valid and $1 can start|$ROOT/packaging/$2 parses, but $1 would not start" "$out"
done

# A typo is an error that names the line and suggests the key.
printf 'state_dir /tmp/x\nfreshnes 90s\n' > "$WORK/typo.conf"
out=$(anshim-gatewayd --check-config --config "$WORK/typo.conf" 2>&1 || true)
expect_match "unknown key named with its line" "typo.conf:2: unknown key 'freshnes' \(did you mean 'freshness'\?\)" "$out"

# ---- the gateway: init never run, then no authority key, then ready ----
GWC=$WORK/gw.conf
cat > "$GWC" <<CONF
state_dir $WORK/gw-state
authority_key $WORK/authority.pub
control_socket $WORK/gw.sock
source stdin
CONF
# check_refused WHAT REGEX PROGRAM ARGS...: --check-config and a real start
# both fail with the same reason.
check_refused() {
  local what=$1 re=$2 rc=0 out; shift 2
  out=$("$@" --check-config 2>&1) || rc=$?
  expect_eq "$what: --check-config exit status" 1 "$rc"
  expect_match "$what: --check-config says why" "would not start: $re" "$out"
  check; [[ $out == *"is valid"* ]] && fail "$what: --check-config said valid: $out"
  rc=0; out=$(timeout 20 "$@" </dev/null 2>&1) || rc=$?
  expect_eq "$what: the daemon refuses to start" 1 "$rc"
  expect_match "$what: the daemon says the same" "error: $re" "$out"
}
check_refused "gateway before init" \
  "cannot read $WORK/gw-state/device.key: .*run 'anshim-gw init --config FILE' first" \
  anshim-gatewayd --config "$GWC"
out=$(anshim-gw init --config "$GWC")
expect_match "init names the configuration used" "^configuration $GWC"$'\n'"created gateway keys in $WORK/gw-state" "$out"
check_refused "gateway without the authority key" \
  "cannot read the authority key $WORK/authority.pub: .*copy the authority's sign.pub there, or set authority_key in $GWC" \
  anshim-gatewayd --config "$GWC"
anshim-cloud keys init --dir "$WORK/auth" >/dev/null
cp "$WORK/auth/sign.pub" "$WORK/authority.pub"
out=$(anshim-gatewayd --config "$GWC" --check-config)
expect_match "gateway ready: valid" "# configuration $GWC is valid and anshim-gatewayd can start with it" "$out"

# ---- the cloud: no keys, then ready ----
CLC=$WORK/cloud.conf
printf 'store_dir %s\nkeys_dir %s\naudit_log %s\n' "$WORK/store" "$WORK/nokeys" \
  "$WORK/audit.log" > "$CLC"
check_refused "cloud without keys" \
  "cannot load authority key $WORK/nokeys/sign.key: .*create the keys with 'anshim-cloud keys init --dir DIR'; or set keys_dir in $CLC" \
  anshim-cloudd --config "$CLC"
sed -i "s|$WORK/nokeys|$WORK/auth|" "$CLC"
out=$(anshim-cloudd --config "$CLC" --check-config)
expect_match "cloud ready: valid" "# configuration $CLC is valid and anshim-cloudd can start with it" "$out"

# ---- no configuration file: every program says the same, naming it ----
for cmd in "anshim-gatewayd" "anshim-cloudd" "anshim-gw init" "anshim-gatewayd --check-config"; do
  rc=0
  # shellcheck disable=SC2086
  out=$($cmd --config "$WORK/missing.conf" 2>&1 </dev/null) || rc=$?
  expect_eq "$cmd, missing file: exit status" 1 "$rc"
  expect_match "$cmd, missing file: named" "$WORK/missing.conf: no such configuration file \(check the --config argument\)" "$out"
done
[ ! -e "$WORK/gw-state2" ] || fail "init without a configuration created state"
check
# Without --config the default file is used, and must exist likewise
# (checked only where this machine has none, e.g. not with the packages
# installed).
if [ ! -e /etc/anshim/gateway.conf ] && [ ! -e /etc/anshim/cloud.conf ]; then
  for cmd in anshim-gatewayd anshim-cloudd "anshim-gw init"; do
    rc=0
    # shellcheck disable=SC2086
    out=$($cmd 2>&1 </dev/null) || rc=$?
    expect_eq "$cmd, no default file: exit status" 1 "$rc"
    expect_match "$cmd, no default file: named with the fix" \
      "no configuration file /etc/anshim/(gateway|cloud).conf: write one with 'anshim-(gatewayd|cloudd) --print-example-config > /etc/anshim/(gateway|cloud).conf'" "$out"
  done
  check; [ ! -e /var/lib/anshim-gateway/device.key ] || fail "anshim-gw init wrote keys without a configuration"
fi
done_ok
