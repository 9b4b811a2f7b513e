//! Consultation results: filed with completion in one transaction, every outcome, ICPC-2 codes
//! from the imported list only, a minor's national id, reads only by the author and admins (each
//! audited), amendments that keep history, and exact order totals.

use chrono::{Duration, Utc};
use digimed_core::queue::{self, MeetingConfig};
use digimed_core::results::{self, ResultInput};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_domain::NationalId;
use digimed_tests::{is_denied, Staff, TestDb};

struct Clinic {
    db: TestDb,
    doctor: Staff,
    colleague: Staff,
    secretary: Staff,
    admin: Staff,
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
    Clinic { db, doctor, colleague, secretary, admin }
}

/// Picks and starts the oldest waiting consultation as the clinic's doctor.
async fn started(c: &Clinic) -> i32 {
    let picked =
        ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().expect("a consultation to pick");
    ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &MeetingConfig::from_env(), picked.id).await).await.unwrap();
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
    let v = ClinicTx::run(&c.doctor.pool, async |tx| results::amend(tx, &c.db.vault, id, &input("R78", "referred_gp")).await)
        .await
        .unwrap();
    assert_eq!(v, 2);
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(
        read.iter().map(|r| (r.version, r.icpc2.code.as_str(), r.outcome.as_str())).collect::<Vec<_>>(),
        vec![(2, "R78", "referred_gp"), (1, "R74", "helped")]
    );
    // Another doctor cannot amend it.
    let e = ClinicTx::run(&c.colleague.pool, async |tx| results::amend(tx, &c.db.vault, id, &input("R74", "unable")).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
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
