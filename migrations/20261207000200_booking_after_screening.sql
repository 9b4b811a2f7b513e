-- A partner's referral no longer goes straight into the doctors' queue. It arrives, waits in the
-- secretaries' screening list while they call the patient, and is then either booked (its one
-- consultation is created, ready for pickup or assigned) or declined with a reason. Only a
-- partner configured to book on arrival has its referrals booked as they arrive. Consultations
-- of earlier referrals stay as they are: those referrals count as booked.
--
-- The contractual clock starts when the referral arrives: the referral keeps its deadline, and
-- the consultation booked from it takes that deadline, however late it is booked.

-- ---------------------------------------------------------------------------------------------
-- Partners that book on arrival.

ALTER TABLE partners ADD COLUMN book_on_arrival boolean NOT NULL DEFAULT false;
GRANT SELECT (book_on_arrival) ON partners TO secretary, doctor, customer_support, admin;

-- ---------------------------------------------------------------------------------------------
-- The referral's deadline and its decision.

ALTER TABLE referrals
    ADD COLUMN deadline_at timestamptz,
    ADD COLUMN declined_at timestamptz,
    ADD COLUMN declined_by_staff_id integer REFERENCES staff (id),
    ADD COLUMN decline_reason text;

UPDATE referrals r
   SET deadline_at = coalesce((SELECT c.deadline_at FROM consultations c WHERE c.referral_id = r.id),
                              add_working_days(r.received_at, p.deadline_working_days))
  FROM partners p
 WHERE p.id = r.partner_id;

-- The deadline of a new referral is counted from its arrival in the partner's working days, here,
-- whoever inserts it (unless the insert brings the deadline of an earlier record along).
CREATE FUNCTION referral_deadline() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
BEGIN
    NEW.deadline_at := coalesce(NEW.deadline_at, add_working_days(
        NEW.received_at, (SELECT deadline_working_days FROM partners WHERE id = NEW.partner_id)));
    RETURN NEW;
END
$$;
CREATE TRIGGER referral_deadline BEFORE INSERT ON referrals FOR EACH ROW EXECUTE FUNCTION referral_deadline();

ALTER TABLE referrals
    ALTER COLUMN deadline_at SET NOT NULL,
    ADD CONSTRAINT referrals_decline_recorded CHECK (
        (declined_at IS NULL AND declined_by_staff_id IS NULL AND decline_reason IS NULL)
        OR (declined_at IS NOT NULL AND declined_by_staff_id IS NOT NULL
            AND length(btrim(decline_reason)) BETWEEN 1 AND 500));

-- A decline is final, is refused once the referral is booked, and records who declined it and
-- when as the database knows them.
CREATE FUNCTION check_referral_decision() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $$
BEGIN
    IF OLD.declined_at IS NOT NULL THEN
        IF (NEW.declined_at, NEW.declined_by_staff_id, NEW.decline_reason)
           IS DISTINCT FROM (OLD.declined_at, OLD.declined_by_staff_id, OLD.decline_reason) THEN
            RAISE EXCEPTION 'This referral was declined already; a decline cannot be changed.'
                USING ERRCODE = 'P0001', CONSTRAINT = 'referrals_decline_final';
        END IF;
    ELSIF NEW.declined_at IS NOT NULL OR NEW.decline_reason IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM consultations WHERE referral_id = NEW.id) THEN
            RAISE EXCEPTION 'This referral is booked; cancel its consultation instead of declining it.'
                USING ERRCODE = 'P0001', CONSTRAINT = 'referrals_booked_not_declined';
        END IF;
        NEW.declined_at := now();
        NEW.declined_by_staff_id := current_staff_id();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER referral_decision BEFORE UPDATE ON referrals FOR EACH ROW EXECUTE FUNCTION check_referral_decision();

GRANT UPDATE (declined_at, declined_by_staff_id, decline_reason) ON referrals TO secretary, admin;

