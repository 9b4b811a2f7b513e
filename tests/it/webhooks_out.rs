//! The outbox worker: `patient.onboarded` events are delivered to the organization's webhook
//! subscription, signed with the Standard Webhooks scheme, retried after a failure with the same
//! event id, and their delivery state recorded. The worker runs as the service's own login.

use digimed_core::ClinicTx;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use digimed_core::accounts::Accounts;
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SignedHeaders, SigningKey};
use digimed_service::webhooks::{Worker, WorkerOptions};
use digimed_tests::service::service_pool;
use digimed_tests::TestDb;

use crate::onboarding::{input, run, seed_rules};

/// (webhook-id, webhook-timestamp, webhook-signature, body)
type Received = (String, String, String, String);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn start_receiver(r: Receiver) -> String {
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let r = r.clone();
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                r.got.lock().unwrap().push((h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"), body));
                let mut fail = r.fail_first.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn onboarded_events_are_delivered_signed_and_retried() {
    let db = TestDb::new().await;
    let org = db.clinic("Hook Clinic").await;
    seed_rules(&db, &[org]).await;
    let receiver = Receiver::default();
    *receiver.fail_first.lock().unwrap() = 1;
    let url = start_receiver(receiver.clone()).await;
    let events = vec!["patient.onboarded".to_string()];
    let (sub_id, secret) =
        ClinicTx::run(&db.owner, async |tx| digimed_core::webhooks::add_subscription(tx, &db.vault, org, &url, &events).await)
            .await
            .unwrap();
    let support = db.staff(AppRole::CustomerSupport, org, "hook-support").await;
    let done =
        run(&support.pool, &db, &Accounts::Local, &input("Hook Person", "hook@example.com", "91234567", org)).await.unwrap();

    let worker = Worker::new(
        service_pool(&db).await,
        db.vault.clone(),
        WorkerOptions { base_backoff: Duration::from_millis(50), poll_interval: Duration::from_millis(20), ..Default::default() },
    );
    // First attempt fails (500), the retry after the back-off succeeds.
    for _ in 0..50 {
        worker.tick().await.unwrap();
        let delivered: bool = sqlx::query_scalar("SELECT bool_and(status = 'delivered') FROM webhook_deliveries")
            .fetch_one(&db.owner)
            .await
            .unwrap_or(false);
        if delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (status, attempts, last_status, subscription): (String, i32, Option<i32>, i32) =
        sqlx::query_as("SELECT status, attempts, last_status, subscription_id FROM webhook_deliveries")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts, last_status, subscription), ("delivered", 2, Some(204), sub_id));

    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "the welcome-email event is not subscribed; the onboarded one came twice");
    assert_eq!(got[0].0, got[1].0, "the same event id on every attempt");
    let key = SigningKey::from_secret(secret.expose()).unwrap();
    for (id, ts, sig, body) in &got {
        let headers = SignedHeaders { id: Some(id), timestamp: Some(ts), signature: Some(sig) };
        webhook_signature::verify(&key, &headers, body.as_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["type"], "patient.onboarded");
        assert_eq!(
            v["data"],
            serde_json::json!({
                "patient_id": done.patient.id, "patient_person_id": done.patient_person_id, "user_id": done.user_id,
                "organization_id": org, "user_created": true
            })
        );
    }
    let event_id: uuid::Uuid = sqlx::query_scalar("SELECT event_id FROM outbox WHERE event_type = 'patient.onboarded'")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(got[0].0, event_id.to_string());

    // Admins see the delivery state; secretaries do not.
    let admin = db.staff(AppRole::Admin, org, "hook-admin").await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries").fetch_one(&admin.pool).await.unwrap();
    assert_eq!(n, 1);
    let elsewhere = db.clinic("Elsewhere").await;
    let other_admin = db.staff(AppRole::Admin, elsewhere, "hook-admin2").await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries").fetch_one(&other_admin.pool).await.unwrap();
    assert_eq!(n, 0, "another clinic's admin does not see them");
    let secretary = db.staff(AppRole::Secretary, org, "hook-sec").await;
    let e = sqlx::query("SELECT * FROM webhook_deliveries").fetch_all(&secretary.pool).await.unwrap_err();
    assert!(digimed_tests::is_denied(&e));
    // Staff cannot make the clinic send signed events for another organization.
    let forged = sqlx::query(
        "INSERT INTO outbox (event_id, event_type, organization_id, payload) VALUES ($1, 'patient.onboarded', $2, '{}')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(elsewhere)
    .execute(&secretary.pool)
    .await
    .unwrap_err();
    assert!(digimed_tests::is_denied(&forged));
}
