-- Partners are added from the console now: an administrator adds and changes only the partners
-- whose referrals their own clinic serves (before, any admin could re-point another clinic's
-- partner or replace its webhook secret). Staff keep reading partner names; the service keeps
-- reading everything it needs to check signatures.

ALTER TABLE partners ENABLE ROW LEVEL SECURITY;

CREATE POLICY read ON partners FOR SELECT TO secretary, doctor, customer_support, admin USING (true);
CREATE POLICY service ON partners TO digimed_service USING (true) WITH CHECK (true);
CREATE POLICY clinic_insert ON partners FOR INSERT TO admin
    WITH CHECK (clinic_id = current_staff_org());
CREATE POLICY clinic_update ON partners FOR UPDATE TO admin
    USING (clinic_id = current_staff_org()) WITH CHECK (clinic_id = current_staff_org());
