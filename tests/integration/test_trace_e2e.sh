#!/usr/bin/env bash
# Tracing end to end: paper-register rows (CSV, fixed times two days ago) and
# a real pass scan go from two gateways through the broker into anshim-cloudd,
# and 'anshim-cloud trace' finds the contacts the rules of docs/TRACING.md
# say it must:
#
#   venue 1 (gateway A, dwell 60), day D = two days ago:
#     case 12:00 [12:00, 13:00)     B 12:40 with 2 others: order 1, 20 min, high
#     C 12:50: order 1, 10 min, low
#     E 13:00: touches the case -> not order 1; but B (until 13:40) and C
#       (until 13:50) are there: both expose E at 13:00, a tie, so order 2
#       via the smaller of their pids (40 min with B, 50 with C)
#   venue 2 (gateway B): B 18:00, D 18:30: order 2 via B, 30 min, high
#   today at venue 1: the case on paper 10 minutes ago, F scans a pass now:
#     order 1, source scan, about 50 min, high
#
# Checked: the JSON parses and has exactly those contacts (order, via,
# venue, overlap, risk, source, headcount_extra) and totals; --phone in a
# third spelling gives the same case; without --reveal no phone or name is
# printed anywhere (stdout, stderr, the daemon log); with --reveal each
# contact's phone and name come out of the capsules; every trace is one
# entry in the audit log and 'audit verify' finds the chain intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init A
sgw_init B
sgw_enroll A 1
sgw_enroll B 2
cloud_start
sgw_start A
sgw_start B

D=$(date -d '2 days ago' +%F)
NOW_ROW=$(date -d '10 minutes ago' '+%F,%H:%M')
cat > "$WORK/paper-a.csv" <<EOF
date,time,name,phone,headcount
$D,12:00,Case Kim,010-7000-0001,1
$D,12:40,Park Bee,010-7000-0002,3
$D,12:50,Choi Cee,010-7000-0003,
$D,13:00,Eun Ee,010-7000-0005,1
$NOW_ROW,Case Kim,010-7000-0001,1
EOF
cat > "$WORK/paper-b.csv" <<EOF
date,time,name,phone
$D,18:00,Park Bee,+82 10 7000 0002
$D,18:30,Dong Dee,010-7000-0004
EOF
phase "paper rows and a pass"
expect_match "CSV import at A" ": 5 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir A)/gw.conf" "$WORK/paper-a.csv")"
expect_match "CSV import at B" ": 2 imported, 0 already imported, 0 rejected" \
  "$(anshim-gw import --config "$(sgw_dir B)/gw.conf" "$WORK/paper-b.csv")"
sgw_use A
gw_wallet "$WORK/wf" 010-7000-0006 "Fay Scan"
expect_eq "F's pass at A" accepted "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/wf")")"
wait_delivered 60 A B
expect_eq "visits stored" 8 "$(cloud_q "s['visits']")"

FROM=$(date -d '4 days ago' +%F)
TO=$(date -d tomorrow +%F)
trace() {
  anshim-cloud trace --config "$CLOUD_CONF" --from "$FROM" --to "$TO" --depth 2 \
    --reason "e2e: case 1 lab report" "$@" 2>>"$WORK/trace.err"
}

phase "trace --json"
json=$(trace --phone 010-7000-0001 --json)
CASE=$(pyq "$json" "s['case']['pid']")
expect_match "case pid" '^[0-9a-f]{32}$' "$CASE"
expect_eq "case source (earliest visit: paper)" manual "$(pyq "$json" "s['case']['source']")"
expect_eq "case visits" "[[1, \"manual\"], [1, \"manual\"]]" \
  "$(pyq "$json" "[[v['venue'], v['source']] for v in s['visits']]")"
expect_eq "contacts by order" "[1, 1, 1, 2, 2]" \
  "$(pyq "$json" "sorted(c['order'] for c in s['contacts'])")"
expect_eq "no phone or name without --reveal" "[]" \
  "$(pyq "$json" "[k for c in s['contacts'] for k in c if k in ('phone', 'name')]")"
expect_eq "totals" '{"people": 5, "high": 4, "low": 1, "headcount_extra": 2, "unnamed_visits": 0, "unnamed_people": 0}' \
  "$(pyq "$json" "s['totals']")"
