-- Anshim's cluster store on PostgreSQL 15, schema version 1.
--
-- Applied by anshim-cloudd (and anshim-cloud) when they open a
-- postgresql:// store for writing: each file NNN_*.sql of cloud/sql/ is one
-- migration, applied once, in number order, in its own transaction,
-- recorded in anshim_schema.  A migration is never edited once released:
-- a change is a new file.
--
-- The same data as the embedded LMDB store (cloud/store/lmdb_layout.c):
-- the registry, visits de-duplicated by (gateway, seq), the latest capsule
-- per person, app check-ins, coverage periods, journal chains and
-- counters.  Times are unix seconds; a day is entry / 86400 (clamped to
-- 0 .. 2^32 - 1, as in the LMDB store).

CREATE TABLE anshim_schema (
	version integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE venues (
	id integer PRIMARY KEY CHECK (id > 0),
	name text NOT NULL,
	address text NOT NULL,
	category text NOT NULL,
	dwell_minutes integer NOT NULL CHECK (dwell_minutes BETWEEN 1 AND 1440),
	longest_visit bigint NOT NULL DEFAULT 0   -- seconds, raised by ingest
);

-- through_seq: every record 1..through_seq of the gateway is stored; it is
-- updated in the same transaction as the gateway's visits, under the row's
-- lock, so ingest nodes take a gateway's batches one after the other.
CREATE TABLE gateways (
	gw_id bytea PRIMARY KEY CHECK (length(gw_id) = 16),
	pk bytea NOT NULL CHECK (length(pk) = 32),
	venue_id integer NOT NULL REFERENCES venues (id),
	revoked boolean NOT NULL DEFAULT false,
	enrolled_at bigint NOT NULL,
	revoked_at bigint NOT NULL DEFAULT 0,
	through_seq bigint NOT NULL DEFAULT 0 CHECK (through_seq >= 0),
	records bigint NOT NULL DEFAULT 0,
	batches bigint NOT NULL DEFAULT 0,
	last_seen bigint NOT NULL DEFAULT 0,
	last_created bigint NOT NULL DEFAULT 0
);

CREATE SEQUENCE visit_ids;

-- One row per stored visit, partitioned by day: the retention purge drops
-- whole partitions (visits_dDAY, made ahead of time by the writers).
-- A gateway's visit has gateway and seq; an app check-in has checkin_id.
-- PostgreSQL requires a unique constraint of a partitioned table to hold
-- the partition key: (gateway, seq, day) de-duplicates as (gateway, seq)
-- does, since a record's day is that of its entry time, so the same record
-- sent again lands in the same partition.  pid is all zero for a visit
-- attributed to nobody.
CREATE TABLE visits (
	day integer NOT NULL,
	vid bigint NOT NULL DEFAULT nextval('visit_ids'),
	gateway bytea CHECK (length(gateway) = 16),
	seq bigint CHECK (seq > 0),
	checkin_id bytea CHECK (length(checkin_id) = 32),
	venue_id integer NOT NULL,
	pid bytea NOT NULL CHECK (length(pid) = 16),
	entry bigint NOT NULL,
	exit bigint NOT NULL DEFAULT 0,
	headcount smallint NOT NULL,
	kind smallint NOT NULL,
	flags smallint NOT NULL,
	digest bytea,                              -- 8 bytes of the record's chain digest
	CHECK ((gateway IS NULL) = (seq IS NULL)),
	CHECK ((gateway IS NULL) <> (checkin_id IS NULL)),
	UNIQUE (gateway, seq, day)
) PARTITION BY RANGE (day);
-- Rows outside every day partition (a time far off); normally empty.
CREATE TABLE visits_default PARTITION OF visits DEFAULT;
CREATE INDEX visits_by_venue ON visits (venue_id, entry);
CREATE INDEX visits_by_pid ON visits (pid, entry);
CREATE INDEX visits_by_checkin ON visits (checkin_id) WHERE checkin_id IS NOT NULL;

-- The latest capsule seen of each person; a paper entry's capsule that
-- differs from it is kept in paper until the person's next visit.
CREATE TABLE capsules (
	pid bytea PRIMARY KEY CHECK (length(pid) = 16),
	capsule bytea NOT NULL,
	paper bytea
);

CREATE TABLE app_checkins (
	checkin_id bytea PRIMARY KEY CHECK (length(checkin_id) = 32),
	day integer NOT NULL,
	venue_id integer NOT NULL,
	entry bigint NOT NULL,
	pid bytea NOT NULL
);
CREATE TABLE app_replays (
	replay_key bytea PRIMARY KEY CHECK (length(replay_key) = 32),
	checkin_id bytea NOT NULL,
	entry bigint NOT NULL
);

-- The journal chain followed per gateway, and what it showed.
CREATE TABLE chains (
	gw_id bytea PRIMARY KEY,
	journal_id bytea NOT NULL,
	head bytea NOT NULL,
	seq bigint NOT NULL,
	time bigint NOT NULL
);
CREATE TABLE chain_events (
	gw_id bytea NOT NULL,
	n integer NOT NULL,
	kind smallint NOT NULL,
	cause smallint NOT NULL,
	journal_id bytea NOT NULL,
	first_seq bigint NOT NULL,
	last_seq bigint NOT NULL,
	at_seq bigint NOT NULL,
	reconciled integer NOT NULL,
	time bigint NOT NULL,
	PRIMARY KEY (gw_id, n)
);

-- Coverage periods of gateways' heartbeats (cloud/coverage.h's encoding).
CREATE TABLE coverage (
	gw_id bytea NOT NULL,
	start_time bigint NOT NULL,
	end_time bigint NOT NULL,
	period bytea NOT NULL,
	PRIMARY KEY (gw_id, start_time)
);

CREATE TABLE reject_counters (
	reason text PRIMARY KEY,
	count bigint NOT NULL
);

CREATE TABLE counters (
	name text PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO counters VALUES ('batches', 0);
