//! Patient onboarding through the core, against a real PostgreSQL and the Clerk
//! stand-in: both seed response examples, every seed error code, who may onboard, the race of
//! two onboardings of one e-mail address, and the compensation when the database fails after
//! Clerk created the account.

use digimed_core::{Acting, ClinicTx};
use std::time::{Duration, Instant};

use digimed_core::accounts::Accounts;
use digimed_core::config::AccountDirectory;
use digimed_core::forms::{self, SignedBy};
use digimed_core::onboarding::{self, LinkInput, MatchInput, OnboardInput, Onboarded};
use digimed_core::patients::EntryPoint;
use digimed_core::session::AppRole;
use digimed_core::{Error, ErrorCode};
use digimed_crypto::Secret;
use digimed_tests::clerk_standin::{ClerkStandin, Fault, Op};
use digimed_tests::service::{quick_retries, standin_accounts};
use digimed_tests::TestDb;
use sqlx::PgPool;

pub use digimed_tests::fixtures::seed_rules;

pub fn input(name: &str, email: &str, phone: &str, org: i32) -> OnboardInput {
    OnboardInput {
        name: Some(name.to_string()),
        email: Some(email.to_string()),
        phone: Some(phone.to_string()),
        organization_id: Some(org as i64),
    }
}

pub async fn run(pool: &PgPool, db: &TestDb, accounts: &Accounts, i: &OnboardInput) -> Result<Onboarded, Error> {
    digimed_tests::own(pool, &Acting::Direct, async |tx| {
        onboarding::onboard(tx, &db.vault, accounts, i, EntryPoint::WalkIn, "47").await
    })
    .await
}

pub async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&db.owner).await.unwrap()
}

/// Row counts of every table an onboarding writes.
pub async fn footprint(db: &TestDb) -> Vec<i64> {
    let mut v = Vec::new();
    for t in [
        "users",
        "patient_persons",
        "patients",
        "user_organizations",
        "communication_preference_tokens",
        "forms",
        "outbox",
        "audit_log",
    ] {
        v.push(count(db, t).await);
    }
    v
}

