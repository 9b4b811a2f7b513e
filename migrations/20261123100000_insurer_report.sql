-- The insurer report (seed 001's ConsultationReportGenerator): one row per consultation of a
-- partner in a period, with the newest version of its result. Only the administrators of the
-- partner's clinic may export it; each export is recorded in the audit log (one EXPORT row with
-- the period and the number of consultations) in the same transaction as the read.
--
-- The period is in Norwegian local dates, both ends included. Local times are returned next to
-- the instants so that the file shows what the clinic's clocks showed.
CREATE FUNCTION insurer_report_rows(p_partner integer, p_from date, p_to date, p_login text)
RETURNS TABLE (
    consultation_id          integer,
    state                    text,
    created_at               timestamptz,
    assigned_at              timestamptz,
    starts_at                timestamptz,
    ends_at                  timestamptz,
    deadline_at              timestamptz,
    created_local            timestamp,
    assigned_local           timestamp,
    starts_local             timestamp,
    ends_local               timestamp,
    deadline_local           timestamp,
    result_id                integer,
    icpc2_encrypted          bytea,
    outcome_encrypted        bytea,
    policy_number_encrypted  bytea,
    total                    bigint
)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_role text;
    v_org integer;
    v_clinic integer;
    v_from timestamptz := p_from::timestamp AT TIME ZONE 'Europe/Oslo';
    v_to timestamptz := (p_to + 1)::timestamp AT TIME ZONE 'Europe/Oslo';
    v_count bigint;
BEGIN
    PERFORM assert_acts_as(p_login);
    SELECT s.role, s.organization_id INTO v_role, v_org FROM staff s WHERE s.login_role = p_login AND s.active;
    SELECT p.clinic_id INTO v_clinic FROM partners p WHERE p.id = p_partner;
    IF v_role IS DISTINCT FROM 'admin' OR v_clinic IS NULL OR v_org IS DISTINCT FROM v_clinic THEN
        RAISE EXCEPTION 'Only the administrators of the partner''s clinic may export its insurer report.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_to < p_from THEN
        RAISE EXCEPTION 'The period ends before it starts.' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT count(*) INTO v_count FROM consultations c
     WHERE c.partner_id = p_partner AND c.created_at >= v_from AND c.created_at < v_to;
    PERFORM audit_append(p_login, 'EXPORT', 'insurer_report', p_partner::text,
                         jsonb_build_object('from', p_from, 'to', p_to, 'consultations', v_count));
    RETURN QUERY
    SELECT c.id, c.state, c.created_at, c.assigned_at, c.starts_at, c.ends_at, c.deadline_at,
           c.created_at AT TIME ZONE 'Europe/Oslo', c.assigned_at AT TIME ZONE 'Europe/Oslo',
           c.starts_at AT TIME ZONE 'Europe/Oslo', c.ends_at AT TIME ZONE 'Europe/Oslo',
           c.deadline_at AT TIME ZONE 'Europe/Oslo',
           r.id, r.icpc2_encrypted, r.outcome_encrypted, r.policy_number_encrypted, v_count
      FROM consultations c
      LEFT JOIN LATERAL (
            SELECT cr.id, cr.icpc2_encrypted, cr.outcome_encrypted, cr.policy_number_encrypted
              FROM consultation_results cr
             WHERE cr.consultation_id = c.id
             ORDER BY cr.version DESC
             LIMIT 1) r ON true
     WHERE c.partner_id = p_partner AND c.created_at >= v_from AND c.created_at < v_to
     ORDER BY c.created_at, c.id;
END
$$;
REVOKE ALL ON FUNCTION insurer_report_rows(integer, date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION insurer_report_rows(integer, date, date, text) TO admin;

-- Outcomes are configuration that admins extend: audit their changes too (keyed by code).
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger
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
        v_id := coalesce(coalesce(v_new, v_old) ->> 'code', '');
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
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON result_outcomes
    FOR EACH ROW EXECUTE FUNCTION audit_row();
