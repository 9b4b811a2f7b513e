-- The public review and preferences pages (docs/public-pages.md), on the storage of
-- `*_patient_messages.sql`.

-- The audit trigger names a row by its `id`, its `code` or its user and organization; a review is
-- keyed by its consultation, so name it by that (without this no review row could be written).
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
    IF v_id = '' AND TG_TABLE_NAME = 'consultation_reviews' THEN
        v_id := coalesce(v_new, v_old) ->> 'consultation_id';
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

-- A review is answered once. Its consultation, token and creation time never change, and once
-- submitted nothing of it changes: a second answer cannot overwrite the first, whoever sends it.
CREATE FUNCTION consultation_review_answered_once() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.consultation_id <> OLD.consultation_id OR NEW.token <> OLD.token OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'a review''s consultation, token and creation time do not change' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.submitted_at IS NOT NULL THEN
        RAISE EXCEPTION 'this review was already submitted' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER answered_once BEFORE UPDATE ON consultation_reviews
    FOR EACH ROW EXECUTE FUNCTION consultation_review_answered_once();

-- The patient's own words are for the clinic's administrators (Capability::ReadReviews);
-- secretaries and doctors keep seeing the ratings of their clinic.
REVOKE SELECT (comment) ON consultation_reviews FROM secretary, doctor;

-- Service messages need a way to reach the patient: at least one channel stays allowed.
ALTER TABLE communication_preference_tokens
    ADD CONSTRAINT communication_preference_tokens_one_channel CHECK (email_allowed OR sms_allowed);

-- Support agents and admins issue a patient of their clinic a new preference link; the old token
-- stops working at once (Capability::RotatePreferenceLink). The audit trigger redacts tokens, so
-- the rotation is recorded by the time it sets (`rotated_at`, never set before the first).
ALTER TABLE communication_preference_tokens ADD COLUMN rotated_at timestamptz;
GRANT UPDATE (token, rotated_at) ON communication_preference_tokens TO customer_support, admin;
CREATE POLICY rotate ON communication_preference_tokens FOR UPDATE TO customer_support, admin
    USING (person_in_org(patient_person_id, current_staff_org()))
    WITH CHECK (person_in_org(patient_person_id, current_staff_org()));
