-- Onboarding rules are changed from the console now: staff read their own clinic's rules, an
-- administrator changes only those, and a rule of theirs names only their clinic's or the shared
-- form templates (template_usable_by). The service (which onboards for every clinic) reads them all. Changes are
-- audited by the triggers already on both tables.

CREATE FUNCTION rule_org(p_rule integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT organization_id FROM automation_rules WHERE id = p_rule $$;

ALTER TABLE automation_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_actions ENABLE ROW LEVEL SECURITY;

CREATE POLICY clinic_read ON automation_rules FOR SELECT TO secretary, doctor, customer_support, admin
    USING (organization_id = current_staff_org());
CREATE POLICY service ON automation_rules FOR SELECT TO digimed_service USING (true);
CREATE POLICY clinic_insert ON automation_rules FOR INSERT TO admin
    WITH CHECK (organization_id = current_staff_org());
CREATE POLICY clinic_update ON automation_rules FOR UPDATE TO admin
    USING (organization_id = current_staff_org()) WITH CHECK (organization_id = current_staff_org());
CREATE POLICY clinic_delete ON automation_rules FOR DELETE TO admin
    USING (organization_id = current_staff_org());

CREATE POLICY clinic_read ON automation_actions FOR SELECT TO secretary, doctor, customer_support, admin
    USING (rule_org(rule_id) = current_staff_org());
CREATE POLICY service ON automation_actions FOR SELECT TO digimed_service USING (true);
CREATE POLICY clinic_insert ON automation_actions FOR INSERT TO admin
    WITH CHECK (rule_org(rule_id) = current_staff_org()
                AND (template_id IS NULL OR template_usable_by(template_id, current_staff_org())));
CREATE POLICY clinic_update ON automation_actions FOR UPDATE TO admin
    USING (rule_org(rule_id) = current_staff_org())
    WITH CHECK (rule_org(rule_id) = current_staff_org()
                AND (template_id IS NULL OR template_usable_by(template_id, current_staff_org())));
CREATE POLICY clinic_delete ON automation_actions FOR DELETE TO admin
    USING (rule_org(rule_id) = current_staff_org());
