#!/usr/bin/env bash
# The shipped example configurations are exactly what the daemons' config
# tables generate (so no key goes undocumented and no default drifts), and
# each one passes --check-config.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

for pair in "anshim-gatewayd gateway.conf" "anshim-cloudd cloud.conf"; do
  set -- $pair
  "$1" --print-example-config > "$WORK/$2"
  check
  diff -u "$ROOT/packaging/$2" "$WORK/$2" >&2 ||
    fail "packaging/$2 is stale: regenerate it with '$1 --print-example-config > packaging/$2'"
  out=$("$1" --check-config --config "$ROOT/packaging/$2")
  expect_match "$2 passes --check-config" "is valid" "$out"
done

# A typo is an error that names the line and suggests the key.
printf 'state_dir /tmp/x\nfreshnes 90s\n' > "$WORK/typo.conf"
out=$(anshim-gatewayd --check-config --config "$WORK/typo.conf" 2>&1 || true)
expect_match "unknown key named with its line" "typo.conf:2: unknown key 'freshnes' \(did you mean 'freshness'\?\)" "$out"
done_ok
