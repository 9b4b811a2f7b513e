-- Key domains (docs/operations.md, "Key domains"): consultation results, and a doctor's draft of
-- one, are encrypted with the clinical keys, which only doctors' and admins' workstations hold;
-- everything else stays under the contact keys, which the service holds too. The database never
-- sees a key; what it holds is where each domain's ciphertexts may be written, and who may
-- re-encrypt the clinical ones.

-- A draft of a result keeps its payload in a column of its own, so that each encrypted column
-- belongs to one domain: payload_encrypted (contact: the onboarding form) and
-- clinical_payload_encrypted (clinical: a result being written). A result draft saved before
-- the domains existed stays in payload_encrypted until its author saves it again (the core then
-- moves it) or files the result (which discards it).
ALTER TABLE drafts ADD COLUMN clinical_payload_encrypted bytea;
ALTER TABLE drafts ALTER COLUMN payload_encrypted DROP NOT NULL;
ALTER TABLE drafts ADD CONSTRAINT drafts_payload_domain CHECK (
    CASE kind
        WHEN 'onboarding' THEN payload_encrypted IS NOT NULL AND clinical_payload_encrypted IS NULL
        ELSE num_nonnulls(payload_encrypted, clinical_payload_encrypted) = 1
    END);
GRANT UPDATE (clinical_payload_encrypted) ON drafts TO doctor, admin;

-- The encrypted columns of consultation_results that are clinical: every one. The same list as
-- the clinical entries of ENCRYPTED_COLUMNS in crates/core/src/keys.rs (tests/it/clinical_keys.rs
-- holds the two equal).
CREATE FUNCTION clinical_result_columns() RETURNS SETOF text
LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('icpc2_encrypted'), ('outcome_encrypted'), ('patient_ssn_encrypted'),
           ('patient_job_description_encrypted'), ('notes_encrypted'), ('policy_number_encrypted'),
           ('amend_reason_encrypted')
$$;

-- Re-encrypting results is an admin's work on a workstation that holds the clinical keys; the
-- database owner never holds them. An admin reads the ciphertexts of one clinical column in
-- batches through this function (the read is audited in the admin's name), decrypts and
-- re-encrypts them, and writes each back with an UPDATE of that column alone, under the
-- digimed.key_rotation rule of forbid_change (only *_encrypted values change).
CREATE FUNCTION consultation_result_ciphertexts(p_column text, p_after integer, p_limit integer, p_login text)
RETURNS TABLE (id integer, ciphertext bytea)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_rows integer;
BEGIN
    PERFORM assert_acts_as(p_login);
    IF p_column IS NULL OR p_column NOT IN (SELECT clinical_result_columns()) THEN
        RAISE EXCEPTION 'Only the encrypted columns of consultation results are re-encrypted this way.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT id, %1$I FROM consultation_results WHERE id > $1 AND %1$I IS NOT NULL ORDER BY id LIMIT $2 FOR UPDATE',
        p_column) USING p_after, p_limit;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows > 0 THEN
        PERFORM audit_append(p_login, 'READ', 'consultation_results', 'key-rotation',
                             jsonb_build_object('column', p_column, 'after', p_after, 'rows', v_rows));
    END IF;
END
$$;
REVOKE ALL ON FUNCTION consultation_result_ciphertexts(text, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION consultation_result_ciphertexts(text, integer, integer, text) TO admin;

-- The admin's write: the clinical columns only, and rows only while digimed.key_rotation is on
-- (forbid_change refuses any other change, and any change without it). The row ids are all an
-- admin may select, and only then; results are read through read_consultation_results_as.
GRANT SELECT (id) ON consultation_results TO admin;
GRANT UPDATE (icpc2_encrypted, outcome_encrypted, patient_ssn_encrypted, patient_job_description_encrypted,
              notes_encrypted, policy_number_encrypted, amend_reason_encrypted) ON consultation_results TO admin;
CREATE POLICY rotate_clinical_find ON consultation_results FOR SELECT TO admin
    USING (current_setting('digimed.key_rotation', true) = 'on');
CREATE POLICY rotate_clinical ON consultation_results FOR UPDATE TO admin
    USING (current_setting('digimed.key_rotation', true) = 'on')
    WITH CHECK (current_setting('digimed.key_rotation', true) = 'on');

-- A result's fields are only ever replaced by ciphertexts of the clinical domain (first byte 2,
-- the header and tag at least 33 bytes), whoever replaces them: a rotation of the contact keys
-- cannot pull a result back under keys the service holds.
CREATE FUNCTION result_stays_clinical() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_new jsonb := to_jsonb(NEW);
    v_old jsonb := to_jsonb(OLD);
    v_column text;
    v_value bytea;
BEGIN
    FOR v_column IN SELECT clinical_result_columns() LOOP
        IF v_new -> v_column IS DISTINCT FROM v_old -> v_column AND v_new ->> v_column IS NOT NULL THEN
            EXECUTE format('SELECT ($1).%I', v_column) INTO v_value USING NEW;
            IF length(v_value) < 33 OR get_byte(v_value, 0) <> 2 THEN
                RAISE EXCEPTION 'A consultation result''s field is only replaced by a ciphertext of the clinical key domain.'
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_results_stay_clinical BEFORE UPDATE ON consultation_results
    FOR EACH ROW EXECUTE FUNCTION result_stays_clinical();
