//! Screening and booking referrals: a referral waits in the secretaries' screening list until it
//! is booked (its one consultation enters the doctors' queue, with the deadline counted from the
//! referral's arrival) or declined with a reason; partners that book on arrival; direct bookings
//! by support agents; and who may do none of it.

use digimed_core::accounts::Accounts;
use digimed_core::queue::{self, ConsultationState, NewBooking, QueueFilter};
use digimed_core::referrals::{self, BookingChoice, CallOutcome, Partner, ReferralStatus};
use digimed_core::{ClinicTx, ErrorCode};
use digimed_tests::{Role, Staff, TestDb};
use serde_json::Value;
use uuid::Uuid;

use crate::onboarding::{input, run};
use crate::referrals::{body, nid, partner};

struct Clinic {
    db: TestDb,
    clinic: i32,
    partner: Partner,
    secretary: Staff,
    doctor: Staff,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let partner = partner(&db, clinic, true).await;
    let secretary = db.staff(Role::Secretary, clinic, "sara").await;
    let doctor = db.staff(Role::Doctor, clinic, "dora").await;
    Clinic { db, clinic, partner, secretary, doctor }
}

/// A referral's body for the n-th synthetic national id.
fn raw(n: u16) -> String {
    body(nid(n).as_str(), Uuid::new_v4()).to_string()
}

impl Clinic {
    /// Receives a referral, as a partner's webhook would (a replay when `raw` came before).
    async fn receive(&self, raw: &str) -> referrals::ReferralReceipt {
        let p = ClinicTx::run(&self.db.owner, async |tx| referrals::partner_by_name(tx, &self.partner.name).await).await.unwrap();
        ClinicTx::run(&self.db.owner, async |tx| referrals::receive(tx, &self.db.vault, &p, raw.as_bytes()).await)
            .await
            .unwrap()
            .receipt()
    }

    /// Receives a new referral for the n-th synthetic national id.
    async fn arrives(&self, n: u16) -> referrals::ReferralReceipt {
        self.receive(&raw(n)).await
    }

    async fn count(&self, query: &str) -> i64 {
        sqlx::query_scalar(query).fetch_one(&self.db.owner).await.unwrap()
    }

    /// Row counts of everything a booking or a decline writes.
    async fn footprint(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for t in ["consultations", "orders", "line_items", "outbox", "consultation_screenings"] {
            out.push(self.count(&format!("SELECT count(*) FROM {t}")).await);
        }
        out.push(self.count("SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending)").await);
        out.push(self.count("SELECT count(*) FROM referrals WHERE declined_at IS NOT NULL").await);
        out
    }
}

