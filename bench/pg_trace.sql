-- pg_trace.sql - the PostgreSQL 15 side of bench/compare_postgres: schema,
-- bulk load and the tracing queries.  bench/pg_trace reads this file and
-- runs each "-- @name" section by name (load steps in order; queries as
-- prepared statements with $n parameters); :csvdir is replaced by the
-- directory of the CSV files visits_gen wrote.  Tracing rules: as
-- docs/TRACING.md, the same ones cloud/trace.c implements:
--   a visit is [entry, end): end = greatest(exit, entry) when an exit was
--   recorded (exit <> 0), else entry + the venue's dwell minutes, and never
--   past entry + 86400; an overlap is at least one second; the all-zero pid
--   (a paper entry that could not be opened) is never a contact.
--
-- Times are unix seconds (bigint), as the Anshim store keeps them; a pid is
-- a uuid (16 bytes, the most compact fixed-size type for it).

-- @schema
DROP TABLE IF EXISTS visits, people, gateways, venues;
CREATE TABLE venues (
    id       integer PRIMARY KEY,
    name     text NOT NULL,
    address  text NOT NULL,
    category text NOT NULL,
    dwell    smallint NOT NULL             -- minutes
);
CREATE TABLE gateways (
    id       integer PRIMARY KEY,
    gw_id    bytea NOT NULL,
    pk       bytea NOT NULL,
    venue    integer NOT NULL
);
CREATE TABLE people (                        -- one sealed contact capsule per person
    pid      uuid PRIMARY KEY,
    capsule  bytea NOT NULL
);
CREATE TABLE visits (                        -- columns ordered for alignment
    pid       uuid NOT NULL,
    entry     bigint NOT NULL,
    exit      bigint NOT NULL,               -- 0 = no recorded exit
    seq       bigint NOT NULL,               -- (gateway, seq) identifies a record
    venue     integer NOT NULL,
    gateway   integer NOT NULL,
    headcount smallint NOT NULL,
    kind      smallint NOT NULL,
    flags     smallint NOT NULL
);

-- @copy_venues
COPY venues FROM ':csvdir/venues.csv' (FORMAT csv);
-- @copy_gateways
COPY gateways FROM ':csvdir/gateways.csv' (FORMAT csv);
-- @copy_people
COPY people FROM ':csvdir/people.csv' (FORMAT csv);
-- @copy_visits
COPY visits FROM ':csvdir/visits.csv' (FORMAT csv);
-- @index_pid
CREATE INDEX visits_pid_entry ON visits (pid, entry);
-- @index_venue
CREATE INDEX visits_venue_entry ON visits (venue, entry);
-- @vacuum_analyze
VACUUM (ANALYZE) visits, people, gateways, venues;

-- @size_visits
SELECT pg_total_relation_size('visits'), pg_relation_size('visits'),
       pg_relation_size('visits_pid_entry'), pg_relation_size('visits_venue_entry'),
       (SELECT count(*) FROM visits);
-- @size_all
SELECT pg_total_relation_size('visits') + pg_total_relation_size('people')
       + pg_total_relation_size('gateways') + pg_total_relation_size('venues');

-- @first_order
-- A first-order trace in one query: $1 the case's pid, [$2, $3] the
-- infectious window.  The case's visits (pid index), per venue their union
-- (a multirange), the visits at the same venues that overlap them (venue
-- index, entry > start - 86400: no visit is longer); per contact the first
-- moment of overlap and the exposure: |union of the contact's visits
-- intersected with the case's union| summed over venues, each second once.
WITH cv AS (
    SELECT v.venue, ve.dwell, v.entry AS a,
           LEAST(CASE WHEN v.exit <> 0 THEN GREATEST(v.exit, v.entry)
                      ELSE v.entry + ve.dwell * 60 END, v.entry + 86400) AS b
    FROM visits v JOIN venues ve ON ve.id = v.venue
    WHERE v.pid = $1 AND v.entry BETWEEN $2 AND $3
), cu AS (
    SELECT venue, range_agg(int8range(a, b)) AS m FROM cv WHERE b > a GROUP BY venue
), hit AS (
    SELECT o.pid, o.venue,
           int8range(o.entry, LEAST(CASE WHEN o.exit <> 0 THEN GREATEST(o.exit, o.entry)
                                         ELSE o.entry + cv.dwell * 60 END,
                                    o.entry + 86400)) AS r,
           cv.a, cv.b
    FROM cv JOIN visits o ON o.venue = cv.venue AND o.entry > cv.a - 86400 AND o.entry < cv.b
    WHERE cv.b > cv.a AND o.pid <> $1 AND o.pid <> '00000000-0000-0000-0000-000000000000'
), per_venue AS (
    SELECT h.pid, h.venue, range_agg(h.r) * cu.m AS x
    FROM hit h JOIN cu ON cu.venue = h.venue
    WHERE upper(h.r) > h.a AND upper(h.r) > lower(h.r)
    GROUP BY h.pid, h.venue, cu.m
)
SELECT pid, min(lower(x)) AS first_exposure,
       sum((SELECT sum(upper(r) - lower(r)) FROM unnest(x) AS r)) AS overlap
FROM per_venue WHERE NOT isempty(x)
GROUP BY pid;

-- @d3_table
-- Depth n, order by order, in one transaction (the table is emptied at
-- commit): everyone found so far with their traced window [lo, hi].
CREATE TEMP TABLE tr (
    pid uuid PRIMARY KEY,
    ord integer NOT NULL,
    lo  bigint NOT NULL,
    hi  bigint NOT NULL
) ON COMMIT DELETE ROWS;
-- @d3_begin
BEGIN;
-- @d3_case
INSERT INTO tr VALUES ($1, 0, $2, $3);
-- @d3_order
-- Order $1: the visits of the sources (order $1 - 1) in their windows,
-- the visits at the same venues that overlap them, anyone not yet found;
-- first exposure = the first moment of overlap with any source; the next
-- order traces [first exposure, first exposure + $2].
INSERT INTO tr (pid, ord, lo, hi)
SELECT o.pid, $1, min(GREATEST(o.entry, s.a)), min(GREATEST(o.entry, s.a)) + $2
FROM (SELECT v.venue, ve.dwell, v.entry AS a,
             LEAST(CASE WHEN v.exit <> 0 THEN GREATEST(v.exit, v.entry)
                        ELSE v.entry + ve.dwell * 60 END, v.entry + 86400) AS b
      FROM tr p
      JOIN visits v ON v.pid = p.pid AND v.entry BETWEEN p.lo AND p.hi
      JOIN venues ve ON ve.id = v.venue
      WHERE p.ord = $1 - 1) s
JOIN visits o ON o.venue = s.venue AND o.entry > s.a - 86400 AND o.entry < s.b
WHERE s.b > s.a
  AND o.pid <> '00000000-0000-0000-0000-000000000000'
  AND GREATEST(o.entry, s.a) <
      LEAST(CASE WHEN o.exit <> 0 THEN GREATEST(o.exit, o.entry)
                 ELSE o.entry + s.dwell * 60 END, o.entry + 86400, s.b)
  AND NOT EXISTS (SELECT 1 FROM tr q WHERE q.pid = o.pid)
GROUP BY o.pid;
-- @d3_analyze
ANALYZE tr;
-- @d3_result
SELECT pid, ord, lo FROM tr WHERE ord > 0;
-- @d3_commit
COMMIT;
