//! Consultation results: filed with completion in one transaction, every outcome, ICPC-2 codes
//! from the imported list only, a minor's national id (and only a minor's), the job description,
//! reads only by the author, admins and a doctor following the patient up (each audited),
//! amendments with a reason that keep history, the patient's history saying which results may be
//! opened, follow-ups, and exact order totals.

use chrono::{Datelike, Duration, Utc};
use digimed_core::meetings::Meetings;
use digimed_core::queue;
use digimed_core::results::{self, Amendment, ResultInput, ResultVersion};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_domain::NationalId;
use digimed_tests::{is_denied, Staff, TestDb};

struct Clinic {
    db: TestDb,
    oslo: i32,
    doctor: Staff,
    colleague: Staff,
    secretary: Staff,
    admin: Staff,
    support: Staff,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let doctor = db.staff(AppRole::Doctor, oslo, "r-doctor").await;
    let colleague = db.staff(AppRole::Doctor, oslo, "r-colleague").await;
    let secretary = db.staff(AppRole::Secretary, oslo, "r-secretary").await;
    let admin = db.staff(AppRole::Admin, oslo, "r-admin").await;
    let support = db.staff(AppRole::CustomerSupport, oslo, "r-support").await;
    Clinic { db, oslo, doctor, colleague, secretary, admin, support }
}

/// Picks and starts the oldest waiting consultation as the clinic's doctor.
async fn started(c: &Clinic) -> i32 {
    let picked =
        ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().expect("a consultation to pick");
    ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), picked.id).await).await.unwrap();
    picked.id
}

fn input(icpc2: &str, outcome: &str) -> ResultInput {
    ResultInput {
        icpc2: icpc2.into(),
        outcome: outcome.into(),
        notes: Some("Advised rest.".into()),
        policy_number: Some("1234567890".into()),
        ..Default::default()
    }
}

/// Starts a consultation and completes it with `result` as the clinic's doctor.
async fn filed(c: &Clinic, result: &ResultInput) -> i32 {
    let id = started(c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, result).await).await.unwrap();
    id
}

async fn read_as(c: &Clinic, who: &Staff, id: i32) -> digimed_core::Result<Vec<ResultVersion>> {
    ClinicTx::run(&who.pool, async |tx| results::read(tx, &c.db.vault, id).await).await
}

async fn amend_as(c: &Clinic, who: &Staff, id: i32, amendment: &Amendment) -> digimed_core::Result<i32> {
    ClinicTx::run(&who.pool, async |tx| results::amend(tx, &c.db.vault, id, amendment).await).await
}

/// How many versions of the consultation's result are stored.
async fn versions(c: &Clinic, id: i32) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM consultation_results WHERE consultation_id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap()
}

/// The logins that read the consultation's result, in the audit log's order.
async fn readers(c: &Clinic, id: i32) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'READ' AND entity_type = 'consultation_results' AND entity_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&c.db.owner)
    .await
    .unwrap()
}

/// A synthetic national id of someone `years` old today.
fn aged(years: i64) -> NationalId {
    let born = (Utc::now() - Duration::days(365 * years + years / 4 + 30)).date_naive();
    let from = if born.year() >= 2000 { 500 } else { 100 };
    (0u16..300).find_map(|k| NationalId::synthetic(born, from + k)).unwrap()
}

async fn state_of(c: &Clinic, id: i32) -> String {
    sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(id).fetch_one(&c.db.owner).await.unwrap()
}

#[tokio::test]
async fn every_outcome_is_filed_with_completion_and_read_back_by_its_author() {
    let c = clinic().await;
    for (code, outcome) in [("R74", "referred_gp"), ("r05", "helped"), ("A04", "unable")] {
        let id = started(&c).await;
        let done = ClinicTx::run(&c.doctor.pool, async |tx| {
            results::complete_with_result(tx, &c.db.vault, id, &input(code, outcome)).await
        })
        .await
        .unwrap();
        assert_eq!(done.state.as_str(), "completed");
        let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].icpc2.code, code.to_uppercase());
        assert_eq!(read[0].outcome, outcome);
        assert_eq!(read[0].notes.as_deref(), Some("Advised rest."));
        assert_eq!(read[0].policy_number.as_deref(), Some("1234567890"));
        assert_eq!(read[0].author_staff_id, c.doctor.id);
    }
}

