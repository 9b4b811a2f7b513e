-- Row-level security at a lower cost, with the same rules (ARCHITECTURE.md, `migrations/`).
--
-- 1. The helpers policies call per row (the clinic of a partner, an order, a rule, a
--    consultation; whether a patient or person belongs to a clinic; who the login is) were SQL
--    functions with SECURITY DEFINER. PostgreSQL cannot inline those, and it plans a SQL
--    function's query again in every statement that calls it. As PL/pgSQL functions with the same
--    body, each keeps its plan for the session.
--    The same holds for `onboarding_lookup` (read by every onboarding) and for
--    `current_app_role()` (read when a transaction opens and by the message rules).
-- 2. The caller's clinic, staff id and acting patient do not change within a statement. Policies
--    now call them as `(SELECT current_staff_org())`, which PostgreSQL evaluates once per
--    statement instead of once per row.

DO $migration$
DECLARE
    f record;
    v_body text;
BEGIN
    FOR f IN
        SELECT p.oid, p.proname, pg_get_function_arguments(p.oid) AS args,
               pg_get_function_result(p.oid) AS result, p.prosrc
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
          JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'sql'
         WHERE p.prosecdef AND p.provolatile = 's' AND p.proretset = false
           AND p.proname IN ('staff_org_of', 'staff_id_of', 'partner_clinic', 'template_usable_by',
                             'person_in_org', 'patient_in_org', 'rule_org', 'patient_is_acting_person',
                             'consultation_doctor', 'is_doctor_in_org', 'user_in_org', 'treats_patient',
                             'referral_clinic', 'order_clinic', 'consultation_org', 'subscription_org',
                             'profile_visible')
    LOOP
        v_body := btrim(f.prosrc, E' \n\t;');
        IF position(';' IN v_body) > 0 THEN
            RAISE EXCEPTION 'helper % has more than one statement', f.proname;
        END IF;
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql STABLE SECURITY DEFINER '
            'SET search_path = public, pg_catalog AS %L',
            f.proname, f.args, f.result,
            E'BEGIN\n    RETURN (' || v_body || E');\nEND');
    END LOOP;
    IF (SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE l.lanname = 'plpgsql' AND p.proname IN ('staff_org_of', 'staff_id_of', 'partner_clinic', 'order_clinic')) <> 4 THEN
        RAISE EXCEPTION 'the helpers were not rewritten';
    END IF;
END
$migration$;

DO $migration$
DECLARE
    p record;
    v_qual text;
    v_check text;
    v_sql text;
BEGIN
    FOR p IN SELECT schemaname, tablename, policyname, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'public' LOOP
        v_qual := regexp_replace(p.qual, '(public\.)?\m(current_staff_org|current_staff_id|acting_patient_person)\(\)',
                                 '(SELECT public.\2())', 'g');
        v_check := regexp_replace(p.with_check, '(public\.)?\m(current_staff_org|current_staff_id|acting_patient_person)\(\)',
                                  '(SELECT public.\2())', 'g');
        IF v_qual IS NOT DISTINCT FROM p.qual AND v_check IS NOT DISTINCT FROM p.with_check THEN
            CONTINUE;
        END IF;
        v_sql := format('ALTER POLICY %I ON %I.%I', p.policyname, p.schemaname, p.tablename);
        IF v_qual IS NOT NULL THEN
            v_sql := v_sql || ' USING (' || v_qual || ')';
        END IF;
        IF v_check IS NOT NULL THEN
            v_sql := v_sql || ' WITH CHECK (' || v_check || ')';
        END IF;
        EXECUTE v_sql;
    END LOOP;
END
$migration$;

-- Every onboarding reads this; as PL/pgSQL its plan is kept. `use_column` resolves a name that is
-- both a column and an output column as the column, as the SQL function did.
CREATE OR REPLACE FUNCTION onboarding_lookup(p_email text, p_org integer)
RETURNS TABLE (user_id integer, clerk_user_id text, account_directory text, patient_person_id integer,
               person_name text, existing_patient_id integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT u.id, u.clerk_user_id, u.account_directory, pp.id, pp.name, p.id
      FROM users u
      LEFT JOIN patient_persons pp ON pp.user_id = u.id
      LEFT JOIN patients p ON p.patient_person_id = pp.id AND p.organization_id = p_org
     WHERE u.email = lower(btrim(p_email));
END
$$;

-- The clinic role, derived from role membership (exactly one, or none): the same answer, with
-- the plan kept for the session.
CREATE OR REPLACE FUNCTION current_app_role() RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    v_role text;
    v_found text;
    v_count integer := 0;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['secretary', 'doctor', 'customer_support', 'admin'] LOOP
        IF pg_has_role(current_user, v_role, 'USAGE') THEN
            v_count := v_count + 1;
            v_found := v_role;
        END IF;
    END LOOP;
    RETURN CASE WHEN v_count = 1 THEN v_found END;
END
$$;
