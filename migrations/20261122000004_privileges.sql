-- What each clinic role may read and write, table by table, and which rows (row-level
-- security). A staff member with a raw connection can do no more than the console lets them.
-- The table owner (who runs migrations and the `digimed` admin commands) is not subject to RLS.

CREATE FUNCTION person_in_org(p_person integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT EXISTS (SELECT 1 FROM patients WHERE patient_person_id = p_person AND organization_id = p_org) $$;

CREATE FUNCTION user_in_org(p_user integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT EXISTS (SELECT 1 FROM user_organizations WHERE user_id = p_user AND organization_id = p_org)
        OR EXISTS (SELECT 1 FROM patient_persons pp JOIN patients p ON p.patient_person_id = pp.id
                    WHERE pp.user_id = p_user AND p.organization_id = p_org)
$$;

CREATE FUNCTION patient_in_org(p_patient integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT EXISTS (SELECT 1 FROM patients WHERE id = p_patient AND organization_id = p_org) $$;

CREATE FUNCTION consultation_org(p_consultation integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT organization_id FROM consultations WHERE id = p_consultation $$;

CREATE FUNCTION consultation_doctor(p_consultation integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT assigned_doctor_id FROM consultations WHERE id = p_consultation $$;

CREATE FUNCTION is_doctor_in_org(p_staff integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT EXISTS (SELECT 1 FROM staff WHERE id = p_staff AND role = 'doctor' AND active AND organization_id = p_org) $$;

CREATE FUNCTION partner_clinic(p_partner integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT clinic_id FROM partners WHERE id = p_partner $$;

GRANT USAGE ON SCHEMA public TO secretary, doctor, customer_support, admin, digimed_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO secretary, doctor, customer_support, admin, digimed_service;
GRANT EXECUTE ON FUNCTION audit_append(text, text, text, text, jsonb)
    TO secretary, doctor, customer_support, admin, digimed_service;

-- Reference data: everyone reads, admins maintain.
GRANT SELECT ON organizations, staff, entry_points, consultation_states, result_outcomes,
    icpc2_codes, icpc2_imports, form_templates, form_template_versions, automation_rules,
    automation_actions
    TO secretary, doctor, customer_support, admin, digimed_service;
GRANT INSERT, UPDATE ON organizations, result_outcomes, icpc2_codes, icpc2_imports,
    form_templates, form_template_versions, automation_rules, automation_actions TO admin;
GRANT DELETE ON automation_rules, automation_actions, form_template_versions TO admin;
GRANT UPDATE (name, active) ON staff TO admin;

-- Partners: the webhook secret is readable only by the service that checks signatures.
GRANT SELECT (id, organization_id, clinic_id, name, is_test_partner, deadline_working_days, deal_id, created_at)
    ON partners TO secretary, doctor, customer_support, admin;
GRANT SELECT ON partners TO digimed_service;
GRANT INSERT, UPDATE ON partners TO admin;

-- Patient data. Every row is visible only to staff of an organization the patient belongs to.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_persons ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE communication_preference_tokens ENABLE ROW LEVEL SECURITY;

GRANT SELECT ON users, patient_persons, patients, user_organizations, communication_preference_tokens
    TO secretary, doctor, customer_support, admin, digimed_service;
GRANT INSERT ON users, patient_persons, patients, user_organizations, communication_preference_tokens
    TO customer_support, admin, digimed_service;
GRANT UPDATE (email, username, clerk_user_id, account_directory, updated_at) ON users
    TO customer_support, admin, digimed_service;
GRANT UPDATE (name, date_of_birth, national_id_encrypted, national_id_index, phone_encrypted, phone_index,
              emergency_contact_name, emergency_contact_phone_encrypted, blood_type, allergies,
              chronic_conditions, insurance_entries, status, user_id, updated_at)
    ON patient_persons TO customer_support, admin, digimed_service;
GRANT UPDATE (profile_shared, updated_at) ON patients TO customer_support, admin, digimed_service;

CREATE POLICY staff_read ON users FOR SELECT TO secretary, doctor, customer_support, admin
    USING (user_in_org(id, current_staff_org()));
CREATE POLICY onboard ON users FOR INSERT TO customer_support, admin WITH CHECK (true);
CREATE POLICY onboard_update ON users FOR UPDATE TO customer_support, admin
    USING (user_in_org(id, current_staff_org()));
CREATE POLICY service ON users TO digimed_service USING (true) WITH CHECK (true);

CREATE POLICY staff_read ON patient_persons FOR SELECT TO secretary, doctor, customer_support, admin
    USING (person_in_org(id, current_staff_org()));
CREATE POLICY onboard ON patient_persons FOR INSERT TO customer_support, admin WITH CHECK (true);
CREATE POLICY onboard_update ON patient_persons FOR UPDATE TO customer_support, admin
    USING (person_in_org(id, current_staff_org()));
CREATE POLICY service ON patient_persons TO digimed_service USING (true) WITH CHECK (true);

CREATE POLICY staff_read ON patients FOR SELECT TO secretary, doctor, customer_support, admin
    USING (organization_id = current_staff_org());
CREATE POLICY onboard ON patients FOR INSERT TO customer_support, admin
    WITH CHECK (organization_id = current_staff_org());
CREATE POLICY onboard_update ON patients FOR UPDATE TO customer_support, admin
    USING (organization_id = current_staff_org());
CREATE POLICY service ON patients TO digimed_service USING (true) WITH CHECK (true);

CREATE POLICY staff_read ON user_organizations FOR SELECT TO secretary, doctor, customer_support, admin
    USING (organization_id = current_staff_org());
CREATE POLICY onboard ON user_organizations FOR INSERT TO customer_support, admin
    WITH CHECK (organization_id = current_staff_org());
CREATE POLICY service ON user_organizations TO digimed_service USING (true) WITH CHECK (true);

CREATE POLICY staff_read ON communication_preference_tokens FOR SELECT TO secretary, doctor, customer_support, admin
    USING (person_in_org(patient_person_id, current_staff_org()));
CREATE POLICY onboard ON communication_preference_tokens FOR INSERT TO customer_support, admin WITH CHECK (true);
CREATE POLICY service ON communication_preference_tokens TO digimed_service USING (true) WITH CHECK (true);

-- Referrals arrive through the service (or an admin's import) and are screened by the clinic.
ALTER TABLE referrals ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON referrals TO secretary, doctor, admin, digimed_service;
GRANT INSERT ON referrals TO admin, digimed_service;
GRANT UPDATE (supervisor_staff_id) ON referrals TO secretary, admin;
CREATE POLICY clinic_read ON referrals FOR SELECT TO secretary, doctor, admin
    USING (partner_clinic(partner_id) = current_staff_org());
CREATE POLICY clinic_screen ON referrals FOR UPDATE TO secretary, admin
    USING (partner_clinic(partner_id) = current_staff_org());
CREATE POLICY import ON referrals FOR INSERT TO admin
    WITH CHECK (partner_clinic(partner_id) = current_staff_org());
CREATE POLICY service ON referrals TO digimed_service USING (true) WITH CHECK (true);

-- Consultations: secretaries book, assign and cancel; a doctor picks an unassigned one or works
-- on their own, never on another doctor's.
ALTER TABLE consultations ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON consultations TO secretary, doctor, customer_support, admin, digimed_service;
GRANT INSERT ON consultations TO secretary, doctor, admin, digimed_service;
GRANT UPDATE (state, assigned_doctor_id, assigned_at, cancelled_at, cancel_reason, deadline_at,
              enabled_channels, primary_channel, options, updated_at)
    ON consultations TO secretary, admin;
GRANT UPDATE (state, assigned_doctor_id, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason, updated_at)
    ON consultations TO doctor;
GRANT UPDATE ON consultations TO digimed_service;
CREATE POLICY clinic_read ON consultations FOR SELECT TO secretary, doctor, customer_support, admin
    USING (organization_id = current_staff_org());
CREATE POLICY book ON consultations FOR INSERT TO secretary, admin
    WITH CHECK (organization_id = current_staff_org()
                AND (assigned_doctor_id IS NULL OR is_doctor_in_org(assigned_doctor_id, organization_id)));
CREATE POLICY follow_up ON consultations FOR INSERT TO doctor
    WITH CHECK (organization_id = current_staff_org() AND follow_up_of IS NOT NULL
                AND (assigned_doctor_id IS NULL OR assigned_doctor_id = current_staff_id()));
CREATE POLICY manage ON consultations FOR UPDATE TO secretary, admin
    USING (organization_id = current_staff_org())
    WITH CHECK (assigned_doctor_id IS NULL OR is_doctor_in_org(assigned_doctor_id, organization_id));
CREATE POLICY own_or_pick ON consultations FOR UPDATE TO doctor
    USING (organization_id = current_staff_org()
           AND (assigned_doctor_id = current_staff_id()
                OR (assigned_doctor_id IS NULL AND state = 'ready_for_pickup')))
    WITH CHECK (assigned_doctor_id = current_staff_id());
CREATE POLICY service ON consultations TO digimed_service USING (true) WITH CHECK (true);

ALTER TABLE consultation_screenings ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON consultation_screenings TO secretary, doctor, admin;
GRANT INSERT ON consultation_screenings TO secretary, admin;
CREATE POLICY clinic_read ON consultation_screenings FOR SELECT TO secretary, doctor, admin
    USING (consultation_org(consultation_id) = current_staff_org());
CREATE POLICY screen ON consultation_screenings FOR INSERT TO secretary, admin
    WITH CHECK (staff_id = current_staff_id() AND consultation_org(consultation_id) = current_staff_org());

ALTER TABLE video_rooms ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_rooms ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON video_rooms, chat_rooms TO secretary, doctor, admin, digimed_service;
GRANT INSERT ON video_rooms, chat_rooms TO doctor, digimed_service;
CREATE POLICY clinic_read ON video_rooms FOR SELECT TO secretary, doctor, admin
    USING (consultation_org(consultation_id) = current_staff_org());
CREATE POLICY start ON video_rooms FOR INSERT TO doctor
    WITH CHECK (consultation_doctor(consultation_id) = current_staff_id());
CREATE POLICY service ON video_rooms TO digimed_service USING (true) WITH CHECK (true);
CREATE POLICY clinic_read ON chat_rooms FOR SELECT TO secretary, doctor, admin
    USING (consultation_org(consultation_id) = current_staff_org());
CREATE POLICY start ON chat_rooms FOR INSERT TO doctor
    WITH CHECK (consultation_doctor(consultation_id) = current_staff_id());
CREATE POLICY service ON chat_rooms TO digimed_service USING (true) WITH CHECK (true);

-- Consultation results: nobody reads the table directly; reading goes through an audited
-- function that lets only the author and admins through. Only the assigned doctor files one.
ALTER TABLE consultation_results ENABLE ROW LEVEL SECURITY;
GRANT INSERT ON consultation_results TO doctor;
CREATE POLICY file_own ON consultation_results FOR INSERT TO doctor
    WITH CHECK (author_staff_id = current_staff_id()
                AND consultation_doctor(consultation_id) = current_staff_id());

-- Orders follow the clinic that serves them.
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE line_items ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON orders, line_items TO secretary, admin, digimed_service;
GRANT INSERT ON orders, line_items TO secretary, admin, digimed_service;
GRANT UPDATE (total) ON orders TO secretary, admin, digimed_service;
CREATE FUNCTION order_clinic(p_order integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT clinic_id FROM orders WHERE id = p_order $$;
CREATE POLICY clinic ON orders TO secretary, admin
    USING (clinic_id = current_staff_org()) WITH CHECK (clinic_id = current_staff_org());
CREATE POLICY service ON orders TO digimed_service USING (true) WITH CHECK (true);
CREATE POLICY clinic ON line_items TO secretary, admin
    USING (order_clinic(order_id) = current_staff_org()) WITH CHECK (order_clinic(order_id) = current_staff_org());
CREATE POLICY service ON line_items TO digimed_service USING (true) WITH CHECK (true);

-- Consent forms and consents.
ALTER TABLE forms ENABLE ROW LEVEL SECURITY;
ALTER TABLE consents ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON forms, consents TO secretary, doctor, customer_support, admin, digimed_service;
GRANT INSERT ON forms, consents TO customer_support, admin, digimed_service;
GRANT UPDATE (status, signed_at, signed_by, attested_by_staff_id, signed_template_sha256, declined_at, superseded_by)
    ON forms TO customer_support, admin, digimed_service;
GRANT UPDATE (withdrawn_at, withdraw_reason) ON consents TO customer_support, admin, digimed_service;
CREATE POLICY clinic_read ON forms FOR SELECT TO secretary, doctor, customer_support, admin
    USING (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY clinic_write ON forms FOR INSERT TO customer_support, admin
    WITH CHECK (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY clinic_update ON forms FOR UPDATE TO customer_support, admin
    USING (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY service ON forms TO digimed_service USING (true) WITH CHECK (true);
CREATE POLICY clinic_read ON consents FOR SELECT TO secretary, doctor, customer_support, admin
    USING (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY clinic_write ON consents FOR INSERT TO customer_support, admin
    WITH CHECK (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY clinic_update ON consents FOR UPDATE TO customer_support, admin
    USING (patient_in_org(patient_id, current_staff_org()));
CREATE POLICY service ON consents TO digimed_service USING (true) WITH CHECK (true);

-- Audit log: only admins read it; rows are added by audit_append only.
GRANT SELECT ON audit_log, audit_chain_head TO admin;

-- Outbox: every role that changes data may queue the event that describes it.
GRANT INSERT ON outbox TO secretary, doctor, customer_support, admin, digimed_service;
GRANT SELECT ON outbox TO admin, digimed_service;

ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
GRANT SELECT (id, organization_id, url, event_types, active, created_at) ON webhook_subscriptions TO admin;
GRANT INSERT, UPDATE ON webhook_subscriptions TO admin;
GRANT SELECT ON webhook_subscriptions TO digimed_service;
CREATE POLICY clinic ON webhook_subscriptions TO admin
    USING (organization_id = current_staff_org()) WITH CHECK (organization_id = current_staff_org());
CREATE POLICY service ON webhook_subscriptions TO digimed_service USING (true);

GRANT SELECT ON webhook_deliveries TO admin;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO digimed_service;

GRANT SELECT (id, staff_id, created_at, expires_at, revoked_at) ON api_tokens TO admin;
GRANT UPDATE (revoked_at) ON api_tokens TO admin;
GRANT SELECT ON api_tokens TO digimed_service;
