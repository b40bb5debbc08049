#!/usr/bin/env bash
# The Debian packages, installed on this machine and used end to end.
#
#   - packaging/build-deb makes anshim-gateway, anshim-cloud and anshim-tools
#     (DEB_BUILD_OPTIONS=nocheck: ctest -L unit runs the unit tests anyway),
#     or ANSHIM_DEB_DIR names a directory that already holds them;
#   - installing them creates the system users (anshim-console in the
#     cloud's and the reveal service's groups), the 0640 configurations,
#     the state directories (the store 0750, the console's accounts 0711,
#     its accounts file 0640 in the group anshim-accounts)
#     and the gateway's device key (owned by its user), enables the units
#     (the reveal service's and the console's too), and 'systemd-analyze
#     verify' accepts them;
#   - 'anshim-cloud keys init' then 'dpkg-reconfigure anshim-cloud' gives
#     sign.key to anshim-cloud and contact.key, pseudonym.key and audit.key
#     to the reveal service's user anshim-reveal (mode 0600);
#   - the three services run as their units say (the reveal service first): under systemd when it is PID 1,
#     otherwise by hand from the installed unit files (User, Group,
#     SupplementaryGroups, UMask, StateDirectory, RuntimeDirectory,
#     ExecStart, Type=notify with a NOTIFY_SOCKET listener that must get
#     READY=1 and WATCHDOG=1), against a mosquitto on a free loopback port
#     that uses the installed ACL with a password per gateway;
#   - the gateway is enrolled with the key 'anshim-gw init' printed, a
#     policy is signed, a pass scanned at the socket source is accepted,
#     delivered and acknowledged, and 'anshim-cloud trace --json' (as
#     anshim-cloud, through the reveal service) finds the visit; the audit
#     log verifies, and is witnessed (anshim-cloudd reads it and publishes
#     its head); anshim-cloud cannot read contact.key and cannot break
#     glass;
#   - the console, as its unit runs it, serves a full two-person reveal
#     through its API with the reveal service running as its packaged user
#     (which reads the roles from the accounts file as a member of its
#     group): an investigator traces the case and asks, may not decide
#     (403), a supervisor may not approve their own request (409), the
#     supervisor approves the investigator's, and the investigator opens it
#     and gets the contact's name and phone; the audit log then holds the
#     ask, approve and reveal entries and verifies as the console's user;
#     the accounts file keeps its group and mode 0640 through 'anshim-cloud
#     user add' and logins, and the reveal service cannot write it;
#   - 'remove' keeps the configurations and the state; 'purge' removes them,
#     the programs, units and enablement links, and leaves under /etc/anshim
#     only the key files an administrator put there.  The system users are
#     kept (Debian's practice, as the README.Debian files say); this test
#     deletes them afterwards if it created them.
#
# By hand, the units' sandbox (ProtectSystem=, SystemCallFilter=, ...) is
# not applied: only systemd does that.
#
# It installs packages system-wide, so it runs only as root, refuses to run
# if Anshim is already installed or has left files behind, and purges and
# removes everything it created on any exit.  It skips (77) without root,
# without dpkg-buildpackage/debhelper/the Build-Depends (unless
# ANSHIM_DEB_DIR is set), or without mosquitto.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# lib.sh puts a build tree on PATH; this test uses the installed programs.
: "${ANSHIM_BUILD_DIR:=$SRC/build}"
. "$HERE/lib.sh"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T0=$(date +%s)
phase() { echo "[+$(( $(date +%s) - T0 ))s] $*"; }
skip() { echo "SKIP: $*"; exit 77; }

PACKAGES=(anshim-gateway anshim-cloud anshim-tools)
GW_USER=anshim-gateway
CL_USER=anshim-cloud
RV_USER=anshim-reveal
CS_USER=anshim-console
AC_GROUP=anshim-accounts
CS_CONF=/etc/anshim/console.conf
GW_CONF=/etc/anshim/gateway.conf
CL_CONF=/etc/anshim/cloud.conf
LEFTOVERS=(/etc/anshim /var/lib/anshim-gateway /var/lib/anshim-cloud /run/anshim-gateway
           /usr/share/anshim /var/lib/anshim-reveal /run/anshim-reveal /var/lib/anshim
           /var/lib/anshim-issuer)

# ---- may this test run here? ----
[ "$(id -u)" = 0 ] || skip "needs root: it installs the packages system-wide (run it as root, in a VM or container)"
for tool in dpkg dpkg-query runuser setpriv flock systemd-sysusers getent; do need "$tool"; done
need python3
need mosquitto
need mosquitto_passwd
if [ -z "${ANSHIM_DEB_DIR:-}" ]; then
  need dpkg-buildpackage
  command -v dh >/dev/null 2>&1 || skip "debhelper not installed (run scripts/setup)"
  if ! missing=$(dpkg-checkbuilddeps "$SRC/packaging/debian/control" 2>&1); then
    skip "Build-Depends missing: ${missing##*: } (run scripts/setup)"
  fi
fi
# One run at a time on a machine: it installs packages and creates users.
# Another run (another checkout's tests) is waited for, within a deadline.
exec 4> /run/lock/anshim-package-install-test.lock
flock -w 150 4 || skip "another test_package_install.sh has been running on this machine for 150 s"
for p in "${PACKAGES[@]}"; do
  st=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  case $st in ''|un*|pn*) ;; *) skip "$p is installed here ($st): refusing to touch an existing installation" ;; esac
done
for f in "${LEFTOVERS[@]}"; do
  [ ! -e "$f" ] || skip "$f exists: refusing to touch an existing installation (remove it by hand)"
