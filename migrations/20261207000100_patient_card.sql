-- The patient card (docs/patients.md): who treats a patient; the patient's encrypted contact
-- fields (phone, national id, emergency contact's phone) handed out only by a function that
-- records the read in the audit log; the health part of the profile (blood type, allergies,
-- chronic conditions, insurance entries) shown only to the roles that may see it; doctors editing
-- the profile of the patients they treat.

-- Whether a staff member is, or was, the doctor of one of the person's consultations in their own
-- clinic: assigned to one now (in any state), or the author of a result of one.
CREATE FUNCTION treats_patient(p_staff integer, p_person integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT EXISTS (
        SELECT 1 FROM staff s
          JOIN consultations c ON c.organization_id = s.organization_id AND c.patient_person_id = p_person
         WHERE s.id = p_staff AND s.role = 'doctor' AND s.active
           AND (c.assigned_doctor_id = p_staff
                OR EXISTS (SELECT 1 FROM consultation_results r
                            WHERE r.consultation_id = c.id AND r.author_staff_id = p_staff)))
$$;

-- Staff read profiles through this view. Unchanged: the name always, the rest only where the
-- profile is visible to the staff member's clinic (profile_visible). New: the health part only
-- for support agents, admins and the doctors who treat the patient; the ciphertexts of the
-- phone, the national id and the emergency contact's phone never for staff (they come from
-- patient_contact_as, which records the read); `health_visible` says whether the health part is
-- shown, so that a hidden part is never taken for an empty one.
CREATE OR REPLACE VIEW patient_profiles WITH (security_barrier = true) AS
SELECT pp.id,
       pp.user_id,
       pp.name,
       pp.status,
       v.visible AS profile_visible,
       CASE WHEN v.visible THEN pp.date_of_birth END AS date_of_birth,
       CASE WHEN h.health THEN pp.blood_type END AS blood_type,
       CASE WHEN h.health THEN pp.allergies END AS allergies,
       CASE WHEN h.health THEN pp.chronic_conditions END AS chronic_conditions,
       CASE WHEN h.health THEN pp.insurance_entries END AS insurance_entries,
       CASE WHEN s.service THEN pp.phone_encrypted END AS phone_encrypted,
       CASE WHEN s.service THEN pp.national_id_encrypted END AS national_id_encrypted,
       CASE WHEN v.visible THEN pp.emergency_contact_name END AS emergency_contact_name,
       CASE WHEN s.service THEN pp.emergency_contact_phone_encrypted END AS emergency_contact_phone_encrypted,
       pp.created_at,
       pp.updated_at,
       h.health AS health_visible
  FROM patient_persons pp
 CROSS JOIN LATERAL (SELECT is_service_session() AS service) s
 CROSS JOIN LATERAL (
       SELECT s.service OR coalesce(profile_visible(pp.id, current_staff_org()), false) AS visible
       ) v
 CROSS JOIN LATERAL (
       SELECT v.visible AND (s.service
                             OR current_app_role() IN ('customer_support', 'admin')
                             OR (current_app_role() = 'doctor' AND treats_patient(current_staff_id(), pp.id))) AS health
       ) h
 WHERE s.service OR person_in_org(pp.id, current_staff_org());

-- The ciphertexts of a person's phone, national id and emergency contact's phone, for the
-- patient card of staff member `p_login` (their own login, or one the service acts as), with
-- one READ entry in the audit log naming the fields handed out and whether the whole national id
-- was asked for (otherwise the card shows only its last five digits). Nothing is handed out or
-- recorded for a person who is not a patient of the staff member's clinic, or whose profile is not
-- visible to it. A doctor gets them only for a patient they treat, and is refused otherwise.
CREATE FUNCTION patient_contact_as(p_person integer, p_login text, p_reveal_national_id boolean)
RETURNS TABLE (phone_encrypted bytea, national_id_encrypted bytea, emergency_contact_phone_encrypted bytea)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_staff integer;
    v_role text;
    v_org integer;
    v_phone bytea;
    v_national_id bytea;
    v_emergency bytea;
    v_fields text[];
BEGIN
    PERFORM assert_acts_as(p_login);
    SELECT s.id, s.role, s.organization_id INTO v_staff, v_role, v_org FROM staff s WHERE s.login_role = p_login AND s.active;
    IF v_staff IS NULL THEN
        RAISE EXCEPTION 'Patient cards are read by the staff of a clinic.' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT person_in_org(p_person, v_org) THEN
        RETURN;
    END IF;
    IF v_role = 'doctor' AND NOT treats_patient(v_staff, p_person) THEN
        RAISE EXCEPTION 'Doctors open the cards of the patients they treat; you are not the doctor of any consultation of this patient.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT profile_visible(p_person, v_org) THEN
        RETURN;
    END IF;
    SELECT pp.phone_encrypted, pp.national_id_encrypted, pp.emergency_contact_phone_encrypted
      INTO v_phone, v_national_id, v_emergency
      FROM patient_persons pp WHERE pp.id = p_person;
    v_fields := array_remove(ARRAY[CASE WHEN v_phone IS NOT NULL THEN 'phone' END,
                                   CASE WHEN v_national_id IS NOT NULL THEN 'national_id' END,
                                   CASE WHEN v_emergency IS NOT NULL THEN 'emergency_contact_phone' END], NULL);
    IF cardinality(v_fields) > 0 THEN
        PERFORM audit_append(p_login, 'READ', 'patient_persons', p_person::text,
                             jsonb_build_object('fields', to_jsonb(v_fields),
                                                'national_id_revealed', coalesce(p_reveal_national_id, false) AND v_national_id IS NOT NULL));
    END IF;
    RETURN QUERY SELECT v_phone, v_national_id, v_emergency;
END
$$;
REVOKE ALL ON FUNCTION patient_contact_as(integer, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patient_contact_as(integer, text, boolean) TO secretary, doctor, customer_support, admin;

-- Whether a consultation of staff member `p_login`'s clinic has a filed result (never its
-- contents), for the consultation history of the patient card.
CREATE FUNCTION consultation_result_filed(p_consultation integer, p_login text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    PERFORM assert_acts_as(p_login);
    RETURN EXISTS (SELECT 1 FROM consultations c
                     JOIN consultation_results r ON r.consultation_id = c.id
                    WHERE c.id = p_consultation AND c.organization_id = staff_org_of(p_login));
END
$$;
REVOKE ALL ON FUNCTION consultation_result_filed(integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION consultation_result_filed(integer, text) TO secretary, doctor, customer_support, admin;

-- Doctors edit the profile of the patients they treat, where the profile is visible to their
-- clinic: the profile's columns only (not the name, the phone or the national id).
GRANT UPDATE (date_of_birth, blood_type, allergies, chronic_conditions, insurance_entries,
              emergency_contact_name, emergency_contact_phone_encrypted, updated_at)
    ON patient_persons TO doctor;
CREATE POLICY treating_doctor ON patient_persons FOR UPDATE TO doctor
    USING (profile_visible(id, current_staff_org()) AND treats_patient(current_staff_id(), id))
    WITH CHECK (profile_visible(id, current_staff_org()) AND treats_patient(current_staff_id(), id));
