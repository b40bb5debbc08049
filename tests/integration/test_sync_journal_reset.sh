#!/usr/bin/env bash
# A gateway whose journal is lost while its device key is kept (a corrupt
# SD card's journal deleted, an old backup of the state dir restored, or
# 'anshim-gw init' on a state dir that still holds the keys) numbers its
# records from seq 1 again.  The cloud holds other records under those
# seqs, so it must not take these new records for old ones, and the
# gateway must not forget records the cloud does not hold.
#
#   - a delivered gateway (100 records, cloud through_seq 100) loses its
#     journal and restarts; five new scans are accepted (seq 1..5);
#   - the cloud sees the fresh journal's id (a new journal) in the batch,
#     finds the records' content new and stores them: it ends with 105
#     visits.  Its ack names the new journal's chain at seq 5, so the
#     gateway takes it only through 5, its own (once a bug: JOURNAL-RESET,
#     the gateway took the ack's through_seq 100 and forgot records the
#     cloud never stored);
#   - a gateway whose journal is replaced by an older backup (records
#     51..70 unsent in it, but stored in the cloud since, which holds it
#     through 100) must not have them stored twice.  They are a resend of
#     what the cloud holds under the same seqs: acknowledged as such (the
#     ack names the backup's own chain at 70), not stored again (once a
#     bug: JOURNAL-RESTORE, the cloud stored 20 duplicate visits);
#   - the restored gateway's next scans (71..80, seqs under which the cloud
#     holds the original's records) leave the chain the cloud followed at
#     70: the cloud records a fork at 70 and stores them by their content,
#     with no chain break.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup: 100 records delivered"
start_broker
cloud_init
sgw_init A
sgw_enroll A 1
cloud_start
sgw_start A
ID=${SGW_ID[A]}
sgw_load A 50 100 4
wait_delivered 30 A
expect_exactly_once A

phase "the journal is lost, the key kept"
sgw_stop A
rm -rf "$(sgw_dir A)/state/journal"
sgw_start A
expect_eq "a fresh journal" 0 "$(sgw_field A last_seq)"
sgw_load A 50 5 1
expect_eq "new records numbered from 1" 5 "$(sgw_field A last_seq)"
wait_for 60 "the cloud to store the new records" cloud_is "s['visits']" 105
wait_for 60 "gateway A to have its records acknowledged" sgw_caught_up A
expect_eq "gateway acked_seq" 5 "$(sgw_field A acked_seq)"
expect_eq "gateway last_seq" 5 "$(sgw_field A last_seq)"
expect_eq "nothing unsent" 0 "$(sgw_field A unsent)"
expect_eq "the new records are in the journal" 5 "$(sgw_field A records)"
expect_eq "cloud: A's visits" 105 "$(cloud_gw_field "$ID" records)"
expect_eq "cloud: A's through_seq (seqs of the old journal)" 100 \
  "$(cloud_gw_field "$ID" through_seq)"
expect_eq "cloud: A's new journal was seen" 1 "$(cloud_gw_field "$ID" new_journals)"
expect_eq "cloud: no fork of A" 0 "$(cloud_gw_field "$ID" forks)"
expect_eq "cloud: no chain break of A" 0 "$(cloud_gw_field "$ID" breaks)"

# --- an older backup of the journal is restored ---
# Gateway B journals 70 (the last 20 offline, unsent), its journal is
# backed up, then everything (and 30 more) is delivered: the cloud holds B
# through 100.  The backup comes back: its records 51..70 are unsent in it
# but already stored in the cloud, and must not be stored twice.
phase "B: an older backup of the journal is restored"
sgw_init B
sgw_enroll B 2
sgw_start B
sgw_load B 50 50 4
wait_delivered 30 B
sgw_ctl B offline > /dev/null
wait_for 10 "B offline" sgw_field_is B offline true
sgw_load B 50 20 4
sgw_stop B
cp -a "$(sgw_dir B)/state/journal" "$WORK/journal-b.backup"
sgw_start B
sgw_ctl B online > /dev/null
wait_delivered 30 B
sgw_load B 50 30 4
wait_delivered 30 B
expect_eq "B before the restore: cloud records" 100 "$(cloud_gw_field "${SGW_ID[B]}" records)"
sgw_stop B
rm -rf "$(sgw_dir B)/state/journal"
cp -a "$WORK/journal-b.backup" "$(sgw_dir B)/state/journal"
sgw_start B
wait_for 30 "B to have its records acknowledged" sgw_caught_up B
echo "  B after the restore: journal last_seq $(sgw_field B last_seq), cloud records $(cloud_gw_field "${SGW_ID[B]}" records)"
expect_eq "B's unsent records keep their seqs" 70 "$(sgw_field B last_seq)"
expect_eq "B's unsent records are acknowledged" 70 "$(sgw_field B acked_seq)"
expect_eq "B's records in the cloud after the backup's unsent records were sent again" \
  100 "$(cloud_gw_field "${SGW_ID[B]}" records)"
expect_eq "cloud visits (A 105 + B 100)" 205 "$(cloud_field visits)"
expect_eq "cloud: a resend is no fork yet" 0 "$(cloud_gw_field "${SGW_ID[B]}" forks)"
expect_eq "cloud: no chain break of B" 0 "$(cloud_gw_field "${SGW_ID[B]}" breaks)"
expect_eq "cloud: B's journal is the same journal" 0 "$(cloud_gw_field "${SGW_ID[B]}" new_journals)"

phase "B: the restored journal goes on"
sgw_load B 50 10 4
wait_for 30 "the cloud to store B's new scans" cloud_is "s['visits']" 215
wait_for 30 "B to have its records acknowledged" sgw_caught_up B
expect_eq "B's new scans are stored" 110 "$(cloud_gw_field "${SGW_ID[B]}" records)"
expect_eq "B's last_seq" 80 "$(sgw_field B last_seq)"
expect_eq "cloud visits (A 105 + B 110)" 215 "$(cloud_field visits)"
expect_eq "cloud: the restored backup is a fork of B's journal" 1 "$(cloud_gw_field "${SGW_ID[B]}" forks)"
expect_eq "cloud: still no chain break of B" 0 "$(cloud_gw_field "${SGW_ID[B]}" breaks)"

# In cluster mode (test_cluster_journal_reset.sh): the index node holds every
# visit PostgreSQL holds, each once, the reconciled ones included; and so
# does an index node built from scratch after them.
sync_trace_ready
sync_index_fresh_same

phase "stopping"
sync_stop_all
done_ok
