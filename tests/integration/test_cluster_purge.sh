#!/usr/bin/env bash
# The cluster mode's retention purge removes the data everywhere: in
# PostgreSQL it drops whole day partitions, and each index node purges its
# own LMDB store with the same retention; what PostgreSQL dropped is never
# copied again.
#
# One ingest node and one index node on a real PostgreSQL, one gateway
# scanning 200 passes today, retention 1 day.  The purge is run as of three
# days later (libfaketime on anshim-cloud purge alone).  Checked:
#   - before: today's partition holds the 200 visits, the index holds them;
#   - PostgreSQL's purge reports 200 deleted, today's partition is gone,
#     no visit and no capsule is left (nobody has a visit any more);
#   - the index node's purge reports 200 deleted and it holds no visit;
#   - the index node, still running, copies nothing of what was purged, and
#     copies new scans as usual.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
need faketime

phase "setup"
pg_start pg
URI=${PG_URI[pg]}
start_broker
cloud_init "store $URI" "audit_witness_every 0" "retention 1d"
sgw_init A
sgw_enroll A 1
node_make_conf 1
node_start 1
wait_for 30 "the retained policy on the broker" _policy_retained
index_make_conf 1
index_start 1
sgw_start A

phase "200 scans today"
sgw_load A 50 200 4
wait_delivered 60 A
wait_for 60 "the index holding every visit" index_same 1
today=$(( $(date +%s) / 86400 ))
expect_eq "today's partition holds the visits" 200 "$(pg_sql pg "SELECT count(*) FROM visits_d$today")"
expect_eq "the index holds them" 200 "$(index_visits 1)"

phase "purging as of three days later"
out=$(env $(faketime_env +3d) anshim-cloud purge --config "$CLOUD_CONF" 2>&1) || fail "purge on PostgreSQL: $out"
echo "  postgresql: $out"
expect_match "PostgreSQL's purge deleted the 200 visits" "(^|[^0-9])200 visits" "$out"
expect_eq "today's partition dropped" "" "$(pg_sql pg "SELECT to_regclass('visits_d$today')")"
expect_eq "no visit left in PostgreSQL" 0 "$(pg_sql pg "SELECT count(*) FROM visits")"
expect_eq "no capsule left in PostgreSQL" 0 "$(pg_sql pg "SELECT count(*) FROM capsules")"
out=$(env $(faketime_env +3d) anshim-cloud purge --config "$(index_conf 1)" 2>&1) || fail "purge on the index: $out"
echo "  index: $out"
expect_match "the index's purge deleted the 200 visits" "(^|[^0-9])200 visits" "$out"
expect_eq "no visit left in the index" 0 "$(index_visits 1)"

phase "the index copies nothing purged, and new scans as usual"
sgw_load A 50 10 2
wait_delivered 60 A
wait_for 60 "the index copying the 10 new visits" index_visits_are 1 10
expect_eq "PostgreSQL holds the 10 new visits" 10 "$(pg_sql pg "SELECT count(*) FROM visits")"

phase "stopping"
index_stop 1
node_stop 1
sgw_stop A
done_ok
