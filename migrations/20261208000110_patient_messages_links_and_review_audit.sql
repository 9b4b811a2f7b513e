-- The join link of a consultation's messages is read back to resend it, by the staff who may
-- resend it (the room links themselves are theirs to read already).
GRANT SELECT (link_url) ON patient_messages TO secretary, doctor, admin;

-- A review is keyed by its consultation, so its audit entries name the consultation; its token
-- is redacted, and the patient's comment is left out.
DROP TRIGGER audit ON consultation_reviews;
CREATE FUNCTION audit_consultation_review() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_row jsonb;
BEGIN
    v_row := audit_redact(CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) - 'comment';
    PERFORM audit_append(current_user::text,
        CASE TG_OP WHEN 'INSERT' THEN 'CREATE' WHEN 'UPDATE' THEN 'UPDATE' ELSE 'DELETE' END,
        TG_TABLE_NAME, (v_row ->> 'consultation_id'), v_row);
    RETURN NULL;
END
$$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON consultation_reviews
    FOR EACH ROW EXECUTE FUNCTION audit_consultation_review();
