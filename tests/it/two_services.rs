//! Two `digimed serve` instances (each its own HTTP service, outbox worker and pool, under its
//! own service login) on one database: onboardings sent to either are each announced, every
//! outbox event is delivered and none by both workers; a partner's referral replayed to both
//! at once creates one referral.

use digimed_core::ClinicTx;
use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use digimed_core::accounts::Accounts;
use digimed_core::api_tokens;
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SigningKey};
use digimed_domain::Email;
use digimed_service::webhooks::WorkerOptions;
use digimed_tests::service::{service_pool_named, start_instance, Instance};
use digimed_tests::subscriber::{Behaviour, Subscriber};
use digimed_tests::TestDb;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::onboarding::seed_rules;
use crate::referrals::{body, nid, partner, SECRET};

const WAIT: Duration = Duration::from_secs(120);

fn worker_options() -> WorkerOptions {
    WorkerOptions {
        poll_interval: Duration::from_millis(20),
        request_timeout: Duration::from_secs(10),
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(2),
        batch: 5,
        ..Default::default()
    }
}

async fn instance(db: &TestDb, login: &str) -> Instance {
    start_instance(service_pool_named(db, login).await, db.vault.clone(), Accounts::Local, worker_options()).await
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.owner).await.unwrap()
}

#[tokio::test]
async fn two_instances_deliver_every_event_once_and_keep_referrals_idempotent() {
    let db = TestDb::new().await;
    let org = db.clinic("Twin Clinic").await;
    seed_rules(&db, &[org]).await;
    partner(&db, org, true).await;
    let subscriber = Subscriber::start(Behaviour::Ok).await;
    // Every event type of the clinic.
    ClinicTx::run(&db.owner, async |tx| digimed_core::webhooks::add_subscription(tx, &db.vault, org, &subscriber.url, &[]).await)
        .await
        .unwrap();
    let support = db.staff(AppRole::CustomerSupport, org, "twin-support").await;
    let token =
        ClinicTx::run(&db.owner, async |tx| api_tokens::create(tx, &Email::parse(&support.login).unwrap(), Some(1)).await)
            .await
            .unwrap()
            .token;
    let a = instance(&db, "svca").await;
    let b = instance(&db, "svcb").await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();

    // Onboardings, alternately to either instance, several at a time.
    let mut requests = Vec::new();
    for i in 0..16 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, token) = (http.clone(), token.expose().to_string());
        requests.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/v1/patients/onboard"))
                .bearer_auth(token)
                .json(&json!({"name": format!("Twin Person {i}"), "email": format!("twin{i}@example.com"),
                               "phone": format!("9123{:04}", i), "organization_id": org}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    for r in requests {
        let (status, text) = r.await.unwrap();
        assert_eq!(status, 201, "{text}");
    }

    // One referral, replayed to both instances at once.
    let raw = body(nid(61).as_str(), Uuid::new_v4()).to_string();
    let key = SigningKey::from_secret(SECRET).unwrap();
    let mut replays = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, raw, key) = (http.clone(), raw.clone(), key.clone());
        replays.push(tokio::spawn(async move {
            let id = format!("msg_{}", Uuid::new_v4().simple());
            let ts = Utc::now().timestamp();
            let sig = webhook_signature::sign(&key, &id, ts, &raw);
            let r = http
                .post(format!("{base}/v1/webhooks/pridok"))
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(raw)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut answers = Vec::new();
    for r in replays {
        answers.push(r.await.unwrap());
    }
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1, "one delivery creates: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 200), "{answers:?}");
    assert!(answers.iter().all(|(_, v)| *v == answers[0].1), "every replay gets the same answer: {answers:?}");
    assert_eq!(scalar(&db, "SELECT count(*) FROM referrals").await, 1);
    assert_eq!(scalar(&db, "SELECT count(*) FROM consultations").await, 0, "the referral awaits screening");

    // Every outbox event reaches the subscriber.
    let events: i64 = scalar(&db, "SELECT count(*) FROM outbox").await;
    assert!(events >= 17, "16 onboardings and a referral were announced ({events} events)");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let delivered = scalar(&db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").await;
        if delivered == events {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{delivered} of {events} events delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(scalar(&db, "SELECT count(*) FROM webhook_deliveries").await, events, "one delivery per event");
    assert_eq!(scalar(&db, "SELECT count(*) FROM webhook_deliveries WHERE attempts <> 1").await, 0, "each sent once");
    let outbox_ids: BTreeSet<String> = sqlx::query_scalar::<_, Uuid>("SELECT event_id FROM outbox")
        .fetch_all(&db.owner)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.to_string())
        .collect();
    let per_id = subscriber.per_id();
    assert_eq!(per_id.keys().cloned().collect::<BTreeSet<_>>(), outbox_ids, "every event arrived");
    let twice: Vec<_> = per_id.iter().filter(|(_, (n, _))| *n != 1).collect();
    assert!(twice.is_empty(), "no event was sent by both instances: {twice:?}");
    drop((a, b));
}