#[tokio::test]
async fn a_referral_arrives_in_the_screening_list_and_the_doctors_have_nothing_to_pick() {
    let c = clinic().await;
    let r = c.arrives(1).await;
    assert_eq!((r.consultation_id, r.status), (None, ReferralStatus::AwaitingScreening));
    assert_eq!(c.count("SELECT count(*) FROM consultations").await, 0, "arriving creates no consultation");

    let list = ClinicTx::run(&c.secretary.pool, async |tx| referrals::screening_list(tx).await).await.unwrap();
    assert_eq!(list.len(), 1);
    let item = &list[0];
    assert_eq!(
        (item.referral_id, item.patient_name.as_deref(), item.partner_name.as_str(), item.call_attempts),
        (r.referral_id, Some("Line Danser"), "pridok-test", 0)
    );
    let deadline_ok: bool = sqlx::query_scalar("SELECT $2 = add_working_days(received_at, 2) FROM referrals WHERE id = $1")
        .bind(r.referral_id)
        .bind(item.deadline_at)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert!(deadline_ok, "the deadline counts the partner's working days from the arrival");

    // The doctor's queue is empty: an unbooked referral cannot be picked.
    assert!(ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().is_none());
    assert!(ClinicTx::run(&c.doctor.pool, async |tx| queue::list(tx, &QueueFilter::default()).await).await.unwrap().is_empty());
    // And the screening list is the secretaries' (and admins').
    let e = ClinicTx::run(&c.doctor.pool, async |tx| referrals::screening_list(tx).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    // Another clinic's secretary does not see it.
    let bergen = c.db.clinic("Bergen").await;
    let other = c.db.staff(Role::Secretary, bergen, "siri").await;
    assert!(ClinicTx::run(&other.pool, async |tx| referrals::screening_list(tx).await).await.unwrap().is_empty());
}

#[tokio::test]
async fn screening_records_calls_on_the_referral_and_booking_creates_one_consultation_with_the_deadline_from_arrival() {
    let c = clinic().await;
    let dme = c.doctor.id;
    let body = raw(2);
    let r = c.receive(&body).await;
    // The referral arrived a day ago: its contractual clock started then.
    sqlx::query(
        "UPDATE referrals SET received_at = received_at - interval '1 day',
                              deadline_at = add_working_days(received_at - interval '1 day', 2) WHERE id = $1",
    )
    .bind(r.referral_id)
    .execute(&c.db.owner)
    .await
    .unwrap();

    for (outcome, note) in [(Some(CallOutcome::NoAnswer), None), (Some(CallOutcome::Reached), Some("Wants a video call"))] {
        ClinicTx::run(&c.secretary.pool, async |tx| referrals::screen(tx, &c.db.vault, r.referral_id, outcome, note).await)
            .await
            .unwrap();
    }
    let e =
        ClinicTx::run(&c.secretary.pool, async |tx| referrals::screen(tx, &c.db.vault, r.referral_id, None, Some("  ")).await)
            .await
            .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("note"));
    let item = ClinicTx::run(&c.secretary.pool, async |tx| referrals::screening_list(tx).await).await.unwrap().remove(0);
    assert_eq!((item.call_attempts, item.last_call_outcome), (2, Some(CallOutcome::Reached)));
    assert_eq!((item.supervisor_staff_id, item.supervisor_name.as_deref()), (Some(c.secretary.id), Some("sara")));
    let log =
        ClinicTx::run(&c.secretary.pool, async |tx| referrals::screenings(tx, &c.db.vault, r.referral_id).await).await.unwrap();
    assert_eq!(log.iter().map(|e| e.call_outcome).collect::<Vec<_>>(), [Some(CallOutcome::NoAnswer), Some(CallOutcome::Reached)]);
    assert_eq!(log[1].note.as_deref(), Some("Wants a video call"));

    // Booked with a doctor, by video and phone.
    let choice = BookingChoice {
        enabled_channels: vec!["phone".into(), "video".into()],
        primary_channel: Some("video".into()),
        doctor_id: Some(dme),
    };
    let booked = ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r.referral_id, &choice).await).await.unwrap();
    assert_eq!(
        (booked.state, booked.assigned_doctor_id, booked.category.as_str(), booked.partner_id, booked.referral_id),
        (ConsultationState::PendingSp, Some(dme), "insurance", Some(c.partner.id), Some(r.referral_id))
    );
    assert_eq!(
        (booked.enabled_channels.clone(), booked.primary_channel.as_str()),
        (vec!["phone".to_string(), "video".into()], "video")
    );
    assert_eq!(c.count("SELECT count(*) FROM consultations").await, 1, "exactly one consultation");
    let (deadline_from_arrival, created_at_booking): (bool, bool) = sqlx::query_as(
        "SELECT c.deadline_at = r.deadline_at AND r.deadline_at = add_working_days(r.received_at, 2),
                c.created_at > r.received_at + interval '23 hours'
           FROM consultations c JOIN referrals r ON r.id = c.referral_id WHERE c.id = $1",
    )
    .bind(booked.id)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert!(deadline_from_arrival, "the consultation keeps the referral's deadline");
    assert!(created_at_booking, "the consultation was created when it was booked");
    assert_eq!(c.count("SELECT count(*) FROM orders o JOIN line_items li ON li.order_id = o.id").await, 1);
    let event: Value = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'referral.booked'")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(event["consultation_id"], serde_json::json!(booked.id));

    // It left the screening list; the doctor sees the screening behind it.
    assert!(ClinicTx::run(&c.secretary.pool, async |tx| referrals::screening_list(tx).await).await.unwrap().is_empty());
    let seen = ClinicTx::run(&c.doctor.pool, async |tx| queue::screenings(tx, &c.db.vault, booked.id).await).await.unwrap();
    assert_eq!(seen.len(), 2);
    // A replay of the referral now answers where it stands.
    let again = c.receive(&body).await;
    assert_eq!((again.status, again.consultation_id), (ReferralStatus::Booked, Some(booked.id)));

    // Without a doctor: ready for pickup, video and chat, and a doctor picks it.
    let r2 = c.arrives(3).await;
    let open = ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r2.referral_id, &BookingChoice::default()).await)
        .await
        .unwrap();
    assert_eq!(
        (open.state, open.assigned_doctor_id, open.primary_channel.as_str()),
        (ConsultationState::ReadyForPickup, None, "video")
    );
    let picked = ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().unwrap();
    assert_eq!(picked.id, open.id);
}

