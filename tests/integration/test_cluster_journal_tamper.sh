#!/usr/bin/env bash
# test_sync_journal_tamper.sh in cluster mode: anshim-cloudd's store is PostgreSQL
# (SYNC_STORE, sync_lib.sh), which reconciles a batch that leaves the
# journal chain by content as the embedded store does; every assertion is
# the same, and the index node filled from PostgreSQL ends holding every
# visit PostgreSQL holds, each once (a fork's visits come by its late
# cursor).
SYNC_STORE=postgresql
. "$(dirname "$0")/test_sync_journal_tamper.sh"
