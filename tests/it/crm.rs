//! The CRM connection: where HubSpot is configured, new persons and referrals become HubSpot
//! contacts (upserted by `digimed_person_id`) and a referral also a task for the concierge,
//! associated with the contact; sent from the outbox by the service's CRM worker against a
//! stand-in of HubSpot's CRM v3 API. HubSpot failing never touches the clinical rows; syncs are
//! retried (honouring `Retry-After`) and a refused token ends as `failed`.

use std::time::{Duration, Instant};

use digimed_core::accounts::Accounts;
use digimed_core::config::HubSpot;
use digimed_core::referrals::{self, ReferralReceipt};
use digimed_core::ClinicTx;
use digimed_crypto::Secret;
use digimed_service::hubspot::{CrmOptions, Worker};
use digimed_tests::fixtures::{nid, partner, referral_body};
use digimed_tests::hubspot_standin::{Fault, HubSpotStandin};
use digimed_tests::service::service_pool;
use digimed_tests::TestDb;
use uuid::Uuid;

use crate::onboarding::{input, run, seed_rules};

const OWNER: &str = "7700123";

fn hubspot(standin: &HubSpotStandin, token: &str) -> HubSpot {
    HubSpot {
        api_url: standin.url.clone(),
        access_token: Secret::new(token.to_string()),
        concierge_owner_id: Some(OWNER.to_string()),
    }
}

async fn worker(db: &TestDb, standin: &HubSpotStandin, token: &str) -> Worker {
    Worker::new(
        service_pool(db).await,
        db.vault.clone(),
        hubspot(standin, token),
        CrmOptions {
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(5),
            max_attempts: 4,
            ..Default::default()
        },
    )
}

/// Runs the worker until `sql` (a boolean query) holds, for at most ten seconds.
async fn until(db: &TestDb, w: &Worker, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        w.tick().await.unwrap();
        let ok: Option<bool> = sqlx::query_scalar(sql).fetch_one(&db.owner).await.unwrap();
        if ok == Some(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.owner).await.unwrap()
}

async fn referral(db: &TestDb, org: i32, n: u16) -> ReferralReceipt {
    let p = partner(db, org, true).await;
    let raw = referral_body(nid(n).as_str(), Uuid::new_v4()).to_string();
    ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, raw.as_bytes()).await)
        .await
        .expect("receive the referral")
        .receipt()
}

/// What a contact may hold: names, e-mail, phone, the entry point and the person's id.
const ALLOWED: [&str; 6] = ["firstname", "lastname", "email", "phone", "digimed_entry_point", "digimed_person_id"];

