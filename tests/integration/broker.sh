# Broker helpers for integration scripts (sourced after lib.sh).
#
# start_broker [ACL_FILE PASSWD_FILE]: start a real mosquitto on a free
# loopback port (anonymous, or with the given ACL and password file and
# the access settings of packaging/mosquitto/anshim.conf; plus the lines
# in BROKER_EXTRA_CONF, if set),
# export BROKER_PORT and BROKER_URI, and wait until it accepts connections.
# stop_broker / restart_broker for outage tests.

need mosquitto
need mosquitto_pub
need mosquitto_sub

BROKER_PID=
start_broker() {
  local conf="$WORK/mosquitto.conf"
  : "${BROKER_PORT:=$(free_port)}"
  export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
  {
    echo "per_listener_settings false"
    echo "persistence false"
    echo "listener $BROKER_PORT 127.0.0.1"
    if [ $# -ge 2 ]; then
      # mosquitto started as root drops to user 'mosquitto' before reading
      # these files, which live in our private $WORK: keep our own user.
      echo "user $(id -un)"
      echo "allow_anonymous false"
      echo "acl_file $1"
      echo "password_file $2"
      # The access settings of the shipped production configuration.
      grep -E '^use_username_as_clientid[[:space:]]' \
        "$(dirname "${BASH_SOURCE[0]}")/../../packaging/mosquitto/anshim.conf" || true
    else
      echo "allow_anonymous true"
    fi
    # Extra lines a test needs (e.g. max_queued_messages).
    [ -z "${BROKER_EXTRA_CONF:-}" ] || printf '%s\n' "$BROKER_EXTRA_CONF"
  } > "$conf"
  mosquitto -c "$conf" > "$WORK/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  CLEANUP_PIDS+=("$BROKER_PID")
  wait_for 10 "mosquitto on port $BROKER_PORT" broker_up
}

broker_up() {
  python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$BROKER_PORT),0.5); s.close()"
}

stop_broker() {
  [ -n "$BROKER_PID" ] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
}

restart_broker() {
  stop_broker
  start_broker "$@"
}
