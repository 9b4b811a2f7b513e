-- Results read back and amended: who reads a result (its author, the clinic's admins, and a
-- doctor assigned to a follow-up of the consultation), the reason every amendment carries, and
-- follow-ups a doctor books only of their own consultations.

-- An amendment says why it was made. The reason may speak of the patient's health, so it is
-- encrypted like the rest of the result (bound to its row); the first version has none.
ALTER TABLE consultation_results ADD COLUMN amend_reason_encrypted bytea;
ALTER TABLE consultation_results ADD CONSTRAINT consultation_results_amend_reason
    CHECK ((version = 1) = (amend_reason_encrypted IS NULL));

-- Whether `p_login` may read the result of `p_consultation`: the doctor who wrote a version of it,
-- an admin of the consultation's clinic, or a doctor assigned to a follow-up of it (a consultation
-- whose `follow_up_of` chain leads to it) that was not cancelled. The one place this is decided:
-- the audited read below asks it, and the console asks it to offer only the results one may open.
-- It says whether, never what.
CREATE FUNCTION may_read_consultation_result(p_consultation integer, p_login text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_staff integer;
    v_role text;
    v_org integer;
BEGIN
    PERFORM assert_acts_as(p_login);
    SELECT id, role, organization_id INTO v_staff, v_role, v_org FROM staff WHERE login_role = p_login AND active;
    IF v_staff IS NULL OR v_org IS DISTINCT FROM (SELECT organization_id FROM consultations WHERE id = p_consultation) THEN
        RETURN false;
    END IF;
    RETURN v_role = 'admin'
        OR EXISTS (SELECT 1 FROM consultation_results WHERE consultation_id = p_consultation AND author_staff_id = v_staff)
        OR (v_role = 'doctor' AND EXISTS (
               WITH RECURSIVE later (id, doctor, state) AS (
                   SELECT id, assigned_doctor_id, state FROM consultations WHERE follow_up_of = p_consultation
                   UNION
                   SELECT c.id, c.assigned_doctor_id, c.state FROM consultations c JOIN later l ON c.follow_up_of = l.id)
               SELECT 1 FROM later WHERE doctor = v_staff AND state <> 'cancelled'));
END
$$;
REVOKE ALL ON FUNCTION may_read_consultation_result(integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION may_read_consultation_result(integer, text) TO doctor, admin;

-- Returns the result versions the given login may read, newest first, and records the read.
-- `p_login` must be the caller's own login (or one the session may act as).
CREATE OR REPLACE FUNCTION read_consultation_results_as(p_consultation integer, p_login text)
RETURNS SETOF consultation_results
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_versions integer;
BEGIN
    PERFORM assert_acts_as(p_login);
    SELECT count(*) INTO v_versions FROM consultation_results WHERE consultation_id = p_consultation;
    IF v_versions = 0 THEN
        RETURN;
    END IF;
    IF NOT may_read_consultation_result(p_consultation, p_login) THEN
        RAISE EXCEPTION 'Only the doctor who wrote this result, a doctor following the patient up and the clinic''s administrators may read it.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM audit_append(p_login, 'READ', 'consultation_results', p_consultation::text,
                         jsonb_build_object('versions', v_versions));
    RETURN QUERY SELECT * FROM consultation_results WHERE consultation_id = p_consultation ORDER BY version DESC;
END
$$;

-- A doctor books a follow-up only of a consultation assigned to them: being assigned to a
-- follow-up lets a doctor read the earlier result, so a doctor does not get there on their own
-- for a colleague's patient (a secretary books it, or it waits in the queue).
DROP POLICY follow_up ON consultations;
CREATE POLICY follow_up ON consultations FOR INSERT TO doctor
    WITH CHECK (organization_id = current_staff_org()
                AND follow_up_of IS NOT NULL
                AND consultation_doctor(follow_up_of) = current_staff_id()
                AND (assigned_doctor_id IS NULL OR assigned_doctor_id = current_staff_id()));
