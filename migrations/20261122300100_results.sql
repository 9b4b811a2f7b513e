-- Consultation results: a consultation is completed only together with its result, and a result
-- is read only through an audited function that lets the authoring doctor and the clinic's
-- admins through.

CREATE FUNCTION check_completed_has_result() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF NEW.state = 'completed'
       AND NOT EXISTS (SELECT 1 FROM consultation_results WHERE consultation_id = NEW.id) THEN
        RAISE EXCEPTION 'A consultation is completed together with its result; file the result to complete it.'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER consultation_completed_has_result
    AFTER UPDATE OF state ON consultations DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.state = 'completed')
    EXECUTE FUNCTION check_completed_has_result();

-- Returns the result versions the given login may read, newest first, and records the read.
-- `p_login` must be the caller's own login (or one the session may act as).
CREATE FUNCTION read_consultation_results_as(p_consultation integer, p_login text)
RETURNS SETOF consultation_results
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_staff integer;
    v_role text;
    v_org integer;
    v_versions integer;
BEGIN
    PERFORM assert_acts_as(p_login);
    SELECT id, role, organization_id INTO v_staff, v_role, v_org FROM staff WHERE login_role = p_login AND active;
    SELECT count(*) INTO v_versions FROM consultation_results WHERE consultation_id = p_consultation;
    IF v_versions = 0 THEN
        RETURN;
    END IF;
    IF NOT (
        (v_role = 'admin' AND v_org = (SELECT organization_id FROM consultations WHERE id = p_consultation))
        OR EXISTS (SELECT 1 FROM consultation_results WHERE consultation_id = p_consultation AND author_staff_id = v_staff)
    ) THEN
        RAISE EXCEPTION 'Only the doctor who wrote this result and the clinic''s administrators may read it.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM audit_append(p_login, 'READ', 'consultation_results', p_consultation::text,
                         jsonb_build_object('versions', v_versions));
    RETURN QUERY SELECT * FROM consultation_results WHERE consultation_id = p_consultation ORDER BY version DESC;
END
$$;
REVOKE ALL ON FUNCTION read_consultation_results_as(integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION read_consultation_results_as(integer, text) TO doctor, admin;

-- The amending doctor needs to see which version comes next without reading the result.
CREATE FUNCTION next_result_version(p_consultation integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT coalesce(max(version), 0) + 1 FROM consultation_results WHERE consultation_id = p_consultation $$;
REVOKE ALL ON FUNCTION next_result_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION next_result_version(integer) TO doctor;

-- Recalculating an order: line totals less their discounts, in exact decimals.
CREATE FUNCTION order_total(p_order integer) RETURNS numeric
LANGUAGE sql STABLE
AS $$ SELECT coalesce(sum(quantity * unit_price - discount), 0)::numeric(14, 2) FROM line_items WHERE order_id = p_order $$;
