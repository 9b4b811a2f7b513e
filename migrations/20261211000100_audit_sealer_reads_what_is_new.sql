-- The sealer reads only the waiting entries that can be new since its last run, so its cost no
-- longer grows with the history of the queue.
--
-- Sealed entries are deleted from `audit_pending` by the sealer that chained them, but their
-- dead row versions stay in the table and its indexes until vacuum removes them; a scan of the
-- whole queue walked all of them on every seal. Now the head also keeps `pending_from`: a
-- transaction id below which no waiting entry can still appear. Each sealer takes, before it
-- reads the queue, the oldest transaction still running; an entry it does not see belongs to a
-- transaction that had not committed yet, that is one running then (its id is at least that
-- oldest one) or one that began later (a larger id still). The next sealer reads only entries of
-- transactions from there on, through the index on `xact`.
--
-- The chain, its order and `digimed audit verify` are unchanged.

ALTER TABLE audit_chain_head ADD COLUMN pending_from xid8 NOT NULL DEFAULT '0';

CREATE OR REPLACE FUNCTION audit_seal_pending() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    r record;
    v_prev bytea;
    v_id bigint;
    v_hash bytea;
    v_from xid8;
    v_next_from xid8;
    v_sealed bigint[] := '{}';
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;
    SELECT last_id, last_hash, pending_from INTO v_id, v_prev, v_from
      FROM audit_chain_head WHERE singleton FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    -- Taken in a statement before the scan below, so with an older snapshot: every entry the
    -- scan does not see is of a transaction running at this point or begun after it.
    v_next_from := pg_snapshot_xmin(pg_current_snapshot());
    -- A new statement, so a new snapshot: whatever the previous holder of the head chained and
    -- committed is gone from audit_pending here.
    FOR r IN SELECT * FROM audit_pending WHERE xact >= v_from ORDER BY seq LOOP
        v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
        v_hash := sha256(v_prev || convert_to(
            audit_canonical(v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes), 'UTF8'));
        INSERT INTO audit_log (id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            VALUES (v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes, v_prev, v_hash);
        v_prev := v_hash;
        v_sealed := v_sealed || r.seq;
    END LOOP;
    IF cardinality(v_sealed) > 0 THEN
        DELETE FROM audit_pending WHERE seq = ANY (v_sealed);
        UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash, pending_from = v_next_from WHERE singleton;
    ELSIF v_next_from > v_from THEN
        UPDATE audit_chain_head SET pending_from = v_next_from WHERE singleton;
    END IF;
    RETURN cardinality(v_sealed);
END
$$;
REVOKE ALL ON FUNCTION audit_seal_pending() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_seal_pending() TO secretary, doctor, customer_support, admin, digimed_service;
