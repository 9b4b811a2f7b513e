-- Audit capture made cheap, every property kept (ARCHITECTURE.md, "The audit chain").
--
-- Before: each audited row ran a trigger that redacted the row in a separate SQL function
-- (planned anew for every statement), then called the SECURITY DEFINER `audit_append`, whose
-- identity check looked the actor up in pg_roles; each pending entry then queued its own deferred
-- seal event. Now:
--   * the row trigger writes the pending queue itself (SECURITY DEFINER, EXECUTE revoked from
--     everyone, so no login can call it or attach it to a table of its own);
--   * the actor is the session's role setting, else the login. Only a member of a role can set
--     `role` to it (SET ROLE, set_config and connection options all check membership), so the
--     name cannot be forged, and it is the same name `current_user` gave before;
--   * redaction is written inside the trigger, where its plan is cached for the session;
--   * a transaction queues one deferred seal, not one per entry: the seal trigger's WHEN skips
--     entries after the first. Tampering with the setting only delays the seal to the next commit
--     (which chains every entry it finds), it never keeps an entry out of the chain;
--   * the index on (entity_type, entity_id) of the log, which no query uses, is dropped.

CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_new jsonb;
    v_old jsonb;
    v_changes jsonb;
    v_id text;
    -- Who acts: the role the session took (membership checked by PostgreSQL), else the login.
    v_actor text := CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END;
BEGIN
    -- Redaction: encrypted columns, search indexes, tokens and message bodies are never copied
    -- into the log; only whether they are set.
    IF TG_OP <> 'DELETE' THEN
        SELECT coalesce(jsonb_object_agg(key,
                   CASE WHEN (key LIKE '%\_encrypted' OR key LIKE '%\_index' OR key IN ('token', 'token_hash', 'body'))
                             AND value <> 'null'::jsonb
                        THEN '"[redacted]"'::jsonb ELSE value END), '{}'::jsonb)
          INTO v_new FROM jsonb_each(to_jsonb(NEW));
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT coalesce(jsonb_object_agg(key,
                   CASE WHEN (key LIKE '%\_encrypted' OR key LIKE '%\_index' OR key IN ('token', 'token_hash', 'body'))
                             AND value <> 'null'::jsonb
                        THEN '"[redacted]"'::jsonb ELSE value END), '{}'::jsonb)
          INTO v_old FROM jsonb_each(to_jsonb(OLD));
    END IF;
    IF TG_OP = 'INSERT' THEN
        v_changes := v_new;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('from', o.value, 'to', n.value)), '{}'::jsonb)
          INTO v_changes
          FROM jsonb_each(v_new) n JOIN jsonb_each(v_old) o USING (key)
         WHERE n.value IS DISTINCT FROM o.value
            OR (n.key LIKE '%\_encrypted' AND to_jsonb(NEW) -> n.key IS DISTINCT FROM to_jsonb(OLD) -> n.key);
        IF v_changes = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
    ELSE
        v_changes := v_old;
    END IF;
    v_id := coalesce(coalesce(v_new, v_old) ->> 'id', '');
    IF v_id = '' THEN
        v_id := coalesce(coalesce(v_new, v_old) ->> 'code', '');
    END IF;
    IF v_id = '' AND TG_TABLE_NAME = 'consultation_reviews' THEN
        v_id := coalesce(v_new, v_old) ->> 'consultation_id';
    END IF;
    IF v_id = '' THEN
        -- Tables keyed by two columns (user_organizations).
        v_id := coalesce(v_new, v_old) ->> 'user_id' || ':' || (coalesce(v_new, v_old) ->> 'organization_id');
    END IF;
    INSERT INTO audit_pending (occurred_at, actor, acting_for, action, entity_type, entity_id, changes)
        VALUES (clock_timestamp(), v_actor, nullif(current_setting('digimed.acting_for', true), ''),
                CASE TG_OP WHEN 'INSERT' THEN 'CREATE' WHEN 'UPDATE' THEN 'UPDATE' ELSE 'DELETE' END,
                TG_TABLE_NAME, v_id, v_changes);
    -- The seal is queued once per transaction (see the trigger audit_seal below).
    PERFORM set_config('digimed.audit_seal_queued', 'yes', true);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION audit_row() FROM PUBLIC;

