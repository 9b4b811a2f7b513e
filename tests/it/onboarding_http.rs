//! The onboarding API through the real HTTP service on 127.0.0.1: bearer tokens, the contract's
//! JSON bodies and error codes, and the HTTP statuses.

use digimed_core::api_tokens;
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_crypto::Secret;
use digimed_domain::Email;
use digimed_tests::clerk_standin::{ClerkStandin, Fault, Op};
use digimed_tests::service::{self, standin_accounts, RunningService};
use digimed_tests::TestDb;
use serde_json::json;

use crate::onboarding::{count, seed_rules};

struct Api {
    db: TestDb,
    clerk: ClerkStandin,
    svc: RunningService,
    http: reqwest::Client,
    org1: i32,
    org2: i32,
}

async fn api() -> Api {
    let db = TestDb::new().await;
    let org1 = db.clinic("Http One").await;
    let org2 = db.clinic("Http Two").await;
    seed_rules(&db, &[org1, org2]).await;
    let clerk = ClerkStandin::start().await;
    let svc = service::start(&db, standin_accounts(&clerk)).await;
    Api { db, clerk, svc, http: reqwest::Client::new(), org1, org2 }
}

impl Api {
    /// A staff member of `org` with an API token.
    async fn token(&self, role: AppRole, org: i32, who: &str) -> Secret<String> {
        let s = self.db.staff(role, org, who).await;
        let email = Email::parse(&s.login).unwrap();
        ClinicTx::run(&self.db.owner, async |tx| api_tokens::create(tx, &email, Some(30)).await).await.unwrap().token
    }