#[tokio::test]
async fn bad_fields_are_refused_by_name_and_nothing_is_written() {
    let c = clinic().await;
    let id = started(&c).await;
    let cases = [
        (input("Z99", "helped"), "icpc2"),
        (input("R74", "cured"), "outcome"),
        (ResultInput { patient_ssn: Some("12345678901".into()), ..input("R74", "helped") }, "patient_ssn"),
        (ResultInput { policy_number: Some("12AB".into()), ..input("R74", "helped") }, "policy_number"),
    ];
    for (bad, field) in cases {
        let e = ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &bad).await)
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
    }
    assert_eq!(state_of(&c, id).await, "in_progress");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM consultation_results WHERE consultation_id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_minors_result_carries_their_national_id() {
    let c = clinic().await;
    let id = started(&c).await;
    let child =
        (0u16..300).find_map(|k| NationalId::synthetic((Utc::now() - Duration::days(365 * 9)).date_naive(), 500 + k)).unwrap();
    let with_child = ResultInput { patient_ssn: Some(child.as_str().into()), ..input("R74", "helped") };
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &with_child).await)
        .await
        .unwrap();
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(read[0].patient_ssn.as_deref(), Some(child.as_str()));
    assert!(read[0].patient_is_minor);
    // Stored only encrypted.
    let plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM consultation_results WHERE position(convert_to($1, 'UTF8') IN patient_ssn_encrypted) > 0",
    )
    .bind(child.as_str())
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(plain, 0);
}

