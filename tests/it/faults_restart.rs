//! The database server restarts while `digimed serve` (its HTTP service and outbox worker) and a
//! console session run. The test runs its own throw-away PostgreSQL cluster (the shared test
//! server is never restarted: other tests use it meanwhile), stops it with `pg_ctl stop -m fast`
//! and starts it again. While it is down, requests are answered with the retryable 503
//! `database_unavailable` in the API's error shape (`docs/errors.md`); afterwards the same service instance and the
//! same console session work again, webhook deliveries queued before the restart go out, and the
//! console's live queue (`QueueWatcher`) resumes.

use digimed_core::ClinicTx;
use std::time::Duration;

use chrono::Utc;
use digimed_core::accounts::Accounts;
use digimed_core::keys::Vault;
use digimed_core::queue::{self, QueueEvent, QueueFilter, QueueWatcher};
use digimed_core::referrals::NewPartner;
use digimed_core::session::{self, AppRole};
use digimed_core::{api_tokens, db, staff, ErrorCode};
use digimed_crypto::{DataKeys, Secret};
use digimed_domain::{Email, PersonName};
use digimed_service::webhooks::WorkerOptions;
use digimed_tests::cluster::ScratchCluster;
use digimed_tests::service::start_instance;
use digimed_tests::subscriber::{Behaviour, Subscriber};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

use crate::referrals::{body, nid, SECRET};

const WAIT: Duration = Duration::from_secs(120);

async fn owner_sql(owner: &PgPool, sql: &str) {
    sqlx::raw_sql(sql).execute(owner).await.unwrap();
}

