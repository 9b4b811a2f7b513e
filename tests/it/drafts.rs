//! Drafts of unfinished work: a doctor's consultation result and a support agent's onboarding
//! form are kept encrypted in the database, readable only by their author, survive a new
//! connection (a crashed console signing in again) and a killed one, stay when the filing fails,
//! and are gone once the result is filed or the patient onboarded.

use digimed_core::accounts::Accounts;
use digimed_core::drafts::{self, DraftKind};
use digimed_core::meetings::Meetings;
use digimed_core::queue;
use digimed_core::results::{self, ResultInput};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_tests::{is_denied, TestDb};
use serde_json::json;

use crate::onboarding::{input, run};
use crate::referrals::partner;
use digimed_tests::fixtures::booked_referral;

const NOTE: &str = "Sore throat for three days, no fever";

/// Every draft as (id, staff id, kind, subject, ciphertext): a result's from its clinical column,
/// the onboarding form's from the contact one.
async fn rows(db: &TestDb) -> Vec<(i32, i32, String, i32, Vec<u8>)> {
    sqlx::query_as(
        "SELECT id, staff_id, kind, subject_id,
                CASE kind WHEN 'consultation_result' THEN clinical_payload_encrypted ELSE payload_encrypted END
           FROM drafts ORDER BY id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_result_draft_is_encrypted_private_to_its_author_and_survives_reconnecting() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Draft Clinic").await;
    let author = db.staff(AppRole::Doctor, clinic, "draft-doctor").await;
    let colleague = db.staff(AppRole::Doctor, clinic, "draft-colleague").await;
    let admin = db.staff(AppRole::Admin, clinic, "draft-admin").await;
    let payload = json!({"icpc2": "R74", "outcome": "helped", "notes": NOTE});
    let saved = ClinicTx::run(&author.pool, async |tx| {
        drafts::save_draft(tx, &db.vault, DraftKind::ConsultationResult, 17, &payload).await
    })
    .await
    .unwrap();
    assert_eq!((saved.kind, saved.subject_id), (DraftKind::ConsultationResult, 17));

    // Stored encrypted, bound to its row.
    let stored = rows(&db).await;
    assert_eq!(stored.len(), 1);
    let (id, staff_id, kind, subject, ciphertext) = stored[0].clone();
    assert_eq!((staff_id, kind.as_str(), subject), (author.id, "consultation_result", 17));
    let as_text = String::from_utf8_lossy(&ciphertext);
    assert!(!as_text.contains("Sore throat") && !as_text.contains("R74"), "no plaintext in the table");
    assert_eq!(db.vault.decrypt("drafts", "clinical_payload_encrypted", id as i64, &ciphertext).unwrap(), payload.to_string());
    assert!(db.vault.decrypt("drafts", "clinical_payload_encrypted", id as i64 + 1, &ciphertext).is_err());
    // Under the clinical keys: the contact keys alone do not open it.
    assert_eq!(
        db.vault.contact_only().decrypt("drafts", "clinical_payload_encrypted", id as i64, &ciphertext).unwrap_err().code,
        ErrorCode::ClinicalKeysUnavailable
    );

    // Nobody else reads, changes or removes it, not even on a raw connection.
    for other in [&colleague, &admin] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM drafts").fetch_one(&other.pool).await.unwrap();
        assert_eq!(n, 0, "{} sees no drafts of others", other.login);
        let changed = sqlx::query("UPDATE drafts SET payload_encrypted = '\\x00'").execute(&other.pool).await.unwrap();
        assert_eq!(changed.rows_affected(), 0);
        let removed = sqlx::query("DELETE FROM drafts").execute(&other.pool).await.unwrap();
        assert_eq!(removed.rows_affected(), 0);
        let forged = sqlx::query(
            "INSERT INTO drafts (staff_id, kind, subject_id, payload_encrypted) VALUES ($1, 'onboarding', 0, '\\x00')",
        )
        .bind(author.id)
        .execute(&other.pool)
        .await
        .unwrap_err();
        assert!(is_denied(&forged), "{forged}");
    }
    assert!(ClinicTx::run(&colleague.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, 17)
        .await)
    .await
    .unwrap()
    .is_none());
    assert!(!ClinicTx::run(&colleague.pool, async |tx| drafts::discard_draft(tx, DraftKind::ConsultationResult, 17).await)
        .await
        .unwrap());
    assert_eq!(rows(&db).await.len(), 1);

    // A new session (the console crashed and the doctor signed in again) gets it back.
    let again = db.connect_as(&author.login, author.password.expose()).await.unwrap();
    let draft = ClinicTx::run(&again, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, 17).await)
        .await
        .unwrap()
        .expect("the draft");
    assert_eq!(draft.payload, payload);
    // So does the same session after its connections were killed.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()")
        .bind(&author.login)
        .execute(&db.owner)
        .await
        .unwrap();
    let mut tries = 0;
    let draft = loop {
        tries += 1;
        match ClinicTx::run(&author.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, 17).await)
            .await
        {
            Ok(d) => break d.expect("the draft"),
            // A connection killed while idle in the pool may be handed out once more.
            Err(e) if e.retryable && tries < 3 => continue,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(draft.payload, payload);

    // Saving again replaces it; the list offers it back.
    let newer = json!({"icpc2": "R74", "outcome": "referred_gp", "notes": NOTE});
    let resaved =
        ClinicTx::run(&again, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::ConsultationResult, 17, &newer).await)
            .await
            .unwrap();
    assert_eq!(resaved.created_at, saved.created_at);
    assert!(resaved.updated_at >= saved.updated_at);
    assert_eq!(rows(&db).await.len(), 1);
    assert_eq!(
        ClinicTx::run(&again, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, 17).await)
            .await
            .unwrap()
            .unwrap()
            .payload,
        newer
    );
    let listed = ClinicTx::run(&again, async |tx| drafts::list_drafts(tx).await).await.unwrap();
    assert_eq!(listed.iter().map(|d| (d.kind, d.subject_id)).collect::<Vec<_>>(), [(DraftKind::ConsultationResult, 17)]);
    assert!(ClinicTx::run(&colleague.pool, async |tx| drafts::list_drafts(tx).await).await.unwrap().is_empty());
    assert!(ClinicTx::run(&again, async |tx| drafts::discard_draft(tx, DraftKind::ConsultationResult, 17).await).await.unwrap());
    assert!(rows(&db).await.is_empty());
}

