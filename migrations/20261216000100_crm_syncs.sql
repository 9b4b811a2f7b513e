-- The CRM connection (docs/crm.md): where HubSpot is configured, the service's CRM worker turns
-- `patient.onboarded` and `referral.received` events into syncs: a contact upsert per event, and
-- for a referral also a task for the concierge. One row per (event, kind); the row holds the
-- sync's state, never patient data (the reason of a failure is HubSpot's status and category).

CREATE TABLE crm_syncs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id           bigint NOT NULL REFERENCES outbox (id),
    organization_id     integer REFERENCES organizations (id),
    kind                text NOT NULL CHECK (kind IN ('contact', 'concierge_task')),
    patient_person_id   integer NOT NULL REFERENCES patient_persons (id),
    state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_status         integer,
    last_error          text,
    hubspot_contact_id  text,
    hubspot_task_id     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    synced_at           timestamptz,
    UNIQUE (outbox_id, kind),
    CHECK (state <> 'synced' OR hubspot_contact_id IS NOT NULL),
    CHECK (state <> 'synced' OR kind <> 'concierge_task' OR hubspot_task_id IS NOT NULL)
);
CREATE INDEX crm_syncs_due ON crm_syncs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX crm_syncs_event ON crm_syncs (outbox_id);

-- The CRM worker marks an event once it has made its syncs; only while HubSpot is configured,
-- so an unconfigured clinic piles nothing up.
ALTER TABLE outbox ADD COLUMN crm_considered_at timestamptz;
CREATE INDEX outbox_crm_unconsidered ON outbox (id)
    WHERE crm_considered_at IS NULL AND event_type IN ('patient.onboarded', 'referral.received');
GRANT UPDATE (crm_considered_at) ON outbox TO digimed_service;

GRANT SELECT ON crm_syncs TO admin;
GRANT SELECT, INSERT, UPDATE ON crm_syncs TO digimed_service;
ALTER TABLE crm_syncs ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_read ON crm_syncs FOR SELECT TO admin USING (organization_id = current_staff_org());
CREATE POLICY service ON crm_syncs TO digimed_service USING (true) WITH CHECK (true);

-- What a sync hands to HubSpot about its person: the name, the login's e-mail, the phone's
-- ciphertext and the clinic's entry point; nothing clinical. Only the service calls it, for a
-- pending sync, and each call records one READ entry in the audit log naming the fields handed
-- out and the sync they were read for.
CREATE FUNCTION crm_contact_read(p_sync bigint)
RETURNS TABLE (patient_person_id integer, name text, email text, phone_encrypted bytea, entry_point text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_person integer;
    v_org integer;
    v_name text;
    v_email text;
    v_phone bytea;
    v_entry text;
BEGIN
    SELECT s.patient_person_id, s.organization_id INTO v_person, v_org
      FROM crm_syncs s WHERE s.id = p_sync AND s.state = 'pending';
    IF v_person IS NULL THEN
        RETURN;
    END IF;
    SELECT pp.name, u.email, pp.phone_encrypted INTO v_name, v_email, v_phone
      FROM patient_persons pp LEFT JOIN users u ON u.id = pp.user_id WHERE pp.id = v_person;
    SELECT p.entry_point INTO v_entry FROM patients p WHERE p.patient_person_id = v_person AND p.organization_id = v_org;
    PERFORM audit_append(session_user::text, 'READ', 'patient_persons', v_person::text,
                         jsonb_build_object('fields', to_jsonb(array_remove(ARRAY['name',
                                                CASE WHEN v_email IS NOT NULL THEN 'email' END,
                                                CASE WHEN v_phone IS NOT NULL THEN 'phone' END], NULL)),
                                            'purpose', 'crm', 'crm_sync_id', p_sync));
    RETURN QUERY SELECT v_person, v_name, v_email, v_phone, v_entry;
END
$$;
REVOKE ALL ON FUNCTION crm_contact_read(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_contact_read(bigint) TO digimed_service;
