#!/usr/bin/env bash
# test_collect_category.sh in cluster mode: anshim-cloudd's store is
# PostgreSQL (SYNC_STORE, sync_lib.sh) and every assertion is the same:
# the record the café made while its category was not collecting is
# acknowledged, not stored, and counted 'not-collecting', one per record.
SYNC_STORE=postgresql
. "$(dirname "$0")/test_collect_category.sh"
