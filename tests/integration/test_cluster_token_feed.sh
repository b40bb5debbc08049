#!/usr/bin/env bash
# test_token_feed.sh in cluster mode: anshim-cloudd's store is PostgreSQL
# (SYNC_STORE, sync_lib.sh) and traces run on an index node filled from it.
# Every assertion is the same: the issuer's capsule batches are taken
# (one row per issue), token records are stored under the pid of their
# issue, a replay is refused and counted, a record whose issue has not
# arrived waits and is stored (and reaches the index node) when it does,
# and a cloud without tokenid.key leaves the batch on the gateway.
SYNC_STORE=postgresql
. "$(dirname "$0")/test_token_feed.sh"