struct World {
    db: TestDb,
    clerk: ClerkStandin,
    accounts: Accounts,
    org1: i32,
    org2: i32,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let org1 = db.clinic("Clinic One").await;
    let org2 = db.clinic("Clinic Two").await;
    seed_rules(&db, &[org1, org2]).await;
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    World { db, clerk, accounts, org1, org2 }
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn new_patient_matches_the_first_seed_example() {
    let w = world().await;
    let support = w.db.staff(AppRole::CustomerSupport, w.org1, "ob-support").await;
    let done =
        run(&support.pool, &w.db, &w.accounts, &input("John Doe", "John.Doe@Example.com", "+31612345678", w.org1)).await.unwrap();
    let v = serde_json::to_value(&done).unwrap();
    assert_eq!(
        keys(&v),
        ["organization_added", "patient", "patient_person_id", "person", "required_forms", "user_created", "user_id"]
    );
    assert_eq!(v["user_created"], true);
    assert_eq!(v["organization_added"], true);
    assert_eq!(v["patient"]["patient_person_id"], v["patient_person_id"]);
    assert_eq!(v["patient"]["organization_id"], w.org1);
    assert_eq!(v["patient"]["profile_shared"], false);
    assert_eq!(keys(&v["patient"]), ["created_at", "id", "organization_id", "patient_person_id", "profile_shared", "updated_at"]);
    let created = v["patient"]["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert_eq!(
        v["person"],
        serde_json::json!({
            "id": done.patient_person_id, "user_id": done.user_id, "name": "John Doe", "date_of_birth": null,
            "blood_type": null, "allergies": [], "chronic_conditions": [], "insurance_entries": []
        })
    );
    let forms = v["required_forms"].as_array().unwrap();
    assert_eq!(forms.len(), 2);
    assert_eq!(keys(&forms[0]), ["consent_types", "form_id", "must_sign_before", "status", "template_id", "title", "type"]);
    assert_eq!(forms[0]["title"], "Privacy Policy & GDPR Consent");
    assert_eq!(forms[0]["consent_types"], serde_json::json!(["analytics", "marketing"]));
    assert_eq!(forms[1]["title"], "Profile Sharing Consent");
    assert_eq!(forms[1]["consent_types"], serde_json::json!(["profile_sharing"]));
    for f in forms {
        assert_eq!((f["type"].as_str(), f["status"].as_str()), (Some("disclaimer"), Some("pending")));
        assert_eq!(f["must_sign_before"], "first_appointment");
    }

    // The Clerk account, the users row, the encrypted phone, one token, the event and the audit.
    let clerk_users = w.clerk.users();
    assert_eq!(clerk_users.len(), 1);
    assert_eq!((clerk_users[0].first_name.as_str(), clerk_users[0].last_name.as_str()), ("John", "Doe"));
    let (email, username, role, clerk_id, dir): (String, String, String, Option<String>, String) =
        sqlx::query_as("SELECT email, username, role, clerk_user_id, account_directory FROM users WHERE id = $1")
            .bind(done.user_id)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), username.as_str(), role.as_str(), dir.as_str()),
        ("john.doe@example.com", "john.doe@example.com", "patient", "clerk")
    );
    assert_eq!(clerk_id.as_deref(), Some(clerk_users[0].id.as_str()));
    let ct: Vec<u8> = sqlx::query_scalar("SELECT phone_encrypted FROM patient_persons WHERE id = $1")
        .bind(done.patient_person_id)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&ct).contains("612345678"));
    assert_eq!(
        w.db.vault.decrypt("patient_persons", "phone_encrypted", done.patient_person_id as i64, &ct).unwrap(),
        "+31612345678"
    );
    assert_eq!(count(&w.db, "communication_preference_tokens").await, 1);
    let (etype, payload): (String, serde_json::Value) =
        sqlx::query_as("SELECT event_type, payload FROM outbox WHERE event_type = 'patient.onboarded'")
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(etype, "patient.onboarded");
    assert_eq!(
        payload,
        serde_json::json!({
            "patient_id": done.patient.id, "patient_person_id": done.patient_person_id, "user_id": done.user_id,
            "organization_id": w.org1, "user_created": true
        })
    );
    let (actor, changes): (String, serde_json::Value) = sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE entity_type = 'patient' AND action = 'CREATE' AND entity_id = $1",
    )
    .bind(done.patient.id.to_string())
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(actor, support.login);
    assert_eq!(
        changes,
        serde_json::json!({"patient_person_id": done.patient_person_id, "organization_id": w.org1, "user_id": done.user_id})
    );
    let entry: String = sqlx::query_scalar("SELECT entry_point FROM patients WHERE id = $1")
        .bind(done.patient.id)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(entry, "walk_in");
}

#[tokio::test]
async fn existing_person_at_a_new_org_matches_the_second_seed_example() {
    let w = world().await;
    let s1 = w.db.staff(AppRole::CustomerSupport, w.org1, "ob-s1").await;
    let s2 = w.db.staff(AppRole::Admin, w.org2, "ob-s2").await;
    let first = run(&s1.pool, &w.db, &w.accounts, &input("John Doe", "john@example.com", "+31612345678", w.org1)).await.unwrap();
    // A different name and phone on the second request do not change the person.
    let second = run(&s2.pool, &w.db, &w.accounts, &input("Johnny D", "JOHN@example.com", "+4791234567", w.org2)).await.unwrap();
    let v = serde_json::to_value(&second).unwrap();
    assert_eq!((second.user_id, second.patient_person_id), (first.user_id, first.patient_person_id));
    assert_eq!(v["user_created"], false);
    assert_eq!(v["organization_added"], true);
    assert_eq!(v["patient"]["organization_id"], w.org2);
    assert_ne!(second.patient.id, first.patient.id);
    // The new org sees only the name until profile sharing is signed.
    assert_eq!(v["person"], serde_json::json!({"id": first.patient_person_id, "user_id": first.user_id, "name": "John Doe"}));
    let forms = v["required_forms"].as_array().unwrap();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["title"], "Profile Sharing Consent");
    assert_eq!(forms[0]["consent_types"], serde_json::json!(["profile_sharing"]));
    assert_eq!(w.clerk.count(Op::Create), 1, "no second Clerk account");
    assert_eq!(count(&w.db, "users").await, 1);
    assert_eq!(count(&w.db, "patient_persons").await, 1);
    assert_eq!(count(&w.db, "communication_preference_tokens").await, 1);
    assert_eq!(count(&w.db, "user_organizations").await, 2);
    let payload: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'patient.onboarded' AND organization_id = $1")
            .bind(w.org2)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(payload["user_created"], false);
}

