# Helpers for the issuer's integration scripts (sourced after lib.sh).
#
# issuer_init [LINE]...  an authority key set ($ISSUER_DIR/auth; or
#                     ISSUER_AUTH, a directory made by anshim-cloud keys
#                     init), a TLS
#                     certificate for 127.0.0.1 made here with openssl, a
#                     consent text, a code sink (the code_command: appends
#                     "PHONE<TAB>MESSAGE" lines to $ISSUER_SINK) and the
#                     configuration, with these extra lines
# issuer_start [ENV]...  anshim-issuerd over HTTPS on a free port (port 0:
#                     read from its ready line); sets ISSUER_PID, ISSUER_URL.
#                     ENV words (e.g. from faketime_env) go before it.
# issuer_stop         SIGTERM: it must exit 0, with no sanitizer report
# issuer_post PATH JSON   POST with curl: sets HTTP_STATUS, HTTP_BODY and
#                     HTTP_HEADERS (a file)
# issuer_code PHONE   the code of the last message the sink got for PHONE
# json_field NAME     a top-level field of $HTTP_BODY (python3)
ISSUER_DIR="$WORK/issuer"
ISSUER_CONF="$ISSUER_DIR/issuer.conf"
ISSUER_LOG="$ISSUER_DIR/issuerd.log"
ISSUER_SINK="$ISSUER_DIR/sent-codes"
ISSUER_CA="$ISSUER_DIR/tls/cert.pem"
ISSUER_PID=
ISSUER_URL=
HTTP_STATUS=
HTTP_BODY=
HTTP_HEADERS="$ISSUER_DIR/headers"

# issuer_write_config [LINE]...: the test defaults, each replaced by a line
# with the same key, or left out for a line "-KEY".
issuer_write_config() {
  local line key defaults=("port 0" "listen 127.0.0.1" "state_dir $ISSUER_DIR/state"
                           "map_size 64M" "contact_pub $ISSUER_DIR/auth/contact.pub"
                           "authority_pub $ISSUER_DIR/auth/sign.pub"
                           "token_id_key $ISSUER_DIR/auth/tokenid.key"
                           "broker ${ISSUER_BROKER:-tcp://127.0.0.1:$ISSUER_NO_BROKER_PORT}"
                           "code_command $ISSUER_DIR/sink.sh"
                           "consent_file $ISSUER_DIR/consent.txt"
                           "tls_cert $ISSUER_DIR/tls/cert.pem"
                           "tls_key $ISSUER_DIR/tls/key.pem" "threads 4" "log_level info")
  {
    for line in "${defaults[@]}"; do
      key=${line%% *}
      printf '%s\n' "$@" | grep -q -e "^$key " -e "^-$key\$" || echo "$line"
    done
    for line in "$@"; do [[ $line == -* ]] || echo "$line"; done
  } > "$ISSUER_CONF"
}

issuer_init() {
  # Without ISSUER_BROKER: a free port nobody listens on (the capsule feed
  # keeps its outbox and retries).
  ISSUER_NO_BROKER_PORT=$(free_port)
  need openssl
  need curl
  need python3
  mkdir -p "$ISSUER_DIR/tls"
  if [ -n "${ISSUER_AUTH:-}" ]; then
    mkdir -p "$ISSUER_DIR/auth"
    cp "$ISSUER_AUTH/contact.pub" "$ISSUER_AUTH/sign.pub" "$ISSUER_AUTH/tokenid.key" \
      "$ISSUER_DIR/auth/"
  else
    anshim-cloud keys init --dir "$ISSUER_DIR/auth" >/dev/null
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$ISSUER_DIR/tls/key.pem" -out "$ISSUER_DIR/tls/cert.pem" 2>/dev/null
  chmod 0600 "$ISSUER_DIR/tls/key.pem"
  printf 'Anshim test consent, version 1.\n방문 기록은 8주 동안 보관됩니다.\n' \
    > "$ISSUER_DIR/consent.txt"
  cat > "$ISSUER_DIR/sink.sh" <<SINK
#!/bin/sh
# The test's code_command: one line per message, "PHONE<TAB>MESSAGE".
read -r phone
read -r message
printf '%s\t%s\n' "\$phone" "\$message" >> "$ISSUER_SINK"
SINK
  chmod 0755 "$ISSUER_DIR/sink.sh"
  issuer_write_config "$@"
}

_issuer_ready_count() { local n; n=$(grep -c "ready: listening on" "$ISSUER_LOG" 2>/dev/null) || true; echo "${n:-0}"; }
_issuer_ready_or_dead() { [ "$(_issuer_ready_count)" -gt "$1" ] || ! kill -0 "$ISSUER_PID" 2>/dev/null; }

