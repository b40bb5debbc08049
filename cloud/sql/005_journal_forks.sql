-- Anshim's cluster store, schema version 5: a gateway's journal forks
-- reconciled by content, as the embedded store does (cloud/store/
-- lmdb_chains.c, pg_ingest.c).
--
-- A batch that leaves the journal chain the store follows (a journal made
-- anew, a restored copy that went on scanning, records removed) may hold,
-- under seqs the store holds visits of, other records: each such record
-- whose content the store does not hold is a new visit, stored under its
-- own seq beside the visit already there.  (gateway, seq, day) no longer
-- names one visit: fork says which branch a visit came from.  0 is every
-- visit stored past the gateway's through_seq (one per seq, ever, since
-- through_seq only grows); a visit stored under a seq the gateway's
-- through_seq had passed, because its batch left the chain, gets the
-- gateway's fork number, which each such batch that starts a new branch
-- raises (gateways.forks), so two branches never share a key.  Such a
-- visit is also numbered in late (migration 003), and index nodes copy it
-- by their late cursor, never by their seq cursor (cloud/store/pg_tail.c).
ALTER TABLE gateways ADD COLUMN forks integer NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN fork integer NOT NULL DEFAULT 0;
ALTER TABLE visits DROP CONSTRAINT visits_gateway_seq_day_key;
ALTER TABLE visits ADD CONSTRAINT visits_gateway_seq_day_fork_key UNIQUE (gateway, seq, day, fork);
-- A token record waiting for its issue keeps the fork number its visit
-- will be stored under.
ALTER TABLE token_wait ADD COLUMN fork integer NOT NULL DEFAULT 0;

-- Where a restored copy's branch leaves the chain: the link at the end of
-- each of the gateway's last batches, a ring of CL_CHAIN_POINTS slots by
-- its batch count, as the embedded store keeps them (lmdb_chains.c).
CREATE TABLE chain_points (
	gw_id bytea NOT NULL,
	slot integer NOT NULL,
	journal_id bytea NOT NULL,
	link bytea NOT NULL,
	seq bigint NOT NULL,
	PRIMARY KEY (gw_id, slot)
);
