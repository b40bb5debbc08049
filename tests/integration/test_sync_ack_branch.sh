#!/usr/bin/env bash
# An ack about another branch of a gateway's journal must not make the
# gateway skip its own records.  The cloud's through_seq says that it holds
# some record under every seq up to it, not whose: after a restored backup
# or a journal made anew, those seqs may hold the records of the journal's
# other branch.  The ack (version 2) names the chain position the cloud
# holds; the gateway takes it only as far as its own chain.
#
#   - C: a restored backup, acked through 80, has unsent records 81..130:
#     81..100 the original device delivered too (the cloud holds C through
#     120 from it), 101..130 new visits scanned after the restore, before
#     it reached the cloud.  It sends one record per batch, one batch at a
#     time, so its first batch (81) is a resend the cloud acks with
#     through_seq 120.  The cloud must end with 120 + 30 visits of C: none
#     of 101..120 skipped (once a bug: the gateway took the ack as its own
#     and never sent its 101..120), none of 81..100 stored twice;
#   - D: a journal made anew (the old one deleted, the key kept) scans 30
#     visits (seqs 1..30) before it reaches the cloud, which holds D
#     through 20.  The cloud must end with 20 + 30 visits of D.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

# conf_set NAME KEY [VALUE]: set (or, without VALUE, remove) a key of the
# gateway's config file.
conf_set() {
  local f; f="$(sgw_dir "$1")/gw.conf"
  sed -i "/^$2 /d" "$f"
  [ $# -lt 3 ] || echo "$2 $3" >> "$f"
}

# start_offline NAME: start the (stopped) gateway with no broker configured
# (it works offline: scans are journaled, nothing is sent).
start_offline() {
  conf_set "$1" broker
  sgw_start "$1" nowait
}

# reconnect_one_by_one NAME: restart the gateway with the broker, sending
# one record per batch and one batch at a time (so its first batch is
# acked before it sends the next).
reconnect_one_by_one() {
  sgw_stop "$1"
  conf_set "$1" broker "$BROKER_URI"
  conf_set "$1" batch_max_records 1
  conf_set "$1" inflight_batches 1
  sgw_start "$1"
}

phase "setup"
start_broker
cloud_init
cloud_start

phase "C: 80 records delivered, 20 more journaled offline, the journal backed up"
sgw_init C
sgw_enroll C 3
sgw_start C
ID_C=${SGW_ID[C]}
sgw_load C 50 80 4
wait_delivered 30 C
sgw_ctl C offline > /dev/null
wait_for 10 "C offline" sgw_field_is C offline true
sgw_load C 50 20 4
sgw_stop C
cp -a "$(sgw_dir C)/state/journal" "$WORK/journal-c.backup"

phase "C: the original device delivers 1..120"
sgw_start C
sgw_ctl C online > /dev/null
wait_delivered 30 C
sgw_load C 50 20 4
wait_delivered 30 C
expect_eq "C before the restore: cloud records" 120 "$(cloud_gw_field "$ID_C" records)"
expect_eq "C before the restore: cloud through_seq" 120 "$(cloud_gw_field "$ID_C" through_seq)"

phase "C: the backup is restored and scans 30 new visits offline"
sgw_stop C
rm -rf "$(sgw_dir C)/state/journal"
cp -a "$WORK/journal-c.backup" "$(sgw_dir C)/state/journal"
start_offline C
expect_eq "the restored journal: acked_seq" 80 "$(sgw_field C acked_seq)"
sgw_load C 50 30 4
expect_eq "the restored journal: last_seq" 130 "$(sgw_field C last_seq)"
expect_eq "the restored journal: unsent" 50 "$(sgw_field C unsent)"

phase "C: it reaches the cloud, one record per batch"
reconnect_one_by_one C
wait_delivered 90 C
echo "  C: journal last_seq $(sgw_field C last_seq) acked_seq $(sgw_field C acked_seq)," \
  "acks naming another chain $(sgw_field C acks_other_chain);" \
  "cloud records $(cloud_gw_field "$ID_C" records) through_seq $(cloud_gw_field "$ID_C" through_seq)"
expect_eq "C: its records keep their seqs (the cloud reconciles by content)" 130 \
  "$(sgw_field C last_seq)"
expect_eq "C: acked_seq" 130 "$(sgw_field C acked_seq)"
expect_eq "C: nothing unsent" 0 "$(sgw_field C unsent)"
expect_eq "C: cloud records (120 of the original + 30 new, none skipped, none twice)" 150 \
  "$(cloud_gw_field "$ID_C" records)"
expect_eq "cloud visits" 150 "$(cloud_field visits)"
expect_eq "cloud: the restored backup is a fork of C's journal" 1 "$(cloud_gw_field "$ID_C" forks)"
expect_eq "cloud: no chain break of C" 0 "$(cloud_gw_field "$ID_C" breaks)"
expect_eq "cloud: C's journal is the same journal" 0 "$(cloud_gw_field "$ID_C" new_journals)"

phase "C: the restored journal goes on"
sgw_load C 50 5 1
wait_delivered 30 C
expect_eq "C: new scans stored" 155 "$(cloud_gw_field "$ID_C" records)"
expect_eq "cloud: still one fork of C" 1 "$(cloud_gw_field "$ID_C" forks)"
expect_eq "cloud: still no chain break of C" 0 "$(cloud_gw_field "$ID_C" breaks)"

phase "D: 20 records delivered, then the journal is made anew"
sgw_init D
sgw_enroll D 4
sgw_start D
ID_D=${SGW_ID[D]}
sgw_load D 50 20 4
wait_delivered 30 D
sgw_stop D
rm -rf "$(sgw_dir D)/state/journal"
start_offline D
expect_eq "a fresh journal" 0 "$(sgw_field D last_seq)"
sgw_load D 50 30 4
expect_eq "the fresh journal scanned past the cloud's 20" 30 "$(sgw_field D last_seq)"

phase "D: it reaches the cloud, one record per batch"
reconnect_one_by_one D
wait_delivered 90 D
echo "  D: journal last_seq $(sgw_field D last_seq) acked_seq $(sgw_field D acked_seq);" \
  "cloud records $(cloud_gw_field "$ID_D" records) through_seq $(cloud_gw_field "$ID_D" through_seq)"
expect_eq "D: nothing unsent" 0 "$(sgw_field D unsent)"
expect_eq "D: cloud records (20 of the old journal + 30 of the new, none skipped)" 50 \
  "$(cloud_gw_field "$ID_D" records)"
expect_eq "cloud visits (C 155 + D 50)" 205 "$(cloud_field visits)"
expect_eq "cloud: D's new journal was seen" 1 "$(cloud_gw_field "$ID_D" new_journals)"
expect_eq "cloud: no chain break of D" 0 "$(cloud_gw_field "$ID_D" breaks)"

# In cluster mode (test_cluster_ack_branch.sh): the index node holds every
# visit PostgreSQL holds, each once, the reconciled ones included; and so
# does an index node built from scratch after them.
sync_trace_ready
sync_index_fresh_same

phase "stopping"
sync_stop_all
done_ok