#[tokio::test]
async fn only_the_author_and_admins_read_and_every_read_is_audited() {
    let c = clinic().await;
    let id = started(&c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &input("R74", "helped")).await)
        .await
        .unwrap();
    let reads = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM audit_log WHERE action = 'READ' AND entity_type = 'consultation_results' AND entity_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&c.db.owner)
        .await
        .unwrap()
    };
    assert_eq!(reads().await, 0);
    ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(ClinicTx::run(&c.admin.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap().len(), 1);
    assert_eq!(reads().await, 2);
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'READ' ORDER BY id DESC LIMIT 1")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(actor, c.admin.login);

    // Another doctor: refused by the database.
    let e = ClinicTx::run(&c.colleague.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let raw = sqlx::query("SELECT * FROM read_consultation_results_as($1, current_user::text)")
        .bind(id)
        .fetch_all(&c.colleague.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    // Pretending to be the author does not help.
    let raw = sqlx::query("SELECT * FROM read_consultation_results_as($1, $2)")
        .bind(id)
        .bind(&c.doctor.login)
        .fetch_all(&c.colleague.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    // A secretary may not even call it.
    let e = ClinicTx::run(&c.secretary.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(reads().await, 2, "refused reads leave no read record");
}

#[tokio::test]
async fn an_amendment_keeps_the_earlier_version() {
    let c = clinic().await;
    let id = started(&c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &input("R74", "helped")).await)
        .await
        .unwrap();
    let v = ClinicTx::run(&c.doctor.pool, async |tx| {
        results::amend(tx, &c.db.vault, id, &Amendment::whole("Code corrected", &input("R78", "referred_gp"))).await
    })
    .await
    .unwrap();
    assert_eq!(v, 2);
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(
        read.iter().map(|r| (r.version, r.icpc2.code.as_str(), r.outcome.as_str())).collect::<Vec<_>>(),
        vec![(2, "R78", "referred_gp"), (1, "R74", "helped")]
    );
    // Another doctor cannot amend it.
    let e = ClinicTx::run(&c.colleague.pool, async |tx| {
        results::amend(tx, &c.db.vault, id, &Amendment::whole("Another view", &input("R74", "unable"))).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(versions(&c, id).await, 2);
}

#[tokio::test]
async fn a_consultation_cannot_be_completed_without_a_result() {
    let c = clinic().await;
    let id = started(&c).await;
    let e = sqlx::query("UPDATE consultations SET state = 'completed', ends_at = now() WHERE id = $1")
        .bind(id)
        .execute(&c.doctor.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("result"), "{e}");
    assert_eq!(state_of(&c, id).await, "in_progress");
    let e = ClinicTx::run(&c.doctor.pool, async |tx| queue::complete(tx, id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert_eq!(state_of(&c, id).await, "in_progress");
}

#[tokio::test]
async fn order_totals_subtract_discounts_exactly() {
    let c = clinic().await;
    let order: i32 = sqlx::query_scalar("SELECT id FROM orders ORDER BY id LIMIT 1").fetch_one(&c.db.owner).await.unwrap();
    sqlx::query("DELETE FROM line_items WHERE order_id = $1").bind(order).execute(&c.db.owner).await.unwrap();
    sqlx::query(
        "INSERT INTO line_items (order_id, description, quantity, unit_price, discount, discount_reason) VALUES
           ($1, 'Consultation', 3, 333.33, 0.99, 'Rounded down'), ($1, 'Follow-up', 1, 0.10, 0.00, NULL),
           ($1, 'Report', 2, 0.20, 0.10, 'Goodwill')",
    )
    .bind(order)
    .execute(&c.db.owner)
    .await
    .unwrap();
    let total = ClinicTx::run(&c.db.owner, async |tx| digimed_core::orders::recalculate(tx, order).await).await.unwrap();
    // 999.99 - 0.99 + 0.10 + 0.40 - 0.10 = 999.40, with no binary rounding anywhere.
    assert_eq!(total.to_string(), "999.40");
    let bad = sqlx::query(
        "INSERT INTO line_items (order_id, description, quantity, unit_price, discount, discount_reason) VALUES ($1, 'x', 1, 10, 10.01, 'Too much')",
    )
    .bind(order)
    .execute(&c.db.owner)
    .await;
    assert!(bad.is_err(), "a discount larger than the line is refused");
}

const ONLY_READERS: &str =
    "Only the doctor who wrote this result, a doctor following the patient up and the clinic's administrators may read it.";

#[tokio::test]
async fn the_author_admins_and_a_doctor_following_up_read_the_result_and_nobody_else() {
    let c = clinic().await;
    let id = filed(&c, &input("R74", "helped")).await;

    // Secretaries and support agents never read result contents: refused before the database.
    for who in [&c.secretary, &c.support] {
        let e = read_as(&c, who, id).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(e.message.contains("cannot read consultation results"), "{}", e.message);
    }
    // A doctor who did not write it and follows no follow-up: refused by the database, with the reason.
    let e = read_as(&c, &c.colleague, id).await.unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::Forbidden, ONLY_READERS));
    assert_eq!(readers(&c, id).await, Vec::<String>::new(), "refused reads leave no read record");

    // A secretary books a follow-up: while it waits in the queue nobody follows the patient up yet.
    let follow = ClinicTx::run(&c.secretary.pool, async |tx| queue::book_follow_up(tx, id).await).await.unwrap();
    assert_eq!(read_as(&c, &c.colleague, id).await.unwrap_err().message, ONLY_READERS);
    // Assigned to the colleague, the follow-up lets them read the earlier result.
    ClinicTx::run(&c.secretary.pool, async |tx| queue::assign(tx, follow.id, c.colleague.id).await).await.unwrap();
    let read = read_as(&c, &c.colleague, id).await.unwrap();
    assert_eq!((read.len(), read[0].icpc2.code.as_str(), read[0].author_staff_id), (1, "R74", c.doctor.id));

    // The chain counts: the doctor of a follow-up of the follow-up reads the first result too ...
    let third = c.db.staff(AppRole::Doctor, c.oslo, "r-third").await;
    let later = ClinicTx::run(&c.secretary.pool, async |tx| queue::book_follow_up(tx, follow.id).await).await.unwrap();
    ClinicTx::run(&c.secretary.pool, async |tx| queue::assign(tx, later.id, third.id).await).await.unwrap();
    assert_eq!(read_as(&c, &third, id).await.unwrap().len(), 1);
    // ... until that follow-up is cancelled.
    ClinicTx::run(&c.secretary.pool, async |tx| queue::cancel(tx, later.id, "Booked twice").await).await.unwrap();
    assert_eq!(read_as(&c, &third, id).await.unwrap_err().message, ONLY_READERS);

    read_as(&c, &c.doctor, id).await.unwrap();
    read_as(&c, &c.admin, id).await.unwrap();
    // Every read is in the audit log, naming its reader; the refused ones are not.
    assert_eq!(
        readers(&c, id).await,
        vec![c.colleague.login.clone(), third.login.clone(), c.doctor.login.clone(), c.admin.login.clone()]
    );
}

#[tokio::test]
async fn an_amendment_needs_a_reason_and_without_one_nothing_is_written() {
    let c = clinic().await;
    let id = filed(&c, &input("R74", "helped")).await;
    for reason in ["", "   \n"] {
        let e = amend_as(
            &c,
            &c.doctor,
            id,
            &Amendment { reason: reason.into(), notes: Some("Changed.".into()), ..Default::default() },
        )
        .await
        .unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("reason")), "{e:?}");
    }
    let long = Amendment { reason: "x".repeat(501), ..Amendment::whole("", &input("R74", "helped")) };
    assert_eq!(amend_as(&c, &c.doctor, id, &long).await.unwrap_err().field.as_deref(), Some("reason"));
    assert_eq!(versions(&c, id).await, 1);
    assert_eq!(readers(&c, id).await, Vec::<String>::new(), "a refused amendment reads nothing either");
    // The database holds it too: a later version without a reason is refused.
    let raw = sqlx::query(
        "INSERT INTO consultation_results (consultation_id, version, author_staff_id, icpc2_encrypted, outcome_encrypted)
         VALUES ($1, 2, $2, '\\x00', '\\x00')",
    )
    .bind(id)
    .bind(c.doctor.id)
    .execute(&c.db.owner)
    .await
    .unwrap_err();
    assert!(raw.to_string().contains("consultation_results_amend_reason"), "{raw}");
    assert_eq!(versions(&c, id).await, 1);
}

#[tokio::test]
async fn amendments_keep_the_earlier_versions_with_their_author_time_and_reason() {
    let c = clinic().await;
    let first = ResultInput { patient_job_description: Some("Carpenter".into()), ..input("R74", "helped") };
    let id = filed(&c, &first).await;

    // Only the outcome given: every other field keeps the latest version's value.
    let v2 =
        Amendment { reason: "Referred after the lab results".into(), outcome: Some("referred_gp".into()), ..Default::default() };
    assert_eq!(amend_as(&c, &c.doctor, id, &v2).await.unwrap(), 2);
    // An empty value clears an optional field.
    let v3 = Amendment { reason: "Notes belong in the referral".into(), notes: Some(String::new()), ..Default::default() };
    assert_eq!(amend_as(&c, &c.doctor, id, &v3).await.unwrap(), 3);

    let read = read_as(&c, &c.doctor, id).await.unwrap();
    let name: String =
        sqlx::query_scalar("SELECT name FROM staff WHERE id = $1").bind(c.doctor.id).fetch_one(&c.db.owner).await.unwrap();
    let summary: Vec<_> = read
        .iter()
        .map(|v| (v.version, v.outcome.as_str(), v.notes.as_deref(), v.amend_reason.as_deref(), v.author_name.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (3, "referred_gp", None, Some("Notes belong in the referral"), Some(name.as_str())),
            (2, "referred_gp", Some("Advised rest."), Some("Referred after the lab results"), Some(name.as_str())),
            (1, "helped", Some("Advised rest."), None, Some(name.as_str())),
        ]
    );
    for v in &read {
        assert_eq!(v.icpc2.code, "R74");
        assert_eq!(v.patient_job_description.as_deref(), Some("Carpenter"));
        assert_eq!(v.policy_number.as_deref(), Some("1234567890"));
    }
    assert!(read[0].created_at >= read[1].created_at && read[1].created_at >= read[2].created_at);
    // The reason is stored encrypted: neither the table nor the audit log holds its text.
    let plain: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM consultation_results WHERE position(convert_to('lab results', 'UTF8') IN amend_reason_encrypted) > 0)
              + (SELECT count(*) FROM audit_log WHERE changes::text LIKE '%lab results%')",
    )
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(plain, 0);
}

#[tokio::test]
async fn the_patients_own_national_id_is_only_a_minors() {
    let c = clinic().await;
    let id = started(&c).await;
    let adult = ResultInput { patient_ssn: Some(aged(30).as_str().into()), ..input("R74", "helped") };
    let e = ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &adult).await)
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("patient_ssn"), "{e:?}");
    assert!(e.message.contains("only for a minor"), "{}", e.message);
    assert!(!e.message.contains(adult.patient_ssn.as_deref().unwrap()), "the number is not repeated");
    assert_eq!(state_of(&c, id).await, "in_progress");
    assert_eq!(versions(&c, id).await, 0);

    let child = ResultInput { patient_ssn: Some(aged(12).as_str().into()), ..input("R74", "helped") };
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &child).await).await.unwrap();
    let e = amend_as(
        &c,
        &c.doctor,
        id,
        &Amendment { reason: "Wrong child".into(), patient_ssn: adult.patient_ssn.clone(), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("patient_ssn"), "{e:?}");
    assert_eq!(versions(&c, id).await, 1);
    let read = read_as(&c, &c.doctor, id).await.unwrap();
    assert_eq!(read[0].patient_ssn, child.patient_ssn);
    assert!(read[0].patient_is_minor);
}