done
# Users and groups the packages may create; those that were not here are
# deleted again at the end.
declare -A USER_EXISTED=() GROUP_EXISTED=()
for u in "$GW_USER" "$CL_USER" "$RV_USER" "$CS_USER"; do
  getent passwd "$u" >/dev/null && USER_EXISTED[$u]=1
done
for g in "$GW_USER" "$CL_USER" "$RV_USER" "$CS_USER" anshim-breakglass "$AC_GROUP" input; do
  getent group "$g" >/dev/null && GROUP_EXISTED[$g]=1
done

# ---- put the machine back on any exit ----
GW_DPID='' CL_DPID='' RV_DPID='' CS_DPID='' GW_MAIN='' CL_MAIN='' RV_MAIN='' SYSTEMD=0
_restore() {
  local rc=$? p u
  trap - EXIT
  set +e
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    if [ "$SYSTEMD" = 1 ]; then
      journalctl --no-pager -u anshim-gateway.service -n 30 > "$WORK/gatewayd.log" 2>&1
      journalctl --no-pager -u anshim-cloud.service -n 30 > "$WORK/cloudd.log" 2>&1
      journalctl --no-pager -u anshim-revealed.service -n 30 > "$WORK/revealed.log" 2>&1
    fi
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "--- last lines of $f" >&2
      tail -n 20 "$f" >&2
    done
  fi
  [ "$SYSTEMD" = 1 ] &&
    systemctl stop anshim-consoled.service anshim-gateway.service anshim-cloud.service \
      anshim-revealed.service 2>/dev/null
  cleanup_daemons
  p=$(known_packages)
  if [ -n "$p" ]; then
    # shellcheck disable=SC2086
    pkg --purge $p > "$WORK/restore-purge.log" 2>&1 ||
      echo "WARNING: could not purge $p: $(tail -n 3 "$WORK/restore-purge.log")" >&2
  fi
  rm -rf "${LEFTOVERS[@]}"
  for u in "$CS_USER" "$GW_USER" "$CL_USER" "$RV_USER"; do
    if [ -z "${USER_EXISTED[$u]:-}" ] && getent passwd "$u" >/dev/null; then
      userdel "$u"
    fi
  done
  for u in "$CS_USER" "$GW_USER" "$CL_USER" "$RV_USER" anshim-breakglass "$AC_GROUP" input; do
    if [ -z "${GROUP_EXISTED[$u]:-}" ] && getent group "$u" >/dev/null; then
      groupdel "$u"
    fi
  done
  cleanup
  exit "$rc"
}
trap _restore EXIT

cleanup_daemons() {
  local pid
  for pid in $CS_DPID $GW_DPID $CL_DPID $RV_DPID; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $CS_DPID $GW_DPID $CL_DPID $RV_DPID; do wait "$pid" 2>/dev/null; done
  GW_DPID='' CL_DPID='' RV_DPID='' CS_DPID=''
}

# pkg ARGS...: dpkg, waiting up to 3 minutes for its lock (another apt or
# dpkg may be running) rather than failing on it.  dpkg, not apt-get: apt
# also needs its package lists, which need not be current on a test machine.
pkg() {
  local deadline=$(( $(date +%s) + 180 )) out rc
  while :; do
    rc=0
    out=$(DEBIAN_FRONTEND=noninteractive dpkg "$@" 2>&1) || rc=$?
    if [ "$rc" != 0 ] && grep -q 'lock' <<< "$out" && [ "$(date +%s)" -lt "$deadline" ]; then
      sleep 1
      continue
    fi
    printf '%s\n' "$out"
    return "$rc"
  done
}

# as USER COMMAND...: run COMMAND as USER (from /, which every user may read).
as() { local u=$1; shift; (cd / && runuser -u "$u" -- "$@"); }

# expect_stat WHAT "OWNER:GROUP MODE" PATH
expect_stat() { expect_eq "$1" "$2" "$(stat -c '%U:%G %a' "$3" 2>&1)"; }
expect_exists() { check; [ -e "$2" ] || fail "$1: $2 is missing"; }
expect_gone() { check; if [ -e "$2" ] || [ -L "$2" ]; then fail "$1: $2 is still there"; fi; }
pkg_status() { dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' ' || true; }
# known_packages: those of ours dpkg still knows (installed, or config files).
known_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    case $(pkg_status "$p") in ''|un|pn) ;; *) echo "$p" ;; esac
  done
}

# ---- build ----
chmod 0711 "$WORK"
if [ -n "${ANSHIM_DEB_DIR:-}" ]; then
  DEBS=$(cd "$ANSHIM_DEB_DIR" && pwd)
  phase "using the packages in $DEBS"
else
  DEBS=$WORK/debs
  phase "building the packages (packaging/build-deb, nocheck)"
  DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" "$SRC/packaging/build-deb" "$DEBS" \
    > "$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; fail "packaging/build-deb failed"; }
