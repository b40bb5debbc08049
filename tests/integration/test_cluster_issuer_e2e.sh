#!/usr/bin/env bash
# test_issuer_e2e.sh in cluster mode: anshim-cloudd's store is PostgreSQL
# (SYNC_STORE, sync_lib.sh) and the traces run on an index node filled
# from it.  Every assertion is the same: a self-enrolled visitor's
# version 2 passes at two venues are found under one pid, the pid of the
# phone, with the other visitor as the case's contact.
SYNC_STORE=postgresql
. "$(dirname "$0")/test_issuer_e2e.sh"
