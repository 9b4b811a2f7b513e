//! Whichever way a patient enters (walk-in, the onboarding API, a partner referral, an
//! inbound fax draft and its completion, a therapist referral, the patient app, booking requests
//! from the app and the web, a cold call, a concierge cold call, a link to a new organization),
//! every patient person ends up with exactly one communication-preference token, and the entry
//! point is recorded.

use digimed_core::{Acting, ClinicTx};
use std::collections::BTreeSet;

use digimed_core::accounts::Accounts;
use digimed_core::api_tokens;
use digimed_core::intake::{self, IntakeInput};
use digimed_core::onboarding::{self, LinkInput};
use digimed_core::patients::EntryPoint;
use digimed_core::referrals;
use digimed_core::session::AppRole;
use digimed_core::ErrorCode;
use digimed_domain::Email;
use digimed_tests::service;
use digimed_tests::TestDb;
use uuid::Uuid;

use crate::onboarding::{input, run, seed_rules};

fn person(name: &str, phone: &str, org: i32) -> IntakeInput {
    IntakeInput { name: Some(name.into()), phone: Some(phone.into()), organization_id: Some(org as i64), ..Default::default() }
}

#[tokio::test]
async fn every_entry_point_leaves_exactly_one_token_per_person() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Entry Clinic").await;
    let other = db.clinic("Other Clinic").await;
    seed_rules(&db, &[clinic, other]).await;
    let support = db.staff(AppRole::CustomerSupport, clinic, "ep-support").await;
    let other_support = db.staff(AppRole::CustomerSupport, other, "ep-other").await;
    let accounts = Accounts::Local;
    let direct = Acting::Direct;

    // Walk-in onboarding (console / CLI).
    run(&support.pool, &db, &accounts, &input("Walk In", "walk.in@example.com", "91000001", clinic)).await.unwrap();

    // The onboarding API, through the real service.
    let svc = service::start(&db, Accounts::Local).await;
    let token = ClinicTx::run(&db.owner, async |tx| api_tokens::create(tx, &Email::parse(&support.login).unwrap(), None).await)
        .await
        .unwrap()
        .token;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/patients/onboard", svc.base))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"name": "Api Person", "email": "api@example.com", "phone": "91000002", "organization_id": clinic}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Partner referral.
    let partner = crate::referrals::partner(&db, clinic, true).await;
    let raw = crate::referrals::body(crate::referrals::nid(41).as_str(), Uuid::new_v4()).to_string();
    ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &partner, raw.as_bytes()).await).await.unwrap();

    // Inbound fax: a draft with only a name, updated with a phone number, then completed.
    let draft = digimed_tests::act(&support.pool, &direct, async |tx| {
        intake::save_fax_draft(tx, &db.vault, None, &IntakeInput { phone: None, ..person("Fax Draft", "", clinic) }, "47").await
    })
    .await
    .unwrap();
    let e = digimed_tests::act(&support.pool, &direct, async |tx| intake::complete_fax_draft(tx, draft.patient_person_id).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "a draft without phone or national id cannot be completed");
    let updated = digimed_tests::act(&support.pool, &direct, async |tx| {
        intake::save_fax_draft(tx, &db.vault, Some(draft.patient_person_id), &person("Fax Draft", "91000003", clinic), "47").await
    })
    .await
    .unwrap();
    assert_eq!(updated.patient_person_id, draft.patient_person_id);
    digimed_tests::act(&support.pool, &direct, async |tx| intake::complete_fax_draft(tx, draft.patient_person_id).await)
        .await
        .unwrap();

    // Therapist referral, patient app (with an account), booking requests, cold calls.
    for (ep, name, phone, email) in [
        (EntryPoint::TherapistReferral, "Therapist Referred", "91000004", None),
        (EntryPoint::PatientApp, "App Person", "91000005", Some("app.person@example.com")),
        (EntryPoint::BookingRequestApp, "Booking App", "91000006", None),
        (EntryPoint::BookingRequestWeb, "Booking Web", "91000007", None),
        (EntryPoint::ColdCall, "Cold Caller", "91000008", None),
        (EntryPoint::ConciergeColdCall, "Concierge Lead", "91000009", None),
    ] {
        let i = IntakeInput { email: email.map(String::from), ..person(name, phone, clinic) };
        let r =
            digimed_tests::own(&support.pool, &direct, async |tx| intake::register(tx, &db.vault, &accounts, ep, &i, "47").await)
                .await
                .unwrap();
        assert!(r.person_created);
        assert_eq!(r.user_id.is_some(), email.is_some());
    }

    // An existing person linked to another organization (regular creation).
    let walk_in: i32 =
        sqlx::query_scalar("SELECT id FROM patient_persons WHERE name = 'Walk In'").fetch_one(&db.owner).await.unwrap();
    digimed_tests::act(&other_support.pool, &direct, async |tx| {
        onboarding::link_existing(
            tx,
            &LinkInput { patient_person_id: Some(walk_in as i64), organization_id: None },
            EntryPoint::ExistingPersonLink,
        )
        .await
    })
    .await
    .unwrap();

    // Secretaries cannot register patients through any of these paths.
    let secretary = db.staff(AppRole::Secretary, clinic, "ep-secretary").await;
    let e = digimed_tests::own(&secretary.pool, &direct, async |tx| {
        intake::register(tx, &db.vault, &accounts, EntryPoint::ColdCall, &person("X Y", "91000010", clinic), "47").await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = digimed_tests::act(&secretary.pool, &direct, async |tx| {
        intake::save_fax_draft(tx, &db.vault, None, &person("X Y", "91000010", clinic), "47").await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);

    // Exactly one token for every person, and every entry point recorded.
    let persons: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_persons").fetch_one(&db.owner).await.unwrap();
    assert_eq!(persons, 10);
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM patient_persons pp
          WHERE (SELECT count(*) FROM communication_preference_tokens t WHERE t.patient_person_id = pp.id) <> 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(wrong, 0);
    let recorded: BTreeSet<String> =
        sqlx::query_scalar("SELECT DISTINCT entry_point FROM patients").fetch_all(&db.owner).await.unwrap().into_iter().collect();
    let all: BTreeSet<String> = EntryPoint::ALL.iter().map(|e| e.as_str().to_string()).collect();
    assert_eq!(recorded, all);
    let drafts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM patient_persons WHERE status = 'draft'").fetch_one(&db.owner).await.unwrap();
    assert_eq!(drafts, 0);
}

#[tokio::test]
async fn a_person_cannot_exist_without_a_token() {
    let db = TestDb::new().await;
    // Going around `create_person` fails at commit: the database insists on the token.
    let mut tx = db.owner.begin().await.unwrap();
    sqlx::query("INSERT INTO patient_persons (name, status) VALUES ('No Token', 'draft')").execute(&mut *tx).await.unwrap();
    assert!(tx.commit().await.is_err());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_persons").fetch_one(&db.owner).await.unwrap();
    assert_eq!(n, 0);
}