#[tokio::test]
async fn profile_is_hidden_from_a_new_org_until_shared() {
    let w = world().await;
    let s1 = w.db.staff(AppRole::CustomerSupport, w.org1, "pv-s1").await;
    let s2 = w.db.staff(AppRole::CustomerSupport, w.org2, "pv-s2").await;
    let sec2 = w.db.staff(AppRole::Secretary, w.org2, "pv-sec2").await;
    let first = run(&s1.pool, &w.db, &w.accounts, &input("Kari Nordmann", "kari@example.com", "91234567", w.org1)).await.unwrap();
    sqlx::query("UPDATE patient_persons SET date_of_birth = '1980-02-03', blood_type = 'O+' WHERE id = $1")
        .bind(first.patient_person_id)
        .execute(&w.db.owner)
        .await
        .unwrap();
    let second =
        run(&s2.pool, &w.db, &w.accounts, &input("Kari Nordmann", "kari@example.com", "91234567", w.org2)).await.unwrap();
    // The view never hands staff a ciphertext: the phone comes from the audited patient_contact_as.
    let read = |pool: PgPool| async move {
        sqlx::query_as::<_, (String, Option<chrono::NaiveDate>, Option<Vec<u8>>)>(
            "SELECT name, date_of_birth, phone_encrypted FROM patient_profiles WHERE id = $1",
        )
        .bind(first.patient_person_id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let born = chrono::NaiveDate::from_ymd_opt(1980, 2, 3);
    let (name, dob, phone) = read(sec2.pool.clone()).await;
    assert_eq!((name.as_str(), dob, phone), ("Kari Nordmann", None, None));
    let (_, dob, phone) = read(s1.pool.clone()).await;
    assert_eq!(dob, born);
    assert!(phone.is_none());
    // Staff cannot go around the view.
    let direct = sqlx::query("SELECT phone_encrypted FROM patient_persons").fetch_all(&sec2.pool).await.unwrap_err();
    assert!(digimed_tests::is_denied(&direct), "{direct}");
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM patient_persons").fetch_all(&sec2.pool).await.unwrap();
    assert_eq!(names, ["Kari Nordmann"]);
    // Profile sharing is not set by hand: it follows the patient's consent.
    let by_hand = sqlx::query("UPDATE patients SET profile_shared = true WHERE id = $1")
        .bind(second.patient.id)
        .execute(&s2.pool)
        .await
        .unwrap_err();
    assert!(by_hand.to_string().contains("consent"), "{by_hand}");
    let (_, dob, _) = read(sec2.pool.clone()).await;
    assert_eq!(dob, None);
    // Signing the profile-sharing form (a paper signature attested in the clinic) opens it.
    let sharing = second.required_forms.iter().find(|f| f.consent_types == ["profile_sharing"]).expect("the sharing form");
    let listed = ClinicTx::run(&s2.pool, async |tx| forms::list_for_patient(tx, second.patient.id).await).await.unwrap();
    let sha = listed.iter().find(|f| f.form_id == sharing.form_id).unwrap().template_sha256.clone();
    ClinicTx::run(&s2.pool, async |tx| forms::sign(tx, sharing.form_id, SignedBy::StaffAttested, &sha).await).await.unwrap();
    let (_, dob, phone) = read(sec2.pool.clone()).await;
    assert_eq!(dob, born);
    assert!(phone.is_none());
}

#[tokio::test]
async fn already_a_patient_of_the_org_is_a_409_with_the_seed_details() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "dup-s").await;
    let first = run(&s.pool, &w.db, &w.accounts, &input("John Doe", "john@example.com", "+31612345678", w.org1)).await.unwrap();
    let before = footprint(&w.db).await;
    let e = run(&s.pool, &w.db, &w.accounts, &input("John Doe", "john@example.com", "+31612345678", w.org1)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PatientAlreadyExists);
    assert_eq!(e.message, "Patient with this email already exists in this organization");
    assert_eq!(
        e.details.unwrap(),
        serde_json::json!({"email": "john@example.com", "organization_id": w.org1, "existing_patient_id": first.patient.id})
    );
    assert_eq!(footprint(&w.db).await, before);
}

