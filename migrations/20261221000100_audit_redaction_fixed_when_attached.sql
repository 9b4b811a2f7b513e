-- Audit capture without a query per row (ARCHITECTURE.md, "The audit log").
--
-- Before: for every audited row the trigger ran a query over the row's columns to redact it, and
-- for an update two more to redact the old row and compare them. Now:
--   * which columns of a table are redacted is decided once, when the trigger is attached: the
--     rule (`audit_redacted_columns`) names them and `audit_attach` passes them to `audit_row()` as
--     trigger arguments. The trigger replaces just those values, with no query;
--   * an update is compared on the stored values, before redaction, in one query: a change to a
--     redacted column is recorded as changed (`"[redacted]"` on both sides) instead of being lost;
--   * the transaction's seal flag is set once, not after every entry.
-- A migration that adds a column to an audited table calls `audit_attach` again; a test fails
-- while a table's trigger arguments differ from what the rule names.

-- The one redaction rule: encrypted values, search indexes, tokens and message bodies are never
-- copied into the log, only whether they are set.
CREATE FUNCTION audit_is_redacted(p_column text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_column LIKE '%\_encrypted' OR p_column LIKE '%\_index' OR p_column IN ('token', 'token_hash', 'body')
$$;

-- The columns of a table the rule redacts, in the table's order.
CREATE FUNCTION audit_redacted_columns(p_table regclass) RETURNS text[]
LANGUAGE sql STABLE
SET search_path = public, pg_catalog
AS $$
    SELECT coalesce(array_agg(attname::text ORDER BY attnum), '{}')
      FROM pg_attribute
     WHERE attrelid = p_table AND attnum > 0 AND NOT attisdropped AND audit_is_redacted(attname::text)
$$;

-- The same rule for a row already in jsonb (the consultation reviews' entries).
CREATE OR REPLACE FUNCTION audit_redact(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = public, pg_catalog
AS $$
    SELECT coalesce(jsonb_object_agg(key,
        CASE WHEN audit_is_redacted(key)
             THEN CASE WHEN value = 'null'::jsonb THEN value ELSE to_jsonb('[redacted]'::text) END
             ELSE value END), '{}'::jsonb)
      FROM jsonb_each(j)
$$;

-- (Re)attaches the audit trigger to a table, with the columns the rule redacts as its arguments.
CREATE FUNCTION audit_attach(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS audit ON %s', p_table);
    EXECUTE format('CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION audit_row(%s)',
                   p_table,
                   (SELECT coalesce(string_agg(quote_literal(c), ', '), '') FROM unnest(audit_redacted_columns(p_table)) AS c));
END
$$;
REVOKE ALL ON FUNCTION audit_attach(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_stored_new jsonb;
    v_stored_old jsonb;
    v_new jsonb;
    v_old jsonb;
    v_row jsonb;
    v_changes jsonb;
    v_column text;
    -- Who acts: the role the session took (membership checked by PostgreSQL), else the login.
    v_actor text := CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END;
BEGIN
    -- Redaction: the trigger's arguments are the columns `audit_redacted_columns` names.
    IF TG_OP <> 'DELETE' THEN
        v_stored_new := to_jsonb(NEW);
        v_new := v_stored_new;
        IF TG_NARGS > 0 THEN
            FOREACH v_column IN ARRAY TG_ARGV LOOP
                IF v_new -> v_column <> 'null'::jsonb THEN
                    v_new := jsonb_set(v_new, ARRAY[v_column], '"[redacted]"');
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_stored_old := to_jsonb(OLD);
        v_old := v_stored_old;
        IF TG_NARGS > 0 THEN
            FOREACH v_column IN ARRAY TG_ARGV LOOP
                IF v_old -> v_column <> 'null'::jsonb THEN
                    v_old := jsonb_set(v_old, ARRAY[v_column], '"[redacted]"');
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        v_changes := v_new;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('from', v_old -> n.key, 'to', v_new -> n.key)), '{}'::jsonb)
          INTO v_changes
          FROM jsonb_each(v_stored_new) AS n
         WHERE n.value IS DISTINCT FROM v_stored_old -> n.key;
        IF v_changes = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
    ELSE
        v_changes := v_old;
    END IF;
    v_row := coalesce(v_new, v_old);
    INSERT INTO audit_pending (occurred_at, actor, acting_for, action, entity_type, entity_id, changes)
        VALUES (clock_timestamp(), v_actor, nullif(current_setting('digimed.acting_for', true), ''),
                CASE TG_OP WHEN 'INSERT' THEN 'CREATE' WHEN 'UPDATE' THEN 'UPDATE' ELSE 'DELETE' END,
                TG_TABLE_NAME,
                coalesce(nullif(v_row ->> 'id', ''), nullif(v_row ->> 'code', ''),
                         CASE WHEN TG_TABLE_NAME = 'consultation_reviews' THEN v_row ->> 'consultation_id' END,
                         -- Tables keyed by two columns (user_organizations).
                         (v_row ->> 'user_id') || ':' || (v_row ->> 'organization_id')),
                v_changes);
    -- The seal is queued once per transaction (the trigger audit_seal on audit_pending).
    IF current_setting('digimed.audit_seal_queued', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('digimed.audit_seal_queued', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION audit_row() FROM PUBLIC;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT tgrelid::regclass FROM pg_trigger WHERE tgname = 'audit' AND tgfoid = 'audit_row'::regproc LOOP
        PERFORM audit_attach(t);
    END LOOP;
END
$$;

-- The sealer takes the waiting entries out of the queue and reads them in one statement
-- (DELETE … RETURNING, in `seq` order), hashes them one by one as before, keeping each value it
-- hashed, and writes the log from those values in one INSERT: what it writes is what it hashed by
-- construction. Before, it scanned the queue, wrote the log by reading the entries again through
-- a join (a statement PostgreSQL planned anew at every seal), then deleted them: one statement
-- more, and a plan per seal.
-- The queue is mostly dead entries between two vacuums, and the statistics the planner sees are
-- those of the last vacuum (often an empty table), so it may judge a sequential scan cheapest:
-- a scan that reads every dead entry, the cost the watermark exists to avoid. The sealer forbids
-- it, so its scan always goes through the index on `xact`.
CREATE OR REPLACE FUNCTION audit_seal_pending() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
SET enable_seqscan = off
AS $$
DECLARE
    r record;
    v_prev bytea;
    v_id bigint;
    v_hash bytea;
    v_from xid8;
    v_next_from xid8;
    v_ids bigint[] := '{}';
    v_occurred timestamptz[] := '{}';
    v_actors text[] := '{}';
    v_acting_for text[] := '{}';
    v_actions text[] := '{}';
    v_types text[] := '{}';
    v_entities text[] := '{}';
    v_changes jsonb[] := '{}';
    v_prevs bytea[] := '{}';
    v_hashes bytea[] := '{}';
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
    -- committed is gone from audit_pending here. Only the holder of the head removes entries, so
    -- this statement takes out exactly the entries it sees; if the seal fails, they stay.
    FOR r IN WITH taken AS (DELETE FROM audit_pending WHERE xact >= v_from RETURNING *)
             SELECT * FROM taken ORDER BY seq LOOP
        v_id := nextval('audit_log_id_seq'::regclass);
        v_hash := sha256(v_prev || convert_to(
            audit_canonical(v_id, r.occurred_at, r.actor, r.acting_for, r.action, r.entity_type, r.entity_id, r.changes), 'UTF8'));
        v_ids := v_ids || v_id;
        v_occurred := v_occurred || r.occurred_at;
        v_actors := v_actors || r.actor;
        v_acting_for := v_acting_for || r.acting_for;
        v_actions := v_actions || r.action;
        v_types := v_types || r.entity_type;
        v_entities := v_entities || r.entity_id;
        v_changes := v_changes || r.changes;
        v_prevs := v_prevs || v_prev;
        v_hashes := v_hashes || v_hash;
        v_prev := v_hash;
    END LOOP;
    IF cardinality(v_ids) > 0 THEN
        INSERT INTO audit_log (id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            SELECT * FROM unnest(v_ids, v_occurred, v_actors, v_acting_for, v_actions, v_types, v_entities, v_changes, v_prevs, v_hashes);
        UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash, pending_from = v_next_from WHERE singleton;
    ELSIF v_next_from > v_from THEN
        UPDATE audit_chain_head SET pending_from = v_next_from WHERE singleton;
    END IF;
    RETURN cardinality(v_ids);
END
$$;
