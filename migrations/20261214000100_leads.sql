-- Leads (docs/leads.md): callers the call tracking filed at a clinic (entry point `cold_call`)
-- who have no app account yet. Support agents and admins list them, check whether the clinic can
-- serve them (age, coverage, channel) and convert them into patients.

-- Where a clinic, or a partner of a clinic, serves patients: Norwegian postcode prefixes (one to
-- four digits; '0' covers 0001-0999, '5003' one postcode). A lead is covered when their postcode
-- starts with a prefix of their clinic or of one of its partners' organizations. Kept by the
-- owner (demo data, `psql`); every change is audited.
CREATE TABLE organization_coverage (
    id              serial PRIMARY KEY,
    organization_id integer NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    postcode_prefix text NOT NULL CHECK (postcode_prefix ~ '^[0-9]{1,4}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, postcode_prefix)
);
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON organization_coverage
    FOR EACH ROW EXECUTE FUNCTION audit_row();
-- Coverage is no patient's data; only those who work leads read it.
GRANT SELECT ON organization_coverage TO customer_support, admin;

-- The channels a clinic offers a new patient's consultations on (a subset of a consultation's
-- channels a lead may ask for).
ALTER TABLE organizations
    ADD COLUMN consultation_channels text[] NOT NULL DEFAULT '{video,phone}'
        CHECK (consultation_channels <@ ARRAY['video', 'phone']::text[] AND cardinality(consultation_channels) >= 1);

-- Support agents and admins see when their clinic's leads called (never the number's index).
GRANT SELECT (id, organization_id, patient_person_id, duration_seconds, answered, started_at, received_at)
    ON tracked_calls TO customer_support, admin;
CREATE POLICY clinic_read ON tracked_calls FOR SELECT TO customer_support, admin
    USING (organization_id = current_staff_org());

-- Converting a lead turns its link's entry point from `cold_call` into `concierge_cold_call`,
-- once the person has an app account; no other change of an entry point is allowed, by anyone.
GRANT UPDATE (entry_point) ON patients TO customer_support, admin;
CREATE FUNCTION patients_entry_point_only_a_lead_converts() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.entry_point IS DISTINCT FROM OLD.entry_point
       AND NOT (OLD.entry_point = 'cold_call' AND NEW.entry_point = 'concierge_cold_call') THEN
        RAISE EXCEPTION 'an entry point changes only when a cold-call lead is converted' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.entry_point IS DISTINCT FROM OLD.entry_point
       AND NOT EXISTS (SELECT 1 FROM patient_persons WHERE id = NEW.patient_person_id AND user_id IS NOT NULL) THEN
        RAISE EXCEPTION 'a lead is converted once it has an account' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER entry_point_only_a_lead_converts BEFORE UPDATE OF entry_point ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_entry_point_only_a_lead_converts();
