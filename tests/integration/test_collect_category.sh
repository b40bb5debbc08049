#!/usr/bin/env bash
# Collection by venue category, with a real broker, anshim-cloudd and two
# anshim-gatewayd: a bar and a café, enrolled with their categories.  The
# authority signs alert level 2 with bar=2 and cafe=3:
#   - 'policy set' tells every enrolled gateway its venue's category;
#   - at that one level, the bar gateway collects (a pass is accepted and
#     stored) while the café gateway answers not-collecting, and both say
#     so in their status with their category and the level they collect
#     from;
#   - the cloud refuses a record the café made while cafe was not
#     collecting (the café held an older policy when it scanned): it is
#     acknowledged (the gateway forgets it) but not stored, and counted
#     'not-collecting';
#   - raising cafe's level (--category cafe=2) makes the café collect, and
#     its records are stored; policy set without --category keeps the table.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init BAR
sgw_init CAFE
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[BAR]}" --venue 1 \
  --venue-name "제주 밤바다 바" --category bar >/dev/null
anshim-cloud enroll --config "$CLOUD_CONF" --gateway-key "${SGW_PK[CAFE]}" --venue 2 \
  --venue-name "한림 카페" --category cafe >/dev/null
GW_AUTH=$SYNC_AUTH
gw_wallet "$WORK/w1" 010-2222-1111 "Visitor One"
gw_wallet "$WORK/w2" 010-2222-2222 "Visitor Two"
gw_wallet "$WORK/w3" 010-2222-3333 "Visitor Three"

# Level 2, bar from 2, cafe from 3: saved in the store (and its history),
# published when anshim-cloudd connects.
out=$(anshim-cloud policy set --config "$CLOUD_CONF" --level 2 --category bar=2 \
  --category cafe=3 --no-publish)
expect_match "policy set: the table and the gateways told" \
  "categories: 2 with their own level \(others collect from level 3\), 2 gateway\(s\) told" "$out"

phase "the café, still holding the older level-3 policy, records a visit"
sgw_start CAFE
expect_eq "café before the new policy: alert level" 3 "$(sgw_field CAFE alert_level)"
expect_eq "café scan with the old policy" accepted \
  "$(gw_scan "$(sgw_dir CAFE)/scan.sock" "$(gw_pass "$WORK/w1")")"

phase "the cloud publishes level 2; the bar collects, the café does not"
cloud_start
sgw_start BAR
wait_for 30 "the café to apply level 2" sgw_field_is CAFE alert_level 2
wait_for 30 "the bar to apply level 2" sgw_field_is BAR alert_level 2
expect_eq "bar: category" bar "$(sgw_field BAR category)"
expect_eq "bar: collects from" 2 "$(sgw_field BAR collect_from_level)"
expect_eq "bar: collecting at level 2" true "$(sgw_field BAR collecting)"
expect_eq "café: category" cafe "$(sgw_field CAFE category)"
expect_eq "café: collects from" 3 "$(sgw_field CAFE collect_from_level)"
expect_eq "café: not collecting at level 2" false "$(sgw_field CAFE collecting)"
out=$(anshim-gw status --config "$(sgw_dir CAFE)/gw.conf")
expect_match "café status in words" \
  "collecting   NO \(alert level 2; this venue collects from level 3, category cafe\)" "$out"

expect_eq "bar scan at level 2" accepted \
  "$(gw_scan "$(sgw_dir BAR)/scan.sock" "$(gw_pass "$WORK/w2")")"
expect_eq "café scan at level 2" not-collecting \
  "$(gw_scan "$(sgw_dir CAFE)/scan.sock" "$(gw_pass "$WORK/w3")")"

phase "the cloud stores the bar's visit and refuses the café's"
wait_delivered 60 BAR
wait_for 60 "the café's record to be acknowledged" sgw_caught_up CAFE
expect_eq "bar: stored" 1 "$(cloud_gw_field "${SGW_ID[BAR]}" records)"
expect_eq "café: its record acknowledged" 1 "$(sgw_field CAFE acked_seq)"
expect_eq "café: taken through seq 1" 1 "$(cloud_gw_field "${SGW_ID[CAFE]}" through_seq)"
expect_eq "café: nothing stored" 0 "$(cloud_gw_field "${SGW_ID[CAFE]}" records)"
expect_eq "not-collecting counted" 1 "$(cloud_reject not-collecting)"
expect_eq "visits in the cloud" 1 "$(cloud_field visits)"

phase "cafe from level 2: the café collects and is stored"
out=$(anshim-cloud policy set --config "$CLOUD_CONF" --level 2 --category bar=2 --category cafe=2)
expect_match "published" "published retained" "$out"
wait_for 30 "the café to collect" sgw_field_is CAFE collecting true
expect_eq "café scan at cafe=2" accepted \
  "$(gw_scan "$(sgw_dir CAFE)/scan.sock" "$(gw_pass "$WORK/w3")")"
wait_delivered 60 CAFE
expect_eq "café: stored now" 1 "$(cloud_gw_field "${SGW_ID[CAFE]}" records)"
expect_eq "not-collecting unchanged" 1 "$(cloud_reject not-collecting)"

# Without --category the table stays; --clear-categories empties it (every
# category from level 3: at level 2 nobody collects).
anshim-cloud policy set --config "$CLOUD_CONF" --level 2 >/dev/null
check; tail -n 1 "$CLOUD_STORE/policy-history" | grep -q '"categories":{"bar":2,"cafe":2}' ||
  fail "policy set without --category dropped the table: $(tail -n 1 "$CLOUD_STORE/policy-history")"
anshim-cloud policy set --config "$CLOUD_CONF" --level 2 --clear-categories >/dev/null
wait_for 30 "the bar to stop collecting" sgw_field_is BAR collecting false
expect_eq "bar: from the default level" 3 "$(sgw_field BAR collect_from_level)"

# Bad --category values are usage errors that say what to give.
set +e
out=$(anshim-cloud policy set --config "$CLOUD_CONF" --level 2 --category Bar=2 2>&1); rc=$?
set -e
expect_eq "bad category name: exit" 2 "$rc"
expect_match "bad category name: why" "a category is 1-24 letters a-z" "$out"
set +e
out=$(anshim-cloud policy set --config "$CLOUD_CONF" --level 2 --category bar=5 2>&1); rc=$?
set -e
expect_eq "bad category level: exit" 2 "$rc"
expect_match "bad category level: why" "is 1, 2, 3 or 4" "$out"

sync_stop_all
done_ok