issuer_start() {
  local n line port
  n=$(_issuer_ready_count)
  env "$@" anshim-issuerd --config "$ISSUER_CONF" >> "$ISSUER_LOG" 2>&1 5>&- 6>&- 7>&- 8>&- 9>&- &
  ISSUER_PID=$!
  CLEANUP_PIDS+=("$ISSUER_PID")
  wait_for 30 "anshim-issuerd to listen" _issuer_ready_or_dead "$n"
  [ "$(_issuer_ready_count)" -gt "$n" ] || fail "anshim-issuerd did not start: $(tail -n 3 "$ISSUER_LOG")"
  line=$(grep 'ready: listening on' "$ISSUER_LOG" | tail -n 1)
  port=$(echo "$line" | sed -n 's|.*listening on https://[^ ]*:\([0-9]*\)/.*|\1|p')
  [ -n "$port" ] || fail "no https port in the ready line: $line"
  ISSUER_URL="https://127.0.0.1:$port"
}

issuer_stop() {
  local rc=0
  kill -TERM "$ISSUER_PID"
  wait "$ISSUER_PID" || rc=$?
  expect_eq "anshim-issuerd exit status after SIGTERM" 0 "$rc"
  ISSUER_PID=
  check
  if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$ISSUER_LOG"; then
    fail "sanitizer report in the issuer's log: $(grep -E -m 5 'runtime error:|Sanitizer' "$ISSUER_LOG")"
  fi
}

issuer_alive() { [ -n "$ISSUER_PID" ] && kill -0 "$ISSUER_PID" 2>/dev/null; }

# issuer_post PATH JSON [curl options]...
issuer_post() {
  local path=$1 body=$2; shift 2
  HTTP_STATUS=$(printf '%s' "$body" | curl -sS --cacert "$ISSUER_CA" --max-time 30 \
    -o "$ISSUER_DIR/body" -D "$HTTP_HEADERS" -w '%{http_code}' \
    -H "Content-Type: ${ISSUER_CT:-application/json}" --data-binary @- "$@" "$ISSUER_URL$path") ||
    HTTP_STATUS=000
  HTTP_BODY=$(cat "$ISSUER_DIR/body" 2>/dev/null || true)
}

issuer_get() {
  HTTP_STATUS=$(curl -sS --cacert "$ISSUER_CA" --max-time 30 -o "$ISSUER_DIR/body" \
    -D "$HTTP_HEADERS" -w '%{http_code}' "$ISSUER_URL$1") || HTTP_STATUS=000
  HTTP_BODY=$(cat "$ISSUER_DIR/body" 2>/dev/null || true)
}

json_field() {
  printf '%s' "$HTTP_BODY" | python3 -c \
    'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

# issuer_code E164: the 6 digits of the last message sent to that number.
issuer_code() {
  grep -F "$1	" "$ISSUER_SINK" 2>/dev/null | tail -n 1 | cut -f 2 | grep -o '[0-9]\{6\}' | head -n 1
}

# holder_key_hex DIR: a wallet's holder public key in hex (anshim-wallet new).
holder_key_hex() { sed -n 2p "$1/holder.pub"; }

# consent_json: "consent_version":N,"consent_hash":"HEX" of the served text.
consent_json() {
  issuer_get /v1/consent
  [ "$HTTP_STATUS" = 200 ] || fail "GET /v1/consent: $HTTP_STATUS $HTTP_BODY"
  printf '"consent_version":%s,"consent_hash":"%s"' "$(json_field version)" "$(json_field hash)"
}

# issuer_enrol_wallet DIR PHONE E164: a new wallet in DIR enrolled at the
# issuer by the code the sink got for E164 (anshim-wallet enrol --yes, the
# code typed on its standard input); it then holds 64 visit tokens.
issuer_enrol_wallet() {
  local dir=$1 phone=$2 e164=$3 before pid rc=0
  anshim-wallet new --dir "$dir" >/dev/null
  before=$(grep -c "^$e164	" "$ISSUER_SINK" 2>/dev/null || true)
  mkfifo "$dir.in"
  anshim-wallet enrol --dir "$dir" --issuer "$ISSUER_URL" --ca "$ISSUER_CA" --yes \
    --phone "$phone" < "$dir.in" > "$dir.enrol.out" 2>&1 &
  pid=$!
  CLEANUP_PIDS+=("$pid")
  exec 8> "$dir.in"
  _issuer_new_code() { [ "$(grep -c "^$1	" "$ISSUER_SINK" 2>/dev/null || true)" -gt "$2" ]; }
  wait_for 30 "a code for $e164" _issuer_new_code "$e164" "${before:-0}"
  issuer_code "$e164" >&8
  exec 8>&-
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "enrolling $e164 failed: $(cat "$dir.enrol.out")"
  grep -q '64 visit tokens ready' "$dir.enrol.out" || fail "no tokens for $e164: $(cat "$dir.enrol.out")"
}
