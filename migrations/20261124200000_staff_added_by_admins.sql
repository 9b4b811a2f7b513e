-- Administrators add staff to their own clinic from the console. A staff member is a login role
-- named by their e-mail address; an administrator's own login cannot create roles, so the row
-- and the login are made together: the admin inserts the `staff` row, and a trigger running as
-- the owner creates its login role, with the password's SCRAM verifier handed over as a setting
-- local to the transaction (never in the text of a statement), in the clinic role of the row.
--
-- The row may only name a login that does not exist yet, so an administrator can never attach an
-- existing login (another clinic's staff member, the owner, the service) to their clinic. The
-- owner's own path (`digimed staff add`) creates the login first and is not held to this.

GRANT INSERT (login_role, email, name, role, organization_id) ON staff TO admin;
CREATE POLICY clinic_insert ON staff FOR INSERT TO admin
    WITH CHECK (
        organization_id = current_staff_org()
        AND login_role = email
        AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login_role)
    );

CREATE FUNCTION create_staff_login() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_verifier text := coalesce(current_setting('digimed.new_login_verifier', true), '');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = NEW.login_role) THEN
        RETURN NULL;
    END IF;
    IF v_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'A new staff member needs a password.' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L IN ROLE %I', NEW.login_role, v_verifier, NEW.role);
    PERFORM set_config('digimed.new_login_verifier', '', true);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION create_staff_login() FROM PUBLIC;
CREATE TRIGGER staff_login_created AFTER INSERT ON staff
    FOR EACH ROW EXECUTE FUNCTION create_staff_login();
