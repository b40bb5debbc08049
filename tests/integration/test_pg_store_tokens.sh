#!/usr/bin/env bash
# test_pg_store.sh with visit tokens and not-collecting refusals: the two
# stores fed the same random calls (tests/integration/store_compare.c
# "tokens") give the same answers, call by call and by content, for token
# records (first uses, replays, tokens their issue never had, records
# waiting for their issue and stored when it arrives), the issuer's issues
# (new, sent again, sent again with another pid), and records refused as
# made while their venue's category was not collecting, also in journals
# restored from a backup or made anew (reconciled by content).  Several seeds,
# each on a fresh database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

COMPARE=$ANSHIM_BUILD_DIR/tests/store_compare
[ -x "$COMPARE" ] || fail "$COMPARE not built"
pg_start pg
for seed in 1 2 3 4 5; do
  pg_sql pg "CREATE DATABASE t$seed" > /dev/null
  uri="postgresql://anshim@127.0.0.1:${PG_PORT[pg]}/t$seed"
  echo "seed $seed:"
  out=$("$COMPARE" "$WORK/lmdb-$seed" "$uri" "$seed" tokens 2>&1) || { echo "$out"; fail "seed $seed: the stores differ"; }
  echo "$out" | sed 's/^/  /'
  expect_match "seed $seed: same answers" "same answers" "$out"
  expect_match "seed $seed: an index built from scratch" "index built from scratch in [0-9]* steps: [1-9][0-9]* visits" "$out"
  expect_match "seed $seed: journals restored or made anew, batches reconciled by content" \
    "[1-9][0-9]* journals restored or made anew, [1-9][0-9]* batches reconciled by content" "$out"
  expect_match "seed $seed: every token outcome exercised" \
    "tokens: [1-9][0-9]* records, [1-9][0-9]* waited, [1-9][0-9]* resolved by their issue, [1-9][0-9]* replayed, [1-9][0-9]* issues sent again; [1-9][0-9]* records refused" "$out"
done
done_ok