#[tokio::test]
async fn bad_drafts_are_refused_naming_the_field_and_nothing_is_written() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Draft Checks").await;
    let doctor = db.staff(AppRole::Doctor, clinic, "draft-checker").await;
    let p = json!({"notes": "x"});
    let e = ClinicTx::run(&doctor.pool, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::Onboarding, 5, &p).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("subject_id")));
    let e = ClinicTx::run(&doctor.pool, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::ConsultationResult, 0, &p).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("subject_id")));
    let huge = json!({"notes": "x".repeat(drafts::MAX_PAYLOAD_BYTES)});
    let e =
        ClinicTx::run(&doctor.pool, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::ConsultationResult, 3, &huge).await)
            .await
            .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::PayloadTooLarge, Some("payload")));
    // The database owner is no staff member and keeps no drafts.
    let e = ClinicTx::run(&db.owner, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::Onboarding, 0, &p).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(rows(&db).await.is_empty());
}

#[tokio::test]
async fn a_result_draft_outlives_a_failed_filing_and_is_gone_once_the_result_is_filed() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Draft Filing").await;
    let p = partner(&db, clinic, true).await;
    let id = booked_referral(&db, &p, 51).await.consultation_id.expect("booked");
    sqlx::query(
        "WITH i AS (INSERT INTO icpc2_imports (sha256, code_count) VALUES ('test', 1) RETURNING id)
         INSERT INTO icpc2_codes (code, title, import_id) SELECT 'R74', 'Upper respiratory infection', id FROM i",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    let doctor = db.staff(AppRole::Doctor, clinic, "filing-doctor").await;
    ClinicTx::run(&doctor.pool, async |tx| queue::pick(tx, id).await).await.unwrap();
    ClinicTx::run(&doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), id).await).await.unwrap();
    ClinicTx::run(&doctor.pool, async |tx| {
        drafts::save_draft(tx, &db.vault, DraftKind::ConsultationResult, id, &json!({"notes": NOTE})).await
    })
    .await
    .unwrap();
    ClinicTx::run(&doctor.pool, async |tx| {
        drafts::save_draft(tx, &db.vault, DraftKind::Onboarding, 0, &json!({"name": "Half Filled"})).await
    })
    .await
    .unwrap();

    let filed = |icpc2: &str| ResultInput {
        icpc2: icpc2.into(),
        outcome: "helped".into(),
        notes: Some(NOTE.into()),
        ..Default::default()
    };
    let e = ClinicTx::run(&doctor.pool, async |tx| results::complete_with_result(tx, &db.vault, id, &filed("Z99")).await)
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("icpc2"));
    assert!(
        ClinicTx::run(&doctor.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, id).await)
            .await
            .unwrap()
            .is_some(),
        "a refused filing keeps the draft"
    );

    ClinicTx::run(&doctor.pool, async |tx| results::complete_with_result(tx, &db.vault, id, &filed("R74")).await).await.unwrap();
    assert!(ClinicTx::run(&doctor.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::ConsultationResult, id).await)
        .await
        .unwrap()
        .is_none());
    let left: Vec<String> = rows(&db).await.into_iter().map(|r| r.2).collect();
    assert_eq!(left, ["onboarding"], "only the filed result's draft is gone");
}

#[tokio::test]
async fn an_onboarding_draft_outlives_a_refused_onboarding_and_is_gone_once_onboarded() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Draft Onboarding").await;
    let support = db.staff(AppRole::CustomerSupport, clinic, "draft-support").await;
    let colleague = db.staff(AppRole::CustomerSupport, clinic, "draft-support2").await;
    let form = json!({"name": "Half Filled", "email": "half.filled@example.com", "phone": "9123"});
    for s in [&support, &colleague] {
        ClinicTx::run(&s.pool, async |tx| drafts::save_draft(tx, &db.vault, DraftKind::Onboarding, 0, &form).await)
            .await
            .unwrap();
    }

    let e = run(&support.pool, &db, &Accounts::Local, &input("Half Filled", "half.filled@example.com", "9123", clinic))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidPhoneFormat);
    assert!(ClinicTx::run(&support.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::Onboarding, 0).await)
        .await
        .unwrap()
        .is_some());

    run(&support.pool, &db, &Accounts::Local, &input("Half Filled", "half.filled@example.com", "91234567", clinic))
        .await
        .unwrap();
    assert!(
        ClinicTx::run(&support.pool, async |tx| drafts::load_draft(tx, &db.vault, DraftKind::Onboarding, 0).await)
            .await
            .unwrap()
            .is_none(),
        "done with"
    );
    let left: Vec<i32> = rows(&db).await.into_iter().map(|r| r.1).collect();
    assert_eq!(left, [colleague.id], "a colleague's own form is theirs to finish");
}
