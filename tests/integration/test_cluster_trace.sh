#!/usr/bin/env bash
# Same answers on both backends: the randomized brute-force trace test
# (tests/trace_brute.h) on an embedded LMDB store and on an index node's
# LMDB store filled from PostgreSQL (tests/integration/cluster_trace.c).
# Each seed's random world (gateways' visits of every kind, app check-ins
# and check-outs) goes through the store contract into both stores;
# PostgreSQL's app check-ins come from several ingest transactions open at
# once, committed in random order with index steps in between.  The index
# catches up (cl_store_index_step), then the trace engine runs the world's
# case at depths 1, 2 and 3 on both stores: each answer must equal the
# brute force's, and the index must hold exactly the embedded store's
# visits and people.  Two runs on fresh databases, several seeds each.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

TOOL=$ANSHIM_BUILD_DIR/tests/cluster_trace
[ -x "$TOOL" ] || fail "$TOOL not built"
pg_start pg
run=0
for seeds in "1 30" "31 60"; do
  run=$((run + 1))
  pg_sql pg "CREATE DATABASE t$run" > /dev/null
  uri="postgresql://anshim@127.0.0.1:${PG_PORT[pg]}/t$run"
  echo "seeds $seeds:"
  # shellcheck disable=SC2086
  out=$("$TOOL" "$WORK/embedded-$run" "$WORK/index-$run" "$uri" $seeds 2>&1) \
    || { echo "$out"; fail "seeds $seeds: a trace differs from the brute force's answer"; }
  echo "$out" | grep -v '^ok ' | sed 's/^/  /'
  expect_match "seeds $seeds: all checks passed" ", 0 failed" "$out"
  expect_match "seeds $seeds: app check-ins written out of order and checked out late" \
    "app check-ins [1-9][0-9]* \(late check-outs [1-9][0-9]*, out-of-order commits [1-9][0-9]*\)" "$out"
done
done_ok
