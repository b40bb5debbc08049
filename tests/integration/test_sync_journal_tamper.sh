#!/usr/bin/env bash
# A gateway journal edited on disk is seen by the cloud as a break in the
# journal's hash chain (every record commits to the one before it; batches
# carry each record's digest, the link before the first record and the
# link the journal holds after the last).  Each edit is made on a stopped
# gateway, to records not yet sent, with journal_tamper (straight to LMDB,
# as someone with the SD card would), then the gateway goes on:
#   - a record changed (its headcount raised): it no longer matches its
#     digest: break "record-changed";
#   - a record in the middle of the unsent run deleted, the later ones
#     renumbered so no seq is missing: the digests no longer fold to the
#     head: break "head-mismatch" (or "unlinked" when a batch starts right
#     after the hole);
#   - the first unsent record deleted and the rest renumbered: the batch no
#     longer continues the link the cloud holds: break "unlinked";
#   - a record turned into a placeholder (kind expired, personal fields
#     zero), its chain entry untouched: the placeholder's digest, computed
#     from its own fields and the seal its entry holds, does not fold to the
#     head: break "head-mismatch";
#   - the same with the entry's seal rewritten to the record's personal hash
#     (as the gateway's own purge does), so the chain folds: the placeholder
#     is younger than the cloud's retention: break "early-placeholder";
#   - the same with its entry time also moved 100 days back, past
#     retention: its digest binds the time: break "head-mismatch".
# The records are stored all the same (they are signed; a placeholder holds
# nothing to store; the break is for
# the investigator to weigh), each once; an unedited gateway shows no
# break; the gateway's next scans continue the chain without a new break.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

TAMPER="$ANSHIM_BUILD_DIR/tests/journal_tamper"
[ -x "$TAMPER" ] || fail "missing $TAMPER (build the tests)"

breaks() { cloud_gw_field "${SGW_ID[$1]}" breaks; }

# offline_load NAME COUNT: journal COUNT scans that stay unsent.
offline_load() {
  sgw_ctl "$1" offline > /dev/null
  wait_for 10 "$1 offline" sgw_field_is "$1" offline true
  sgw_load "$1" 20 "$2" 2
  sgw_stop "$1"
}

# tamper_resume NAME COUNT EDIT SEQ: journal COUNT unsent scans, edit the
# stopped journal (journal_tamper EDIT SEQ), start NAME again, online, and
# wait until all is delivered.
tamper_resume() {
  offline_load "$1" "$2"
  "$TAMPER" "$(sgw_dir "$1")/state/journal" "$3" "$4" || fail "journal_tamper $3 $4 failed"
  sgw_start "$1"
  sgw_ctl "$1" online > /dev/null
  wait_delivered 60 "$1"
}

phase "setup: 20 records delivered from each of two gateways"
start_broker
cloud_init
sgw_init C
sgw_enroll C 1
sgw_init D
sgw_enroll D 2
cloud_start
sgw_start C
sgw_start D
sgw_load C 20 20 2
sgw_load D 20 20 2
wait_delivered 30 C D
expect_eq "C: no chain break" 0 "$(breaks C)"
expect_eq "D: no chain break" 0 "$(breaks D)"

phase "C: an unsent record changed on disk"
tamper_resume C 10 change 25          # seqs 21..30
expect_eq "C: one chain break" 1 "$(breaks C)"
expect_match "the cloud logs the changed record" "chain break record-changed" "$(cat "$CLOUD_LOG")"
expect_eq "C: all 30 records stored once" 30 "$(cloud_gw_field "${SGW_ID[C]}" records)"

phase "C: an unsent record deleted on disk, the rest renumbered"
tamper_resume C 10 delete 35          # seqs 31..40
expect_eq "C: the journal lost a seq" 39 "$(sgw_field C last_seq)"
expect_eq "C: a second chain break" 2 "$(breaks C)"
expect_eq "C: 39 records stored once" 39 "$(cloud_gw_field "${SGW_ID[C]}" records)"

phase "C: the first unsent record deleted on disk"
tamper_resume C 5 delete 40           # seqs 40..44
expect_eq "C: a third chain break" 3 "$(breaks C)"
expect_match "the cloud logs a batch that continues no known link" "chain break unlinked" \
  "$(cat "$CLOUD_LOG")"
expect_eq "C: 43 records stored once" 43 "$(cloud_gw_field "${SGW_ID[C]}" records)"

# hide_phase EDIT CAUSE BREAKS RECORDS: journal 5 unsent scans on C, edit
# the third with journal_tamper EDIT, and expect break number BREAKS with
# CAUSE at that seq, and the other 4 stored (RECORDS in all).
hide_phase() {
  local seq=$(( $(sgw_field C last_seq) + 3 )) log
  tamper_resume C 5 "$1" "$seq"
  expect_eq "C: break $3 ($1)" "$3" "$(breaks C)"
  log=$(grep "chain break" "$CLOUD_LOG" | tail -n 1)
  expect_match "the cloud logs $2 for the $1 edit" "chain break $2" "$log"
  expect_eq "C: $4 records stored once, the placeholder none" "$4" \
    "$(cloud_gw_field "${SGW_ID[C]}" records)"
}

phase "C: an unsent record turned into a placeholder on disk"
hide_phase placeholder head-mismatch 4 47

phase "C: the same, its chain entry's seal rewritten as a purge would"
hide_phase hide early-placeholder 5 51

phase "C: the same, its entry time also moved back past retention"
hide_phase hide-backdated head-mismatch 6 55

phase "C goes on; D was never edited"
sgw_load C 20 10 2
sgw_load D 20 10 2
wait_delivered 30 C D
expect_eq "C: no new break" 6 "$(breaks C)"
expect_eq "C: 65 records" 65 "$(cloud_gw_field "${SGW_ID[C]}" records)"
expect_eq "D: no chain break" 0 "$(breaks D)"
expect_eq "D: no fork" 0 "$(cloud_gw_field "${SGW_ID[D]}" forks)"
expect_eq "cloud visits (C 65 + D 30)" 95 "$(cloud_field visits)"

echo "  the cloud's chain log:"
grep -o 'gateway.*chain [a-z-]*[ a-z-]*' "$CLOUD_LOG" | sed 's/^/    /'

# In cluster mode (test_cluster_journal_tamper.sh): the index node holds every
# visit PostgreSQL holds, each once, the reconciled ones included; and so
# does an index node built from scratch after them.
sync_trace_ready
sync_index_fresh_same

phase "stopping"
sync_stop_all
done_ok