#[tokio::test]
async fn booking_twice_is_refused_naming_the_referral_and_writes_nothing() {
    let c = clinic().await;
    let r = c.arrives(4).await;
    let book = async |who: &Staff| {
        ClinicTx::run(&who.pool, async |tx| referrals::book(tx, r.referral_id, &BookingChoice::default()).await).await
    };
    book(&c.secretary).await.unwrap();
    let before = c.footprint().await;
    let e = book(&c.secretary).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::AlreadyExists, Some("referral_id")));
    assert_eq!(c.footprint().await, before, "a refused booking writes nothing");

    // Two secretaries booking the same referral at once: one booking.
    let r2 = c.arrives(5).await;
    let other = c.db.staff(Role::Secretary, c.clinic, "sam").await;
    let (a, b) = tokio::join!(
        ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r2.referral_id, &BookingChoice::default()).await),
        ClinicTx::run(&other.pool, async |tx| referrals::book(tx, r2.referral_id, &BookingChoice::default()).await),
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let refused = a.err().or(b.err()).unwrap();
    assert_eq!(refused.field.as_deref(), Some("referral_id"));
    assert_eq!(c.count("SELECT count(*) FROM consultations").await, 2);

    // Bad choices name their field and write nothing.
    let r3 = c.arrives(6).await;
    let before = c.footprint().await;
    for (choice, field) in [
        (BookingChoice { enabled_channels: vec!["fax".into()], ..Default::default() }, "enabled_channels"),
        (
            BookingChoice { enabled_channels: vec!["chat".into()], primary_channel: Some("phone".into()), ..Default::default() },
            "primary_channel",
        ),
        (BookingChoice { doctor_id: Some(c.secretary.id), ..Default::default() }, "doctor_id"),
    ] {
        let e =
            ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r3.referral_id, &choice).await).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field));
    }
    let e = ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, 999_999, &BookingChoice::default()).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NotFound, Some("referral_id")));
    assert_eq!(c.footprint().await, before);
}

