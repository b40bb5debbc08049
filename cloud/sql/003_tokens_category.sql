-- Anshim's cluster store, schema version 3: visit tokens (pass version 2),
-- as the embedded store keeps them (cloud/store/lmdb_tokens.c), the
-- visits stored after their gateway's through_seq had passed them, and the
-- policy history every ingest node judges records by.
--
-- A token id reads, with tokenid.key, as (issue serial, index in the
-- issue): one row per issue the issuer's capsule feed announced, with a
-- bit per token, never one per token.  Its holder's contact capsule
-- waits in the row until the issue's first use, which makes it the
-- person's capsule (capsules) and clears it here.
CREATE TABLE token_issues (
	serial bigint PRIMARY KEY CHECK (serial > 0),
	expires bigint NOT NULL,
	pid bytea NOT NULL CHECK (length(pid) = 16),   -- all zero: nobody
	count smallint NOT NULL CHECK (count BETWEEN 1 AND 64),
	used bigint NOT NULL DEFAULT 0,                -- bit i: token i used
	contact bytea                                  -- until the first use
);

-- A gateway's token record whose issue the feed has not announced yet:
-- taken (through_seq passed it), stored as a visit when the issue comes.
-- A row here exists only while its serial is not in token_issues.
CREATE TABLE token_wait (
	serial bigint NOT NULL,
	idx smallint NOT NULL,
	gateway bytea NOT NULL CHECK (length(gateway) = 16),
	seq bigint NOT NULL,
	venue_id integer NOT NULL,
	entry bigint NOT NULL,
	exit bigint NOT NULL,
	headcount smallint NOT NULL,
	flags smallint NOT NULL,
	digest bytea NOT NULL,                         -- 8 bytes, as visits.digest
	expires bigint NOT NULL,
	PRIMARY KEY (serial, idx)
);

-- A visit stored after its gateway's through_seq passed its seq (a token
-- record that waited for its issue) gets late = the next value of the
-- counter 'late_visits', taken under that row's lock until the commit, so
-- late values become visible in their order: index nodes copy such
-- visits by a cursor on late (cloud/store/pg_tail.c).  NULL otherwise.
ALTER TABLE visits ADD COLUMN late bigint;
CREATE INDEX visits_by_late ON visits (late) WHERE late IS NOT NULL;

INSERT INTO counters VALUES ('replayed_tokens', 0), ('late_visits', 0);

-- The policies issued, one line each as in STORE/policy-history (JSON:
-- issue time, alert level, category table, ...), numbered by the policy's
-- seq: 'anshim-cloud policy set' (or the console) adds the line, and each
-- ingest node copies the table into its own STORE/policy-history, by
-- which it refuses records made while their venue's category was not
-- collecting.
CREATE TABLE policy_history (
	seq bigint PRIMARY KEY,
	line text NOT NULL
);
