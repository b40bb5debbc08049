# Helpers for the console's integration scripts (sourced after lib.sh).
#
# console_init        an authority key set, a cloud configuration, an empty
#                     store (made by 'anshim-cloud policy set'), a web dir
# console_user N R P  account N with role R and password P
# console_start [LINE]...  anshim-consoled on a free port (port 0: the port
#                     is read from its ready line) with these extra
#                     configuration lines; sets CONSOLE_PID, CONSOLE_PORT,
#                     CONSOLE_URL
# console_stop        SIGTERM: it must exit 0 with a clean log
# console_py          python3 with console_client.py importable
CONSOLE_DIR="$WORK/console"
CONSOLE_CONF="$CONSOLE_DIR/console.conf"
CLOUD_CONF="$CONSOLE_DIR/cloud.conf"
CONSOLE_LOG="$CONSOLE_DIR/consoled.log"
CONSOLE_PID=
CONSOLE_PORT=
CONSOLE_URL=
CONSOLE_SCHEME=http
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

console_init() {
  mkdir -p "$CONSOLE_DIR/web"
  anshim-cloud keys init --dir "$CONSOLE_DIR/auth" >/dev/null
  cat > "$CLOUD_CONF" <<CONF
store_dir $CONSOLE_DIR/store
keys_dir $CONSOLE_DIR/auth
audit_log $CONSOLE_DIR/audit.log
accounts $CONSOLE_DIR/accounts
reveal_socket $CONSOLE_DIR/reveal.sock
map_size 1G
CONF
  anshim-cloud policy set --config "$CLOUD_CONF" --level 3 --no-publish >/dev/null
  printf '<!doctype html><title>console</title>\n' > "$CONSOLE_DIR/web/index.html"
  printf 'export const ok = 1;\n' > "$CONSOLE_DIR/web/app.js"
}

console_user() {
  printf '%s\n' "$3" | anshim-cloud user add "$1" --role "$2" --config "$CLOUD_CONF" >/dev/null
}

_console_ready_count() { local n; n=$(grep -c "ready: listening on" "$CONSOLE_LOG" 2>/dev/null) || true; echo "${n:-0}"; }
_console_ready_above() { [ "$(_console_ready_count)" -gt "$1" ]; }

# console_write_config [LINE]...: the test defaults, each replaced by an
# extra line with the same key.
console_write_config() {
  local line key defaults=("port 0" "web_dir $CONSOLE_DIR/web" "cloud_config $CLOUD_CONF"
                           "threads 4" "log_level info")
  {
    for line in "${defaults[@]}"; do
      key=${line%% *}
      printf '%s\n' "$@" | grep -q "^$key " || echo "$line"
    done
    for line in "$@"; do echo "$line"; done
  } > "$CONSOLE_CONF"
}

_console_ready_or_dead() { _console_ready_above "$1" || ! kill -0 "$CONSOLE_PID" 2>/dev/null; }

console_start() {
  local n line
  console_write_config "$@"
  n=$(_console_ready_count)
  anshim-consoled --config "$CONSOLE_CONF" >> "$CONSOLE_LOG" 2>&1 5>&- 6>&- 7>&- 8>&- 9>&- &
  CONSOLE_PID=$!
  CLEANUP_PIDS+=("$CONSOLE_PID")
  wait_for 30 "anshim-consoled to listen" _console_ready_or_dead "$n"
  _console_ready_above "$n" || fail "anshim-consoled did not start: $(tail -n 3 "$CONSOLE_LOG")"
  line=$(grep 'ready: listening on' "$CONSOLE_LOG" | tail -n 1)
  CONSOLE_PORT=$(echo "$line" | sed -n 's|.*listening on https\{0,1\}://[^ ]*:\([0-9]*\)/.*|\1|p')
  CONSOLE_SCHEME=$(echo "$line" | sed -n 's|.*listening on \(https\{0,1\}\)://.*|\1|p')
  [ -n "$CONSOLE_PORT" ] || fail "no port in the ready line: $line"
  CONSOLE_URL="$CONSOLE_SCHEME://127.0.0.1:$CONSOLE_PORT"
  export CONSOLE_URL CONSOLE_PID
}

console_stop() {
  local rc=0
  kill -TERM "$CONSOLE_PID"
  wait "$CONSOLE_PID" || rc=$?
  expect_eq "anshim-consoled exit status after SIGTERM" 0 "$rc"
  CONSOLE_PID=
  check
  if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$CONSOLE_LOG"; then
    fail "sanitizer report in the console's log: $(grep -E -m 5 'runtime error:|Sanitizer' "$CONSOLE_LOG")"
  fi
}

console_alive() { [ -n "$CONSOLE_PID" ] && kill -0 "$CONSOLE_PID" 2>/dev/null; }

console_py() { PYTHONPATH="$TESTS_DIR${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"; }
