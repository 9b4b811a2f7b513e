-- Tamper-evident audit log. Every write to patient and consultation data is recorded by a
-- trigger in the same transaction; reads of consultation results and report exports are
-- recorded by the functions that perform them. Each row carries the SHA-256 of the previous
-- row's hash and its own content, so a changed, removed or inserted row breaks the chain.

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL,
    actor        text NOT NULL,
    acting_for   text,
    action       text NOT NULL CHECK (action IN ('CREATE', 'UPDATE', 'DELETE', 'READ', 'EXPORT')),
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    changes      jsonb NOT NULL DEFAULT '{}',
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

CREATE TABLE audit_chain_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id    bigint NOT NULL,
    last_hash  bytea NOT NULL
);
INSERT INTO audit_chain_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- The canonical text that is hashed; `digimed audit verify` rebuilds exactly this.
CREATE FUNCTION audit_canonical(
    p_id bigint, p_occurred_at timestamptz, p_actor text, p_acting_for text, p_action text,
    p_entity_type text, p_entity_id text, p_changes jsonb
) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT concat_ws(E'\x1f',
        p_id::text,
        (extract(epoch FROM p_occurred_at) * 1000000)::bigint::text,
        p_actor, coalesce(p_acting_for, ''), p_action, p_entity_type, p_entity_id, p_changes::text)
$$;

-- Refuses unless `p_login` is the session's own login or one it may act as (the service acting
-- for the caller it authenticated). Used by every SECURITY DEFINER function that takes a login.
CREATE FUNCTION assert_acts_as(p_login text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF p_login IS DISTINCT FROM session_user::text THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login)
           OR NOT pg_has_role(session_user, p_login, 'MEMBER') THEN
            RAISE EXCEPTION 'this can only be done in your own name' USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
END
$$;

-- Appends one audit row. Callable by staff roles, but only in their own name: the actor must be
-- the session's login or a role that login may act as (the service acting for a caller).
CREATE FUNCTION audit_append(
    p_actor text, p_action text, p_entity_type text, p_entity_id text, p_changes jsonb
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_prev bytea;
    v_id bigint;
    v_at timestamptz := clock_timestamp();
    v_for text := nullif(current_setting('digimed.acting_for', true), '');
    v_hash bytea;
BEGIN
    PERFORM assert_acts_as(p_actor);
    SELECT last_hash INTO v_prev FROM audit_chain_head WHERE singleton FOR UPDATE;
    v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
    v_hash := sha256(v_prev || convert_to(
        audit_canonical(v_id, v_at, p_actor, v_for, p_action, p_entity_type, p_entity_id, p_changes), 'UTF8'));
    INSERT INTO audit_log (id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes, prev_hash, hash)
        OVERRIDING SYSTEM VALUE
        VALUES (v_id, v_at, p_actor, v_for, p_action, p_entity_type, p_entity_id, p_changes, v_prev, v_hash);
    UPDATE audit_chain_head SET last_id = v_id, last_hash = v_hash WHERE singleton;
    RETURN v_id;
END
$$;
REVOKE ALL ON FUNCTION audit_append(text, text, text, text, jsonb) FROM PUBLIC;

-- Row changes as JSON, with encrypted values and key material never copied into the log.
CREATE FUNCTION audit_redact(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_object_agg(key,
        CASE WHEN key LIKE '%\_encrypted' OR key LIKE '%\_index' OR key IN ('token', 'token_hash', 'body')
             THEN CASE WHEN value = 'null'::jsonb THEN value ELSE to_jsonb('[redacted]'::text) END
             ELSE value END), '{}'::jsonb)
      FROM jsonb_each(j)
$$;

-- The trigger runs as the caller, so current_user is the acting staff member.
CREATE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_new jsonb;
    v_old jsonb;
    v_changes jsonb;
    v_id text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_new := audit_redact(to_jsonb(NEW));
        v_changes := v_new;
        v_id := coalesce(v_new ->> 'id', '');
    ELSIF TG_OP = 'UPDATE' THEN
        v_new := audit_redact(to_jsonb(NEW));
        v_old := audit_redact(to_jsonb(OLD));
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('from', o.value, 'to', n.value)), '{}'::jsonb)
          INTO v_changes
          FROM jsonb_each(v_new) n JOIN jsonb_each(v_old) o USING (key)
         WHERE n.value IS DISTINCT FROM o.value OR (n.key LIKE '%\_encrypted' AND to_jsonb(NEW) -> n.key IS DISTINCT FROM to_jsonb(OLD) -> n.key);
        IF v_changes = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
        v_id := coalesce(v_new ->> 'id', '');
    ELSE
        v_old := audit_redact(to_jsonb(OLD));
        v_changes := v_old;
        v_id := coalesce(v_old ->> 'id', '');
    END IF;
    IF v_id = '' THEN
        -- Tables keyed by two columns (user_organizations).
        v_id := coalesce(v_new, v_old) ->> 'user_id' || ':' || (coalesce(v_new, v_old) ->> 'organization_id');
    END IF;
    PERFORM audit_append(current_user::text,
        CASE TG_OP WHEN 'INSERT' THEN 'CREATE' WHEN 'UPDATE' THEN 'UPDATE' ELSE 'DELETE' END,
        TG_TABLE_NAME, v_id, v_changes);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'patient_persons', 'patients', 'user_organizations',
        'communication_preference_tokens', 'referrals', 'consultations', 'consultation_screenings',
        'video_rooms', 'chat_rooms', 'consultation_results', 'orders', 'line_items', 'forms',
        'consents', 'staff', 'partners', 'api_tokens', 'form_templates', 'form_template_versions',
        'automation_rules', 'automation_actions', 'webhook_subscriptions'] LOOP
        EXECUTE format('CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION audit_row()', t);
    END LOOP;
END
$$;

-- The log itself can only grow.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