fi
DEB_FILES=()
for p in "${PACKAGES[@]}"; do
  f=$(find "$DEBS" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
  [ -n "$f" ] || fail "no ${p}_*.deb in $DEBS"
  DEB_FILES+=("$f")
done

# ---- install ----
phase "installing ${DEB_FILES[*]##*/}"
pkg -i "${DEB_FILES[@]}" > "$WORK/install.log" 2>&1 ||
  fail "dpkg -i failed: $(tail -n 20 "$WORK/install.log")"
for p in "${PACKAGES[@]}"; do expect_eq "$p installed" ii "$(pkg_status "$p")"; done
for f in /usr/sbin/anshim-gatewayd /usr/bin/anshim-gw /usr/sbin/anshim-cloudd /usr/bin/anshim-cloud \
         /usr/sbin/anshim-revealed /usr/share/man/man8/anshim-revealed.8.gz \
         /usr/bin/anshim-wallet /usr/share/anshim/mosquitto/anshim.acl \
         /usr/share/anshim/mosquitto/anshim.conf /usr/share/man/man8/anshim-gatewayd.8.gz \
         /usr/share/man/man1/anshim-wallet.1.gz /usr/sbin/anshim-consoled \
         /usr/share/man/man8/anshim-consoled.8.gz; do
  expect_exists "installed file" "$f"
done
expect_match "gateway.conf is a conffile" "$GW_CONF" "$(dpkg-query -W -f '${Conffiles}' anshim-gateway)"
expect_match "cloud.conf is a conffile" "$CL_CONF" "$(dpkg-query -W -f '${Conffiles}' anshim-cloud)"
expect_match "console.conf is a conffile" "$CS_CONF" "$(dpkg-query -W -f '${Conffiles}' anshim-cloud)"
expect_eq "the gateway user" "/var/lib/anshim-gateway:/usr/sbin/nologin" \
  "$(getent passwd "$GW_USER" | cut -d: -f6,7)"
expect_eq "the cloud user" "/var/lib/anshim-cloud:/usr/sbin/nologin" \
  "$(getent passwd "$CL_USER" | cut -d: -f6,7)"
expect_stat "gateway.conf (may hold broker_password)" "root:$GW_USER 640" "$GW_CONF"
expect_stat "cloud.conf (may hold broker_password)" "root:$CL_USER 640" "$CL_CONF"
expect_stat "gateway state dir" "$GW_USER:$GW_USER 700" /var/lib/anshim-gateway
expect_stat "device key made by the postinst, as the service user" "$GW_USER:$GW_USER 600" \
  /var/lib/anshim-gateway/device.key
expect_eq "the reveal service's user" "/var/lib/anshim-reveal:/usr/sbin/nologin" \
  "$(getent passwd "$RV_USER" | cut -d: -f6,7)"
expect_match "the break-glass group" '^anshim-breakglass:' "$(getent group anshim-breakglass)"
expect_stat "cloud store dir (its group: the reveal service, the console)" "$CL_USER:$CL_USER 750" /var/lib/anshim-cloud
expect_stat "console.conf" "root:$CS_USER 640" "$CS_CONF"
expect_stat "the console's accounts dir (the reveal service reaches the file by name)" \
  "$CS_USER:$CS_USER 711" /var/lib/anshim/console
expect_stat "the console's accounts file (its group, the reveal service, reads it)" \
  "$CS_USER:$AC_GROUP 640" /var/lib/anshim/console/accounts
for u in "$CS_USER" "$RV_USER"; do
  check; id -nG "$u" | grep -qw "$AC_GROUP" || fail "$u is not in the group $AC_GROUP"
done
check; ! id -nG "$CL_USER" | grep -qw "$AC_GROUP" || fail "$CL_USER is in the group $AC_GROUP"
expect_eq "the console user" "/var/lib/anshim/console:/usr/sbin/nologin" \
  "$(getent passwd "$CS_USER" | cut -d: -f6,7)"
expect_match "the console user is in the cloud's group" "(^|,)$CS_USER(,|$)" \
  "$(getent group "$CL_USER" | cut -d: -f4)"
expect_match "the console user is in the reveal service's group" "(^|,)$CS_USER(,|$)" \
  "$(getent group "$RV_USER" | cut -d: -f4)"
expect_stat "authority key dir" "$CL_USER:$CL_USER 711" /etc/anshim/authority
check
tr -d '\r' < "$WORK/install.log" | grep -q '^public key: [0-9a-f]\{64\}$' ||
  fail "the postinst did not print the gateway's public key: $(grep -i -m 3 'key' "$WORK/install.log")"

UNIT_DIR=$(dirname "$(dpkg -L anshim-gateway | grep '/systemd/system/anshim-gateway\.service$')")
GW_UNIT=$UNIT_DIR/anshim-gateway.service
CL_UNIT=$(dpkg -L anshim-cloud | grep '/systemd/system/anshim-cloud\.service$')
RV_UNIT=$(dpkg -L anshim-cloud | grep '/systemd/system/anshim-revealed\.service$')
CS_UNIT=$(dpkg -L anshim-cloud | grep '/systemd/system/anshim-consoled\.service$')
for u in anshim-gateway anshim-cloud anshim-revealed anshim-consoled; do
  expect_exists "$u enabled" "/etc/systemd/system/multi-user.target.wants/$u.service"
done
check
out=$(systemd-analyze verify --man=no "$GW_UNIT" "$CL_UNIT" "$RV_UNIT" "$CS_UNIT" 2>&1) ||
  fail "systemd-analyze verify: $out"

# ---- configure: authority keys, broker, the gateway's sources ----
phase "authority keys, broker and configuration"
anshim-cloud keys init > "$WORK/keys.log"
dpkg-reconfigure anshim-cloud > "$WORK/reconfigure.log" 2>&1 ||
  fail "dpkg-reconfigure anshim-cloud: $(tail -n 5 "$WORK/reconfigure.log")"
expect_stat "sign.key (the aggregator's)" "$CL_USER:$CL_USER 600" /etc/anshim/authority/sign.key
expect_stat "tokenid.key (the aggregator's)" "$CL_USER:$CL_USER 600" \
  /etc/anshim/authority/tokenid.key
for k in contact.key pseudonym.key audit.key; do
  expect_stat "$k (the reveal service's)" "$RV_USER:$RV_USER 600" "/etc/anshim/authority/$k"
done
check; ! as "$CL_USER" cat /etc/anshim/authority/contact.key >/dev/null 2>&1 ||
  fail "anshim-cloud can read contact.key"
install -m 0644 /etc/anshim/authority/sign.pub /etc/anshim/authority.pub
init_out=$(as "$GW_USER" anshim-gw init --config "$GW_CONF")
expect_match "anshim-gw init keeps the postinst's key" "kept existing" "$init_out"
[[ $init_out =~ gateway\ id:\ ([0-9a-f]{32}) ]] || fail "anshim-gw init printed no gateway id: $init_out"
GW_ID=${BASH_REMATCH[1]}
[[ $init_out =~ public\ key:\ ([0-9a-f]{64}) ]] || fail "anshim-gw init printed no public key: $init_out"
GW_PK=${BASH_REMATCH[1]}

# mosquitto with the installed ACL and one password per client.
BROKER_DIR=$WORK/broker
BROKER_PORT=$(free_port)
mkdir -m 0700 "$BROKER_DIR"
GW_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
CL_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
mosquitto_passwd -c -b "$BROKER_DIR/passwd" "$CL_USER" "$CL_PASS"
# 'anshim-cloud policy set' logs in as the aggregator's account + /cli.
mosquitto_passwd -b "$BROKER_DIR/passwd" "$CL_USER/cli" "$CL_PASS"
mosquitto_passwd -b "$BROKER_DIR/passwd" "gw/$GW_ID" "$GW_PASS"
cp /usr/share/anshim/mosquitto/anshim.acl "$BROKER_DIR/anshim.acl"
{
  echo "per_listener_settings false"
  echo "allow_anonymous false"
  echo "password_file $BROKER_DIR/passwd"
  echo "acl_file $BROKER_DIR/anshim.acl"
  grep -E '^use_username_as_clientid[[:space:]]' /usr/share/anshim/mosquitto/anshim.conf
  echo "persistence false"
  echo "listener $BROKER_PORT 127.0.0.1"
} > "$BROKER_DIR/mosquitto.conf"
# Started as root, mosquitto becomes the user mosquitto: let it read its files.
if getent passwd mosquitto >/dev/null; then
  chown -R mosquitto "$BROKER_DIR"
else
  echo "user root" >> "$BROKER_DIR/mosquitto.conf"
fi
mosquitto -c "$BROKER_DIR/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 4>&- &
CLEANUP_PIDS+=($!)
broker_up() {
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $BROKER_PORT), 0.5).close()"
}
wait_for 10 "mosquitto on port $BROKER_PORT" broker_up

