-- Form templates are written from the console now: an administrator writes the templates of
-- their own clinic and the shared ones (organization_id NULL, as the demo's), never another
-- clinic's. Everyone keeps reading the templates their forms name.

-- Whether a template is shared or of clinic `p_org`. (The caller passes current_staff_org(): inside
-- a SECURITY DEFINER function current_user is the owner, not the signed-in staff member.)
CREATE FUNCTION template_usable_by(p_template integer, p_org integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
    SELECT EXISTS (SELECT 1 FROM form_templates
                    WHERE id = p_template AND (organization_id IS NULL OR organization_id = p_org))
$$;

ALTER TABLE form_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE form_template_versions ENABLE ROW LEVEL SECURITY;

CREATE POLICY read ON form_templates FOR SELECT TO secretary, doctor, customer_support, admin, digimed_service
    USING (true);
CREATE POLICY clinic_insert ON form_templates FOR INSERT TO admin
    WITH CHECK (organization_id = current_staff_org());
CREATE POLICY clinic_update ON form_templates FOR UPDATE TO admin
    USING (organization_id IS NULL OR organization_id = current_staff_org())
    WITH CHECK (organization_id IS NULL OR organization_id = current_staff_org());

CREATE POLICY read ON form_template_versions FOR SELECT TO secretary, doctor, customer_support, admin, digimed_service
    USING (true);
CREATE POLICY clinic_insert ON form_template_versions FOR INSERT TO admin
    WITH CHECK (template_usable_by(template_id, current_staff_org()));
CREATE POLICY clinic_update ON form_template_versions FOR UPDATE TO admin
    USING (template_usable_by(template_id, current_staff_org())) WITH CHECK (template_usable_by(template_id, current_staff_org()));
CREATE POLICY clinic_delete ON form_template_versions FOR DELETE TO admin
    USING (template_usable_by(template_id, current_staff_org()));
