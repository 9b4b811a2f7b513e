-- One consultation, or a patient's, as lists show it: the consultation with the patient's, the
-- partner's and the doctor's names and the patient's entry point. A view, so that reading one
-- consultation by id is a statement PostgreSQL plans once per connection (the operations that
-- change a consultation answer with it, a doctor's pick among them). It reads as the caller
-- (security_invoker): the grants and row-level policies of each table apply as before.
CREATE VIEW consultations_listed WITH (security_invoker = true) AS
SELECT c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id, c.follow_up_of,
       c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at, c.deadline_at,
       c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason,
       pp.name AS patient_name, pa.name AS partner_name, s.name AS doctor_name, pl.entry_point
  FROM consultations c
  LEFT JOIN patient_persons pp ON pp.id = c.patient_person_id
  LEFT JOIN patients pl ON pl.patient_person_id = c.patient_person_id AND pl.organization_id = c.organization_id
  LEFT JOIN partners pa ON pa.id = c.partner_id
  LEFT JOIN staff s ON s.id = c.assigned_doctor_id;

GRANT SELECT ON consultations_listed TO secretary, doctor, customer_support, admin, digimed_service;
