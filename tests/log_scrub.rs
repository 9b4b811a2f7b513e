//! Patient data and secrets never reach the logs. The service's `tracing` output (DEBUG and up,
//! every target: the service, the core, sqlx's statements, the HTTP clients' `log` records) is
//! captured while a full onboarding, a link, a match and partner referrals go through the real
//! HTTP service (with Clerk failing a few times, and some requests refused), and searched for
//! every plaintext value and secret involved.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::Utc;
use digimed_core::session::AppRole;
use digimed_tests::clerk_standin::{ClerkStandin, Fault, Op};
use digimed_tests::http::{raw_http, request, staff_token, webhook_headers};
use digimed_tests::service::{self, standin_accounts};
use digimed_tests::TestDb;
use serde_json::json;
use tracing_subscriber::util::SubscriberInitExt;
use uuid::Uuid;

use digimed_tests::fixtures::{nid, partner, referral_body, seed_rules, SECRET};

/// A `MakeWriter` appending everything to one shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

// This test is a process of its own (a test target with no other test in it): the capturing
// subscriber is the process's global default from before anything logs, so every callsite is
// registered with it, and no other test's output can mix in or be missed.
#[tokio::test]
async fn logs_carry_no_patient_data_and_no_secrets() {
    let captured = Captured::default();
    // Also turns `log` records (reqwest, hyper) into events for this subscriber.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_target(true)
        .finish()
        .init();

    let db = TestDb::new().await;
    let org = db.clinic("Scrub Clinic").await;
    let org2 = db.clinic("Scrub Two").await;
    seed_rules(&db, &[org, org2]).await;
    partner(&db, org, true).await;
    let clerk = ClerkStandin::start().await;
    let svc = service::start(&db, standin_accounts(&clerk)).await;
    let (_, token) = staff_token(&db, AppRole::CustomerSupport, org, "scrub-support").await;
    let (_, token2) = staff_token(&db, AppRole::Admin, org2, "scrub-admin").await;
    let auth = format!("Bearer {}", token.expose());
    let auth2 = format!("Bearer {}", token2.expose());
    let post = |path: &'static str, auth: String, body: serde_json::Value| {
        let base = svc.base.clone();
        async move {
            let body = body.to_string();
            let a = raw_http(
                &base,
                &request("POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes()),
            )
            .await;
            (a.status, a.json())
        }
    };

    // The patient's data, as typed and as normalised.
    let (email, email_typed) = ("kari.scrubbed@example.com", "Kari.Scrubbed@Example.com");
    let (phone, phone_typed) = ("+4791827364", "918 27 364");
    let referral_nid = nid(90);
    let (referral_phone, referral_email) = ("+4747382910", "ref.scrubbed@example.com");

    // Onboarding: Clerk fails twice (500, then 429) before it works.
    clerk.fail_next(Op::Find, Fault::ServerError);
    clerk.fail_next(Op::Find, Fault::TooManyRequests { retry_after_secs: 0 });
    let onboard = json!({"name": "Kari Scrubbed", "email": email_typed, "phone": phone_typed, "organization_id": org});
    let (status, v) = post("/v1/patients/onboard", auth.clone(), onboard.clone()).await;
    assert_eq!(status, 201, "{v}");
    let person = v["data"]["patient_person_id"].as_i64().unwrap();
    // The same again: 409. A Clerk that stays down: 502 after retries.
    assert_eq!(post("/v1/patients/onboard", auth.clone(), onboard).await.0, 409);
    clerk.fail_always(Op::Any, Fault::ServerError);
    let down =
        json!({"name": "Ola Scrubbed", "email": "ola.scrubbed@example.com", "phone": "+4791827365", "organization_id": org});
    assert_eq!(post("/v1/patients/onboard", auth.clone(), down).await.0, 502);
    clerk.heal();
    // Link to the second clinic, and match by each fact.
    assert_eq!(post("/v1/patients", auth2.clone(), json!({"patient_person_id": person})).await.0, 201);
    let (status, v) =
        post("/v1/patients/match", auth.clone(), json!({"email": email, "phone": phone, "national_id": referral_nid.as_str()}))
            .await;
    assert_eq!((status, v["data"]["candidates"].as_array().map(Vec::len)), (200, Some(1)), "{v}");
    // A refused onboarding repeats nothing of what was sent.
    let bad = json!({"name": "Kari Scrubbed", "email": "kari.scrubbed@", "phone": phone_typed, "organization_id": org});
    assert_eq!(post("/v1/patients/onboard", auth.clone(), bad).await.0, 400);

    // A referral, its replay, an invalid one and a wrongly signed one.
    let mut referral = referral_body(referral_nid.as_str(), Uuid::new_v4());
    referral["PhoneNumber"] = json!(referral_phone);
    referral["Email"] = json!(referral_email);
    let raw = referral.to_string();
    let send_signed = |raw: String, secret: &'static str| {
        let base = svc.base.clone();
        async move {
            let hdrs = webhook_headers(secret, raw.as_bytes(), Utc::now().timestamp());
            let mut headers: Vec<(&str, &str)> = hdrs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            headers.push(("Content-Type", "application/json"));
            raw_http(&base, &request("POST", "/v1/webhooks/pridok", &headers, raw.as_bytes())).await.status
        }
    };
    assert_eq!(send_signed(raw.clone(), SECRET).await, 201);
    assert_eq!(send_signed(raw.clone(), SECRET).await, 200);
    let mut invalid = referral.clone();
    invalid["JournalGuid"] = json!(Uuid::new_v4().to_string());
    invalid["PhoneNumber"] = json!("12");
    assert_eq!(send_signed(invalid.to_string(), SECRET).await, 422);
    assert_eq!(send_signed(raw.clone(), "whsec_d3JvbmctYnV0LWxvbmctZW5vdWdoLXNlY3JldC0wMTI=").await, 401);

    drop(svc);
    let logs = captured.text();

    // The capture is real: it holds the service's events and sqlx's statements.
    assert!(logs.contains("referral received"), "the service's own events are captured");
    assert!(logs.contains("Clerk request failed"), "the Clerk client's retries are captured");
    assert!(logs.contains("sqlx::query") && logs.contains("INSERT INTO"), "sqlx's statements are captured");

    // What must never appear.
    // Both key domains' keys: the contact keys the service holds, and the clinical keys it never
    // holds (nor may log).
    let mut key_material: Vec<String> = Vec::new();
    for keys in [db.vault.keys(), db.vault.keys_of(digimed_crypto::KeyDomain::Clinical).unwrap()] {
        let key_doc: serde_json::Value = serde_json::from_str(keys.to_json().expose()).unwrap();
        key_material.extend(key_doc["keys"].as_object().unwrap().values().map(|k| k.as_str().unwrap().to_string()));
        key_material.push(key_doc["blind_index_key"].as_str().unwrap().to_string());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for k in key_material.clone() {
        key_material.push(hex::encode(b64.decode(&k).unwrap()));
    }
    let webhook_key = SECRET.strip_prefix("whsec_").unwrap();
    let mut forbidden: Vec<(String, String)> = vec![
        ("patient e-mail".into(), email.into()),
        ("patient e-mail as typed".into(), email_typed.into()),
        ("patient phone".into(), phone.into()),
        ("patient phone, national digits".into(), phone[3..].into()),
        ("patient phone as typed".into(), phone_typed.into()),
        ("referral national id".into(), referral_nid.as_str().into()),
        ("referral phone".into(), referral_phone.into()),
        ("referral e-mail".into(), referral_email.into()),
        ("Clerk secret key".into(), clerk.secret_key.clone()),
        ("webhook signing secret".into(), SECRET.into()),
        ("webhook signing key".into(), webhook_key.into()),
        ("webhook signing key, hex".into(), hex::encode(b64.decode(webhook_key).unwrap())),
        ("API token".into(), token.expose().clone()),
        ("API token (other)".into(), token2.expose().clone()),
        // Staff logins were created above; their password verifiers stay out of the logs too.
        ("a staff password verifier".into(), "SCRAM-SHA-256$".into()),
    ];
    for (i, k) in key_material.into_iter().enumerate() {
        forbidden.push((format!("data key material #{i}"), k));
    }
    let leaks: Vec<&str> = forbidden
        .iter()
        .filter(|(_, value)| logs.to_lowercase().contains(&value.to_lowercase()))
        .map(|(what, _)| what.as_str())
        .collect();
    assert!(leaks.is_empty(), "found in the logs: {leaks:?}");
}
