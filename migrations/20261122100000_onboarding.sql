-- Patient onboarding (seed 002) and the HTTP service acting for staff.
--
-- The service signs in as a login role that is a member of `digimed_service`. To act for an
-- authenticated staff member it runs `SET LOCAL ROLE <staff login>` inside the transaction, so
-- the database's grants and row-level security apply to that staff member exactly as if they had
-- connected themselves. `digimed api-token create` grants each such staff login to
-- `digimed_service`. `digimed_service` does not inherit what it is granted, so the service's own
-- connection never gains a staff member's privileges or policies without that SET ROLE.
ALTER ROLE digimed_service NOINHERIT;

-- A clinic role counts only when its privileges are actually held (inherited), not merely
-- reachable through SET ROLE: the service login can become a staff login but is not one.
CREATE OR REPLACE FUNCTION current_app_role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(r) END
      FROM unnest(ARRAY['secretary', 'doctor', 'customer_support', 'admin']) AS r
     WHERE pg_has_role(current_user, r, 'USAGE')
$$;

-- Whether the connection is the service itself (or the owner), not a staff member.
CREATE FUNCTION is_service_session() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = public, pg_catalog
AS $$ SELECT current_staff_org() IS NULL AND pg_has_role(current_user, 'digimed_service', 'USAGE') $$;

