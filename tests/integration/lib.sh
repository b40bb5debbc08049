# Shared helpers for Anshim's integration scripts (sourced, not run).
#
# Every script gets: a private scratch dir removed on exit ($WORK), the
# built programs on PATH (from ANSHIM_BUILD_DIR), fail/check helpers, and
# wait_for, which polls a condition against a deadline instead of sleeping
# a fixed time.
set -euo pipefail

: "${ANSHIM_BUILD_DIR:?set ANSHIM_BUILD_DIR to the CMake build directory}"
export PATH="$ANSHIM_BUILD_DIR/cloud:$ANSHIM_BUILD_DIR/gateway:$ANSHIM_BUILD_DIR/wallet:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/anshim-it.XXXXXX")
CLEANUP_PIDS=()

cleanup() {
  local pid
  for pid in "${CLEANUP_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${CLEANUP_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

CHECKS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { CHECKS=$((CHECKS + 1)); }
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  check
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
# expect_match WHAT REGEX ACTUAL
expect_match() {
  check
  [[ "$3" =~ $2 ]] || fail "$1: '$3' does not match /$2/"
}

# Skip (exit 77) when a tool the test needs is truly absent.
need() {
  command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 not installed (run scripts/setup)"; exit 77; }
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 20 ms until it
# succeeds or the deadline passes.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.02
  done
}

# Print a free TCP port on 127.0.0.1 (bound and released by the kernel).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

done_ok() { echo "PASS: $(basename "$0") ($CHECKS checks)"; }
