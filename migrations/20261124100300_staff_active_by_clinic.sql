-- Staff are deactivated and reactivated from the console. An administrator changes only the
-- staff of their own clinic (before, any admin could rename or deactivate another clinic's), and
-- never deactivates their own login. A deactivated staff member's login role can no longer sign
-- in (NOLOGIN), so the clinic role it still holds is of no use to it; reactivating gives the login
-- back. The trigger function runs as the owner, who created the login roles, and only ever makes
-- a login match its row.

ALTER TABLE staff ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON staff FOR SELECT TO secretary, doctor, customer_support, admin, digimed_service USING (true);
CREATE POLICY clinic_update ON staff FOR UPDATE TO admin
    USING (organization_id = current_staff_org()) WITH CHECK (organization_id = current_staff_org());

CREATE FUNCTION check_staff_deactivation() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF NOT NEW.active AND OLD.active AND NEW.login_role = session_user::text THEN
        RAISE EXCEPTION 'You cannot deactivate your own login.' USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER staff_not_self BEFORE UPDATE OF active ON staff
    FOR EACH ROW EXECUTE FUNCTION check_staff_deactivation();

CREATE FUNCTION sync_staff_login() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF NEW.active IS DISTINCT FROM OLD.active AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = NEW.login_role) THEN
        EXECUTE format('ALTER ROLE %I %s', NEW.login_role, CASE WHEN NEW.active THEN 'LOGIN' ELSE 'NOLOGIN' END);
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION sync_staff_login() FROM PUBLIC;
CREATE TRIGGER staff_login_follows_active AFTER UPDATE OF active ON staff
    FOR EACH ROW EXECUTE FUNCTION sync_staff_login();
