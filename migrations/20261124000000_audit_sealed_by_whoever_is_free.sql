-- Audit rows are chained by whichever committing transaction finds the chain free.
--
-- Before, each audited transaction chained its own rows at commit and held the chain's head row
-- lock until its commit had been flushed to disk, so audited transactions committed one at a
-- time: one disk flush each, in a queue. Under load that queue was the service's latency.
--
-- Now a committing transaction that finds the head unlocked chains every row that is waiting:
-- its own and those of transactions that have committed since. One that finds the head locked
-- leaves its rows waiting in `audit_pending` for the next one, so no transaction waits on another
-- and many commits share one flush. Rows enter the log in one order, each hashing the one before
-- it, exactly as before; what changes is that a row may wait (committed, in `audit_pending`)
-- until the next audited commit, or until `audit_seal_pending()` is called: `digimed serve`
-- calls it every second, and reading or verifying the log calls it first.
--
-- A transaction that is not READ COMMITTED sees an old snapshot, so it chains nothing itself.

CREATE OR REPLACE FUNCTION audit_seal_pending() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    r record;
    v_prev bytea;
    v_id bigint;
    v_hash bytea;
    v_sealed bigint[] := '{}';
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;
    SELECT last_id, last_hash INTO v_id, v_prev FROM audit_chain_head WHERE singleton FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    -- A new statement, so a new snapshot: whatever the previous holder of the head chained and
    -- committed is gone from audit_pending here.
    FOR r IN SELECT * FROM audit_pending ORDER BY seq LOOP
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
        UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash WHERE singleton;
    END IF;
    RETURN cardinality(v_sealed);
END
$$;
REVOKE ALL ON FUNCTION audit_seal_pending() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_seal_pending() TO secretary, doctor, customer_support, admin, digimed_service;

-- Runs at commit, once per pending row; only the first call of a transaction tries.
CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF current_setting('digimed.audit_seal_tried', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('digimed.audit_seal_tried', 'yes', true);
    PERFORM audit_seal_pending();
    RETURN NULL;
END
$$;
