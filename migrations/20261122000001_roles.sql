-- Clinic roles. Postgres roles are cluster-wide, so creating them must be idempotent and safe
-- when several databases of one cluster migrate at the same time.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['secretary', 'doctor', 'customer_support', 'admin', 'digimed_service'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END LOOP;
END
$$;

-- Nobody but the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The clinic role of the connected staff member, derived from role membership. It cannot be
-- changed with SET: a login role is a member of exactly one clinic role, and a login with none,
-- or with more than one (a superuser is a member of all), has none.
CREATE FUNCTION current_app_role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(r) END
      FROM unnest(ARRAY['secretary', 'doctor', 'customer_support', 'admin']) AS r
     WHERE pg_has_role(current_user, r, 'MEMBER')
$$;