check; case "$json" in *7000*|*Park*|*Kim*) fail "a phone or name in the pseudonymous JSON";; esac
expect_eq "risk period: 24 h, in whole minutes" 1440 "$(pyq "$json" "s['case']['risk_period_minutes']")"
# Both exposures are integers; risk follows the most within one period.
expect_eq "exposures typed, risk by the period exposure" '[]' \
  "$(pyq "$json" "[c['pid'] for c in s['contacts'] if not (type(c['overlap_minutes']) is int and type(c['period_overlap_minutes']) is int and 0 <= c['period_overlap_minutes'] <= c['overlap_minutes'] and (c['risk'] == 'high') == (c['period_overlap_minutes'] >= 15))]")"

expect_eq "--phone in another spelling: same case" "$CASE" \
  "$(pyq "$(trace --phone '+82 10-7000-0001' --json)" "s['case']['pid']")"

phase "trace --reveal"
rev=$(trace --pid "$CASE" --json --reveal)
# One line per contact, keyed by the revealed phone.
contact() { pyq "$rev" "[c[k] for c in s['contacts'] if c['phone'] == '$1' for k in ($2)]"; }
B_PID=$(pyq "$rev" "[c['pid'] for c in s['contacts'] if c['phone'] == '+821070000002'][0]")
expect_eq "B" "[1, \"$CASE\", 1, 20, \"high\", \"manual\", 2, \"Park Bee\"]" \
  "$(contact +821070000002 "'order', 'via', 'venue', 'overlap_minutes', 'risk', 'source', 'headcount_extra', 'name'")"
expect_eq "C" "[1, \"$CASE\", 1, 10, \"low\", \"manual\", \"Choi Cee\"]" \
  "$(contact +821070000003 "'order', 'via', 'venue', 'overlap_minutes', 'risk', 'source', 'name'")"
expect_eq "D: via B at venue 2" "[2, \"$B_PID\", 2, 30, \"high\"]" \
  "$(contact +821070000004 "'order', 'via', 'venue', 'overlap_minutes', 'risk'")"
C_PID=$(pyq "$rev" "[c['pid'] for c in s['contacts'] if c['phone'] == '+821070000003'][0]")
if [[ "$B_PID" < "$C_PID" ]]; then e_via=$B_PID e_min=40; else e_via=$C_PID e_min=50; fi
expect_eq "E: touched the case, met B and C at 13:00" "[2, \"$e_via\", 1, $e_min, \"high\"]" \
  "$(contact +821070000005 "'order', 'via', 'venue', 'overlap_minutes', 'risk'")"
expect_eq "F: the pass scan" "[1, \"$CASE\", 1, \"high\", \"scan\", \"Fay Scan\"]" \
  "$(contact +821070000006 "'order', 'via', 'venue', 'risk', 'source', 'name'")"
f_min=$(contact +821070000006 "'overlap_minutes',")
check; [[ "$f_min" =~ ^\[(49|50)\]$ ]] || fail "F's overlap: expected 49 or 50 minutes, got $f_min"
expect_eq "revealed" 5 "$(pyq "$rev" "s['revealed']")"
expect_eq "the case's own phone is never printed" "" "$(grep -o '+821070000001' <<<"$rev" || true)"

phase "trace, text"
text=$(trace --pid "$CASE")
expect_match "text: order 2 heading" "Order 2 contacts:" "$text"
expect_match "text: both exposures named" "max in 24h  total exposure  risk  source  via" "$text"
expect_match "text: totals" "Total: 5 people \\(4 high, 1 low\\), 2 unnamed with them" "$text"
check; case "$text" in *7000*|*Park*) fail "a phone or name in the text form";; esac

phase "audit and logs"
expect_match "audit verify" ": 4 entries, chain intact" \
  "$(anshim-cloud audit verify --config "$CLOUD_CONF")"
# The break-glass reveal is recorded with the Unix user that ran it (the
# reveal service learns it from the socket; --as is gone).
expect_match "audit: the break-glass entry" \
  "3  .*  break-glass  case $CASE  by \"$(id -un)\"" "$(anshim-cloud audit show --config "$CLOUD_CONF")"
expect_match "audit: it opened 5" "revealed 5" \
  "$(anshim-cloud audit show --config "$CLOUD_CONF" | sed -n '/^3  /,/^4  /p')"
check; ! grep -Eq '10[- ]?7000[- ]?[0-9]{4}' "$REVEAL_LOG" || fail "a phone number in the reveal service's log"
check; ! grep -Eq '10[- ]?7000[- ]?[0-9]{4}' "$WORK/trace.err" || fail "a phone number on the trace's stderr"
check; ! grep -Eq '10[- ]?7000[- ]?[0-9]{4}' "$CLOUD_LOG" || fail "a phone number in the cloud daemon's log"

phase "stopping"
sync_stop_all
done_ok
