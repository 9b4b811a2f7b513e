-- ICPC-2 search: a folded title (lower case, Norwegian letters spelled out in ASCII) computed by
-- the importer, and codes that a newer import no longer lists are retired, not deleted, so
-- results that used them stay valid.
ALTER TABLE icpc2_codes
    ADD COLUMN title_folded text NOT NULL DEFAULT '',
    ADD COLUMN retired_at timestamptz;