/// Waits until `sql` (a boolean query) holds.
async fn until(owner: &PgPool, what: &str, sql: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if sqlx::query_scalar::<_, bool>(sql).fetch_one(owner).await.unwrap_or(false) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_unavailable(status: u16, retry_after: Option<String>, v: &Value) {
    assert_eq!(status, 503, "{v}");
    let e = v["error"].as_object().unwrap_or_else(|| panic!("the API's error shape (`docs/errors.md`): {v}"));
    assert!(e.keys().all(|k| ["code", "message", "details"].contains(&k.as_str())), "{v}");
    assert_eq!(e["code"], "database_unavailable");
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert!(retry_after.is_some(), "a Retry-After header");
}

#[tokio::test]
async fn the_service_and_a_console_session_recover_from_a_database_restart() {
    let cluster = ScratchCluster::create().await;
    {
        let mut admin = PgConnection::connect(&cluster.owner_url("postgres")).await.unwrap();
        admin.execute("CREATE DATABASE clinic").await.unwrap();
        admin.close().await.unwrap();
    }
    let owner = db::connect(&cluster.owner_url("clinic"), 4).await.unwrap();
    db::migrate(&owner).await.unwrap();
    let vault = Vault::new(DataKeys::generate());
    let org: i32 = sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Restart Clinic', 'clinic') RETURNING id")
        .fetch_one(&owner)
        .await
        .unwrap();
    let password = Secret::new(format!("pw-{}-Long-enough", Uuid::new_v4().simple()));
    let support_email = Email::parse("support@restart.digimed.test").unwrap();
    let doctor_email = Email::parse("doctor@restart.digimed.test").unwrap();
    ClinicTx::run(&owner, async |tx| {
        staff::add_staff(
            tx,
            &support_email,
            &PersonName::parse("Sigrid Support").unwrap(),
            AppRole::CustomerSupport,
            Some(org),
            &password,
        )
        .await
    })
    .await
    .unwrap();
    let doctor = ClinicTx::run(&owner, async |tx| {
        staff::add_staff(tx, &doctor_email, &PersonName::parse("Dag Doctor").unwrap(), AppRole::Doctor, Some(org), &password)
            .await
    })
    .await
    .unwrap();
    // Its referrals are booked on arrival: each one puts a consultation in the doctor's queue.
    ClinicTx::run(&owner, async |tx| {
        let p = digimed_core::referrals::add_partner(
            tx,
            &vault,
            &NewPartner { name: "pridok-test", clinic_id: org, is_test_partner: true, deadline_working_days: 2, deal_id: None },
            SECRET,
        )
        .await?;
        digimed_core::referrals::set_book_on_arrival(tx, p.id, true).await
    })
    .await
    .unwrap();
    let subscriber = Subscriber::start(Behaviour::Ok).await;
    ClinicTx::run(&owner, async |tx| digimed_core::webhooks::add_subscription(tx, &vault, org, &subscriber.url, &[]).await)
        .await
        .unwrap();
    let token = ClinicTx::run(&owner, async |tx| api_tokens::create(tx, &support_email, Some(1)).await).await.unwrap().token;

    // `digimed serve`: the service login, the pool as the command opens it, the HTTP service and
    // the outbox worker (retrying for as long as this test takes).
    let svc_password = Uuid::new_v4().simple().to_string();
    owner_sql(&owner, &format!("CREATE ROLE svc LOGIN PASSWORD '{svc_password}' IN ROLE digimed_service")).await;
    let svc_pool = db::connect(&cluster.url_as("svc", &svc_password, "clinic"), 16).await.unwrap();
    let worker = WorkerOptions {
        poll_interval: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        max_attempts: 100_000,
        ..Default::default()
    };
    let service = start_instance(svc_pool, vault.clone(), Accounts::Local, worker).await;

    // A console session: the doctor signed in, watching the queue.
    let server = format!("postgres://127.0.0.1:{}/clinic", cluster.port);
    let (console, _me) = session::sign_in(&server, &doctor.login, &password).await.unwrap();
    let mut watcher = QueueWatcher::connect(&console).await.unwrap();
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<(Result<QueueEvent, digimed_core::Error>, u32)>();
    tokio::spawn(async move {
        loop {
            let e = watcher.next().await;
            let stop = e.is_err();
            if events_tx.send((e, watcher.reconnects())).is_err() || stop {
                break;
            }
        }
    });

    let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
    let onboard = |n: u32| {
        let (http, base, token) = (http.clone(), service.base.clone(), token.expose().to_string());
        async move {
            let r = http
                .post(format!("{base}/v1/patients/onboard"))
                .bearer_auth(token)
                .json(&json!({"name": format!("Restart Person {n}"), "email": format!("restart{n}@example.com"),
                               "phone": format!("9876{n:04}"), "organization_id": org}))
                .send()
                .await
                .expect("the service answers (no hang)");
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let referral = |n: u16| {
        let (http, base) = (http.clone(), service.base.clone());
        async move {
            let raw = body(nid(n).as_str(), Uuid::new_v4()).to_string();
            let key = digimed_core::webhook_signature::SigningKey::from_secret(SECRET).unwrap();
            let (id, ts) = (format!("msg_{}", Uuid::new_v4().simple()), Utc::now().timestamp());
            let r = http
                .post(format!("{base}/v1/webhooks/pridok"))
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", digimed_core::webhook_signature::sign(&key, &id, ts, &raw))
                .body(raw)
                .send()
                .await
                .expect("the service answers (no hang)");
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // Before: an onboarding is answered and its event delivered.
    let (status, _, v) = onboard(1).await;
    assert_eq!(status, 201, "{v}");
    until(&owner, "the first event is delivered", "SELECT count(*) = 1 FROM webhook_deliveries WHERE status = 'delivered'").await;

    // Deliveries that cannot go out yet: the subscriber refuses them for now.
    subscriber.set(Behaviour::ServerError);
    let (status, _, v) = onboard(2).await;
    assert_eq!(status, 201, "{v}");
    until(
        &owner,
        "the second event was attempted",
        "SELECT count(*) = 1 FROM webhook_deliveries WHERE status = 'pending' AND attempts >= 1 AND last_status = 500",
    )
    .await;
    let queued: Vec<String> = sqlx::query_scalar::<_, Uuid>(
        "SELECT o.event_id FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'pending'",
    )
    .fetch_all(&owner)
    .await
    .unwrap()
    .into_iter()
    .map(|u| u.to_string())
    .collect();
    assert_eq!(queued.len(), 1);

    // The database goes down.
    cluster.stop().await;
    subscriber.set(Behaviour::Ok);
    let (status, retry_after, v) = onboard(3).await;
    assert_unavailable(status, retry_after, &v);
    let (status, retry_after, v) = referral(71).await;
    assert_unavailable(status, retry_after, &v);
    let health = http.get(format!("{}/healthz", service.base)).send().await.expect("the service answers (no hang)");
    let (status, retry_after) =
        (health.status().as_u16(), health.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string()));
    assert_unavailable(status, retry_after, &health.json::<Value>().await.unwrap_or(Value::Null));
    let e = ClinicTx::run(&console, async |tx| queue::list(tx, &QueueFilter::default()).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
    assert!(e.retryable);
    assert!(subscriber.per_id().get(&queued[0]).is_none_or(|(_, ok)| *ok == 0), "the queued event waits for the database");

    // It comes back; nothing of ours is restarted.
    cluster.start().await;
    let health = http.get(format!("{}/healthz", service.base)).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (200, "ok".to_string()), "healthy again");
    let (status, _, v) = onboard(3).await;
    assert_eq!(status, 201, "the same service instance serves again: {v}");
    let (status, _, v) = referral(72).await;
    assert_eq!(status, 201, "{v}");
    let consultation = v["consultation_id"].as_i64().unwrap() as i32;
    assert_eq!(
        ClinicTx::run(&console, async |tx| queue::list(tx, &QueueFilter::default()).await).await.unwrap().len(),
        1,
        "the console session reads again"
    );

    // The queued delivery and every later one go out.
    until(
        &owner,
        "every event is delivered",
        "SELECT (SELECT count(*) FROM outbox) = (SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered')",
    )
    .await;
    let per_id = subscriber.per_id();
    assert!(per_id.get(&queued[0]).is_some_and(|(_, ok)| *ok >= 1), "the delivery queued before the restart went out");
    let outbox: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM outbox").fetch_all(&owner).await.unwrap();
    for id in outbox {
        assert!(per_id.get(&id.to_string()).is_some_and(|(_, ok)| *ok >= 1), "{id} delivered");
    }

    // The console's live queue resumed: the referral's consultation arrives as an event.
    let deadline = tokio::time::Instant::now() + WAIT;
    let reconnects = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (e, reconnects) = tokio::time::timeout(left, events.recv())
            .await
            .expect("the queue watcher reports the new consultation")
            .expect("the queue watcher keeps running");
        let e = e.expect("the queue watcher recovers");
        if e.consultation_id == Some(consultation) {
            break reconnects;
        }
    };
    assert!(reconnects >= 1, "the watcher reconnected after the restart");
    drop(service);
    console.close().await;
    owner.close().await;
}
