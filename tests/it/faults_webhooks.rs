//! Webhook subscribers that are down (connection refused), slow (beyond the delivery timeout) or
//! answer 500: every delivery is retried with a doubling back-off, stays pending meanwhile, and
//! each event is delivered once the subscriber is back, with the same `webhook-id` on every
//! attempt. (A single 500 followed by success is in `webhooks_out`.)

use digimed_core::ClinicTx;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use digimed_core::accounts::Accounts;
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SignedHeaders, SigningKey};
use digimed_service::webhooks::{Worker, WorkerOptions};
use digimed_tests::service::service_pool;
use digimed_tests::subscriber::{Behaviour, Subscriber};
use digimed_tests::TestDb;

use crate::onboarding::{input, run, seed_rules};

/// The first retry waits this long; each further one twice as long as the one before.
const BASE: Duration = Duration::from_secs(30);

type Row = (i32, String, i32, Option<i32>, Option<String>, f64, bool);

/// (subscription, status, attempts, last_status, last_error, seconds until the next attempt,
/// delivered_at set) of every delivery.
async fn deliveries(db: &TestDb) -> Vec<Row> {
    sqlx::query_as(
        "SELECT subscription_id, status, attempts, last_status, last_error,
                extract(epoch FROM next_attempt_at - now())::float8, delivered_at IS NOT NULL
           FROM webhook_deliveries ORDER BY id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn down_slow_and_failing_subscribers_get_every_event_once_they_are_back() {
    let db = TestDb::new().await;
    let org = db.clinic("Flaky Hooks").await;
    seed_rules(&db, &[org]).await;
    let down = Subscriber::down().await;
    let slow = Subscriber::start(Behaviour::Slow(Duration::from_secs(20))).await;
    let failing = Subscriber::start(Behaviour::ServerError).await;
    let events = vec!["patient.onboarded".to_string()];
    let mut subs = BTreeMap::new();
    for (name, s) in [("down", &down), ("slow", &slow), ("failing", &failing)] {
        let (id, secret) = ClinicTx::run(&db.owner, async |tx| {
            digimed_core::webhooks::add_subscription(tx, &db.vault, org, &s.url, &events).await
        })
        .await
        .unwrap();
        subs.insert(id, (name, s.clone(), secret));
    }
    let support = db.staff(AppRole::CustomerSupport, org, "flaky-support").await;
    for (i, email) in ["one.flaky@example.com", "two.flaky@example.com"].into_iter().enumerate() {
        run(&support.pool, &db, &Accounts::Local, &input(&format!("Flaky Person {}", i + 1), email, "91234567", org))
            .await
            .unwrap();
    }
    let event_ids: BTreeSet<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT event_id FROM outbox WHERE event_type = 'patient.onboarded'")
            .fetch_all(&db.owner)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.to_string())
            .collect();
    assert_eq!(event_ids.len(), 2);

    let worker = Worker::new(
        service_pool(&db).await,
        db.vault.clone(),
        WorkerOptions {
            request_timeout: Duration::from_millis(1500),
            base_backoff: BASE,
            max_backoff: Duration::from_secs(3600),
            max_attempts: 10,
            ..Default::default()
        },
    );
    // Three rounds while every subscriber is broken. Between rounds the test makes the waiting
    // deliveries due at once instead of waiting out the back-off.
    for round in 1..=3 {
        if round > 1 {
            sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()").execute(&db.owner).await.unwrap();
        }
        assert_eq!(worker.tick().await.unwrap(), 6, "round {round}: two events for three subscriptions");
        let rows = deliveries(&db).await;
        assert_eq!(rows.len(), 6);
        let backoff = BASE.as_secs_f64() * f64::from(1u32 << (round - 1));
        for (sub, status, attempts, last_status, last_error, wait, delivered) in rows {
            let name = subs[&sub].0;
            assert_eq!((status.as_str(), attempts, delivered), ("pending", round, false), "{name}, round {round}");
            let expected = match name {
                "down" => (None, "connection failed"),
                "slow" => (None, "timed out"),
                _ => (Some(500), "receiver answered HTTP 500"),
            };
            assert_eq!((last_status, last_error.as_deref()), (expected.0, Some(expected.1)), "{name}");
            // The next attempt waits the back-off of this attempt (the read comes a moment
            // after it was scheduled); the ranges of successive rounds do not overlap.
            assert!(wait <= backoff + 1.0 && wait > backoff / 2.0, "{name}, round {round}: next attempt in {wait:.1} s");
        }
    }
    assert!(down.calls().is_empty(), "nothing reached the subscriber that is down");

    // Every subscriber comes back.
    down.open();
    slow.set(Behaviour::Ok);
    failing.set(Behaviour::Ok);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()").execute(&db.owner).await.unwrap();
    assert_eq!(worker.tick().await.unwrap(), 6);
    for (sub, status, attempts, last_status, last_error, _, delivered) in deliveries(&db).await {
        let name = subs[&sub].0;
        assert_eq!(
            (status.as_str(), attempts, last_status, last_error, delivered),
            ("delivered", 4, Some(204), None, true),
            "{name}"
        );
    }
    // Nothing is left to do.
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()").execute(&db.owner).await.unwrap();
    assert_eq!(worker.tick().await.unwrap(), 0, "delivered events are not sent again");

    for (name, s, secret) in subs.values() {
        let per_id = s.per_id();
        let ids: BTreeSet<String> = per_id.keys().cloned().collect();
        assert_eq!(ids, event_ids, "{name}: every attempt carried the event's own webhook-id");
        for (id, (requests, answered)) in &per_id {
            assert_eq!(*answered, 1, "{name}: {id} was accepted exactly once");
            match *name {
                "down" => assert_eq!(*requests, 1, "{name}: only the attempt after it came back arrived"),
                "failing" => assert_eq!(*requests, 4, "{name}: three refused attempts, then the accepted one"),
                _ => assert!(*requests >= 2, "{name}: the timed-out attempts arrived too"),
            }
        }
        let key = SigningKey::from_secret(secret.expose()).unwrap();
        for c in s.calls() {
            let headers = SignedHeaders { id: Some(&c.webhook_id), timestamp: Some(&c.timestamp), signature: Some(&c.signature) };
            webhook_signature::verify(&key, &headers, c.body.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: every attempt is signed: {e:?}"));
        }
    }
}