#[tokio::test]
async fn an_onboarding_and_a_referral_become_contacts_and_the_referral_a_concierge_task() {
    let db = TestDb::new().await;
    let org = db.clinic("CRM Clinic").await;
    seed_rules(&db, &[org]).await;
    let standin = HubSpotStandin::start().await;
    let support = db.staff(digimed_core::session::AppRole::CustomerSupport, org, "crm-support").await;
    let onboarded = run(&support.pool, &db, &Accounts::Local, &input("Kari Testesen", "kari.crm@example.com", "91234567", org))
        .await
        .unwrap();
    let referred = referral(&db, org, 1).await;

    let w = worker(&db, &standin, &standin.token).await;
    until(&db, &w, "SELECT count(*) = 3 AND bool_and(state = 'synced') FROM crm_syncs").await;

    let contacts = standin.contacts();
    assert_eq!(contacts.len(), 2, "one contact per person");
    let kari = contacts.iter().find(|c| c.key == onboarded.patient_person_id.to_string()).expect("the onboarded person");
    assert_eq!(kari.properties["firstname"], "Kari");
    assert_eq!(kari.properties["lastname"], "Testesen");
    assert_eq!(kari.properties["email"], "kari.crm@example.com");
    assert!(kari.properties["phone"].as_str().unwrap().ends_with("91234567"));
    assert_eq!(kari.properties["digimed_entry_point"], "walk_in");
    let line = contacts.iter().find(|c| c.key == referred.patient_person_id.to_string()).expect("the referred person");
    assert_eq!(line.properties["firstname"], "Line");
    assert_eq!(line.properties["lastname"], "Danser");
    assert_eq!(line.properties["digimed_entry_point"], "partner_referral");
    for c in &contacts {
        for k in c.properties.keys() {
            assert!(ALLOWED.contains(&k.as_str()), "a contact holds only contact fields, not {k}");
        }
    }
    for body in standin.bodies() {
        assert!(!body.contains(nid(1).as_str()), "no national id is sent");
        assert!(!body.contains("kept as sent"), "nothing of the referral's content is sent");
    }

    let tasks = standin.tasks();
    assert_eq!(tasks.len(), 1, "one task, for the referral");
    let t = &tasks[0];
    assert_eq!(t.properties["hs_task_subject"], "New referral waiting for screening");
    assert_eq!(t.properties["hubspot_owner_id"], OWNER);
    assert_eq!(t.associations, vec![(line.id.clone(), "HUBSPOT_DEFINED".to_string(), 204)]);
    let recorded: (String, String) =
        sqlx::query_as("SELECT hubspot_contact_id, hubspot_task_id FROM crm_syncs WHERE kind = 'concierge_task'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(recorded, (line.id.clone(), t.id.clone()));

    // Each read of a person's contact fields is in the audit log.
    until(&db, &w, "SELECT count(*) = 2 FROM audit_log WHERE action = 'READ' AND changes->>'purpose' = 'crm'").await;

    // A replay of the events makes no second sync, contact or task.
    sqlx::query("UPDATE outbox SET crm_considered_at = NULL").execute(&db.owner).await.unwrap();
    until(&db, &w, "SELECT bool_and(crm_considered_at IS NOT NULL) FROM outbox WHERE event_type IN ('patient.onboarded', 'referral.received')").await;
    w.tick().await.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM crm_syncs").await, 3);
    assert_eq!(standin.contacts().len(), 2);
    assert_eq!(standin.tasks().len(), 1);
}

#[tokio::test]
async fn hubspot_failing_leaves_the_clinic_untouched_and_the_sync_is_retried() {
    let db = TestDb::new().await;
    let org = db.clinic("CRM Retry Clinic").await;
    let standin = HubSpotStandin::start().await;
    standin.fail_always(Fault::ServerError);
    let referred = referral(&db, org, 2).await;
    let w = worker(&db, &standin, &standin.token).await;

    until(&db, &w, "SELECT attempts >= 1 FROM crm_syncs WHERE kind = 'contact'").await;
    let (state, status, later): (String, Option<i32>, bool) =
        sqlx::query_as("SELECT state, last_status, next_attempt_at > now() FROM crm_syncs WHERE kind = 'contact'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((state.as_str(), status, later), ("pending", Some(500), true));
    assert_eq!(count(&db, &format!("SELECT count(*) FROM referrals WHERE id = {}", referred.referral_id)).await, 1);
    assert_eq!(count(&db, &format!("SELECT count(*) FROM patient_persons WHERE id = {}", referred.patient_person_id)).await, 1);

    // 429: the next attempt waits as long as HubSpot asked, not the shorter back-off.
    standin.fail_always(Fault::TooManyRequests { retry_after_secs: 2 });
    until(&db, &w, "SELECT last_status = 429 FROM crm_syncs WHERE kind = 'contact'").await;
    let wait: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM crm_syncs WHERE kind = 'contact'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert!(wait > 1.0, "Retry-After is honoured (next attempt in {wait} s)");
    assert!(standin.contacts().is_empty());

    // HubSpot recovers, but the task fails once: it is retried with the same contact, once.
    standin.heal();
    until(&db, &w, "SELECT state = 'synced' FROM crm_syncs WHERE kind = 'contact'").await;
    standin.fail_next(Fault::ServerError);
    until(&db, &w, "SELECT bool_and(state = 'synced') FROM crm_syncs").await;
    assert!(count(&db, "SELECT attempts::bigint FROM crm_syncs WHERE kind = 'concierge_task'").await >= 1);
    assert_eq!(standin.contacts().len(), 1);
    assert_eq!(standin.tasks().len(), 1, "a retried task is created once");
    assert!(standin.calls().iter().any(|(p, s)| p == "/crm/v3/objects/tasks" && *s == 500));
}

#[tokio::test]
async fn a_refused_token_ends_as_failed_with_the_reason() {
    let db = TestDb::new().await;
    let org = db.clinic("CRM Token Clinic").await;
    let standin = HubSpotStandin::start().await;
    referral(&db, org, 3).await;
    let w = worker(&db, &standin, "pat-eu1-not-the-token").await;

    until(&db, &w, "SELECT bool_and(state = 'failed') FROM crm_syncs").await;
    let (attempts, status, reason): (i32, Option<i32>, String) =
        sqlx::query_as("SELECT attempts, last_status, last_error FROM crm_syncs WHERE kind = 'contact'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((attempts, status), (1, Some(401)), "a refused token is not retried");
    assert!(reason.contains("refused the access token"), "{reason}");
    let task: String =
        sqlx::query_scalar("SELECT last_error FROM crm_syncs WHERE kind = 'concierge_task'").fetch_one(&db.owner).await.unwrap();
    assert!(task.contains("could not be synced"), "{task}");
    assert!(standin.contacts().is_empty());
    assert_eq!(count(&db, "SELECT count(*) FROM referrals").await, 1);
}

#[tokio::test]
async fn without_hubspot_no_syncs_pile_up() {
    let db = TestDb::new().await;
    let org = db.clinic("CRM-less Clinic").await;
    seed_rules(&db, &[org]).await;
    let support = db.staff(digimed_core::session::AppRole::CustomerSupport, org, "crmless-support").await;
    run(&support.pool, &db, &Accounts::Local, &input("Ola Uten", "ola.crm@example.com", "92345678", org)).await.unwrap();
    referral(&db, org, 4).await;
    // The service without HubSpot runs only the webhook worker.
    let hooks = digimed_service::webhooks::Worker::new(service_pool(&db).await, db.vault.clone(), Default::default());
    hooks.tick().await.unwrap();
    let dispatched: bool =
        sqlx::query_scalar("SELECT bool_and(dispatched_at IS NOT NULL) FROM outbox").fetch_one(&db.owner).await.unwrap();
    assert!(dispatched, "the outbox was worked");
    assert_eq!(count(&db, "SELECT count(*) FROM crm_syncs").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE crm_considered_at IS NOT NULL").await, 0);
    assert_eq!(digimed_service::hubspot::notice(None), "CRM: HUBSPOT_ACCESS_TOKEN is not set, so nothing is sent to a CRM");
}