-- Entries written by audit_append (reads, exports, reviews) queue the seal once as well.
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_action text, p_entity_type text, p_entity_id text, p_changes jsonb)
RETURNS bigint
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
    PERFORM set_config('digimed.audit_seal_queued', 'yes', true);
    RETURN v_seq;
END
$$;

-- One deferred seal per transaction: the WHEN is evaluated as each entry is inserted, so only the
-- transaction's first entry queues the event. A rolled-back savepoint takes both its entries'
-- events and the setting with it, so a later entry queues the seal again.
DROP TRIGGER audit_seal ON audit_pending;
CREATE CONSTRAINT TRIGGER audit_seal AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (current_setting('digimed.audit_seal_queued', true) IS DISTINCT FROM 'yes')
    EXECUTE FUNCTION audit_seal();

DROP INDEX audit_log_entity;

-- The canonical text of an entry, as the sealer hashes it. Declared STABLE (its text forms of a
-- timestamp and of jsonb are those of the session), PostgreSQL inlines it into the sealer instead
-- of planning it anew for every entry; the text is the same.
CREATE OR REPLACE FUNCTION audit_canonical(p_id bigint, p_occurred_at timestamptz, p_actor text, p_acting_for text,
                                           p_action text, p_entity_type text, p_entity_id text, p_changes jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT concat_ws(E'\x1f',
        p_id::text,
        (extract(epoch FROM p_occurred_at) * 1000000)::bigint::text,
        p_actor, coalesce(p_acting_for, ''), p_action, p_entity_type, p_entity_id, p_changes::text)
$$;

-- The sealer: the same chain, in fewer statements. It hashes the waiting entries one by one, in
-- order, as before, then writes them to the log in one INSERT and removes them in one DELETE
-- (where it wrote and removed one entry at a time), and draws the ids from the log's sequence
-- without looking its name up for every entry.
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
    v_ids_seq regclass := pg_get_serial_sequence('audit_log', 'id')::regclass;
    v_seqs bigint[] := '{}';
    v_ids bigint[] := '{}';
    v_prevs bytea[] := '{}';
    v_hashes bytea[] := '{}';
    v_written bigint;
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
        v_id := nextval(v_ids_seq);
        v_hash := sha256(v_prev || convert_to(
            audit_canonical(v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes), 'UTF8'));
        v_seqs := v_seqs || r.seq;
        v_ids := v_ids || v_id;
        v_prevs := v_prevs || v_prev;
        v_hashes := v_hashes || v_hash;
        v_prev := v_hash;
    END LOOP;
    IF cardinality(v_seqs) > 0 THEN
        -- Entries are never changed once written, and only the holder of the head removes them,
        -- so this statement reads the same entries the loop hashed.
        INSERT INTO audit_log (id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            SELECT s.id, p.occurred_at, p.actor, p.acting_for, p.action, p.entity_type, p.entity_id, p.changes, s.prev, s.hash
              FROM unnest(v_seqs, v_ids, v_prevs, v_hashes) AS s(seq, id, prev, hash)
              JOIN audit_pending p ON p.seq = s.seq
             ORDER BY s.id;
        GET DIAGNOSTICS v_written = ROW_COUNT;
        IF v_written <> cardinality(v_seqs) THEN
            RAISE EXCEPTION 'the audit sealer hashed % entries but found % to write', cardinality(v_seqs), v_written;
        END IF;
        DELETE FROM audit_pending WHERE seq = ANY (v_seqs);
        UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash, pending_from = v_next_from WHERE singleton;
    ELSIF v_next_from > v_from THEN
        UPDATE audit_chain_head SET pending_from = v_next_from WHERE singleton;
    END IF;
    RETURN cardinality(v_seqs);
END
$$;
