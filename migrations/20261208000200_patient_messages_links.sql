-- The join link of a consultation's messages is read back to resend it, by the staff who may
-- resend it (the room links themselves are theirs to read already).
GRANT SELECT (link_url) ON patient_messages TO secretary, doctor, admin;