#[tokio::test]
async fn the_job_description_is_stored_encrypted_and_read_back() {
    let c = clinic().await;
    let id =
        filed(&c, &ResultInput { patient_job_description: Some("  Night-shift nurse  ".into()), ..input("R74", "helped") }).await;
    let read = read_as(&c, &c.admin, id).await.unwrap();
    assert_eq!(read[0].patient_job_description.as_deref(), Some("Night-shift nurse"));
    let plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM consultation_results WHERE position(convert_to('Night-shift', 'UTF8') IN patient_job_description_encrypted) > 0",
    )
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(plain, 0);
    let id2 = started(&c).await;
    let long = ResultInput { patient_job_description: Some("x".repeat(501)), ..input("R74", "helped") };
    let e = ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id2, &long).await)
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("patient_job_description"));
}

#[tokio::test]
async fn the_patients_history_says_whose_results_may_be_opened() {
    let c = clinic().await;
    let id = filed(&c, &input("R74", "helped")).await;
    let patient = ClinicTx::run(&c.doctor.pool, async |tx| queue::get(tx, id).await).await.unwrap().patient_person_id;
    let readable = |who: &Staff| {
        let pool = who.pool.clone();
        async move {
            ClinicTx::run(&pool, async |tx| results::history(tx, patient).await)
                .await
                .unwrap()
                .into_iter()
                .find(|h| h.consultation.id == id)
                .map(|h| h.result_readable)
                .unwrap()
        }
    };
    assert!(readable(&c.doctor).await);
    assert!(readable(&c.admin).await);
    assert!(!readable(&c.colleague).await);
    assert!(!readable(&c.secretary).await);
    assert_eq!(readers(&c, id).await, Vec::<String>::new(), "saying whether reads nothing");
}

