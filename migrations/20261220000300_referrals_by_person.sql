-- A person's referrals, found by index. The message rules ask whether a patient came through a
-- partner (`patient_message_facts`: any referral of the person) for every message they queue,
-- onboarding's included, and without this index each asked by reading every referral: the cost of
-- an onboarding grew with the number of referrals the clinic had ever received.
CREATE INDEX referrals_person ON referrals (patient_person_id);
