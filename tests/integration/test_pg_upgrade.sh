#!/usr/bin/env bash
# A PostgreSQL store made by an earlier release upgrades in place: a
# database at schema version 3 (cloud/sql/001..003, as that release left
# it), holding visits, is opened by this release, which applies the later
# migrations once (the signed policies, the journal forks) and keeps every
# visit: the same count before and after, each with fork number 0, and the
# de-duplication by (gateway, seq, day, fork) in place.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

SQL=$(dirname "$0")/../../cloud/sql
pg_start pg
URI=${PG_URI[pg]}

echo "a store at schema version 3 holding visits"
for f in "$SQL"/001_*.sql "$SQL"/002_*.sql "$SQL"/003_*.sql; do
  _pg_env pg psql -X -q -v ON_ERROR_STOP=1 -f "$f" > /dev/null || fail "applying $f"
done
pg_sql pg "INSERT INTO anshim_schema (version) VALUES (1), (2), (3)"
pg_sql pg "INSERT INTO visits (day, gateway, seq, venue_id, pid, entry, headcount, kind, flags, digest)
  SELECT 20000, decode(repeat('ab', 16), 'hex'), s, 7, decode(repeat('01', 16), 'hex'),
    20000 * 86400 + s, 1, 1, 0, decode('0102030405060708', 'hex') FROM generate_series(1, 50) s"
expect_eq "50 visits before" 50 "$(pg_sql pg "SELECT count(*) FROM visits")"

echo "this release opens it"
# (policy set opens the store for writing, which migrates it.)
anshim-cloud keys init --dir "$WORK/keys" > /dev/null || fail "keys init"
mkdir -p "$WORK/store"
printf 'store %s\nstore_dir %s\nkeys_dir %s\n' "$URI" "$WORK/store" "$WORK/keys" > "$WORK/cloud.conf"
chmod 0640 "$WORK/cloud.conf"
out=$(anshim-cloud policy set --config "$WORK/cloud.conf" --level 3 --no-publish 2>&1) ||
  fail "opening the old store: $out"
migrations=$(find "$SQL" -name '[0-9][0-9][0-9]_*.sql' | wc -l)
expect_eq "every migration applied once" "$migrations $migrations" \
  "$(pg_sql pg "SELECT count(*) || ' ' || count(DISTINCT version) FROM anshim_schema")"
expect_eq "the 50 visits kept, each of fork 0" "50 50" \
  "$(pg_sql pg "SELECT count(*) || ' ' || count(*) FILTER (WHERE fork = 0) FROM visits")"
expect_eq "the signed policy is kept in the new table" "1" "$(pg_sql pg "SELECT count(*) FROM policies")"
pg_sql pg "INSERT INTO visits (day, gateway, seq, venue_id, pid, entry, headcount, kind, flags)
  VALUES (20000, decode(repeat('ab', 16), 'hex'), 1, 7, decode(repeat('02', 16), 'hex'), 1, 1, 1, 0)
  ON CONFLICT DO NOTHING"
expect_eq "a second row under (gateway, seq, day, fork) is not written" 50 \
  "$(pg_sql pg "SELECT count(*) FROM visits")"
pg_sql pg "INSERT INTO visits (day, gateway, seq, venue_id, pid, entry, headcount, kind, flags, fork)
  VALUES (20000, decode(repeat('ab', 16), 'hex'), 1, 7, decode(repeat('02', 16), 'hex'), 1, 1, 1, 0, 1)"
expect_eq "another fork's row under the same seq is" 51 "$(pg_sql pg "SELECT count(*) FROM visits")"
done_ok