#[tokio::test]
async fn each_seed_validation_code_and_nothing_written() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "val-s").await;
    let before = footprint(&w.db).await;
    let cases = [
        (input("", "a@example.com", "91234567", w.org1), "name_required"),
        (input("   ", "a@example.com", "91234567", w.org1), "name_required"),
        (input("A B", "", "91234567", w.org1), "email_required"),
        (input("A B", "not-an-email", "91234567", w.org1), "invalid_email_format"),
        (input("A B", "a@example.com", "", w.org1), "phone_required"),
        (input("A B", "a@example.com", "12ab", w.org1), "invalid_phone_format"),
        (OnboardInput { organization_id: None, ..input("A B", "a@example.com", "91234567", 1) }, "organization_id_required"),
    ];
    for (i, code) in cases {
        let e = run(&s.pool, &w.db, &w.accounts, &i).await.unwrap_err();
        assert_eq!(e.code.as_str(), code);
    }
    assert_eq!(footprint(&w.db).await, before);
    assert!(w.clerk.calls().is_empty(), "Clerk is not called for invalid input");
}

#[tokio::test]
async fn only_admin_and_customer_support_may_onboard() {
    let w = world().await;
    let secretary = w.db.staff(AppRole::Secretary, w.org1, "role-sec").await;
    let doctor = w.db.staff(AppRole::Doctor, w.org1, "role-doc").await;
    let other_org_support = w.db.staff(AppRole::CustomerSupport, w.org2, "role-other").await;
    let before = footprint(&w.db).await;
    for pool in [&secretary.pool, &doctor.pool, &other_org_support.pool] {
        let e = run(pool, &w.db, &w.accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{}", e.message);
    }
    assert_eq!(footprint(&w.db).await, before);
    assert!(w.clerk.calls().is_empty());
    // The database refuses the same writes to a raw connection.
    for pool in [&secretary.pool, &doctor.pool] {
        let e = sqlx::query("INSERT INTO users (email, username, account_directory) VALUES ('x@example.com', 'x', 'local')")
            .execute(pool)
            .await
            .unwrap_err();
        assert!(digimed_tests::is_denied(&e));
        let e = sqlx::query("SELECT * FROM onboarding_lookup('x@example.com', 1)").fetch_all(pool).await.unwrap_err();
        assert!(digimed_tests::is_denied(&e));
    }
}

#[tokio::test]
async fn clerk_failures_are_502_and_write_nothing() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "cf-s").await;
    let before = footprint(&w.db).await;
    for fault in [Fault::ServerError, Fault::MalformedJson, Fault::Slow(Duration::from_secs(2))] {
        w.clerk.fail_always(Op::Any, fault.clone());
        let e = run(&s.pool, &w.db, &w.accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::ClerkApiError, "{fault:?}");
        assert!(!e.message.contains(&w.clerk.secret_key));
        w.clerk.heal();
        assert_eq!(footprint(&w.db).await, before, "{fault:?}");
    }
    assert!(w.clerk.users().is_empty());
    // 5xx was retried (3 attempts per the test policy).
    assert!(w.clerk.calls().iter().filter(|(_, s)| *s == 500).count() >= 3);
    // A wrong key is an error too, not retried.
    let wrong = Accounts::with_policy(
        &AccountDirectory::Clerk { api_url: w.clerk.url.clone(), secret_key: Secret::new("sk_test_wrong".into()) },
        quick_retries(),
    )
    .unwrap();
    let e = run(&s.pool, &w.db, &wrong, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ClerkApiError);
    assert_eq!(e.details.unwrap()["clerk_status"], 401);
}

