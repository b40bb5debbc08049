#!/usr/bin/env bash
# Visit tokens in the PostgreSQL store under concurrent ingest
# transactions, as two ingest nodes run them (tests/integration/
# pg_token_race.c): one token scanned at two venues at once gives one visit
# and one replay; a record and the issuer's batch announcing its issue, in
# either order, give one visit and nothing left waiting; two tokens of one
# issue at two venues are both stored; the retention purge removes expired
# issues and records still waiting.  Each race makes the second
# transaction wait on the first one's lock (seen in pg_locks) before the
# first commits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

RACE=$ANSHIM_BUILD_DIR/tests/pg_token_race
[ -x "$RACE" ] || fail "$RACE not built"
pg_start pg
out=$("$RACE" "${PG_URI[pg]}" 2>&1) || { echo "$out"; fail "visit tokens under concurrent transactions"; }
echo "$out"
expect_match "race 1" "race 1 .*one visit, one replay" "$out"
expect_match "race 2" "race 2 .*waited, stored by the issue" "$out"
expect_match "race 3" "race 3 .*stored at once" "$out"
expect_match "race 4" "race 4 .*both stored" "$out"
expect_match "totals" "totals: 5 visits under one pid, 1 replay, 0 waiting, 3 issues" "$out"
expect_match "purge" "purge: 5 visits, every issue and waiting record gone" "$out"
done_ok
