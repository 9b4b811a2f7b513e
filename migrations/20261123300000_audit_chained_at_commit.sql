-- Audit rows are chained when their transaction commits, not when they are written.
--
-- Before, `audit_append` took the chain's head row lock at a transaction's first audited write
-- and held it until the transaction ended, so every audited transaction waited for the whole of
-- the one before it (its remaining statements and client round trips included). Now the row is
-- recorded in `audit_pending` within the transaction, and a deferred trigger moves the
-- transaction's rows into `audit_log` at commit, taking the head lock only for that step. The
-- log, its hash chain and `digimed audit verify` are unchanged: rows still enter the log in one
-- order, each hashing the one before it, in the same transaction as the change they describe.
-- A transaction that rolls back leaves nothing behind.

CREATE TABLE audit_pending (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xact         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    occurred_at  timestamptz NOT NULL,
    actor        text NOT NULL,
    acting_for   text,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    changes      jsonb NOT NULL
);
CREATE INDEX audit_pending_xact ON audit_pending (xact);
REVOKE ALL ON audit_pending FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit_append(
    p_actor text, p_action text, p_entity_type text, p_entity_id text, p_changes jsonb
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_seq bigint;
BEGIN
    PERFORM assert_acts_as(p_actor);
    INSERT INTO audit_pending (occurred_at, actor, acting_for, action, entity_type, entity_id, changes)
        VALUES (clock_timestamp(), p_actor, nullif(current_setting('digimed.acting_for', true), ''),
                p_action, p_entity_type, p_entity_id, p_changes)
        RETURNING seq INTO v_seq;
    RETURN v_seq;
END
$$;

-- Runs at commit (once per pending row; the first call does the work): chains this
-- transaction's rows, in the order they were written, onto the log.
CREATE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    r record;
    v_prev bytea;
    v_id bigint;
    v_hash bytea;
    v_xact xid8 := pg_current_xact_id();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_pending WHERE xact = v_xact) THEN
        RETURN NULL;
    END IF;
    SELECT last_hash INTO v_prev FROM audit_chain_head WHERE singleton FOR UPDATE;
    FOR r IN SELECT * FROM audit_pending WHERE xact = v_xact ORDER BY seq LOOP
        v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
        v_hash := sha256(v_prev || convert_to(
            audit_canonical(v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes), 'UTF8'));
        INSERT INTO audit_log (id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            VALUES (v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes, v_prev, v_hash);
        v_prev := v_hash;
    END LOOP;
    DELETE FROM audit_pending WHERE xact = v_xact;
    UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash WHERE singleton;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER audit_seal AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_seal();
