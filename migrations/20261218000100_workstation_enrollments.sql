-- Workstation enrollment (docs/operations.md, "Enrolling a workstation"): an admin makes a
-- one-time bundle (server address, CA certificate, role, the data keys the role needs), sealed
-- under a passphrase. The database keeps only who made it, for which role, a hash of its
-- one-time secret, and when it was used or revoked; never the keys or the passphrase.

CREATE TABLE workstation_enrollments (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id  integer NOT NULL DEFAULT current_staff_org() REFERENCES organizations (id),
    label            text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 100),
    role             text NOT NULL CHECK (role IN ('secretary', 'doctor', 'customer_support', 'admin')),
    -- The key domains the bundle carries (`contact`, `clinical`).
    domains          text[] NOT NULL CHECK (cardinality(domains) >= 1),
    -- SHA-256 of the bundle's one-time secret.
    token_hash       bytea NOT NULL CHECK (length(token_hash) = 32),
    created_by       integer NOT NULL DEFAULT current_staff_id() REFERENCES staff (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    -- NULL with revoked_at set: revoked by the database owner (`digimed workstation revoke`).
    revoked_by       integer REFERENCES staff (id),
    -- When the data keys were rotated after the revocation (the owner's `digimed workstation
    -- rotate`): from then on the keys the workstation took away read no new data.
    keys_rotated_at  timestamptz CHECK (keys_rotated_at IS NULL OR revoked_at IS NOT NULL),
    CHECK (revoked_by IS NULL OR revoked_at IS NOT NULL)
);
CREATE INDEX workstation_enrollments_org ON workstation_enrollments (organization_id, created_at DESC);

-- A revocation is final, and it is made in the name of whoever revokes.
CREATE FUNCTION workstation_enrollment_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'This workstation is already revoked.' USING ERRCODE = 'P0001';
    END IF;
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        NEW.revoked_at := now();
        NEW.revoked_by := current_staff_id();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER guard BEFORE UPDATE ON workstation_enrollments
    FOR EACH ROW EXECUTE FUNCTION workstation_enrollment_guard();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON workstation_enrollments
    FOR EACH ROW EXECUTE FUNCTION audit_row();

GRANT SELECT (id, organization_id, label, role, domains, created_by, created_at, revoked_at, revoked_by, keys_rotated_at) ON workstation_enrollments TO admin;
GRANT INSERT (label, role, domains, token_hash) ON workstation_enrollments TO admin;
GRANT UPDATE (revoked_at) ON workstation_enrollments TO admin;
ALTER TABLE workstation_enrollments ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_admins ON workstation_enrollments TO admin
    USING (organization_id = current_staff_org()) WITH CHECK (organization_id = current_staff_org());

-- When an enrollment was used, by whom, and the workstation's own age recipient (post-quantum
-- hybrid, ML-KEM-768 with X25519) that new keys after a rotation are sealed to. Written only by
-- workstation_enrollment_use, which records the use in the audit log in the user's own name.
CREATE TABLE workstation_enrollment_uses (
    enrollment_id  integer PRIMARY KEY REFERENCES workstation_enrollments (id),
    used_at        timestamptz NOT NULL DEFAULT now(),
    used_by        integer NOT NULL REFERENCES staff (id),
    recipient      text NOT NULL CHECK (recipient ~ '^age1[0-9a-z]+$')
);
GRANT SELECT (enrollment_id, used_at, used_by) ON workstation_enrollment_uses TO admin;
ALTER TABLE workstation_enrollment_uses ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_admins ON workstation_enrollment_uses FOR SELECT TO admin
    USING (EXISTS (SELECT 1 FROM workstation_enrollments e WHERE e.id = enrollment_id));

-- Using a bundle: the staff member who has just signed in on the new workstation, in the
-- bundle's clinic and with the bundle's role. Refuses a wrong secret (as not found), a used and
-- a revoked enrollment, each with its own SQLSTATE; marks it used and registers the
-- workstation's recipient.
CREATE FUNCTION workstation_enrollment_use(p_id integer, p_token_hash bytea, p_recipient text)
RETURNS TABLE (role text, domains text[])
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v workstation_enrollments;
    v_staff integer := staff_id_of(session_user::text);
BEGIN
    IF v_staff IS NULL THEN
        RAISE EXCEPTION 'Only an active staff member can enroll a workstation.' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO v FROM workstation_enrollments e WHERE e.id = p_id FOR UPDATE;
    IF NOT FOUND OR v.token_hash <> p_token_hash OR v.organization_id IS DISTINCT FROM staff_org_of(session_user::text) THEN
        RAISE EXCEPTION 'This enrollment bundle is not known to this clinic''s database.' USING ERRCODE = 'DMW01';
    END IF;
    IF v.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'This enrollment was revoked.' USING ERRCODE = 'DMW03';
    END IF;
    IF EXISTS (SELECT 1 FROM workstation_enrollment_uses u WHERE u.enrollment_id = p_id) THEN
        RAISE EXCEPTION 'This enrollment bundle has already been used.' USING ERRCODE = 'DMW02';
    END IF;
    IF v.role IS DISTINCT FROM (SELECT s.role FROM staff s WHERE s.id = v_staff) THEN
        RAISE EXCEPTION 'This bundle is for a %; sign in with the login of a %.', replace(v.role, '_', ' '), replace(v.role, '_', ' ')
            USING ERRCODE = 'DMW04';
    END IF;
    INSERT INTO workstation_enrollment_uses (enrollment_id, used_by, recipient) VALUES (p_id, v_staff, p_recipient);
    PERFORM audit_append(session_user::text, 'UPDATE', 'workstation_enrollments', p_id::text,
                         jsonb_build_object('used_by', jsonb_build_object('from', NULL, 'to', v_staff)));
    RETURN QUERY SELECT v.role, v.domains;
END
$$;
REVOKE ALL ON FUNCTION workstation_enrollment_use(integer, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION workstation_enrollment_use(integer, bytea, text) TO secretary, doctor, customer_support, admin;

-- New data keys for the workstations that still hold an enrollment, each sealed (age)
-- to that workstation's recipient. Written by the owner's rotation; a workstation reads its own
-- newest delivery at sign-in through workstation_key_delivery.
CREATE TABLE workstation_key_deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id  integer NOT NULL REFERENCES workstation_enrollments (id),
    domain         text NOT NULL CHECK (domain IN ('contact', 'clinical')),
    key_id         integer NOT NULL,
    sealed_keys    bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (enrollment_id, domain, key_id)
);
ALTER TABLE workstation_key_deliveries ENABLE ROW LEVEL SECURITY;

-- The newest delivery of each domain for a workstation's enrollment while it is not revoked,
-- to any staff member signed in on it (the keys are sealed to that workstation's identity).
CREATE FUNCTION workstation_key_delivery(p_enrollment integer)
RETURNS TABLE (domain text, key_id integer, sealed_keys bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT DISTINCT ON (d.domain) d.domain, d.key_id, d.sealed_keys
      FROM workstation_key_deliveries d
      JOIN workstation_enrollments e ON e.id = d.enrollment_id
      JOIN workstation_enrollment_uses u ON u.enrollment_id = e.id
     WHERE e.id = p_enrollment AND e.revoked_at IS NULL AND staff_id_of(session_user::text) IS NOT NULL
     ORDER BY d.domain, d.key_id DESC
$$;
REVOKE ALL ON FUNCTION workstation_key_delivery(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION workstation_key_delivery(integer) TO secretary, doctor, customer_support, admin;

-- The workstations still enrolled for a key domain, with the recipient each registered: where a
-- rotation of that domain seals its new keys. The owner rotates the contact keys; a clinic's
-- admin, who holds the clinical keys (the owner never does), rotates those, so admins may ask
-- for the clinical domain only. Recipients are public keys.
CREATE FUNCTION workstation_recipients(p_domain text)
RETURNS TABLE (enrollment_id integer, recipient text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    -- Inside this function current_user is its owner, the database owner: only the owner's own
    -- sessions may hand out the contact keys.
    IF p_domain <> 'clinical' AND session_user <> current_user THEN
        RAISE EXCEPTION 'Only the database owner rotates the % keys.', p_domain USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
        SELECT e.id, u.recipient
          FROM workstation_enrollments e
          JOIN workstation_enrollment_uses u ON u.enrollment_id = e.id
         WHERE e.revoked_at IS NULL AND p_domain = ANY (e.domains)
         ORDER BY e.id;
END
$$;
REVOKE ALL ON FUNCTION workstation_recipients(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION workstation_recipients(text) TO admin;

-- Files the new keys of a domain, sealed to one enrolled workstation (same rule as above).
CREATE FUNCTION deliver_workstation_keys(p_enrollment integer, p_domain text, p_key_id integer, p_sealed bytea)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    -- Inside this function current_user is its owner, the database owner: only the owner's own
    -- sessions may hand out the contact keys.
    IF p_domain <> 'clinical' AND session_user <> current_user THEN
        RAISE EXCEPTION 'Only the database owner rotates the % keys.', p_domain USING ERRCODE = '42501';
    END IF;
    INSERT INTO workstation_key_deliveries (enrollment_id, domain, key_id, sealed_keys)
    SELECT e.id, p_domain, p_key_id, p_sealed
      FROM workstation_enrollments e
     WHERE e.id = p_enrollment AND e.revoked_at IS NULL AND p_domain = ANY (e.domains)
    ON CONFLICT (enrollment_id, domain, key_id) DO NOTHING;
END
$$;
REVOKE ALL ON FUNCTION deliver_workstation_keys(integer, text, integer, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deliver_workstation_keys(integer, text, integer, bytea) TO admin;