-- Onboarding looks a person up by e-mail across the whole clinic database (a patient of another
-- organization is linked, not duplicated), which staff cannot do through row-level security.
-- Only the roles that may onboard may call it.
CREATE FUNCTION onboarding_lookup(p_email text, p_org integer)
RETURNS TABLE (user_id integer, clerk_user_id text, account_directory text,
               patient_person_id integer, person_name text, existing_patient_id integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT u.id, u.clerk_user_id, u.account_directory, pp.id, pp.name, p.id
      FROM users u
      LEFT JOIN patient_persons pp ON pp.user_id = u.id
      LEFT JOIN patients p ON p.patient_person_id = pp.id AND p.organization_id = p_org
     WHERE u.email = lower(btrim(p_email))
$$;
REVOKE ALL ON FUNCTION onboarding_lookup(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION onboarding_lookup(text, integer) TO customer_support, admin, digimed_service;

-- Whether a person exists at all (regular creation links an existing person by id).
CREATE FUNCTION person_for_linking(p_person integer, p_org integer)
RETURNS TABLE (patient_person_id integer, user_id integer, existing_patient_id integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT pp.id, pp.user_id,
           (SELECT p.id FROM patients p WHERE p.patient_person_id = pp.id AND p.organization_id = p_org)
      FROM patient_persons pp WHERE pp.id = p_person
$$;
REVOKE ALL ON FUNCTION person_for_linking(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_for_linking(integer, integer) TO customer_support, admin, digimed_service;

-- Likely duplicates of a person about to be created: same national id (blind index), same
-- e-mail, same phone (blind index), or same name and date of birth. Only ids, names and the
-- reasons are returned; the profile stays behind the profile-sharing consent.
CREATE FUNCTION patient_match_candidates(
    p_national_id_index bytea, p_email text, p_phone_index bytea, p_name text, p_date_of_birth date
) RETURNS TABLE (patient_person_id integer, name text, reasons text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT m.id, pp.name, array_agg(DISTINCT m.reason ORDER BY m.reason)
      FROM (
            SELECT id, 'national_id' AS reason FROM patient_persons
             WHERE p_national_id_index IS NOT NULL AND national_id_index = p_national_id_index
            UNION ALL
            SELECT pp.id, 'email' FROM patient_persons pp JOIN users u ON u.id = pp.user_id
             WHERE p_email IS NOT NULL AND u.email = lower(btrim(p_email))
            UNION ALL
            SELECT id, 'phone' FROM patient_persons
             WHERE p_phone_index IS NOT NULL AND phone_index = p_phone_index
            UNION ALL
            SELECT id, 'name_and_date_of_birth' FROM patient_persons
             WHERE p_name IS NOT NULL AND p_date_of_birth IS NOT NULL
               AND lower(name) = lower(btrim(p_name)) AND date_of_birth = p_date_of_birth
           ) m
      JOIN patient_persons pp ON pp.id = m.id
     GROUP BY m.id, pp.name
     ORDER BY count(*) DESC, m.id
     LIMIT 20
$$;
REVOKE ALL ON FUNCTION patient_match_candidates(bytea, text, bytea, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patient_match_candidates(bytea, text, bytea, text, date)
    TO customer_support, admin, digimed_service;

-- Profile visibility (seed 002): an organization sees a person's name; it sees the portable
-- profile only where the person was first registered (`profile_origin`) or once the person has
-- signed that organization's profile-sharing consent (`profile_shared`). Staff read the profile
-- through `patient_profiles`; the profile columns of the table itself are not granted to them.
CREATE FUNCTION profile_visible(p_person integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT EXISTS (SELECT 1 FROM patients
                    WHERE patient_person_id = p_person AND organization_id = p_org
                      AND (profile_origin OR profile_shared))
$$;

REVOKE SELECT ON patient_persons FROM secretary, doctor, customer_support, admin;
GRANT SELECT (id, user_id, name, status, marketing_allowed, source_partner_id, created_at, updated_at)
    ON patient_persons TO secretary, doctor, customer_support, admin;

CREATE VIEW patient_profiles WITH (security_barrier = true) AS
SELECT pp.id,
       pp.user_id,
       pp.name,
       pp.status,
       v.visible AS profile_visible,
       CASE WHEN v.visible THEN pp.date_of_birth END AS date_of_birth,
       CASE WHEN v.visible THEN pp.blood_type END AS blood_type,
       CASE WHEN v.visible THEN pp.allergies END AS allergies,
       CASE WHEN v.visible THEN pp.chronic_conditions END AS chronic_conditions,
       CASE WHEN v.visible THEN pp.insurance_entries END AS insurance_entries,
       CASE WHEN v.visible THEN pp.phone_encrypted END AS phone_encrypted,
       CASE WHEN v.visible THEN pp.national_id_encrypted END AS national_id_encrypted,
       CASE WHEN v.visible THEN pp.emergency_contact_name END AS emergency_contact_name,
       CASE WHEN v.visible THEN pp.emergency_contact_phone_encrypted END AS emergency_contact_phone_encrypted,
       pp.created_at,
       pp.updated_at
  FROM patient_persons pp
 CROSS JOIN LATERAL (
       SELECT CASE WHEN is_service_session() THEN true
                   ELSE coalesce(profile_visible(pp.id, current_staff_org()), false) END AS visible
       ) v
 WHERE is_service_session() OR person_in_org(pp.id, current_staff_org());
GRANT SELECT ON patient_profiles TO secretary, doctor, customer_support, admin, digimed_service;

-- The outbox worker marks an event once it has been fanned out to the subscriptions.
ALTER TABLE outbox ADD COLUMN dispatched_at timestamptz;
CREATE INDEX outbox_undispatched ON outbox (id) WHERE dispatched_at IS NULL;
GRANT UPDATE (dispatched_at) ON outbox TO digimed_service;

-- Delivery state: admins see the deliveries of their own organization's subscriptions.
CREATE FUNCTION subscription_org(p_subscription integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT organization_id FROM webhook_subscriptions WHERE id = p_subscription $$;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_read ON webhook_deliveries FOR SELECT TO admin
    USING (subscription_org(subscription_id) = current_staff_org());
CREATE POLICY service ON webhook_deliveries TO digimed_service USING (true) WITH CHECK (true);

-- Outgoing events are signed by the clinic, so staff may queue events only for their own
-- organization (the service and the owner for any); events of no organization go to no
-- subscription. Admins read their organization's.
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_org ON outbox FOR INSERT TO secretary, doctor, customer_support, admin
    WITH CHECK (organization_id IS NULL OR organization_id = current_staff_org());
CREATE POLICY clinic_read ON outbox FOR SELECT TO admin
    USING (organization_id = current_staff_org());
CREATE POLICY service ON outbox TO digimed_service USING (true) WITH CHECK (true);
