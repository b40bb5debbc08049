#!/usr/bin/env bash
# The broker-account steps of docs/OPERATE-CLOUD.md, done for real on a
# fresh password file with a cautious umask (077, as under many sudo
# setups): the first mosquitto_passwd needs -c (without it the call fails);
# later calls add accounts and keep the file's owner and mode; the broker,
# which reads the file as the 'mosquitto' user when started as root, then
# accepts each account with its password and refuses a wrong one; a SIGHUP
# (systemctl reload) makes it read an account added while it runs.  As root
# the test also shows why the file must belong to 'mosquitto': the same
# file owned by root, mode 0600, stops the broker.  Run as another user it
# checks the rest with the broker running as that user.
. "$(dirname "$0")/lib.sh"
need mosquitto_passwd
. "$(dirname "$0")/broker.sh"

AS_ROOT=0
[ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1 && AS_ROOT=1
# The broker, as 'mosquitto', must reach the file: $WORK may be traversed.
chmod 0711 "$WORK"
ETC=$WORK/etc
mkdir -m 0755 "$ETC"
PASSWD=$ETC/anshim.passwd
GW_ID=gw/0123456789abcdef0123456789abcdef

rc=0; out=$(mosquitto_passwd -b "$PASSWD" anshim-cloud cloud-pw 2>&1) || rc=$?
check; [ "$rc" != 0 ] || fail "mosquitto_passwd without -c on a missing file succeeded"
expect_match "without -c on a missing file" "Unable to open password file" "$out"

(umask 077; mosquitto_passwd -c -b "$PASSWD" anshim-cloud cloud-pw)
if [ "$AS_ROOT" = 1 ]; then
  chown mosquitto:mosquitto "$PASSWD"
  OWNER=mosquitto:mosquitto
else
  OWNER=$(id -un):$(id -gn)
fi
chmod 0600 "$PASSWD"
(umask 077; mosquitto_passwd -b "$PASSWD" "$GW_ID" gw-pw)
expect_eq "owner and mode kept by a later call" "$OWNER 600" "$(stat -c '%U:%G %a' "$PASSWD")"
expect_eq "two accounts" 2 "$(wc -l < "$PASSWD")"

BROKER_PORT=$(free_port)
CONF=$WORK/accounts.conf
{
  echo "per_listener_settings false"
  echo "persistence false"
  echo "listener $BROKER_PORT 127.0.0.1"
  echo "allow_anonymous false"
  echo "password_file $PASSWD"
} > "$CONF"
chmod 0644 "$CONF"
# broker_start: mosquitto with $CONF (as root it switches to 'mosquitto'
# before reading the password file), in the background.
broker_start() {
  mosquitto -c "$CONF" >> "$WORK/accounts.log" 2>&1 &
  BROKER_PID=$!
  CLEANUP_PIDS+=("$BROKER_PID")
}
# pub USER PASSWORD: one QoS 1 publish; its exit status.
pub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u "$1" -P "$2" -q 1 -t anshim/test -m x 2>/dev/null; }
pub_ok() { pub "$@"; }

if [ "$AS_ROOT" = 1 ]; then
  # The file as root leaves it with a cautious umask: the broker cannot read it.
  chown root:root "$PASSWD"
  rc=0; timeout 20 mosquitto -c "$CONF" > "$WORK/rootfile.log" 2>&1 || rc=$?
  check; [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "the broker started with a password file only root can read (exit $rc)"
  expect_match "a root-only file stops the broker" "Unable to open pwfile|Error opening password file" \
    "$(cat "$WORK/rootfile.log")"
  chown mosquitto:mosquitto "$PASSWD"
fi

broker_start
wait_for 20 "the broker to accept the aggregator's account" pub_ok anshim-cloud cloud-pw
check; pub "$GW_ID" gw-pw || fail "the gateway's account was refused"
check; ! pub "$GW_ID" wrong-pw || fail "a wrong password was accepted"
check; ! pub nobody x || fail "an unknown account was accepted"

# A gateway enrolled while the broker runs: added, then a reload (SIGHUP).
GW2=gw/fedcba9876543210fedcba9876543210
(umask 077; mosquitto_passwd -b "$PASSWD" "$GW2" gw2-pw)
check; ! pub "$GW2" gw2-pw || fail "an account was accepted before the reload"
kill -HUP "$BROKER_PID"
wait_for 20 "the new account after the reload" pub_ok "$GW2" gw2-pw
expect_eq "owner and mode still" "$OWNER 600" "$(stat -c '%U:%G %a' "$PASSWD")"
done_ok