{
  echo
  echo "# Added by tests/integration/test_package_install.sh"
  echo "broker tcp://127.0.0.1:$BROKER_PORT"
  echo "broker_username $CL_USER"
  echo "broker_password $CL_PASS"
} >> "$CL_CONF"
{
  echo
  echo "# Added by tests/integration/test_package_install.sh"
  echo "source socket /run/anshim-gateway/scan.sock"
  echo "broker tcp://127.0.0.1:$BROKER_PORT"
  echo "broker_username gw/$GW_ID"
  echo "broker_password $GW_PASS"
} >> "$GW_CONF"
as "$CL_USER" anshim-cloudd --check-config > "$WORK/cloud-check.log" 2>&1 ||
  fail "anshim-cloudd --check-config as $CL_USER: $(cat "$WORK/cloud-check.log")"
(cd / && setpriv --reuid="$RV_USER" --regid="$RV_USER" --groups="$CL_USER,$AC_GROUP" anshim-revealed \
  --check-config) > "$WORK/reveal-check.log" 2>&1 ||
  fail "anshim-revealed --check-config as $RV_USER: $(cat "$WORK/reveal-check.log")"
as "$GW_USER" anshim-gatewayd --check-config > "$WORK/gw-check.log" 2>&1 ||
  fail "anshim-gatewayd --check-config as $GW_USER: $(cat "$WORK/gw-check.log")"

# ---- start both services as their units say ----

