# Shared helpers for Anshim's integration scripts (sourced, not run).
#
# Every script gets: a private scratch dir removed on exit ($WORK), the
# built programs on PATH (from ANSHIM_BUILD_DIR), fail/check helpers, and
# wait_for, which polls a condition against a deadline instead of sleeping
# a fixed time.
set -euo pipefail

: "${ANSHIM_BUILD_DIR:?set ANSHIM_BUILD_DIR to the CMake build directory}"
# The tests are a venue in Korea: the machine's clock shows Korean time,
# the zone the gateway reads paper-register times in by default
# (timezone Asia/Seoul), so 'date' gives the times staff would write down.
# A test of another zone sets TZ for its own commands.
export TZ=Asia/Seoul
export PATH="$ANSHIM_BUILD_DIR/cloud:$ANSHIM_BUILD_DIR/cloud/console:$ANSHIM_BUILD_DIR/cloud/issuer:$ANSHIM_BUILD_DIR/gateway:$ANSHIM_BUILD_DIR/wallet:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/anshim-it.XXXXXX")
CLEANUP_PIDS=()

# _descendants PID: the pids of every process below PID in the process tree.
_descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = parent[p]
            while (q != root && (q in parent) && q > 1) q = parent[q]
            if (q == root) print p } }'
}

# _any_running PID...: one of them is still running (not a zombie).
_any_running() { ps -o stat= -p "$(echo "$@" | tr ' ' ,)" 2>/dev/null | grep -qv '^Z'; }

# On exit, every process this script started is stopped and reaped: the
# ones in CLEANUP_PIDS (SIGTERM, then wait), then any other descendant
# still running (a process started inside a background subshell or a
# command substitution), taken as a list before the first kill, since a
# process whose parent dies is no longer below this script.
cleanup() {
  local status=$? pid left deadline
  left=$(_descendants $$)
  for pid in "${CLEANUP_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${CLEANUP_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # shellcheck disable=SC2086 # a list of pids
  if [ -n "$left" ] && kill $left 2>/dev/null; then
    deadline=$(( $(date +%s) + 5 ))
    while [ "$(date +%s)" -lt "$deadline" ] && _any_running $left; do sleep 0.05; done
    kill -KILL $left 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  # ANSHIM_TEST_KEEP=1 keeps a failed test's scratch directory (logs,
  # stores, journals) to look at.
  if [ "$status" -ne 0 ] && [ "${ANSHIM_TEST_KEEP:-0}" = 1 ]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
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

# ---- The reveal service (anshim-revealed) ----
#
# reveal_start CONF [USER]: start the reveal service on the cloud
# configuration CONF (as USER, "uid:gid", via setpriv, if given) and wait
# until it is ready.  A configuration without reveal_socket gets one in
# $WORK, and one without reveal_breakglass_group names this user's group,
# so the test's own 'anshim-cloud trace --reveal' is the break-glass case.
# Its log: $REVEAL_LOG.  Every trace, reveal and paper-register pid goes
# through it: start it before anshim-cloudd or 'anshim-cloud trace'.
REVEAL_PID=
REVEAL_LOG=$WORK/revealed.log
reveal_start() {
  local conf=$1 as=${2:-} n pre=()
  grep -q '^reveal_socket ' "$conf" || echo "reveal_socket $WORK/reveal.sock" >> "$conf"
  grep -q '^reveal_breakglass_group ' "$conf" ||
    echo "reveal_breakglass_group $(id -g)" >> "$conf"
  [ -z "$as" ] || pre=(setpriv --reuid "${as%%:*}" --regid "${as##*:}" --clear-groups)
  n=$(grep -c 'notice: ready' "$REVEAL_LOG" 2>/dev/null || true)
  "${pre[@]}" anshim-revealed --config "$conf" >> "$REVEAL_LOG" 2>&1 &
  REVEAL_PID=$!
  CLEANUP_PIDS+=("$REVEAL_PID")
  wait_for 30 "anshim-revealed to be ready (see $REVEAL_LOG)" \
    _reveal_ready "${n:-0}"
}
_reveal_ready() {
  kill -0 "$REVEAL_PID" || fail "anshim-revealed exited: $(tail -n 3 "$REVEAL_LOG")"
  [ "$(grep -c 'notice: ready' "$REVEAL_LOG" || true)" -gt "$1" ]
}

# ---- Gateway helpers (anshim-gatewayd + anshim-gw on real files) ----
#
# gw_init [EXTRA_CONFIG_LINE]... sets up one gateway under $WORK:
#   GW_AUTH   authority key dir ($WORK/auth)     GW_STATE  state dir
#   GW_CONF   config file                        GW_LOG    daemon stderr
#   GW_CTL    control socket                     GW_SCAN   scan socket source
# The config always has 'source socket $GW_SCAN' and 'clock unsynced'; extra
# lines are appended (gw_write_config rewrites it later, e.g. before SIGHUP).
BENCH_DIR="$ANSHIM_BUILD_DIR/bench"
GW_PID=

gw_write_config() {
  {
    echo "state_dir $GW_STATE"
    echo "authority_key $GW_AUTH/sign.pub"
    echo "control_socket $GW_CTL"
    echo "source socket $GW_SCAN"
    echo "log_level info"
    local line has_clock=0 has_web=0
    for line in "$@"; do
      echo "$line"
      case $line in clock\ *) has_clock=1 ;; web_port\ *) has_web=1 ;; esac
    done
    # the staff screen on a free port: tests run side by side
    [ "$has_web" = 1 ] || echo "web_port 0"
    [ "$has_clock" = 1 ] || echo "clock unsynced"
  } > "$GW_CONF"
}