#[tokio::test]
async fn a_doctor_books_follow_ups_of_their_own_consultations_only() {
    let c = clinic().await;
    let id = filed(&c, &input("R74", "helped")).await;
    let follow_ups = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM consultations WHERE follow_up_of = $1")
            .bind(id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap()
    };
    let e = ClinicTx::run(&c.colleague.pool, async |tx| queue::book_follow_up(tx, id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("only of your own consultations"), "{}", e.message);
    // The database holds it too.
    let raw = sqlx::query(
        "INSERT INTO consultations (patient_person_id, organization_id, follow_up_of, category, state, assigned_doctor_id,
                                    assigned_at, enabled_channels, primary_channel)
         SELECT patient_person_id, organization_id, id, category, 'pending_sp', $2, now(), enabled_channels, primary_channel
           FROM consultations WHERE id = $1",
    )
    .bind(id)
    .bind(c.colleague.id)
    .execute(&c.colleague.pool)
    .await
    .unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    assert_eq!(follow_ups().await, 0);

    let mine = ClinicTx::run(&c.doctor.pool, async |tx| queue::book_follow_up(tx, id).await).await.unwrap();
    assert_eq!((mine.follow_up_of, mine.assigned_doctor_id, mine.state.as_str()), (Some(id), Some(c.doctor.id), "pending_sp"));
    assert_eq!(follow_ups().await, 1);
}