-- The clinic that serves a referral (its partner's).
CREATE FUNCTION referral_clinic(p_referral integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$ SELECT p.clinic_id FROM referrals r JOIN partners p ON p.id = r.partner_id WHERE r.id = p_referral $$;

-- ---------------------------------------------------------------------------------------------
-- Booking a referral: its one consultation (consultations_referral_id_key) is for the referral's
-- own patient, partner and clinic, an insurance consultation with the referral's deadline, and a
-- declined referral is not booked. The referral's row is share-locked, so a decline waits for the
-- booking's transaction (and then finds the consultation).

CREATE FUNCTION check_referral_booking() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog
AS $$
DECLARE
    v_partner integer;
    v_person integer;
    v_deadline timestamptz;
    v_declined timestamptz;
BEGIN
    SELECT r.partner_id, r.patient_person_id, r.deadline_at, r.declined_at
      INTO v_partner, v_person, v_deadline, v_declined
      FROM referrals r WHERE r.id = NEW.referral_id FOR SHARE;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key refuses it
    END IF;
    IF v_declined IS NOT NULL THEN
        RAISE EXCEPTION 'This referral was declined; it cannot be booked.'
            USING ERRCODE = 'P0001', CONSTRAINT = 'consultations_referral_not_declined';
    END IF;
    IF NEW.partner_id IS DISTINCT FROM v_partner OR NEW.patient_person_id <> v_person
       OR NEW.organization_id IS DISTINCT FROM partner_clinic(v_partner) OR NEW.category <> 'insurance'
       OR NEW.follow_up_of IS NOT NULL THEN
        RAISE EXCEPTION 'A referral is booked for its own patient, partner and clinic.'
            USING ERRCODE = 'P0001', CONSTRAINT = 'consultations_referral_matches';
    END IF;
    NEW.deadline_at := v_deadline;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_referral BEFORE INSERT ON consultations
    FOR EACH ROW WHEN (NEW.referral_id IS NOT NULL) EXECUTE FUNCTION check_referral_booking();

-- ---------------------------------------------------------------------------------------------
-- Screening entries (call attempts and notes) belong to the referral. Entries written before,
-- about a consultation, keep it and get its referral.

ALTER TABLE consultation_screenings ADD COLUMN referral_id integer REFERENCES referrals (id);
UPDATE consultation_screenings s SET referral_id = c.referral_id FROM consultations c WHERE c.id = s.consultation_id;
ALTER TABLE consultation_screenings
    ALTER COLUMN consultation_id DROP NOT NULL,
    ADD CONSTRAINT consultation_screenings_subject CHECK (referral_id IS NOT NULL OR consultation_id IS NOT NULL);
CREATE INDEX consultation_screenings_referral ON consultation_screenings (referral_id);

DROP POLICY clinic_read ON consultation_screenings;
CREATE POLICY clinic_read ON consultation_screenings FOR SELECT TO secretary, doctor, admin
    USING (coalesce(referral_clinic(referral_id), consultation_org(consultation_id)) = current_staff_org());
DROP POLICY screen ON consultation_screenings;
CREATE POLICY screen ON consultation_screenings FOR INSERT TO secretary, admin
    WITH CHECK (staff_id = current_staff_id()
                AND coalesce(referral_clinic(referral_id), consultation_org(consultation_id)) = current_staff_org());

-- ---------------------------------------------------------------------------------------------
-- Support agents book consultations for patients of their clinic (walk-ins, follow-ups), not
-- referrals and not as follow-ups of a doctor's. A booking a partner pays for opens its order;
-- they read back only the new order's id, not the clinic's orders and prices.

GRANT INSERT ON consultations TO customer_support;
GRANT SELECT (id), INSERT ON orders TO customer_support;
GRANT INSERT ON line_items TO customer_support;
CREATE POLICY book_direct ON consultations FOR INSERT TO customer_support
    WITH CHECK (organization_id = current_staff_org() AND referral_id IS NULL AND follow_up_of IS NULL
                AND (assigned_doctor_id IS NULL OR is_doctor_in_org(assigned_doctor_id, organization_id)));
ALTER POLICY clinic ON orders TO secretary, customer_support, admin;
ALTER POLICY clinic ON line_items TO secretary, customer_support, admin;

-- ---------------------------------------------------------------------------------------------
-- Live updates: referral arrivals and declines, and screening entries of referrals, are announced
-- on the queue's channel too (ids only).

CREATE OR REPLACE FUNCTION notify_queue_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'consultations' THEN
        PERFORM pg_notify('digimed_queue', json_build_object(
            'kind', lower(TG_OP),
            'consultation_id', NEW.id,
            'referral_id', NEW.referral_id,
            'organization_id', NEW.organization_id,
            'state', NEW.state,
            'assigned_doctor_id', NEW.assigned_doctor_id,
            'updated_at', NEW.updated_at)::text);
    ELSIF TG_TABLE_NAME = 'referrals' THEN
        PERFORM pg_notify('digimed_queue', json_build_object(
            'kind', 'referral',
            'referral_id', NEW.id,
            'organization_id', partner_clinic(NEW.partner_id),
            'updated_at', now())::text);
    ELSE
        PERFORM pg_notify('digimed_queue', json_build_object(
            'kind', 'screening',
            'consultation_id', NEW.consultation_id,
            'referral_id', NEW.referral_id,
            'organization_id', coalesce(referral_clinic(NEW.referral_id), consultation_org(NEW.consultation_id)),
            'updated_at', NEW.created_at)::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER queue_notify AFTER INSERT OR UPDATE ON referrals FOR EACH ROW EXECUTE FUNCTION notify_queue_change();
