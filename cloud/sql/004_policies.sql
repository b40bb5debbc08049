-- Anshim's cluster store, schema version 4: the signed policies
-- themselves, so that every ingest node republishes the newest one.
--
-- Each node keeps its own STORE/policy and republishes it (retained, on
-- anshim/v1/policy) whenever it connects to the broker.  'anshim-cloud
-- policy set' (or the console) run with a PostgreSQL store keeps the
-- signed policy here before it publishes it; a node, before it
-- republishes, takes the newest row (by seq, which only grows) when it is
-- newer than its own copy, verifies its signature, and replaces its
-- STORE/policy with it: no node republishes an older policy than the
-- newest one PostgreSQL holds, nor one older than it already holds.
CREATE TABLE policies (
	seq bigint PRIMARY KEY CHECK (seq > 0),   -- the policy's policy_seq
	issued bigint NOT NULL,                   -- its issue time (unix)
	body bytea NOT NULL                       -- the signed policy, as published
);