gw_init() {
  GW_AUTH=$WORK/auth GW_STATE=$WORK/state GW_CONF=$WORK/gw.conf GW_LOG=$WORK/gatewayd.log
  GW_CTL=$WORK/control.sock GW_SCAN=$WORK/scan.sock
  [ -e "$GW_AUTH/sign.pub" ] || anshim-cloud keys init --dir "$GW_AUTH" >/dev/null
  gw_write_config "$@"
  anshim-gw init --config "$GW_CONF" >/dev/null
}

# cloud_policy KEYS_DIR OUT LEVEL [anshim-cloud policy set options]...: sign
# a new (newer) policy with the authority in KEYS_DIR and copy it to OUT,
# without publishing it.  The authority's cloud store (where policy set
# keeps the last policy and the revoked credentials) is KEYS_DIR.store,
# configured in KEYS_DIR.cloud.conf.
cloud_policy() {
  local keys=$1 out=$2 level=$3
  shift 3
  [ -e "$keys.cloud.conf" ] ||
    printf 'store_dir %s\nkeys_dir %s\naudit_log %s\nmap_size 16M\n' \
      "$keys.store" "$keys" "$keys.store/audit.log" > "$keys.cloud.conf"
  anshim-cloud policy set --config "$keys.cloud.conf" --level "$level" --out "$out" \
    --no-publish "$@" >/dev/null
}

# gw_policy LEVEL [anshim-cloud policy set options]...: sign a new (newer)
# policy with $GW_AUTH and put it in the state dir.
gw_policy() {
  local level=$1
  shift
  cloud_policy "$GW_AUTH" "$GW_STATE/policy" "$level" "$@"
}

gw_status() { anshim-gw status --json --config "$GW_CONF"; }

