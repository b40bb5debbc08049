#!/usr/bin/env bash
# Daemons that cannot reach the cloud say so, in plain words with the fix:
#
#   - broker down: anshim-cloudd and anshim-gatewayd log "cannot reach the
#     broker at URI ... check ... 'broker' in FILE" once, although they keep
#     retrying (each attempt is a debug line); the gateway's human status
#     shows the same words, and its scan sources as readable lines;
#   - the broker comes up with a password file that does not hold the
#     gateway's password: the gateway logs (once) and shows "refused the
#     password for user 'ID' ... check broker_username and broker_password in
#     FILE"; the cloud, whose password is right, connects and says after how
#     many failed attempts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
need mosquitto_passwd

# The port first: the configs name the broker before it starts.
BROKER_PORT=$(free_port)
export BROKER_PORT BROKER_URI="tcp://127.0.0.1:$BROKER_PORT"
CLOUD_PW=cloud-$RANDOM$RANDOM

phase "broker down"
cloud_init "log_level debug" "broker_username anshim-cloud" "broker_password $CLOUD_PW"
anshim-cloudd --config "$CLOUD_CONF" >> "$CLOUD_LOG" 2>&1 5>&- 6>&- 7>&- 8>&- 9>&- &
CLOUD_PID=$!
CLEANUP_PIDS+=("$CLOUD_PID")
sgw_init G "log_level debug"
GW_ID=${SGW_ID[G]}
printf 'broker_username %s\nbroker_password %s\n' "$GW_ID" "wrong-$RANDOM" >> "$(sgw_dir G)/gw.conf"
sgw_start G nowait
GW_CONF_G=$(sgw_dir G)/gw.conf
GW_LOG_G=$(sgw_dir G)/gatewayd.log

ATTEMPT='debug: connection attempt [0-9]+ failed'
UNREACHABLE="error: cannot reach the broker at $BROKER_URI \(.*\): check that it runs and listens there, the network, and 'broker' in"
# Five failed attempts each (cloud: retries from 0.5 s doubling; gateway:
# 1-2 s), and still one report each.
wait_for 60 "5 failed attempts of anshim-cloudd" _log_count_above "$CLOUD_LOG" "$ATTEMPT" 4
wait_for 60 "5 failed attempts of anshim-gatewayd" _log_count_above "$GW_LOG_G" "$ATTEMPT" 4
expect_eq "cloud: the outage reported once" 1 "$(_log_count "$CLOUD_LOG" "$UNREACHABLE $CLOUD_CONF")"
expect_eq "gateway: the outage reported once" 1 "$(_log_count "$GW_LOG_G" "$UNREACHABLE $GW_CONF_G")"
expect_eq "cloud: nothing else at error level" 1 "$(_log_count "$CLOUD_LOG" ': error: ')"

status=$(anshim-gw status --config "$GW_CONF_G")
echo "$status"
expect_match "status: not connected" "cloud +NOT connected" "$status"
expect_match "status: the cloud error in plain words" \
  "cloud error +cannot reach the broker at $BROKER_URI .*'broker' in $GW_CONF_G" "$status"
expect_match "status: last error is not 'none'" "last error +cannot reach the broker" "$status"
expect_match "status: sources readable" \
  "sources +socket:$(sgw_dir G)/scan.sock: listening, 0 lines read" "$status"
check; [[ $status == *'{"name"'* ]] && fail "status prints sources as raw JSON"

phase "broker up, the gateway's password wrong"
{
  echo "pattern readwrite anshim/v1/gw/%u/#"
  echo "user anshim-cloud"
  echo "topic readwrite anshim/#"
} > "$WORK/acl"
mosquitto_passwd -b -c "$WORK/passwd" anshim-cloud "$CLOUD_PW" 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" "$GW_ID" "the-right-one-$RANDOM" 2>/dev/null
chmod 0600 "$WORK/passwd"
start_broker "$WORK/acl" "$WORK/passwd"

REFUSED="error: the broker at $BROKER_URI refused the password for user '$GW_ID' or does not know the user \(.*CONNACK code [45]\): check broker_username and broker_password in $GW_CONF_G"
wait_for 60 "the gateway to report the refusal" _log_count_above "$GW_LOG_G" "$REFUSED" 0
wait_for 90 "anshim-cloudd to connect" _log_count_above "$CLOUD_LOG" \
  "notice: connected to the broker at $BROKER_URI after [0-9]+ failed attempts" 0
n=$(_log_count "$GW_LOG_G" "$ATTEMPT")
wait_for 60 "3 more failed attempts of the gateway" _log_count_above "$GW_LOG_G" "$ATTEMPT" $((n + 2))
expect_eq "gateway: the refusal reported once" 1 "$(_log_count "$GW_LOG_G" "$REFUSED")"
status=$(anshim-gw status --config "$GW_CONF_G")
expect_match "status: the refusal in plain words" \
  "cloud error +the broker at $BROKER_URI refused the password for user '$GW_ID'.*check broker_username and broker_password in $GW_CONF_G" "$status"
expect_match "status: last error names the fix" "last error +the broker at .* refused the password" "$status"
json=$(anshim-gw status --json --config "$GW_CONF_G")
expect_match "status --json carries the same words" "\"last_error\":\"the broker at $BROKER_URI refused" "$json"
check; grep -q "$CLOUD_PW" "$CLOUD_LOG" "$GW_LOG_G" && fail "a password in a log"

sgw_stop G
cloud_stop
done_ok
