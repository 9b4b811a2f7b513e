-- The service acting for a patient signed in to the patient app (a Clerk session token).
--
-- The service's own policies (`service`, USING true) let it see every row it needs for partners,
-- onboarding and the public pages. When it acts for a patient it sets `digimed.acting_patient`
-- to the patient's person id for the length of the transaction, and the restrictive policies
-- below narrow what it sees and writes to that person's own rows: a mistake in the service's
-- queries can show or change nothing of another patient. Outside such a transaction the setting
-- is empty and nothing changes. Staff logins (also when the service becomes one) are not members
-- of digimed_service, so these policies never apply to them.

CREATE FUNCTION acting_patient_person() RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_catalog'
    AS $$ SELECT nullif(current_setting('digimed.acting_patient', true), '')::integer $$;

COMMENT ON FUNCTION acting_patient_person() IS
    'The patient person the service acts for in this transaction, or NULL when it acts for no patient.';

-- Whether an organization's patient record (`patients.id`) is the acting patient's. Sees past
-- row-level security on patients, for this one question.
CREATE FUNCTION patient_is_acting_person(p_patient integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_catalog'
    AS $$ SELECT EXISTS (SELECT 1 FROM patients WHERE id = p_patient AND patient_person_id = acting_patient_person()) $$;

-- Only the policies below need it, and they apply to the service alone.
REVOKE ALL ON FUNCTION patient_is_acting_person(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patient_is_acting_person(integer) TO digimed_service;

CREATE POLICY acting_patient ON patient_persons AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR id = acting_patient_person())
    WITH CHECK (acting_patient_person() IS NULL OR id = acting_patient_person());

CREATE POLICY acting_patient ON patients AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person())
    WITH CHECK (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person());

CREATE POLICY acting_patient ON forms AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR patient_is_acting_person(patient_id))
    WITH CHECK (acting_patient_person() IS NULL OR patient_is_acting_person(patient_id));

CREATE POLICY acting_patient ON consents AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR patient_is_acting_person(patient_id))
    WITH CHECK (acting_patient_person() IS NULL OR patient_is_acting_person(patient_id));

CREATE POLICY acting_patient ON consultations AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person())
    WITH CHECK (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person());

CREATE POLICY acting_patient ON referrals AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person())
    WITH CHECK (acting_patient_person() IS NULL OR patient_person_id = acting_patient_person());

CREATE POLICY acting_patient ON users AS RESTRICTIVE TO digimed_service
    USING (acting_patient_person() IS NULL OR id = (SELECT user_id FROM patient_persons WHERE id = acting_patient_person()))
    WITH CHECK (acting_patient_person() IS NULL OR id = (SELECT user_id FROM patient_persons WHERE id = acting_patient_person()));