    async fn post(&self, path: &str, token: Option<&Secret<String>>, body: serde_json::Value) -> (u16, serde_json::Value) {
        let mut req = self.http.post(format!("{}{path}", self.svc.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }
}

fn body(name: &str, email: &str, phone: &str, org: i32) -> serde_json::Value {
    json!({"name": name, "email": email, "phone": phone, "organization_id": org})
}

fn error_code(v: &serde_json::Value) -> &str {
    let e = v["error"].as_object().expect("an error body");
    assert!(e.keys().all(|k| ["code", "message", "details"].contains(&k.as_str())), "{v}");
    assert!(!e["message"].as_str().unwrap().is_empty());
    e["code"].as_str().unwrap()
}

#[tokio::test]
async fn onboarding_api_answers_with_the_seed_shapes_and_statuses() {
    let a = api().await;
    let support = a.token(AppRole::CustomerSupport, a.org1, "http-support").await;
    let admin2 = a.token(AppRole::Admin, a.org2, "http-admin2").await;

    let (status, v) =
        a.post("/v1/patients/onboard", Some(&support), body("John Doe", "john@example.com", "+31612345678", a.org1)).await;
    assert_eq!(status, 201, "{v}");
    let data = &v["data"];
    assert_eq!(data["user_created"], true);
    assert_eq!(data["organization_added"], true);
    assert_eq!(data["person"]["name"], "John Doe");
    assert_eq!(data["person"]["allergies"], json!([]));
    assert_eq!(data["required_forms"].as_array().unwrap().len(), 2);
    let patient_id = data["patient"]["id"].clone();

    // Actor is the staff member; the audit records on whose behalf the service acted.
    let (actor, acting_for): (String, Option<String>) =
        sqlx::query_as("SELECT actor, acting_for FROM audit_log WHERE entity_type = 'patient'")
            .fetch_one(&a.db.owner)
            .await
            .unwrap();
    assert!(actor.starts_with("http-support@"), "{actor}");
    assert!(acting_for.unwrap().starts_with("api-token:"));
    let entry: String = sqlx::query_scalar("SELECT entry_point FROM patients").fetch_one(&a.db.owner).await.unwrap();
    assert_eq!(entry, "onboarding_api");

    // Existing person, new org: the second seed example.
    let (status, v) =
        a.post("/v1/patients/onboard", Some(&admin2), body("John Doe", "john@example.com", "+31612345678", a.org2)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["user_created"], false);
    assert_eq!(v["data"]["person"].as_object().unwrap().len(), 3);
    assert_eq!(v["data"]["required_forms"][0]["title"], "Profile Sharing Consent");

    // 409 with the contract's details.
    let (status, v) =
        a.post("/v1/patients/onboard", Some(&support), body("John Doe", "john@example.com", "+31612345678", a.org1)).await;
    assert_eq!(status, 409);
    assert_eq!(error_code(&v), "patient_already_exists");
    assert_eq!(v["error"]["message"], "Patient with this email already exists in this organization");
    assert_eq!(
        v["error"]["details"],
        json!({"email": "john@example.com", "organization_id": a.org1, "existing_patient_id": patient_id})
    );

    // 400s, one per seed code (plus the phone format and a missing organization).
    for (b, code) in [
        (json!({"email": "x@example.com", "phone": "91234567", "organization_id": a.org1}), "name_required"),
        (json!({"name": "X Y", "phone": "91234567", "organization_id": a.org1}), "email_required"),
        (json!({"name": "X Y", "email": "x@example.com", "organization_id": a.org1}), "phone_required"),
        (body("X Y", "x@", "91234567", a.org1), "invalid_email_format"),
        (body("X Y", "x@example.com", "555", a.org1), "invalid_phone_format"),
        (json!({"name": "X Y", "email": "x@example.com", "phone": "91234567"}), "organization_id_required"),
        (json!({"name": 5, "email": "x@example.com", "phone": "91234567", "organization_id": a.org1}), "invalid_input"),
    ] {
        let (status, v) = a.post("/v1/patients/onboard", Some(&support), b).await;
        assert_eq!((status, error_code(&v)), (400, code));
    }
    assert_eq!(count(&a.db, "users").await, 1, "nothing written by the refused requests");
}

#[tokio::test]
async fn who_may_call_and_how_bad_requests_are_answered() {
    let a = api().await;
    let support = a.token(AppRole::CustomerSupport, a.org1, "who-support").await;
    let secretary = a.token(AppRole::Secretary, a.org1, "who-secretary").await;
    let doctor = a.token(AppRole::Doctor, a.org1, "who-doctor").await;
    let b = body("A B", "a@example.com", "91234567", a.org1);

    let (status, v) = a.post("/v1/patients/onboard", None, b.clone()).await;
    assert_eq!((status, error_code(&v)), (401, "unauthorized"));
    let (status, v) = a.post("/v1/patients/onboard", Some(&Secret::new("dgm_not-a-token".into())), b.clone()).await;
    assert_eq!((status, error_code(&v)), (401, "unauthorized"));
    for t in [&secretary, &doctor] {
        let (status, v) = a.post("/v1/patients/onboard", Some(t), b.clone()).await;
        assert_eq!((status, error_code(&v)), (403, "forbidden"));
    }
    // Another clinic's organization id.
    let (status, v) = a.post("/v1/patients/onboard", Some(&support), body("A B", "a@example.com", "91234567", a.org2)).await;
    assert_eq!((status, error_code(&v)), (403, "forbidden"));

    // The service's own login holds no clinic role and none of the staff's privileges: it can
    // only act for a caller by becoming their login inside a transaction.
    let role: Option<String> = sqlx::query_scalar("SELECT current_app_role()").fetch_one(&a.svc.pool).await.unwrap();
    assert_eq!(role, None);
    let e = sqlx::query("SELECT count(*) FROM audit_log").fetch_one(&a.svc.pool).await.unwrap_err();
    assert!(digimed_tests::is_denied(&e), "{e}");
    let mut tx = a.svc.pool.begin().await.unwrap();
    let e = sqlx::query("SET LOCAL ROLE admin").execute(&mut *tx).await.unwrap_err();
    assert!(digimed_tests::is_denied(&e), "the service cannot become a clinic role directly: {e}");
    drop(tx);

    // Bad JSON, wrong content type, too large, not an object, unknown route.
    let url = format!("{}/v1/patients/onboard", a.svc.base);
    let raw = |body: String, ct: &'static str| {
        a.http.post(url.clone()).bearer_auth(support.expose()).header("content-type", ct).body(body).send()
    };
    for (resp, want) in [
        (raw("{\"name\": ".into(), "application/json").await.unwrap(), (400, "invalid_json")),
        (raw("name=x".into(), "application/x-www-form-urlencoded").await.unwrap(), (400, "invalid_json")),
        (raw("[1, 2]".into(), "application/json").await.unwrap(), (400, "invalid_json")),
        (
            raw(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)), "application/json").await.unwrap(),
            (413, "payload_too_large"),
        ),
    ] {
        let status = resp.status().as_u16();
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!((status, error_code(&v)), want);
    }
    let resp = a.http.get(format!("{}/v1/nothing-here", a.svc.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // Clerk down: 502 clerk_api_error, nothing written.
    a.clerk.fail_always(Op::Any, Fault::ServerError);
    let (status, v) = a.post("/v1/patients/onboard", Some(&support), b.clone()).await;
    assert_eq!((status, error_code(&v)), (502, "clerk_api_error"));
    assert_eq!(count(&a.db, "users").await, 0);
    a.clerk.heal();

    // A revoked token no longer works.
    let (status, _) = a.post("/v1/patients/onboard", Some(&support), b.clone()).await;
    assert_eq!(status, 201);
    let token_id: i32 =
        sqlx::query_scalar("SELECT t.id FROM api_tokens t JOIN staff s ON s.id = t.staff_id WHERE s.email LIKE 'who-support@%'")
            .fetch_one(&a.db.owner)
            .await
            .unwrap();
    ClinicTx::run(&a.db.owner, async |tx| api_tokens::revoke(tx, token_id).await).await.unwrap();
    let (status, _) = a.post("/v1/patients/onboard", Some(&support), body("C D", "c@example.com", "91234560", a.org1)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn regular_creation_and_match_over_http() {
    let a = api().await;
    let s1 = a.token(AppRole::CustomerSupport, a.org1, "reg-s1").await;
    let s2 = a.token(AppRole::CustomerSupport, a.org2, "reg-s2").await;
    let (status, v) = a.post("/v1/patients/onboard", Some(&s1), body("Link Me", "link@example.com", "91234567", a.org1)).await;
    assert_eq!(status, 201);
    let person = v["data"]["patient_person_id"].as_i64().unwrap();

    let (status, v) = a.post("/v1/patients/match", Some(&s2), json!({"phone": "+47 912 34 567"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["candidates"][0]["patient_person_id"], person);
    assert_eq!(v["data"]["candidates"][0]["reasons"], json!(["phone"]));

    let (status, v) = a.post("/v1/patients", Some(&s2), json!({"patient_person_id": person})).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["patient"]["organization_id"], a.org2);
    assert_eq!(v["data"]["person"], json!({"id": person, "user_id": v["data"]["person"]["user_id"], "name": "Link Me"}));
    let (status, v) = a.post("/v1/patients", Some(&s2), json!({"patient_person_id": person})).await;
    assert_eq!((status, error_code(&v)), (409, "patient_already_exists"));
    let (status, v) = a.post("/v1/patients", Some(&s2), json!({})).await;
    assert_eq!((status, error_code(&v)), (400, "patient_person_id_required"));
    let (status, v) = a.post("/v1/patients", Some(&s2), json!({"patient_person_id": 987654})).await;
    assert_eq!((status, error_code(&v)), (404, "not_found"));
}
