-- The queue shows how each patient came to the clinic (their link's entry point: a partner's
-- referral, a therapist's, a cold call, a walk-in, ...), beside the partner a referral came from.
-- `queue_list` gains that column; a function's result type cannot change in place, so it is
-- dropped and created again, with the same rules and grants as before.
DROP FUNCTION queue_list(text[], integer, boolean, integer, text, integer, integer);

CREATE FUNCTION queue_list(p_states text[], p_doctor integer, p_unassigned boolean, p_partner integer,
                           p_sort text, p_limit integer, p_offset integer)
RETURNS TABLE (id integer, state text, patient_person_id integer, organization_id integer, partner_id integer,
               referral_id integer, follow_up_of integer, category text, assigned_doctor_id integer,
               primary_channel text, enabled_channels text[], created_at timestamptz, deadline_at timestamptz,
               assigned_at timestamptz, starts_at timestamptz, ends_at timestamptz, cancelled_at timestamptz,
               cancel_reason text, patient_name text, partner_name text, doctor_name text, entry_point text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    -- Inside this SECURITY DEFINER function current_user is the owner; the caller is the
    -- session's role (SET ROLE, as the service does when acting for a staff member) or else the
    -- login itself. Only a member of a role can SET ROLE to it, so this cannot be spoofed.
    v_login text := CASE WHEN current_setting('role') IN ('none', '') THEN session_user::text
                         ELSE current_setting('role') END;
    v_org integer := staff_org_of(v_login);
    v_order text := CASE p_sort
        WHEN 'waiting_shortest' THEN 'c.created_at DESC, c.id DESC'
        WHEN 'deadline' THEN 'c.deadline_at NULLS LAST, c.created_at, c.id'
        ELSE 'c.created_at, c.id' END;
BEGIN
    IF v_org IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id, c.follow_up_of,
                c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at, c.deadline_at,
                c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason,
                pp.name,
                (SELECT pa.name FROM partners pa WHERE pa.id = c.partner_id),
                (SELECT s.name FROM staff s WHERE s.id = c.assigned_doctor_id),
                pl.entry_point
           FROM consultations c
           LEFT JOIN patients pl ON pl.patient_person_id = c.patient_person_id AND pl.organization_id = $1
           LEFT JOIN patient_persons pp ON pp.id = pl.patient_person_id
          WHERE c.organization_id = $1 AND c.state = ANY ($2)
            AND ($3::int IS NULL OR c.assigned_doctor_id = $3)
            AND (NOT $4 OR c.assigned_doctor_id IS NULL)
            AND ($5::int IS NULL OR c.partner_id = $5)
          ORDER BY %s LIMIT $6 OFFSET $7', v_order)
    USING v_org, p_states, p_doctor, p_unassigned, p_partner, p_limit, p_offset;
END
$$;
REVOKE ALL ON FUNCTION queue_list(text[], integer, boolean, integer, text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue_list(text[], integer, boolean, integer, text, integer, integer)
    TO secretary, doctor, customer_support, admin;
