-- Schema version 2: what index nodes need to copy app check-ins.
--
-- An app check-in carries no gateway seq, so index nodes cannot follow it
-- with a per-gateway cursor; they follow the transaction that last wrote
-- it instead (cloud/store/pg_tail.c says why this never misses nor
-- repeats one).  app_xact is the 64-bit id of the transaction that last
-- inserted or updated an app visit's row (its check-in, or its
-- check-out), set by a trigger, so that no writer needs to know about it;
-- gateways' visits leave it NULL (no bytes but the null bitmap's bit).

ALTER TABLE visits ADD COLUMN app_xact xid8;

CREATE FUNCTION visits_app_xact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.app_xact := pg_current_xact_id();
	RETURN NEW;
END
$$;

CREATE TRIGGER visits_app_xact BEFORE INSERT OR UPDATE ON visits
	FOR EACH ROW WHEN (NEW.checkin_id IS NOT NULL) EXECUTE FUNCTION visits_app_xact();

-- App visits stored before this version: written by this transaction.
UPDATE visits SET app_xact = pg_current_xact_id() WHERE checkin_id IS NOT NULL;

CREATE INDEX visits_app_by_xact ON visits (app_xact, checkin_id) WHERE checkin_id IS NOT NULL;