# gw_status_field KEY: one scalar top-level value of the status JSON (a
# string without its quotes); fails if KEY is absent.  Use python3 for the
# "sources" list.
gw_status_field() {
  local json value
  json=$(gw_status) || return 1
  [[ $json =~ \"$1\":(\"[^\"]*\"|[^,}]*) ]] || return 1
  value=${BASH_REMATCH[1]}
  value=${value#\"}
  echo "${value%\"}"
}

# gw_status_is KEY VALUE: succeeds when the status field equals VALUE.
gw_status_is() { [ "$(gw_status_field "$1" 2>/dev/null)" = "$2" ]; }

# gw_start: start the daemon in the background (stdin from $GW_STDIN, default
# /dev/null; stderr appended to $GW_LOG) and wait until it answers status.
# File descriptors 5-9 are the test's own (e.g. the write end of a FIFO it
# feeds) and are not passed on to the daemon.
# With GW_FAKETIME set (e.g. +50y), the daemon sees its wall clock that far
# off (libfaketime; monotonic time stays real).
gw_start() {
  local pre=()
  [ -z "${GW_FAKETIME:-}" ] || pre=(env $(faketime_env "$GW_FAKETIME"))
  "${pre[@]}" anshim-gatewayd --config "$GW_CONF" < "${GW_STDIN:-/dev/null}" >> "$GW_LOG" 2>&1 \
    5>&- 6>&- 7>&- 8>&- 9>&- &
  GW_PID=$!
  CLEANUP_PIDS+=("$GW_PID")
  wait_for 30 "anshim-gatewayd to answer status" gw_status
}

# faketime_env OFFSET: the environment (NAME=VALUE words) that runs a
# program with its wall clock OFFSET off (libfaketime; monotonic time stays
# real).  Sanitizer builds: ASan wants to be first of the preloaded
# libraries; this tells it not to mind.
faketime_env() {
  echo "LD_PRELOAD=$(faketime_lib) FAKETIME=$1 FAKETIME_DONT_FAKE_MONOTONIC=1" \
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

# faketime_lib: the path of libfaketime (package faketime).
faketime_lib() {
  local f
  for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
    [ -e "$f" ] && { echo "$f"; return 0; }
  done
  fail "libfaketime not found (install the faketime package)"
}

_gw_forget_pid() {
  local keep=() p
  for p in "${CLEANUP_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  CLEANUP_PIDS=("${keep[@]}")
}

# gw_stop: SIGTERM the daemon and check that it exits 0 (clean shutdown;
# under ASan a leak or error also makes this fail) with a clean log.
gw_stop() {
  local rc=0
  kill -TERM "$GW_PID"
  wait "$GW_PID" || rc=$?
  _gw_forget_pid "$GW_PID"
  expect_eq "anshim-gatewayd exit status after SIGTERM" 0 "$rc"
  gw_log_clean
}

# gw_log_clean: the daemon log has no sanitizer report (ASan/UBSan builds).
gw_log_clean() {
  check
  if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$GW_LOG"; then
    fail "sanitizer report in the daemon log: $(grep -E -m 5 'runtime error:|Sanitizer' "$GW_LOG")"
  fi
}

# gw_kill9: kill the daemon with SIGKILL (a power cut, as far as it knows).
gw_kill9() {
  kill -KILL "$GW_PID"
  wait "$GW_PID" 2>/dev/null || true
  _gw_forget_pid "$GW_PID"
}

# gw_alive: the daemon process still runs.
gw_alive() { kill -0 "$GW_PID" 2>/dev/null; }

# gw_scan SOCKET [LINE]...: send each LINE (or, without any, each line of
# standard input, as bytes) to a scan socket, one at a time, and print each
# one-line answer.  Empty lines are skipped (the daemon does not answer them).
_GW_SCAN_PY=$(cat <<'PY'
import os, socket, sys
path = sys.argv[1]
if len(sys.argv) > 2:
    lines = [os.fsencode(a) for a in sys.argv[2:]]
else:
    lines = [l.rstrip(b"\n") for l in sys.stdin.buffer]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
f = s.makefile("rb")
for line in lines:
    if not line:
        continue
    s.sendall(line + b"\n")
    answer = f.readline()
    if not answer:
        sys.exit("gw_scan: the daemon closed the connection")
    print(answer.decode().rstrip("\n"), flush=True)
PY
)
gw_scan() { python3 -c "$_GW_SCAN_PY" "$@"; }

# gw_journal: the journal as JSON lines (read directly from LMDB).
gw_journal() { anshim-gw journal --json --config "$GW_CONF"; }

# gw_journal_count: number of journaled records.
gw_journal_count() { gw_journal | wc -l; }

# gw_wallet DIR PHONE NAME: a wallet with a credential issued a day ago.
gw_wallet() {
  anshim-wallet new --dir "$1" >/dev/null
  anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$GW_AUTH" --holder "$1/holder.pub" \
    --phone "$2" --name "$3" --out "$1/credential" >/dev/null
}

# gw_pass DIR [AT]: a pass for the wallet in DIR, made now (or at AT).
gw_pass() { anshim-wallet pass --dir "$1" --at "${2:-$(date +%s)}" --format text; }

# log_has REGEX: the daemon log has a line matching REGEX (grep -E).
log_has() { grep -Eq -- "$1" "$GW_LOG"; }

# file_lines_at_least FILE N: FILE exists and has at least N lines.
file_lines_at_least() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# gw_reload: SIGHUP the daemon and wait until it logs that the configuration
# (and the policy file) were re-read.
gw_reload() {
  local n
  n=$(grep -c 'configuration reloaded' "$GW_LOG" || true)
  kill -HUP "$GW_PID"
  wait_for 20 "the daemon to reload its configuration" _gw_log_count_above 'configuration reloaded' "$n"
}
_gw_log_count_above() { [ "$(grep -c -- "$1" "$GW_LOG" || true)" -gt "$2" ]; }

# known_bug ID WHAT EXPECTED ACTUAL: like expect_eq, for a check that fails
# because of a known, reported bug: a mismatch prints "KNOWN-BUG ID" and
# returns 1 (so the test can skip what depends on it) instead of failing,
# unless ANSHIM_STRICT_KNOWN_BUGS=1.  A match returns 0.
KNOWN_BUGS=0
known_bug() {
  check
  [ "$3" = "$4" ] && return 0
  echo "KNOWN-BUG $1: $2: expected '$3', got '$4'" >&2
  [ "${ANSHIM_STRICT_KNOWN_BUGS:-0}" = 1 ] && fail "known bug $1 (ANSHIM_STRICT_KNOWN_BUGS=1)"
  KNOWN_BUGS=$((KNOWN_BUGS + 1))
  return 1
}

# gw_events_subscribed FILE: wait until a background 'anshim-gw events'
# writing to FILE is subscribed.  Sends one malformed scan ("events-probe")
# at a time and waits up to 5 s for its event to reach FILE, up to 10 times;
# a probe sent before the subscription is not delivered, so FILE ends up
# with exactly one probe event, {"outcome":"rejected","reason":"malformed",...}.
gw_events_subscribed() {
  local try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    gw_scan "$GW_SCAN" events-probe > /dev/null
    if (wait_for 5 "the probe event" test -s "$1") 2>/dev/null; then
      return 0
    fi
  done
  fail "anshim-gw events did not subscribe (no probe event in $1)"
}

# expect_absent WHAT FILE STRING...: no STRING occurs anywhere in FILE, read
# as bytes (grep -a -F -c must count 0).
expect_absent() {
  local what=$1 file=$2 s found patterns=()
  shift 2
  for s in "$@"; do
    [ -n "$s" ] || fail "expect_absent: empty string"
    patterns+=(-e "$s")
    check
  done
  [ -r "$file" ] || fail "expect_absent: cannot read $file"
  found=$(grep -a -F -o "${patterns[@]}" -- "$file" | sort -u | head -n 5 || true)
  [ -z "$found" ] || fail "$what: $(sed "s/.*/'&'/" <<< "$found" | tr '\n' ' ')occurs in $file"
}

# make_tls_cert DIR: a self-signed certificate for 127.0.0.1 (EC P-256, two
# days) in DIR/cert.pem, its key in DIR/key.pem (mode 0600); needs openssl.
make_tls_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
  chmod 0600 "$1/key.pem"
}

# phone_spellings 010-1234-5678: the number as 010-1234-5678, 01012345678,
# +821012345678, 821012345678 and 1012345678 (one per line).
phone_spellings() {
  local d=${1//-/}
  printf '%s\n' "$1" "$d" "+82${d#0}" "82${d#0}" "${d#0}"
}

# python3, resolved once: through a version manager's shim (pyenv) every call
# costs a shell script and a second process, which the gateway tests, with
# dozens of small python3 clients each, feel on a loaded 2-core machine.
ANSHIM_PYTHON=$(command python3 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)
# A function: in the background ('python3 ... &') it would run in a
# subshell, and $! would not be python's pid; start "$ANSHIM_PYTHON" there.
python3() { "$ANSHIM_PYTHON" "$@"; }