# unit_get UNIT KEY: the values of KEY in the unit's [Service] section, one
# per line (a unit may repeat a key).
unit_get() {
  awk -v key="$2" '
    /^\[/ { service = ($0 == "[Service]") }
    service && index($0, key "=") == 1 { print substr($0, length(key) + 2) }' "$1"
}
# unit_one UNIT KEY: the single value of KEY (fails if absent or repeated).
unit_one() {
  local v
  v=$(unit_get "$1" "$2")
  if [ -z "$v" ] || [ "$(wc -l <<< "$v")" != 1 ]; then fail "$1: expected one $2=, got '$v'"; fi
  echo "$v"
}

# A NOTIFY_SOCKET for one daemon: every datagram becomes a line of FILE.
_NOTIFY_PY=$(cat <<'PY'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace") + "\n")
PY
)

# run_unit VAR UNIT LOG: do what systemd would do to start UNIT
# (Type=notify) and set VAR to the daemon's pid; its output goes to LOG.
# The watchdog interval is the unit's, scaled down to 2 s so that a ping
# shows quickly.
run_unit() {
  local -n _pid=$1
  local unit=$2 log=$3 name user group supp umask exec d mode notify groups=(--clear-groups)
  local cred cdir='' envs
  name=$(basename "$unit" .service)
  expect_eq "$name: Type" notify "$(unit_one "$unit" Type)"
  user=$(unit_one "$unit" User)
  group=$(unit_one "$unit" Group)
  supp=$(unit_get "$unit" SupplementaryGroups | tr ' \n' ',,' | sed 's/,*$//')
  [ -z "$supp" ] || groups=(--groups="$supp")
  umask=$(unit_one "$unit" UMask)
  exec=$(unit_one "$unit" ExecStart)
  check
  [[ $exec == /* ]] || fail "$name: ExecStart with a prefix or relative path is not supported here: $exec"
  unit_one "$unit" WatchdogSec > /dev/null
  for d in $(unit_get "$unit" StateDirectory); do
    mode=$(unit_get "$unit" StateDirectoryMode); mode=${mode:-0755}
    install -d -m "$mode" -o "$user" -g "$group" "/var/lib/$d"
  done
  for d in $(unit_get "$unit" RuntimeDirectory); do
    mode=$(unit_get "$unit" RuntimeDirectoryMode); mode=${mode:-0755}
    install -d -m "$mode" -o "$user" -g "$group" "/run/$d"
  done
  # LoadCredential=NAME:PATH: a copy only the service's user may read, in
  # $CREDENTIALS_DIRECTORY, as systemd makes it.
  for cred in $(unit_get "$unit" LoadCredential); do
    cdir=$WORK/credentials/$name
    install -d -m 0711 "$WORK/credentials"
    install -d -m 0500 -o "$user" -g "$group" "$cdir"
    install -m 0400 -o "$user" -g "$group" "${cred#*:}" "$cdir/${cred%%:*}"
  done
  envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 WATCHDOG_USEC=2000000)
  [ -z "$cdir" ] || envs+=("CREDENTIALS_DIRECTORY=$cdir")
  install -d -m 0711 "$WORK/notify"
  notify=$WORK/notify/$name.sock
  "$ANSHIM_PYTHON" -c "$_NOTIFY_PY" "$notify" "$WORK/notify-$name.txt" > "$WORK/notify-$name.err" 2>&1 4>&- &
  CLEANUP_PIDS+=($!)
  wait_for 10 "the notify socket for $name" test -S "$notify"
  # ExecStart is split into words (systemd's quoting is not needed here).
  # shellcheck disable=SC2016,SC2086
  setpriv --reuid="$user" --regid="$group" "${groups[@]}" \
    --no-new-privs --inh-caps=-all --bounding-set=-all -- \
    env -i "${envs[@]}" NOTIFY_SOCKET="$notify" \
    /bin/sh -c 'umask "$1"; shift; export WATCHDOG_PID=$$; cd /; exec "$@"' sh "$umask" $exec \
    < /dev/null >> "$log" 2>&1 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  _pid=$!
}

notified() { grep -qx "$2" "$WORK/notify-$1.txt" 2>/dev/null; }

gw_json() { anshim-gw status --json --config "$GW_CONF"; }
cloud_json() { as "$CL_USER" anshim-cloud stats --json; }
# jq_is JSON_COMMAND PYEXPR VALUE: PYEXPR over the command's JSON (as s) prints VALUE.
jq_is() {
  local j
  j=$($1) || return 1
  [ "$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$j" "$2")" = "$3" ]
}

if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]; then
  SYSTEMD=1
  phase "starting the services under systemd"
  systemctl daemon-reload
  for u in anshim-revealed anshim-cloud anshim-gateway; do
    # Type=notify: start returns once the daemon has sent READY=1.
    systemctl restart "$u.service" || fail "systemctl restart $u: $(systemctl status --no-pager "$u" 2>&1 | tail -n 5)"
    expect_eq "$u active" active "$(systemctl is-active "$u.service")"
  done
  GW_MAIN=$(systemctl show -p MainPID --value anshim-gateway.service)
  CL_MAIN=$(systemctl show -p MainPID --value anshim-cloud.service)
  RV_MAIN=$(systemctl show -p MainPID --value anshim-revealed.service)
else
  phase "systemd is not PID 1 here: running the units' ExecStart by hand"
  run_unit RV_DPID "$RV_UNIT" "$WORK/revealed.log"
  wait_for 30 "anshim-revealed to send READY=1" notified anshim-revealed READY=1
  run_unit CL_DPID "$CL_UNIT" "$WORK/cloudd.log"
  wait_for 30 "anshim-cloudd to send READY=1" notified anshim-cloud READY=1
  run_unit GW_DPID "$GW_UNIT" "$WORK/gatewayd.log"
  wait_for 30 "anshim-gatewayd to send READY=1" notified anshim-gateway READY=1
  GW_MAIN=$GW_DPID CL_MAIN=$CL_DPID RV_MAIN=$RV_DPID
fi
expect_eq "anshim-revealed runs as" "$RV_USER $RV_USER" "$(ps -o euser:32=,egroup:32= -p "$RV_MAIN" | xargs)"
expect_eq "anshim-gatewayd runs as" "$GW_USER $GW_USER" "$(ps -o euser:32=,egroup:32= -p "$GW_MAIN" | xargs)"
expect_eq "anshim-cloudd runs as" "$CL_USER $CL_USER" "$(ps -o euser:32=,egroup:32= -p "$CL_MAIN" | xargs)"
for g in $(unit_get "$GW_UNIT" SupplementaryGroups); do
  check
  gid=$(getent group "$g") || fail "the group $g (SupplementaryGroups=) does not exist"
  gid=$(cut -d: -f3 <<< "$gid")
  grep -qw "$gid" <<< "$(awk '/^Groups:/ {$1=""; print}' "/proc/$GW_MAIN/status")" ||
    fail "anshim-gatewayd is not in the supplementary group $g"
done
expect_stat "the control socket" "$GW_USER:$GW_USER 660" /run/anshim-gateway/control.sock
wait_for 30 "the gateway to connect to the broker" jq_is gw_json "s['sync']['connected']" True

# ---- enrol, sign a policy, scan, trace ----
phase "enrolling the gateway and signing a policy"
as "$CL_USER" anshim-cloud enroll --gateway-key "$GW_PK" --venue 1 --venue-name "Package test venue" \
  > "$WORK/enroll.log"
as "$CL_USER" anshim-cloud policy set --level 3 > "$WORK/policy.log"
wait_for 30 "the gateway to receive the policy and collect" jq_is gw_json "s['collecting']" True

phase "scanning a pass"
install -d -m 0700 -o "$CL_USER" -g "$CL_USER" "$WORK/issue"
anshim-wallet new --dir "$WORK/wallet" > /dev/null
install -m 0644 "$WORK/wallet/holder.pub" "$WORK/issue/holder.pub"
# Issuing needs pseudonym.key (the reveal service's): root issues, as an
# administrator would where the keys are kept.
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --holder "$WORK/issue/holder.pub" \
  --phone 010-5555-0100 --name "Package Test" --out "$WORK/issue/credential" > /dev/null
cp "$WORK/issue/credential" "$WORK/wallet/credential"
pass=$(anshim-wallet pass --dir "$WORK/wallet" --format text)
pid=$(anshim-gw verify-pass "$pass" --config "$GW_CONF" | sed -n 's/.*pid=\([0-9a-f]*\).*/\1/p')
expect_match "the pass's pid" '^[0-9a-f]{32}$' "$pid"
expect_eq "scan at the socket source" accepted "$(gw_scan /run/anshim-gateway/scan.sock "$pass")"
# A contact: a second visitor at the same venue at the same time, whose
# name the two-person reveal below must bring back.
anshim-wallet new --dir "$WORK/wallet2" > /dev/null
install -m 0644 "$WORK/wallet2/holder.pub" "$WORK/issue/holder2.pub"
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --holder "$WORK/issue/holder2.pub" \
  --phone 010-5555-0101 --name "Package Contact" --out "$WORK/issue/credential2" > /dev/null
cp "$WORK/issue/credential2" "$WORK/wallet2/credential"
pass2=$(anshim-wallet pass --dir "$WORK/wallet2" --format text)
expect_eq "the contact's scan" accepted "$(gw_scan /run/anshim-gateway/scan.sock "$pass2")"
wait_for 60 "the visits to be acknowledged by the cloud" \
  jq_is gw_json "(s['last_seq'], s['acked_seq'], s['unsent'])" "(2, 2, 0)"
expect_eq "cloud visits" 2 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["visits"])' \
  <<< "$(cloud_json)")"

phase "tracing"
trace=$(as "$CL_USER" anshim-cloud trace --pid "$pid" --from "$(date -d '2 days ago' +%F)" \
  --to "$(date -d tomorrow +%F)" --reason test --json)
expect_eq "trace: the case and its visit" "$pid [1]" "$(python3 -c '
import json, sys
t = json.loads(sys.argv[1])
print(t["case"]["pid"], [v["venue"] for v in t["visits"]])' "$trace")"
expect_match "audit log" ": 1 entries?, chain intact$" "$(anshim-cloud audit verify)"
expect_match "the trace recorded as the Unix user" "1  .*  trace   case $pid  by \"$CL_USER\"" \
  "$(anshim-cloud audit show)"
expect_stat "the audit log (the reveal service's)" "$RV_USER:$RV_USER 640" /var/lib/anshim-reveal/audit.log
rc=0; out=$(as "$CL_USER" anshim-cloud trace --pid "$pid" --from "$(date -d '2 days ago' +%F)" \
  --to "$(date -d tomorrow +%F)" --reason test --reveal 2>&1) || rc=$?
expect_eq "break-glass outside anshim-breakglass: refused" 1 "$rc"
expect_match "break-glass outside anshim-breakglass: why" "not in the group anshim-breakglass" "$out"
# anshim-cloudd, as its unit runs it (in the reveal service's group), reads
# the audit log and publishes its head: the log is witnessed on the broker.
witnessed_1() {
  local out
  out=$(anshim-cloud audit verify --witness --wait 10 2>&1) || return 1
  [[ $out == *"witnessed through entry 1" ]]
}
wait_for 60 "the audit log witnessed through entry 1" witnessed_1

phase "the investigator console, as its unit says"
# Its pages, when the tree has them; otherwise a directory of our own.
if [ -d "$SRC/cloud/console/web" ]; then
  expect_exists "the console's pages" /usr/share/anshim/console/index.html
else
  install -d -m 0755 "$WORK/web"
  echo "web_dir $WORK/web" >> "$CS_CONF"
fi
CS_PORT=$(free_port)
{
  echo
  echo "# Added by tests/integration/test_package_install.sh"
  echo "port $CS_PORT"
} >> "$CS_CONF"
# The first supervisor, made as the console's user (the password on stdin).
printf '%s\n' package-test-password | as "$CS_USER" anshim-cloud user add pkg.supervisor \
  --role supervisor > "$WORK/user-add.log"
ACCOUNTS=/var/lib/anshim/console/accounts
expect_stat "the accounts directory: the reveal service reaches the file by name" \
  "$CS_USER:$CS_USER 711" /var/lib/anshim/console
expect_stat "the accounts file: its group (the reveal service) reads it" \
  "$CS_USER:$AC_GROUP 640" "$ACCOUNTS"
printf '%s\n' package-test-investigator | as "$CS_USER" anshim-cloud user add pkg.investigator \
  --role investigator > "$WORK/user-add-2.log"
expect_stat "the accounts file after 'user add' as $CS_USER" "$CS_USER:$AC_GROUP 640" "$ACCOUNTS"
check; as "$RV_USER" cat "$ACCOUNTS" > /dev/null 2>&1 || fail "$RV_USER cannot read $ACCOUNTS"
check; ! as "$RV_USER" sh -c ": >> '$ACCOUNTS'" 2>/dev/null || fail "$RV_USER can write $ACCOUNTS"
check; ! as "$CS_USER" cat /etc/anshim/authority/contact.key > /dev/null 2>&1 ||
  fail "$CS_USER can read contact.key"
if [ "$SYSTEMD" = 1 ]; then
  systemctl restart anshim-consoled.service ||
    fail "systemctl restart anshim-consoled: $(systemctl status --no-pager anshim-consoled 2>&1 | tail -n 5)"
  CS_MAIN=$(systemctl show -p MainPID --value anshim-consoled.service)
else
  run_unit CS_DPID "$CS_UNIT" "$WORK/consoled.log"
  wait_for 30 "anshim-consoled to send READY=1" notified anshim-consoled READY=1
  CS_MAIN=$CS_DPID
fi
expect_eq "anshim-consoled runs as" "$CS_USER $CS_USER" "$(ps -o euser:32=,egroup:32= -p "$CS_MAIN" | xargs)"
check
grep -qw "$(getent group "$CL_USER" | cut -d: -f3)" <<< "$(awk '/^Groups:/ {$1=""; print}' "/proc/$CS_MAIN/status")" ||
  fail "anshim-consoled is not in the group $CL_USER (it could not read the store)"
# It opened the store read-only (registering in lock.mdb) and logs in.
check
python3 - "$CS_PORT" <<'PY' || fail "logging in to the installed console failed"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", "/api/login", json.dumps({"name": "pkg.supervisor", "password": "package-test-password"}),
          {"Content-Type": "application/json"})
r = c.getresponse()
body = json.loads(r.read())
assert r.status == 200 and body["user"]["role"] == "supervisor", (r.status, body)
PY
expect_stat "the store's data: its group reads, never writes" "$CL_USER:$CL_USER 640" /var/lib/anshim-cloud/data.mdb

phase "a two-person reveal through the console (services as their packaged users)"
audit_before=$(anshim-cloud audit verify | sed -n 's/.*: \([0-9]*\) entr.*/\1/p')
check
PYTHONPATH=$HERE python3 - "$CS_PORT" "$pid" "$(date -d '2 days ago' +%F)" "$(date -d tomorrow +%F)" \
  <<'PY' > "$WORK/reveal-api.log" 2>&1 || fail "the two-person reveal through the console: $(tail -n 5 "$WORK/reveal-api.log")"
import json, sys
from console_client import Client, expect
port, pid, frm, to = sys.argv[1:5]
url = "http://127.0.0.1:%s" % port
inv, sup = Client(url), Client(url)
for c, name, pw in ((inv, "pkg.investigator", "package-test-investigator"),
                    (sup, "pkg.supervisor", "package-test-password")):
    status, _, body = c.login(name, pw)
    expect("login " + name, status == 200, body)
trace = {"pid": pid, "from": frm, "to": to, "min_overlap": 1, "reason": "package test",
         "case_ref": "PKG-1"}
status, _, body = inv.post("/api/trace", trace)
expect("the investigator traces the case", status == 200, body[:300])
t = json.loads(body)
expect("the trace finds the contact", len(t["contacts"]) == 1 and t["case"]["pid"] == pid, t)
status, _, body = inv.post("/api/reveals/ask", trace)
expect("the investigator asks", status == 200, body)
rid = json.loads(body)["id"]
status, _, body = inv.post("/api/reveals/decide", {"id": rid, "approve": True, "reason": "self"})
expect("the investigator may not decide: 403", status == 403, body)
status, _, body = inv.post("/api/reveals/open", {"id": rid})
expect("not open before approval: 409", status == 409, body)
status, _, body = sup.post("/api/reveals/ask", trace)
expect("the supervisor asks too", status == 200, body)
own = json.loads(body)["id"]
status, _, body = sup.post("/api/reveals/decide", {"id": own, "approve": True, "reason": "self"})
expect("the supervisor may not approve their own request: 409", status == 409, body)
status, _, body = sup.post("/api/reveals/decide", {"id": rid, "approve": True, "reason": "lab report"})
expect("the supervisor approves the investigator's request", status == 200 and
       json.loads(body)["state"] == "approved", body)
status, _, body = inv.post("/api/reveals/open", {"id": rid})
expect("the investigator opens it", status == 200, body[:300])
opened = json.loads(body)
got = [(c.get("phone"), c.get("name")) for c in opened["contacts"]]
expect("the contact's phone and name", got == [("+821055550101", "Package Contact")], got)
print("two-person reveal: request %d asked, approved and opened" % rid)
PY
# The log: trace, ask (twice), approve, reveal, all by the accounts' names.
audit=$(anshim-cloud audit show)
for e in "trace   case $pid  by \"pkg.investigator\"" "ask .*by \"pkg.investigator\"" \
         "ask .*by \"pkg.supervisor\"" "approve .*by \"pkg.supervisor\"" \
         "reveal .*by \"pkg.investigator\""; do
  expect_match "audit entry: $e" "$e" "$audit"
done
expect_match "audit verify as $CS_USER" ": $(( audit_before + 5 )) entries, chain intact$" \
  "$(as "$CS_USER" anshim-cloud audit verify)"
expect_stat "the accounts file after the console's logins" "$CS_USER:$AC_GROUP 640" "$ACCOUNTS"
expect_stat "the store's reader table: its group writes" "$CL_USER:$CL_USER 660" /var/lib/anshim-cloud/lock.mdb

if [ "$SYSTEMD" = 0 ]; then
  wait_for 10 "anshim-consoled to feed the watchdog" notified anshim-consoled WATCHDOG=1
  wait_for 10 "anshim-gatewayd to feed the watchdog" notified anshim-gateway WATCHDOG=1
  wait_for 10 "anshim-cloudd to feed the watchdog" notified anshim-cloud WATCHDOG=1
  wait_for 10 "anshim-revealed to feed the watchdog" notified anshim-revealed WATCHDOG=1
  phase "stopping the daemons (SIGTERM)"
  for d in CS GW CL RV; do
    dpid_var=${d}_DPID
    rc=0
    kill -TERM "${!dpid_var}"
    wait "${!dpid_var}" || rc=$?
    expect_eq "$d daemon exit status after SIGTERM" 0 "$rc"
    printf -v "$dpid_var" ''
  done
  rm -rf /run/anshim-gateway /run/anshim-reveal  # systemd removes the RuntimeDirectory on stop
else
  phase "stopping the services"
  for u in anshim-consoled anshim-gateway anshim-cloud anshim-revealed; do
    expect_eq "$u never restarted (watchdog, crash)" 0 "$(systemctl show -p NRestarts --value "$u.service")"
    systemctl stop "$u.service"
    expect_eq "$u stopped cleanly" success "$(systemctl show -p Result --value "$u.service")"
  done
fi

# ---- remove, then purge ----
phase "removing the packages"
pkg --remove "${PACKAGES[@]}" > "$WORK/remove.log" 2>&1 ||
  fail "dpkg --remove failed: $(tail -n 20 "$WORK/remove.log")"
# Packages with conffiles stay known to dpkg until purged.
expect_eq "anshim-gateway after remove" rc "$(pkg_status anshim-gateway)"
expect_eq "anshim-cloud after remove" rc "$(pkg_status anshim-cloud)"
expect_match "anshim-tools after remove" '^(|un|pn)$' "$(pkg_status anshim-tools)"
for f in /usr/sbin/anshim-gatewayd /usr/bin/anshim-gw /usr/sbin/anshim-cloudd /usr/bin/anshim-cloud \
         /usr/sbin/anshim-revealed /usr/sbin/anshim-consoled /usr/bin/anshim-wallet "$GW_UNIT" \
         "$CL_UNIT" "$RV_UNIT" "$CS_UNIT"; do
  expect_gone "removed" "$f"
done
for f in "$GW_CONF" "$CL_CONF" "$CS_CONF" /var/lib/anshim/console \
         /var/lib/anshim-gateway/device.key /var/lib/anshim-gateway/journal \
         /var/lib/anshim-cloud/data.mdb /var/lib/anshim-reveal/audit.log; do
  expect_exists "kept on remove" "$f"
done

phase "purging the packages"
# shellcheck disable=SC2046
pkg --purge $(known_packages) > "$WORK/purge.log" 2>&1 ||
  fail "dpkg --purge failed: $(tail -n 20 "$WORK/purge.log")"
for p in "${PACKAGES[@]}"; do
  st=$(pkg_status "$p")
  check
  case $st in ''|un|pn) ;; *) fail "$p after purge: status $st" ;; esac