#[tokio::test]
async fn clerk_429_is_retried_after_the_retry_after_delay() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "rl-s").await;
    let mut policy = quick_retries();
    policy.max_delay = Duration::from_secs(3);
    let accounts = Accounts::with_policy(
        &AccountDirectory::Clerk { api_url: w.clerk.url.clone(), secret_key: Secret::new(w.clerk.secret_key.clone()) },
        policy,
    )
    .unwrap();
    w.clerk.fail_next(Op::Create, Fault::TooManyRequests { retry_after_secs: 1 });
    w.clerk.fail_next(Op::Find, Fault::ServerError);
    let t = Instant::now();
    let done = run(&s.pool, &w.db, &accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "waited {:?}", t.elapsed());
    assert!(done.user_created);
    assert_eq!(w.clerk.users().len(), 1);
    let statuses: Vec<u16> = w.clerk.calls().iter().map(|c| c.1).collect();
    assert_eq!(statuses, [500, 200, 429, 200]);
    // A Retry-After beyond the time budget is not waited for: the request fails at once.
    w.clerk.fail_always(Op::Any, Fault::TooManyRequests { retry_after_secs: 100 });
    let t = Instant::now();
    let e = run(&s.pool, &w.db, &accounts, &input("C D", "c@example.com", "91234568", w.org1)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ClerkApiError);
    assert!(e.retryable);
    assert!(t.elapsed() < Duration::from_secs(2), "gave up after {:?}", t.elapsed());
}

#[tokio::test]
async fn clerk_that_keeps_answering_429_ends_in_clerk_api_error_and_writes_nothing() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "rl2-s").await;
    let mut policy = quick_retries();
    policy.max_delay = Duration::from_secs(3);
    let accounts = Accounts::with_policy(
        &AccountDirectory::Clerk { api_url: w.clerk.url.clone(), secret_key: Secret::new(w.clerk.secret_key.clone()) },
        policy,
    )
    .unwrap();
    let before = footprint(&w.db).await;
    w.clerk.fail_always(Op::Create, Fault::TooManyRequests { retry_after_secs: 1 });
    let e = run(&s.pool, &w.db, &accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ClerkApiError);
    assert!(e.retryable);
    // Retried after the Retry-After, and bounded by the policy (three attempts in its time budget).
    let refused = w.clerk.calls().iter().filter(|c| c.1 == 429).count();
    assert!((2..=3).contains(&refused), "{refused} attempts");
    assert_eq!(footprint(&w.db).await, before, "no rows");
    assert!(w.clerk.users().is_empty(), "no orphan Clerk account");
}

#[tokio::test]
async fn a_creation_that_reached_clerk_is_not_repeated() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "cr-s").await;
    w.clerk.fail_next(Op::Create, Fault::CreateThenBadGateway);
    let done = run(&s.pool, &w.db, &w.accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap();
    assert_eq!(w.clerk.users().len(), 1);
    assert_eq!(w.clerk.count(Op::Create), 1);
    assert!(done.user_created);
}

#[tokio::test]
async fn an_existing_clerk_account_is_reused() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "re-s").await;
    let id = w.clerk.add_user("app.user@example.com");
    let done = run(&s.pool, &w.db, &w.accounts, &input("App User", "app.user@example.com", "91234567", w.org1)).await.unwrap();
    assert!(!done.user_created);
    assert_eq!(w.clerk.count(Op::Create), 0);
    let stored: Option<String> = sqlx::query_scalar("SELECT clerk_user_id FROM users").fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(stored, Some(id));
}

#[tokio::test]
async fn the_clerk_account_is_deleted_when_the_database_then_fails() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "comp-s").await;
    // Make the database fail after Clerk has created the account (at the org-patient link).
    sqlx::raw_sql(
        "CREATE FUNCTION fail_link() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'simulated failure' USING ERRCODE = 'XX000'; END $$;
         CREATE TRIGGER fail_link BEFORE INSERT ON patients FOR EACH ROW EXECUTE FUNCTION fail_link();",
    )
    .execute(&w.db.owner)
    .await
    .unwrap();
    let before = footprint(&w.db).await;
    let e = run(&s.pool, &w.db, &w.accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Internal);
    assert_eq!(w.clerk.count(Op::Create), 1);
    assert_eq!(w.clerk.deleted().len(), 1, "the account Clerk created is deleted again");
    assert!(w.clerk.users().is_empty());
    assert_eq!(footprint(&w.db).await, before, "no orphan row");
    // Once the database works again the same request succeeds.
    sqlx::raw_sql("DROP TRIGGER fail_link ON patients").execute(&w.db.owner).await.unwrap();
    let done = run(&s.pool, &w.db, &w.accounts, &input("A B", "a@example.com", "91234567", w.org1)).await.unwrap();
    assert!(done.user_created);
    assert_eq!(w.clerk.users().len(), 1);
}