#[tokio::test]
async fn declining_needs_a_reason_is_recorded_and_audited_and_a_declined_referral_is_not_booked() {
    let c = clinic().await;
    let body = raw(7);
    let r = c.receive(&body).await;
    let before = c.footprint().await;
    for reason in ["", "   ", &"x".repeat(501)] {
        let e =
            ClinicTx::run(&c.secretary.pool, async |tx| referrals::decline(tx, r.referral_id, reason).await).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("reason")));
    }
    assert_eq!(c.footprint().await, before, "a refused decline writes nothing");

    let d = ClinicTx::run(&c.secretary.pool, async |tx| referrals::decline(tx, r.referral_id, "Already seen by her GP").await)
        .await
        .unwrap();
    assert_eq!(d.declined_by_staff_id, c.secretary.id);
    let (reason, by): (Option<String>, Option<i32>) =
        sqlx::query_as("SELECT decline_reason, declined_by_staff_id FROM referrals WHERE id = $1")
            .bind(r.referral_id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert_eq!((reason.as_deref(), by), (Some("Already seen by her GP"), Some(c.secretary.id)));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'referrals' AND entity_id = $1 AND action = 'UPDATE'
            AND actor = $2 AND changes::text LIKE '%decline_reason%'",
    )
    .bind(r.referral_id.to_string())
    .bind(&c.secretary.login)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(audited, 1, "the decline is in the audit log in the secretary's name");
    assert_eq!(c.count("SELECT count(*) FROM outbox WHERE event_type = 'referral.declined'").await, 1);
    assert!(ClinicTx::run(&c.secretary.pool, async |tx| referrals::screening_list(tx).await).await.unwrap().is_empty());

    // Declined is final: not booked, not declined again.
    let before = c.footprint().await;
    let e = ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r.referral_id, &BookingChoice::default()).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidStateTransition, Some("referral_id")));
    let e = ClinicTx::run(&c.secretary.pool, async |tx| referrals::decline(tx, r.referral_id, "Again").await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidStateTransition, Some("referral_id")));
    assert_eq!(c.footprint().await, before);

    // A booked referral is cancelled through its consultation, not declined.
    let r2 = c.arrives(8).await;
    ClinicTx::run(&c.secretary.pool, async |tx| referrals::book(tx, r2.referral_id, &BookingChoice::default()).await)
        .await
        .unwrap();
    let e =
        ClinicTx::run(&c.secretary.pool, async |tx| referrals::decline(tx, r2.referral_id, "Too late").await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidStateTransition, Some("referral_id")));

    // The partner replaying the declined referral learns where it stands.
    let again = c.receive(&body).await;
    assert_eq!((again.status, again.consultation_id), (ReferralStatus::Declined, None));
}

#[tokio::test]
async fn a_partner_that_books_on_arrival_skips_screening() {
    let c = clinic().await;
    let admin = c.db.staff(Role::Admin, c.clinic, "ada").await;
    let bergen = c.db.clinic("Bergen").await;
    let admin_b = c.db.staff(Role::Admin, bergen, "bo").await;
    // Only the partner's own clinic's admins (and the owner) change it.
    let e =
        ClinicTx::run(&admin_b.pool, async |tx| referrals::set_book_on_arrival(tx, c.partner.id, true).await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NotFound, Some("partner_id")));
    let e = ClinicTx::run(&c.secretary.pool, async |tx| referrals::set_book_on_arrival(tx, c.partner.id, true).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let set = ClinicTx::run(&admin.pool, async |tx| referrals::set_book_on_arrival(tx, c.partner.id, true).await).await.unwrap();
    assert!(set.book_on_arrival);
    let listed = ClinicTx::run(&admin.pool, async |tx| referrals::list_partners(tx).await).await.unwrap();
    assert!(listed.iter().any(|p| p.id == c.partner.id && p.book_on_arrival));

    let r = c.arrives(9).await;
    assert_eq!(r.status, ReferralStatus::Booked);
    let id = r.consultation_id.expect("booked on arrival");
    let booked = ClinicTx::run(&c.secretary.pool, async |tx| queue::get(tx, id).await).await.unwrap();
    assert_eq!(
        (booked.state, booked.assigned_doctor_id, booked.enabled_channels.clone(), booked.referral_id),
        (ConsultationState::ReadyForPickup, None, vec!["video".to_string(), "chat".into()], Some(r.referral_id))
    );
    assert_eq!(c.count("SELECT count(*) FROM orders").await, 1);
    let received: Value = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'referral.received'")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!((&received["consultation_id"], &received["status"]), (&serde_json::json!(id), &serde_json::json!("booked")));
    assert!(ClinicTx::run(&c.secretary.pool, async |tx| referrals::screening_list(tx).await).await.unwrap().is_empty());

    // Switched off again, referrals wait for screening; those received stay booked.
    ClinicTx::run(&admin.pool, async |tx| referrals::set_book_on_arrival(tx, c.partner.id, false).await).await.unwrap();
    assert_eq!(c.arrives(10).await.status, ReferralStatus::AwaitingScreening);
    assert_eq!(c.count("SELECT count(*) FROM consultations").await, 1);
}