done
for f in /var/lib/anshim-gateway /var/lib/anshim-cloud /var/lib/anshim-reveal /run/anshim-gateway \
         /usr/share/anshim /usr/sbin/anshim-revealed \
         /usr/sbin/anshim-gatewayd /usr/bin/anshim-gw /usr/sbin/anshim-cloudd /usr/bin/anshim-cloud \
         /usr/bin/anshim-wallet /usr/share/doc/anshim-gateway /usr/share/doc/anshim-cloud \
         /usr/share/doc/anshim-tools /usr/lib/sysusers.d/anshim-gateway.conf \
         /usr/lib/sysusers.d/anshim-cloud.conf "$GW_CONF" "$CL_CONF" "$CS_CONF" /var/lib/anshim \
         /usr/sbin/anshim-consoled /usr/sbin/anshim-issuerd /usr/sbin/anshim-issuer \
         /etc/anshim/issuer.conf /var/lib/anshim-issuer; do
  expect_gone "purged" "$f"
done
check
left=$(find /lib/systemd /usr/lib/systemd /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
  /usr/share/man -name 'anshim*' 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
# What an administrator put in /etc/anshim stays, and nothing else.
expect_eq "/etc/anshim after purge (only the administrator's key files)" \
  "authority authority.pub authority/audit.key authority/audit.pub authority/contact.key authority/contact.pub authority/pseudonym.key authority/sign.key authority/sign.pub authority/tokenid.key" \
  "$(cd /etc/anshim && find . -mindepth 1 | sed 's|^\./||' | sort | xargs)"
expect_match "purge says it kept the authority keys" "kept the authority keys" "$(cat "$WORK/purge.log")"
for u in "$GW_USER" "$CL_USER" "$RV_USER" "$CS_USER"; do
  check
  getent passwd "$u" > /dev/null || fail "the system user $u was removed (README.Debian says it stays)"
done

phase "done; restoring the machine"
done_ok