#[tokio::test]
async fn an_abandoned_onboarding_deletes_the_account_it_created() {
    let w = world().await;
    let s = w.db.staff(AppRole::CustomerSupport, w.org1, "aband-s").await;
    // Hold the org-patient table so the onboarding waits after Clerk created the account, then
    // give up on it (as a client that hangs up would).
    let mut blocker = w.db.owner.begin().await.unwrap();
    sqlx::query("LOCK TABLE patients IN EXCLUSIVE MODE").execute(&mut *blocker).await.unwrap();
    let i = input("A B", "gone@example.com", "91234567", w.org1);
    let r = tokio::time::timeout(Duration::from_millis(1500), run(&s.pool, &w.db, &w.accounts, &i)).await;
    assert!(r.is_err(), "the onboarding was still waiting");
    assert_eq!(w.clerk.users().len(), 1);
    blocker.rollback().await.unwrap();
    for _ in 0..50 {
        if w.clerk.users().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(w.clerk.users().is_empty(), "the account was deleted again");
    assert_eq!(count(&w.db, "users").await, 0);
}

async fn race(w: &World, a: (&PgPool, i32), b: (&PgPool, i32)) -> (Result<Onboarded, Error>, Result<Onboarded, Error>) {
    let ia = input("Race Person", "race@example.com", "91234567", a.1);
    let ib = input("Race Person", "race@example.com", "91234567", b.1);
    tokio::join!(run(a.0, &w.db, &w.accounts, &ia), run(b.0, &w.db, &w.accounts, &ib))
}

#[tokio::test]
async fn two_onboardings_of_one_email_at_once_make_one_person() {
    let w = world().await;
    // Slow Clerk down so the two requests overlap.
    w.clerk.fail_always(Op::Create, Fault::Slow(Duration::from_millis(300)));
    let a = w.db.staff(AppRole::CustomerSupport, w.org1, "race-a").await;
    let b = w.db.staff(AppRole::Admin, w.org1, "race-b").await;
    let (ra, rb) = race(&w, (&a.pool, w.org1), (&b.pool, w.org1)).await;
    let (ok, err) = match (ra, rb) {
        (Ok(ok), Err(err)) | (Err(err), Ok(ok)) => (ok, err),
        other => panic!("expected one success and one conflict: {other:?}"),
    };
    assert_eq!(err.code, ErrorCode::PatientAlreadyExists);
    assert_eq!(err.details.unwrap()["existing_patient_id"], ok.patient.id);
    assert_eq!(w.clerk.users().len(), 1);
    for (t, n) in [("users", 1), ("patient_persons", 1), ("patients", 1), ("communication_preference_tokens", 1)] {
        assert_eq!(count(&w.db, t).await, n, "{t}");
    }

    // The same e-mail at two organizations at once: one person, one link each.
    let c = w.db.staff(AppRole::CustomerSupport, w.org1, "race-c").await;
    let d = w.db.staff(AppRole::CustomerSupport, w.org2, "race-d").await;
    sqlx::query("INSERT INTO organizations (name, kind) VALUES ('Clinic Three', 'clinic')").execute(&w.db.owner).await.unwrap();
    let input_c = input("Other Person", "other@example.com", "91234568", w.org1);
    let input_d = input("Other Person", "other@example.com", "91234568", w.org2);
    let (rc, rd) = tokio::join!(run(&c.pool, &w.db, &w.accounts, &input_c), run(&d.pool, &w.db, &w.accounts, &input_d));
    let (rc, rd) = (rc.unwrap(), rd.unwrap());
    assert_eq!(rc.patient_person_id, rd.patient_person_id);
    assert_eq!(rc.user_id, rd.user_id);
    assert!(rc.user_created != rd.user_created, "exactly one created the account");
    assert_eq!(w.clerk.users().len(), 2);
    assert_eq!(count(&w.db, "patient_persons").await, 2);
    assert_eq!(count(&w.db, "patients").await, 3);
}

#[tokio::test]
async fn the_local_directory_serves_when_clerk_is_not_configured() {
    let db = TestDb::new().await;
    let org = db.clinic("Local Clinic").await;
    seed_rules(&db, &[org]).await;
    let done = run(&db.owner, &db, &Accounts::Local, &input("Ola Nordmann", "ola@example.com", "91234567", org)).await.unwrap();
    assert!(done.user_created);
    let (dir, clerk): (String, Option<String>) =
        sqlx::query_as("SELECT account_directory, clerk_user_id FROM users").fetch_one(&db.owner).await.unwrap();
    assert_eq!((dir.as_str(), clerk), ("local", None));
    assert_eq!(done.required_forms.len(), 2);
}

#[tokio::test]
async fn regular_creation_links_an_existing_person() {
    let w = world().await;
    let s1 = w.db.staff(AppRole::CustomerSupport, w.org1, "link-s1").await;
    let s2 = w.db.staff(AppRole::CustomerSupport, w.org2, "link-s2").await;
    let first = run(&s1.pool, &w.db, &w.accounts, &input("Link Me", "link@example.com", "91234567", w.org1)).await.unwrap();
    let linked = ClinicTx::run(&s2.pool, async |tx| {
        onboarding::link_existing(
            tx,
            &LinkInput { patient_person_id: Some(first.patient_person_id as i64), organization_id: None },
            EntryPoint::ExistingPersonLink,
        )
        .await
    })
    .await
    .unwrap();
    assert_eq!(linked.patient.organization_id, w.org2);
    assert!(linked.organization_added);
    assert_eq!(linked.required_forms.len(), 1);
    assert!(linked.person.profile.is_none());
    let again = ClinicTx::run(&s2.pool, async |tx| {
        onboarding::link_existing(
            tx,
            &LinkInput { patient_person_id: Some(first.patient_person_id as i64), organization_id: None },
            EntryPoint::ExistingPersonLink,
        )
        .await
    })
    .await
    .unwrap_err();
    assert_eq!(again.code, ErrorCode::PatientAlreadyExists);
    let missing = ClinicTx::run(&s2.pool, async |tx| {
        onboarding::link_existing(
            tx,
            &LinkInput { patient_person_id: Some(999_999), organization_id: None },
            EntryPoint::ExistingPersonLink,
        )
        .await
    })
    .await
    .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn duplicate_candidates_are_found_by_email_phone_and_name_with_birth_date() {
    let w = world().await;
    let s1 = w.db.staff(AppRole::CustomerSupport, w.org1, "m-s1").await;
    let s2 = w.db.staff(AppRole::CustomerSupport, w.org2, "m-s2").await;
    let sec = w.db.staff(AppRole::Secretary, w.org2, "m-sec").await;
    let first =
        run(&s1.pool, &w.db, &w.accounts, &input("Kari Nordmann", "kari@example.com", "912 34 567", w.org1)).await.unwrap();
    sqlx::query("UPDATE patient_persons SET date_of_birth = '1980-02-03' WHERE id = $1")
        .bind(first.patient_person_id)
        .execute(&w.db.owner)
        .await
        .unwrap();
    let find = |m: MatchInput, pool: PgPool| {
        let vault = w.db.vault.clone();
        async move { ClinicTx::run(&pool, async |tx| onboarding::match_candidates(tx, &vault, &m, "47").await).await }
    };
    let by_phone = find(MatchInput { phone: Some("+47 91234567".into()), ..Default::default() }, s2.pool.clone()).await.unwrap();
    assert_eq!(by_phone.len(), 1);
    assert_eq!(by_phone[0].patient_person_id, first.patient_person_id);
    assert_eq!(by_phone[0].reasons, ["phone"]);
    let all = find(
        MatchInput {
            email: Some("KARI@example.com".into()),
            phone: Some("91234567".into()),
            name: Some("kari nordmann".into()),
            date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 2, 3),
            national_id: None,
        },
        s2.pool.clone(),
    )
    .await
    .unwrap();
    assert_eq!(all[0].reasons, ["email", "name_and_date_of_birth", "phone"]);
    let none =
        find(MatchInput { email: Some("nobody@example.com".into()), ..Default::default() }, s2.pool.clone()).await.unwrap();
    assert!(none.is_empty());
    let e =
        find(MatchInput { email: Some("kari@example.com".into()), ..Default::default() }, sec.pool.clone()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
}
