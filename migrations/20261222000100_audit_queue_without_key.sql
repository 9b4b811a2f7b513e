-- The audit queue keeps no index on `seq`. Nothing looks an entry up by it: the sealer takes the
-- waiting entries through the index on `xact` and sorts them by `seq` (see
-- *_audit_redaction_fixed_when_attached.sql), and `seq` stays unique as an identity column that
-- only the database writes (`audit_pending` is granted to no one). Every audited row paid for
-- the index twice: when the trigger queued the entry, and when the sealer took it out.
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_pkey;
