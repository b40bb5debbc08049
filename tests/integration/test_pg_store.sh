#!/usr/bin/env bash
# The store contract's two implementations give the same answers: the
# embedded LMDB store and the cluster mode's PostgreSQL store, fed the
# same random calls (tests/integration/store_compare.c: chained batches in
# order, resent, overlapping and past gaps, in random groups per
# transaction; app check-ins with repeats and used replay keys; check-outs,
# some refused; journals restored from a backup or made anew, whose
# batches leave the chain followed and are reconciled by content),
# compared call by call and then by content (registry
# state, venues, statistics, reject counters, every visit, every person's
# latest capsule, and an index node's store built from scratch from
# PostgreSQL against the embedded store), then after the same purge, which on PostgreSQL must drop
# the day partitions before the horizon's day.  Several seeds, each on a
# fresh database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

COMPARE=$ANSHIM_BUILD_DIR/tests/store_compare
[ -x "$COMPARE" ] || fail "$COMPARE not built"
pg_start pg
for seed in 1 2 3 4; do
  pg_sql pg "CREATE DATABASE s$seed" > /dev/null
  uri="postgresql://anshim@127.0.0.1:${PG_PORT[pg]}/s$seed"
  echo "seed $seed:"
  out=$("$COMPARE" "$WORK/lmdb-$seed" "$uri" "$seed" 2>&1) || { echo "$out"; fail "seed $seed: the stores differ"; }
  echo "$out" | sed 's/^/  /'
  expect_match "seed $seed: same answers" "same answers" "$out"
  expect_match "seed $seed: an index built from scratch" "index built from scratch in [0-9]* steps: [1-9][0-9]* visits" "$out"
  expect_match "seed $seed: journals restored or made anew, batches reconciled by content" \
    "[1-9][0-9]* journals restored or made anew, [1-9][0-9]* batches reconciled by content" "$out"
  expect_match "seed $seed: visits stored" "after ingest: [1-9][0-9]* visits" "$out"
  expect_match "seed $seed: visits purged" "purge: [1-9][0-9]* visits deleted" "$out"
  expect_match "seed $seed: gaps, resends and every app outcome exercised" \
    "[1-9][0-9]* gaps, [1-9][0-9]* resends; app: [1-9][0-9]* stored, [1-9][0-9]* duplicate, [1-9][0-9]* replay, [1-9][0-9]* unknown, [1-9][0-9]* refused" "$out"
done
done_ok
