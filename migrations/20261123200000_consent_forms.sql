-- Consent forms (seed 002): the lifecycle of a form, the consents its signature grants, profile
-- sharing that follows the patient's consent, and the booking guard for a first consultation.

-- The kinds of consent a form can grant; admins extend the list.
CREATE TABLE consent_types (
    code   text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    label  text NOT NULL
);
INSERT INTO consent_types (code, label) VALUES
    ('analytics', 'Analytics'),
    ('marketing', 'Marketing'),
    ('profile_sharing', 'Profile sharing');
GRANT SELECT ON consent_types TO secretary, doctor, customer_support, admin, digimed_service;
GRANT INSERT, UPDATE (label) ON consent_types TO admin;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON consent_types
    FOR EACH ROW EXECUTE FUNCTION audit_row();

-- A template grants only known kinds of consent.
CREATE FUNCTION check_template_consent_types() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_unknown text;
BEGIN
    SELECT string_agg(t, ', ') INTO v_unknown
      FROM unnest(NEW.consent_types) t WHERE t NOT IN (SELECT code FROM consent_types);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'Unknown consent type(s): %.', v_unknown USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER form_template_consent_types BEFORE INSERT OR UPDATE OF consent_types ON form_templates
    FOR EACH ROW EXECUTE FUNCTION check_template_consent_types();

-- A form moves only from pending, once: to signed (for the exact text on record), declined or
-- superseded (by a newer form). Nothing else about it changes.
CREATE FUNCTION check_form_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_sha bytea;
BEGIN
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'This form is already %; it cannot change.', OLD.status USING ERRCODE = 'P0001';
    END IF;
    IF NEW.patient_id <> OLD.patient_id OR NEW.template_id <> OLD.template_id
       OR NEW.template_version_id <> OLD.template_version_id THEN
        RAISE EXCEPTION 'A form stays with its patient and its template version.' USING ERRCODE = 'P0001';
    END IF;
    IF NEW.status = 'signed' THEN
        SELECT body_sha256 INTO v_sha FROM form_template_versions WHERE id = NEW.template_version_id;
        IF NEW.signed_template_sha256 IS DISTINCT FROM v_sha THEN
            RAISE EXCEPTION 'The signature is for another text of this form than the one on record; show the patient the current text and sign again.'
                USING ERRCODE = 'DMF02';
        END IF;
    ELSIF NEW.status = 'superseded' AND NEW.superseded_by IS NULL THEN
        RAISE EXCEPTION 'A superseded form names the form that replaces it.' USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER form_change BEFORE UPDATE ON forms FOR EACH ROW EXECUTE FUNCTION check_form_change();
CREATE TRIGGER form_no_delete BEFORE DELETE ON forms FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- A consent comes from a signed form of the same patient, for a kind of consent that form grants;
-- afterwards only its withdrawal is recorded, once.
CREATE FUNCTION check_consent() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM forms f JOIN form_templates t ON t.id = f.template_id
                        WHERE f.id = NEW.form_id AND f.patient_id = NEW.patient_id AND f.status = 'signed'
                          AND NEW.consent_type = ANY (t.consent_types)) THEN
            RAISE EXCEPTION 'A consent is granted by signing a form that asks for it.' USING ERRCODE = 'P0001';
        END IF;
        IF NEW.withdrawn_at IS NOT NULL THEN
            RAISE EXCEPTION 'A consent is granted before it can be withdrawn.' USING ERRCODE = 'P0001';
        END IF;
    ELSE
        IF OLD.withdrawn_at IS NOT NULL THEN
            RAISE EXCEPTION 'This consent was already withdrawn.' USING ERRCODE = 'P0001';
        END IF;
        IF NEW.patient_id <> OLD.patient_id OR NEW.form_id <> OLD.form_id OR NEW.consent_type <> OLD.consent_type
           OR NEW.granted_at <> OLD.granted_at THEN
            RAISE EXCEPTION 'Only the withdrawal of a consent is recorded.' USING ERRCODE = 'P0001';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consent_check BEFORE INSERT OR UPDATE ON consents FOR EACH ROW EXECUTE FUNCTION check_consent();
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consents FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Profile sharing follows the patient's consent: `patients.profile_shared` is true exactly while a
-- profile-sharing consent of that org-patient link is granted and not withdrawn. Nobody sets it
-- by hand; the consent's own trigger keeps it in step, in the same transaction.
CREATE FUNCTION profile_sharing_consented(p_patient integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT EXISTS (SELECT 1 FROM consents
                    WHERE patient_id = p_patient AND consent_type = 'profile_sharing' AND withdrawn_at IS NULL)
$$;

CREATE FUNCTION check_profile_shared() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF NEW.profile_shared IS DISTINCT FROM OLD.profile_shared
       AND NEW.profile_shared IS DISTINCT FROM profile_sharing_consented(NEW.id) THEN
        RAISE EXCEPTION 'Profile sharing follows the patient''s signed profile-sharing consent; it is not set by hand.'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER patients_profile_shared BEFORE UPDATE OF profile_shared ON patients
    FOR EACH ROW EXECUTE FUNCTION check_profile_shared();

CREATE FUNCTION follow_profile_sharing() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF NEW.consent_type = 'profile_sharing' THEN
        UPDATE patients SET profile_shared = profile_sharing_consented(NEW.patient_id), updated_at = now()
         WHERE id = NEW.patient_id AND profile_shared IS DISTINCT FROM profile_sharing_consented(NEW.patient_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER consent_profile_sharing AFTER INSERT OR UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION follow_profile_sharing();

-- The booking guard: a patient's first consultation at an organization does not start while a
-- blocking form to be signed before the first appointment is pending. The refusal names them.
CREATE FUNCTION unsigned_first_appointment_forms(p_person integer, p_org integer) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT string_agg(t.title, ', ' ORDER BY f.id)
      FROM forms f
      JOIN patients p ON p.id = f.patient_id
      JOIN form_templates t ON t.id = f.template_id
     WHERE p.patient_person_id = p_person AND p.organization_id = p_org
       AND f.status = 'pending' AND f.blocking AND f.must_sign_before = 'first_appointment'
$$;

CREATE FUNCTION check_first_consultation_forms() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_titles text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM consultations c
                    WHERE c.patient_person_id = NEW.patient_person_id AND c.organization_id = NEW.organization_id
                      AND c.id <> NEW.id AND c.starts_at IS NOT NULL) THEN
        v_titles := unsigned_first_appointment_forms(NEW.patient_person_id, NEW.organization_id);
        IF v_titles IS NOT NULL THEN
            RAISE EXCEPTION 'The patient must sign these forms before their first consultation: %.', v_titles
                USING ERRCODE = 'DMF01';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_first_forms BEFORE UPDATE OF state ON consultations
    FOR EACH ROW WHEN (NEW.state = 'in_progress' AND OLD.state IS DISTINCT FROM 'in_progress')
    EXECUTE FUNCTION check_first_consultation_forms();

-- Staff read the form texts their patients are asked to sign; the service reads them for the app.
CREATE INDEX forms_template_pending ON forms (template_id) WHERE status = 'pending';
CREATE INDEX consents_form ON consents (form_id);
