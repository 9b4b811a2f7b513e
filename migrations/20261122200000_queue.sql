-- The consultation queue: contractual deadlines in working days, live change notifications,
-- and the look-up that lets a referral find an existing person by national id.

-- The contractual deadline: `p_days` working days (Monday to Friday, Norwegian local time)
-- after `p_from`, at the same local time of day. Public holidays are not counted out.
-- This is the one place the deadline is computed.
CREATE FUNCTION add_working_days(p_from timestamptz, p_days integer) RETURNS timestamptz
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog
AS $$
DECLARE
    v_local timestamp := p_from AT TIME ZONE 'Europe/Oslo';
    v_counted integer := 0;
BEGIN
    IF p_days < 0 THEN
        RAISE EXCEPTION 'working days must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WHILE v_counted < p_days LOOP
        v_local := v_local + interval '1 day';
        IF extract(isodow FROM v_local) < 6 THEN
            v_counted := v_counted + 1;
        END IF;
    END LOOP;
    RETURN v_local AT TIME ZONE 'Europe/Oslo';
END
$$;

-- Every queue change is announced on channel `digimed_queue` (delivered at commit). The payload
-- names the consultation, its state, clinic and doctor only: never patient data.
CREATE FUNCTION notify_queue_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'consultations' THEN
        PERFORM pg_notify('digimed_queue', json_build_object(
            'kind', lower(TG_OP),
            'consultation_id', NEW.id,
            'organization_id', NEW.organization_id,
            'state', NEW.state,
            'assigned_doctor_id', NEW.assigned_doctor_id,
            'updated_at', NEW.updated_at)::text);
    ELSE
        PERFORM pg_notify('digimed_queue', json_build_object(
            'kind', 'screening',
            'consultation_id', NEW.consultation_id,
            'organization_id', consultation_org(NEW.consultation_id))::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER queue_notify AFTER INSERT OR UPDATE ON consultations
    FOR EACH ROW EXECUTE FUNCTION notify_queue_change();
CREATE TRIGGER queue_notify AFTER INSERT ON consultation_screenings
    FOR EACH ROW EXECUTE FUNCTION notify_queue_change();

-- Re-reading what changed while a listener was disconnected.
CREATE INDEX consultations_updated ON consultations (updated_at);

-- Finds a person by the keyed blind index of their national id, whichever clinic they belong to,
-- so a referral or an onboarding links the existing person instead of creating a second one.
-- Only callers holding the index key can compute the argument.
CREATE FUNCTION person_id_by_national_id_index(p_index bytea) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT id FROM patient_persons WHERE national_id_index = p_index $$;
REVOKE ALL ON FUNCTION person_id_by_national_id_index(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_id_by_national_id_index(bytea) TO customer_support, admin, digimed_service;

-- The queue as staff list it: open consultations of the caller's clinic with the names a list
-- shows. The rule is the row-level security of the underlying tables (the caller's clinic; the
-- patient's name through the patient's link to that clinic), applied to the whole set at once
-- instead of row by row, with plans cached per session, so listing stays fast at scale. It
-- returns nothing to a session that is not an active staff member.
CREATE FUNCTION queue_list(p_states text[], p_doctor integer, p_unassigned boolean, p_partner integer,
                           p_sort text, p_limit integer, p_offset integer)
RETURNS TABLE (id integer, state text, patient_person_id integer, organization_id integer, partner_id integer,
               referral_id integer, follow_up_of integer, category text, assigned_doctor_id integer,
               primary_channel text, enabled_channels text[], created_at timestamptz, deadline_at timestamptz,
               assigned_at timestamptz, starts_at timestamptz, ends_at timestamptz, cancelled_at timestamptz,
               cancel_reason text, patient_name text, partner_name text, doctor_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
#variable_conflict use_column
DECLARE
    -- Inside this SECURITY DEFINER function current_user is the owner; the caller is the
    -- session's role (SET ROLE, as the service does when acting for a staff member) or else the
    -- login itself. Only a member of a role can SET ROLE to it, so this cannot be spoofed.
    v_login text := CASE WHEN current_setting('role') IN ('none', '') THEN session_user::text
                         ELSE current_setting('role') END;
    v_org integer := staff_org_of(v_login);
BEGIN
    IF v_org IS NULL THEN
        RETURN;
    END IF;
    IF p_sort = 'waiting_shortest' THEN
        RETURN QUERY
        SELECT c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id, c.follow_up_of,
               c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at, c.deadline_at,
               c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason,
               (SELECT pp.name FROM patients pl JOIN patient_persons pp ON pp.id = pl.patient_person_id
                 WHERE pl.patient_person_id = c.patient_person_id AND pl.organization_id = v_org),
               (SELECT pa.name FROM partners pa WHERE pa.id = c.partner_id),
               (SELECT s.name FROM staff s WHERE s.id = c.assigned_doctor_id)
          FROM consultations c
         WHERE c.organization_id = v_org AND c.state IN ('ready_for_pickup', 'pending_sp', 'in_progress')
           AND c.state = ANY (p_states)
           AND (p_doctor IS NULL OR c.assigned_doctor_id = p_doctor)
           AND (NOT p_unassigned OR c.assigned_doctor_id IS NULL)
           AND (p_partner IS NULL OR c.partner_id = p_partner)
         ORDER BY c.created_at DESC, c.id DESC LIMIT p_limit OFFSET p_offset;
    ELSIF p_sort = 'deadline' THEN
        RETURN QUERY
        SELECT c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id, c.follow_up_of,
               c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at, c.deadline_at,
               c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason,
               (SELECT pp.name FROM patients pl JOIN patient_persons pp ON pp.id = pl.patient_person_id
                 WHERE pl.patient_person_id = c.patient_person_id AND pl.organization_id = v_org),
               (SELECT pa.name FROM partners pa WHERE pa.id = c.partner_id),
               (SELECT s.name FROM staff s WHERE s.id = c.assigned_doctor_id)
          FROM consultations c
         WHERE c.organization_id = v_org AND c.state IN ('ready_for_pickup', 'pending_sp', 'in_progress')
           AND c.state = ANY (p_states)
           AND (p_doctor IS NULL OR c.assigned_doctor_id = p_doctor)
           AND (NOT p_unassigned OR c.assigned_doctor_id IS NULL)
           AND (p_partner IS NULL OR c.partner_id = p_partner)
         ORDER BY c.deadline_at NULLS LAST, c.created_at, c.id LIMIT p_limit OFFSET p_offset;
    ELSE
        RETURN QUERY
        SELECT c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id, c.follow_up_of,
               c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at, c.deadline_at,
               c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason,
               (SELECT pp.name FROM patients pl JOIN patient_persons pp ON pp.id = pl.patient_person_id
                 WHERE pl.patient_person_id = c.patient_person_id AND pl.organization_id = v_org),
               (SELECT pa.name FROM partners pa WHERE pa.id = c.partner_id),
               (SELECT s.name FROM staff s WHERE s.id = c.assigned_doctor_id)
          FROM consultations c
         WHERE c.organization_id = v_org AND c.state IN ('ready_for_pickup', 'pending_sp', 'in_progress')
           AND c.state = ANY (p_states)
           AND (p_doctor IS NULL OR c.assigned_doctor_id = p_doctor)
           AND (NOT p_unassigned OR c.assigned_doctor_id IS NULL)
           AND (p_partner IS NULL OR c.partner_id = p_partner)
         ORDER BY c.created_at, c.id LIMIT p_limit OFFSET p_offset;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION queue_list(text[], integer, boolean, integer, text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue_list(text[], integer, boolean, integer, text, integer, integer)
    TO secretary, doctor, customer_support, admin;

-- WAITING_TIME and TREATMENT_DURATION are reported to insurers: once a consultation has started
-- or ended, those times are facts and cannot be rewritten (not even by the assigned doctor on a
-- raw connection), and the time a consultation was created never changes.
CREATE FUNCTION check_consultation_times() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.created_at IS DISTINCT FROM OLD.created_at
       OR (OLD.starts_at IS NOT NULL AND NEW.starts_at IS DISTINCT FROM OLD.starts_at)
       OR (OLD.ends_at IS NOT NULL AND NEW.ends_at IS DISTINCT FROM OLD.ends_at) THEN
        RAISE EXCEPTION 'The times a consultation was created, started and ended cannot be changed.'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_times BEFORE UPDATE OF created_at, starts_at, ends_at ON consultations
    FOR EACH ROW EXECUTE FUNCTION check_consultation_times();
