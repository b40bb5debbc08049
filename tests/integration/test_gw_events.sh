#!/usr/bin/env bash
# The event stream: 'anshim-gw events --count N' follows every check-in
# outcome as one JSON object per line, with the right fields, and stops after
# N.  One of each: accepted (pass, card, paper row), duplicate (scan, paper
# row imported again), rejected with a reason (stale, oversized, malformed),
# not-collecting (scan and paper row, after a level-2 policy and SIGHUP).
# The daemon logs the same objects.  Neither the stream nor the log ever
# holds a visitor's phone number (in any spelling), name, or pass text.
. "$(dirname "$0")/lib.sh"

gw_init
gw_policy 3
gw_start
S="socket:$GW_SCAN"
YESTERDAY=$(date -d '1 day ago' +%F)
T3=$(date -d "$YESTERDAY 10:00" +%s)
T4=$(date -d "$YESTERDAY 11:30" +%s)

PHONE1=010-7777-1234 NAME1="Park Eventname"
PHONE2=010-7777-5678 NAME2="Choi Cardholder"
PHONE3=010-7777-4321 NAME3="Seo Eventrow"
PHONE4=010-7777-8765 NAME4="Lim Latecomer"
PHONE5=010-7777-2468 NAME5="Yoon Notcollected"
gw_wallet "$WORK/w1" $PHONE1 "$NAME1"
gw_wallet "$WORK/w5" $PHONE5 "$NAME5"
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$GW_AUTH" --card --phone $PHONE2 \
  --name "$NAME2" --out "$WORK/card.cred" >/dev/null
CARD=$(anshim-wallet card --credential "$WORK/card.cred" --format text)
printf 'date,time,name,phone,headcount\n%s,10:00,%s,%s,2\n' "$YESTERDAY" "$NAME3" $PHONE3 > "$WORK/row.csv"
printf 'date,time,name,phone\n%s,11:30,%s,%s\n' "$YESTERDAY" "$NAME4" $PHONE4 > "$WORK/late.csv"

N=10  # the subscription probe + the 9 outcomes below
EV=$WORK/events.jsonl
anshim-gw events --count $N --config "$GW_CONF" > "$EV" 2> "$WORK/events.err" &
EV_PID=$!
CLEANUP_PIDS+=("$EV_PID")
gw_events_subscribed "$EV"

P1=$(gw_pass "$WORK/w1")
expect_eq "pass" accepted "$(gw_scan "$GW_SCAN" "$P1")"
expect_eq "same pass" duplicate "$(gw_scan "$GW_SCAN" "$P1")"
expect_eq "stale pass" "rejected stale" "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w1" $(( $(date +%s) - 300 )))")"
expect_eq "card" accepted "$(gw_scan "$GW_SCAN" "$CARD")"
expect_eq "oversized line" "rejected oversized" "$(gw_scan "$GW_SCAN" "$(printf 'A%.0s' $(seq 2000))")"
expect_eq "paper row" "$WORK/row.csv: 1 imported, 0 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/row.csv")"
expect_eq "paper row again" "$WORK/row.csv: 0 imported, 1 already imported, 0 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" \
  "$(anshim-gw import --config "$GW_CONF" "$WORK/row.csv")"

# Alert level 2 (a newer policy) after SIGHUP: not collecting.
gw_policy 2
gw_reload
expect_eq "collecting after level 2" false "$(gw_status_field collecting)"
expect_eq "scan at level 2" not-collecting "$(gw_scan "$GW_SCAN" "$(gw_pass "$WORK/w5")")"
rc=0; out=$(anshim-gw import --config "$GW_CONF" "$WORK/late.csv") || rc=$?
expect_eq "paper row at level 2: exit status" 1 "$rc"
expect_eq "paper row at level 2" "line 2: not recorded: the alert level is below the collection level
$WORK/late.csv: 0 imported, 0 already imported, 1 rejected by the gateway, 0 invalid rows; dates and times read in the time zone Asia/Seoul" "$out"

# The subscriber stops by itself after N events.
wait_for 20 "anshim-gw events to stop after $N events" eval "! kill -0 $EV_PID 2>/dev/null"
rc=0; wait "$EV_PID" || rc=$?
_gw_forget_pid "$EV_PID"
expect_eq "events exit status" 0 "$rc"
expect_eq "events stderr" "" "$(cat "$WORK/events.err")"
expect_eq "event count" $N "$(wc -l < "$EV")"

gw_journal > "$WORK/journal"
expect_eq "journal: seq kind time" "1 pass
2 card
3 manual $T3" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["seq"], r["kind"], r["time"] if r["kind"] == "manual" else "")' "$WORK/journal" | sed 's/ $//')"
T1=$(sed -n 1p "$WORK/journal" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time"])')
T2=$(sed -n 2p "$WORK/journal" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time"])')

check
python3 - "$EV" "$S" "$T1" "$T2" "$T3" "$T4" <<'PY' || fail "event stream differs (above)"
import json, sys
path, s = sys.argv[1], sys.argv[2]
t1, t2, t3, t4 = (int(x) for x in sys.argv[3:7])
expected = [
    {"outcome": "rejected", "reason": "malformed", "source": s},  # the subscription probe
    {"outcome": "accepted", "source": s, "kind": "pass", "seq": 1, "time": t1},
    {"outcome": "duplicate", "source": s, "kind": "pass"},
    {"outcome": "rejected", "reason": "stale", "source": s, "kind": "pass"},
    {"outcome": "accepted", "source": s, "kind": "card", "seq": 2, "time": t2},
    {"outcome": "rejected", "reason": "oversized", "source": s},
    {"outcome": "accepted", "source": "register", "kind": "manual", "seq": 3, "time": t3, "headcount": 2},
    {"outcome": "duplicate", "source": "register", "kind": "manual", "time": t3, "headcount": 2},
    {"outcome": "not-collecting", "source": s},
    {"outcome": "not-collecting", "source": "register", "kind": "manual", "time": t4, "headcount": 1},
]
got = [json.loads(l) for l in open(path)]
bad = 0
if len(got) != len(expected):
    print(f"{len(got)} events, expected {len(expected)}", file=sys.stderr)
    bad = 1
for i, (e, g) in enumerate(zip(expected, got)):
    if e != g:
        print(f"event {i}: expected {json.dumps(e)}\n         got      {json.dumps(g)}", file=sys.stderr)
        bad = 1
sys.exit(bad)
PY

# The daemon logs each outcome as the same JSON object.
while IFS= read -r line; do
  check; grep -qF -- "check-in $line" "$GW_LOG" || fail "event not in the log: $line"
done < "$EV"
expect_eq "check-in lines in the log" $N "$(grep -c 'check-in {' "$GW_LOG")"

# No personal data, and no QR payload, in the stream or the log.
for f in "$EV" "$GW_LOG"; do
  for phone in $PHONE1 $PHONE2 $PHONE3 $PHONE4 $PHONE5; do
    mapfile -t spellings < <(phone_spellings "$phone")
    expect_absent "phone number" "$f" "${spellings[@]}"
  done
  expect_absent "name" "$f" "$NAME1" "$NAME2" "$NAME3" "$NAME4" "$NAME5" Eventname Cardholder \
    Eventrow Latecomer Notcollected
  expect_absent "QR text" "$f" "${P1:4:40}" "${P1:300:40}" "${CARD:4:40}" "${CARD:200:40}"
done
gw_stop
done_ok