#[tokio::test]
async fn a_support_agent_books_a_walk_in_but_decides_no_referral() {
    let c = clinic().await;
    let support = c.db.staff(Role::CustomerSupport, c.clinic, "ola").await;
    let walk_in = run(&support.pool, &c.db, &Accounts::Local, &input("Walk In", "walk.in@example.com", "91000001", c.clinic))
        .await
        .unwrap();
    let booking = NewBooking {
        patient_person_id: walk_in.patient_person_id,
        doctor_id: Some(c.doctor.id),
        enabled_channels: vec!["video".into()],
        ..Default::default()
    };
    let b = ClinicTx::run(&support.pool, async |tx| queue::book(tx, &booking).await).await.unwrap();
    assert_eq!(
        (b.state, b.category.as_str(), b.assigned_doctor_id, b.deadline_at, b.referral_id),
        (ConsultationState::PendingSp, "direct", Some(c.doctor.id), None, None)
    );
    // A booking the partner pays for opens its order, also when a support agent makes it.
    let paid = NewBooking { patient_person_id: walk_in.patient_person_id, partner_id: Some(c.partner.id), ..Default::default() };
    let p = ClinicTx::run(&support.pool, async |tx| queue::book(tx, &paid).await).await.unwrap();
    assert_eq!((p.state, p.category.as_str()), (ConsultationState::ReadyForPickup, "insurance"));
    assert_eq!(c.count("SELECT count(*) FROM orders").await, 1);

    // Referrals are the secretaries' to decide.
    let r = c.arrives(11).await;
    let before = c.footprint().await;
    let e = ClinicTx::run(&support.pool, async |tx| referrals::book(tx, r.referral_id, &BookingChoice::default()).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("secretaries and administrators"), "{}", e.message);
    assert_eq!(c.footprint().await, before);
}

#[tokio::test]
async fn a_doctor_neither_books_nor_declines() {
    let c = clinic().await;
    let r = c.arrives(12).await;
    let before = c.footprint().await;
    let e = ClinicTx::run(&c.doctor.pool, async |tx| referrals::book(tx, r.referral_id, &BookingChoice::default()).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e =
        ClinicTx::run(&c.doctor.pool, async |tx| referrals::decline(tx, r.referral_id, "Not for us").await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let direct = NewBooking { patient_person_id: r.patient_person_id, ..Default::default() };
    let e = ClinicTx::run(&c.doctor.pool, async |tx| queue::book(tx, &direct).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = ClinicTx::run(&c.doctor.pool, async |tx| {
        referrals::screen(tx, &c.db.vault, r.referral_id, Some(CallOutcome::Reached), None).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(c.footprint().await, before);
}

#[tokio::test]
async fn the_screening_panel_reads_the_referrals_own_fields_without_the_national_id_or_phone() {
    let c = clinic().await;
    let r = c.arrives(13).await;
    let fields = ClinicTx::run(&c.secretary.pool, async |tx| referrals::referral_fields(tx, &c.db.vault, r.referral_id).await)
        .await
        .unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["JournalGuid", "MessageTimestamp", "FormatId", "Firstname", "Lastname", "Email", "Urgency"]);
    assert!(fields.iter().all(|f| !f.value.contains(nid(13).as_str()) && !f.value.contains("+4712345678")));
    let e = ClinicTx::run(&c.doctor.pool, async |tx| referrals::referral_fields(tx, &c.db.vault, r.referral_id).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
}
