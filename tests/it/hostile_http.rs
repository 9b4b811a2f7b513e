//! Hostile input against the real HTTP service on 127.0.0.1: oversized bodies (with and without
//! a Content-Length), wrong or missing content types, invalid UTF-8, deeply nested JSON, JSON
//! that is not an object, unknown fields, SQL-looking text, empty bodies, wrong methods. Every
//! such request gets a 4xx in the API's error shape (`docs/errors.md`), and none writes a row anywhere.

use chrono::Utc;
use digimed_core::onboarding;
use digimed_core::patients::EntryPoint;
use digimed_core::session::AppRole;
use digimed_core::{Acting, ClinicTx};
use digimed_crypto::Secret;
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::http::{chunked_request, error_code, footprint, raw_http, request, staff_token, webhook_headers, RawAnswer};
use digimed_tests::service::{self, standin_accounts, RunningService};
use digimed_tests::TestDb;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::onboarding::{input, seed_rules};
use crate::referrals::{body as referral_body, nid, partner, SECRET};

const ONBOARD: &str = "/v1/patients/onboard";
const CREATE: &str = "/v1/patients";
const MATCH: &str = "/v1/patients/match";
const PRIDOK: &str = "/v1/webhooks/pridok";

struct World {
    db: TestDb,
    _clerk: ClerkStandin,
    svc: RunningService,
    org1: i32,
    support: Secret<String>,
    /// A person who is a patient of the other clinic only (so linking them to org1 is valid).
    elsewhere: i32,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let org1 = db.clinic("Hostile One").await;
    let org2 = db.clinic("Hostile Two").await;
    seed_rules(&db, &[org1, org2]).await;
    partner(&db, org1, true).await;
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    let done = digimed_tests::own(&db.owner, &Acting::Direct, async |tx| {
        onboarding::onboard(
            tx,
            &db.vault,
            &accounts,
            &input("Else Where", "else.where@example.com", "91234560", org2),
            EntryPoint::WalkIn,
            "47",
        )
        .await
    })
    .await
    .unwrap();
    let svc = service::start(&db, accounts).await;
    let (_, support) = staff_token(&db, AppRole::CustomerSupport, org1, "hostile-support").await;
    World { db, _clerk: clerk, svc, org1, support, elsewhere: done.patient_person_id }
}

/// What a refused request must look like: a 4xx, JSON, the API's shape, this code.
fn assert_refused(label: &str, a: &RawAnswer, status: u16, code: &str) {
    let v = a.json();
    assert_eq!(a.status, status, "{label}: {v} {:?}", String::from_utf8_lossy(&a.body));
    assert!(
        a.header("content-type").is_some_and(|ct| ct.starts_with("application/json")),
        "{label}: content type {:?}",
        a.header("content-type")
    );
    assert_eq!(error_code(&v), code, "{label}: {v}");
}

/// JSON nested `depth` levels deep, as the value of `field` (well under the body limit).
fn nested(field: &str, depth: usize, open: &str, close: &str) -> Vec<u8> {
    format!("{{\"{field}\": {}1{}}}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

/// A body of about 300 KiB that would otherwise be a valid JSON object.
fn oversized(field: &str) -> Vec<u8> {
    format!("{{\"{field}\": \"{}\"}}", "x".repeat(300 * 1024)).into_bytes()
}

/// One hostile request class: (label, content type, body, expected status, expected code).
type Hostile = (String, Option<&'static str>, Vec<u8>, u16, &'static str);

/// The request classes every endpoint is tried with. `valid` is a valid body for the endpoint,
/// `text_field` a string field of it.
fn hostile_bodies(valid: &Value, text_field: &str) -> Vec<Hostile> {
    let valid_bytes = valid.to_string().into_bytes();
    let json_ct = Some("application/json");
    let with = |field: &str, value: Value| {
        let mut b = valid.clone();
        b[field] = value;
        b.to_string().into_bytes()
    };
    let mut invalid_utf8 = format!("{{\"{text_field}\": \"").into_bytes();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(b"\"}");
    vec![
        ("oversized body".into(), json_ct, oversized(text_field), 413, "payload_too_large"),
        ("text/plain content type".into(), Some("text/plain"), valid_bytes.clone(), 400, "invalid_json"),
        ("form content type".into(), Some("application/x-www-form-urlencoded"), b"name=x&email=y".to_vec(), 400, "invalid_json"),
        ("no content type".into(), None, valid_bytes.clone(), 400, "invalid_json"),
        ("invalid UTF-8".into(), json_ct, invalid_utf8, 400, "invalid_json"),
        ("lone surrogate escape".into(), json_ct, format!("{{\"{text_field}\": \"\\ud800\"}}").into_bytes(), 400, "invalid_json"),
        ("deeply nested arrays".into(), json_ct, nested(text_field, 20_000, "[", "]"), 400, "invalid_json"),
        ("deeply nested objects".into(), json_ct, nested(text_field, 5_000, "{\"a\":", "}"), 400, "invalid_json"),
        ("empty body".into(), json_ct, Vec::new(), 400, "invalid_json"),
        ("truncated JSON".into(), json_ct, valid_bytes[..valid_bytes.len() / 2].to_vec(), 400, "invalid_json"),
        ("JSON null".into(), json_ct, b"null".to_vec(), 400, "invalid_json"),
        ("JSON array".into(), json_ct, format!("[{valid}]").into_bytes(), 400, "invalid_json"),
        ("JSON string".into(), json_ct, b"\"' OR 1=1 --\"".to_vec(), 400, "invalid_json"),
        ("number out of range".into(), json_ct, format!("{{\"{text_field}\": 1e400}}").into_bytes(), 400, "invalid_json"),
        ("unknown field".into(), json_ct, with("is_admin", json!(true)), 400, "invalid_input"),
        (
            "unknown field with a hostile name".into(),
            json_ct,
            with("'; DROP TABLE patients; --\u{0}", json!(1)),
            400,
            "invalid_input",
        ),
        ("object where a string belongs".into(), json_ct, with(text_field, json!({"$ne": null})), 400, "invalid_input"),
    ]
}

async fn send(w: &World, path: &str, content_type: Option<&str>, body: &[u8]) -> RawAnswer {
    let auth = format!("Bearer {}", w.support.expose());
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    raw_http(&w.svc.base, &request("POST", path, &headers, body)).await
}

#[tokio::test]
async fn the_patients_api_refuses_hostile_bodies_and_writes_nothing() {
    let w = world().await;
    let endpoints: Vec<(&str, Value, &str, u16)> = vec![
        (
            ONBOARD,
            json!({"name": "Hostile Tester", "email": "hostile@example.com", "phone": "91234567", "organization_id": w.org1}),
            "name",
            201,
        ),
        (CREATE, json!({"patient_person_id": w.elsewhere, "organization_id": w.org1}), "patient_person_id", 201),
        (MATCH, json!({"email": "else.where@example.com"}), "email", 200),
    ];
    // SQL-looking text, each in a field that must refuse it.
    let sql = "x'); DROP TABLE patients; --";
    let mut specific: Vec<(&str, Value, &str)> = vec![
        (
            ONBOARD,
            json!({"name": "A B", "email": format!("{sql}@example.com"), "phone": "91234567", "organization_id": w.org1}),
            "invalid_email_format",
        ),
        (
            ONBOARD,
            json!({"name": "A B", "email": "ab@example.com", "phone": "1; DELETE FROM users", "organization_id": w.org1}),
            "invalid_phone_format",
        ),
        (
            ONBOARD,
            json!({"name": "A B", "email": "ab@example.com", "phone": "91234567", "organization_id": "1 OR 1=1"}),
            "invalid_input",
        ),
        (
            ONBOARD,
            json!({"name": "A B", "email": "ab@example.com", "phone": "91234567", "organization_id": 99_999_999_999i64}),
            "invalid_input",
        ),
        (
            ONBOARD,
            json!({"name": "A\u{0}B", "email": "ab@example.com", "phone": "91234567", "organization_id": w.org1}),
            "invalid_name",
        ),
        (
            ONBOARD,
            json!({"name": "x".repeat(50_000), "email": "ab@example.com", "phone": "91234567", "organization_id": w.org1}),
            "name_too_long",
        ),
        (CREATE, json!({"patient_person_id": "1; DELETE FROM patients"}), "invalid_input"),
        (CREATE, json!({"patient_person_id": -1}), "invalid_input"),
        (CREATE, json!({"patient_person_id": 1.5}), "invalid_input"),
        (MATCH, json!({"national_id": "' OR '1'='1", "email": sql}), "invalid_input"),
        (MATCH, json!({"date_of_birth": "2020-01-01'; --", "name": "A B"}), "invalid_input"),
    ];
    let before = footprint(&w.db).await;
    for (path, valid, text_field, _) in &endpoints {
        for (label, ct, body, status, code) in hostile_bodies(valid, text_field) {
            let a = send(&w, path, ct, &body).await;
            assert_refused(&format!("{path}: {label}"), &a, status, code);
            if label.contains("hostile name") {
                assert!(!String::from_utf8_lossy(&a.body).contains("DROP TABLE"), "the message does not repeat what was sent");
            }
        }
        // The same oversized body, streamed without a Content-Length.
        let auth = format!("Bearer {}", w.support.expose());
        let req = chunked_request(
            "POST",
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            &oversized(text_field),
            16 * 1024,
        );
        assert_refused(&format!("{path}: oversized chunked body"), &raw_http(&w.svc.base, &req).await, 413, "payload_too_large");
    }
    for (path, body, code) in specific.drain(..) {
        let a = send(&w, path, Some("application/json"), body.to_string().as_bytes()).await;
        assert_refused(&format!("{path}: {body}"), &a, 400, code);
    }
    assert_eq!(footprint(&w.db).await, before, "no refused request wrote anything");

    // The service is still up, and the valid bodies used above do go through.
    for (path, valid, _, status) in &endpoints {
        let a = send(&w, path, Some("application/json; charset=utf-8"), valid.to_string().as_bytes()).await;
        assert_eq!(a.status, *status, "{path}: {}", a.json());
    }
}

#[tokio::test]
async fn sql_looking_text_where_text_belongs_is_kept_as_text() {
    let w = world().await;
    let name = "Robert'); DROP TABLE patients; -- O'Brien";
    let body = json!({"name": name, "email": "bobby@example.com", "phone": "+47 912 34 000", "organization_id": w.org1});
    let a = send(&w, ONBOARD, Some("application/json"), body.to_string().as_bytes()).await;
    assert_eq!(a.status, 201, "{}", a.json());
    assert_eq!(a.json()["data"]["person"]["name"], name);
    let stored: String =
        sqlx::query_scalar("SELECT name FROM patient_persons WHERE name LIKE 'Robert%'").fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(stored, name);
    let patients: i64 = sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(patients, 2, "the table is there, with both patients");
    // A search with the same text is a search for that text.
    let a = send(&w, MATCH, Some("application/json"), json!({"email": "bobby@example.com", "name": name}).to_string().as_bytes())
        .await;
    assert_eq!(a.status, 200, "{}", a.json());
    assert_eq!(a.json()["data"]["candidates"].as_array().map(Vec::len), Some(1));
}

/// A correctly signed webhook request with this body and content type.
async fn signed(w: &World, path: &str, content_type: Option<&str>, body: &[u8]) -> RawAnswer {
    let hdrs = webhook_headers(SECRET, body, Utc::now().timestamp());
    let mut headers: Vec<(&str, &str)> = hdrs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    raw_http(&w.svc.base, &request("POST", path, &headers, body)).await
}

#[tokio::test]
async fn the_pridok_webhook_refuses_hostile_bodies_and_writes_nothing() {
    let w = world().await;
    let valid = referral_body(nid(40).as_str(), Uuid::new_v4());
    let before = footprint(&w.db).await;
    for (label, ct, body, status, code) in hostile_bodies(&valid, "Firstname") {
        // Unknown fields are kept with a referral's stored payload (the partner's format grows);
        // they are tried below together with invalid content instead.
        if label.starts_with("unknown field") {
            continue;
        }
        // A body a field of which has the wrong type names that field: 422, as for any invalid
        // referral content.
        let status = if label.starts_with("object where") { 422 } else { status };
        let a = signed(&w, PRIDOK, ct, &body).await;
        assert_refused(&format!("webhook: {label}"), &a, status, code);
    }
    let hdrs = webhook_headers(SECRET, &oversized("Firstname"), Utc::now().timestamp());
    let mut headers: Vec<(&str, &str)> = hdrs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    headers.push(("Content-Type", "application/json"));
    let req = chunked_request("POST", PRIDOK, &headers, &oversized("Firstname"), 16 * 1024);
    assert_refused("webhook: oversized chunked body", &raw_http(&w.svc.base, &req).await, 413, "payload_too_large");

    // Content the parser refuses, naming the field: 422.
    let sql = "'; DROP TABLE referrals; --";
    let with = |field: &str, value: Value| {
        let mut b = valid.clone();
        b[field] = value;
        b
    };
    let mut unknown_but_no_pid = with("Surplus", json!({"nested": [sql]}));
    unknown_but_no_pid.as_object_mut().unwrap().remove("PID");
    for (body, code) in [
        (json!({"Unknown": 1, "Other": [1, 2]}), "invalid_input"),
        (with("PID", json!(sql)), "invalid_national_id"),
        (with("PID", json!(format!("{}' OR 1=1", nid(41).as_str()))), "invalid_national_id"),
        (with("JournalGuid", json!(sql)), "invalid_input"),
        (with("PhoneNumber", json!(sql)), "invalid_phone_format"),
        (with("MessageTimestamp", json!(sql)), "invalid_input"),
        (with("Email", json!(format!("{sql}@example.com"))), "invalid_email_format"),
        (with("Firstname", json!("Li\u{0}ne")), "invalid_name"),
        (with("Lastname", json!("x".repeat(300))), "name_too_long"),
        (with("FormatId", json!({"$gt": ""})), "invalid_input"),
        (unknown_but_no_pid, "national_id_required"),
    ] {
        let a = signed(&w, PRIDOK, Some("application/json"), body.to_string().as_bytes()).await;
        assert_refused(&format!("webhook: {body}"), &a, 422, code);
        assert!(!String::from_utf8_lossy(&a.body).contains(nid(40).as_str()), "errors never repeat the national id");
    }
    // A query string that does not parse (the partner named twice).
    let a = signed(
        &w,
        &format!("{PRIDOK}?partner=pridok-test&partner=other"),
        Some("application/json"),
        valid.to_string().as_bytes(),
    )
    .await;
    assert_refused("webhook: query named twice", &a, 400, "invalid_input");
    assert_eq!(footprint(&w.db).await, before, "no refused referral wrote anything");

    // The same signing gets a valid referral through, unknown fields and all.
    let extra = with("Surplus", json!({"nested": [sql]}));
    let a = signed(&w, PRIDOK, Some("application/json"), extra.to_string().as_bytes()).await;
    assert_eq!(a.status, 201, "{}", a.json());
    let referral = a.json()["referral_id"].as_i64().unwrap() as i32;
    let stored = ClinicTx::run(&w.db.owner, async |tx| digimed_core::referrals::raw_payload(tx, &w.db.vault, referral).await)
        .await
        .unwrap();
    assert_eq!(stored["Surplus"], json!({"nested": [sql]}));
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_in_the_error_shape() {
    let w = world().await;
    let before = footprint(&w.db).await;
    let auth = format!("Bearer {}", w.support.expose());
    for path in [ONBOARD, CREATE, MATCH, PRIDOK] {
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let a = raw_http(
                &w.svc.base,
                &request(method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], b"{}"),
            )
            .await;
            assert_refused(&format!("{method} {path}"), &a, 405, "method_not_allowed");
            assert!(a.header("allow").is_some_and(|v| v.contains("POST")), "{method} {path}: {:?}", a.headers);
        }
    }
    let a = raw_http(&w.svc.base, &request("POST", "/healthz", &[], b"")).await;
    assert_refused("POST /healthz", &a, 405, "method_not_allowed");
    for path in ["/v1/patients/onboard/../../etc/passwd", "/v1/patient", "/v1/webhooks/pridok/x", "/%00"] {
        let a = raw_http(&w.svc.base, &request("POST", path, &[("Authorization", &auth)], b"{}")).await;
        assert_refused(&format!("POST {path}"), &a, 404, "not_found");
    }
    assert_eq!(footprint(&w.db).await, before);
    let ok = raw_http(&w.svc.base, &request("GET", "/healthz", &[], b"")).await;
    assert_eq!((ok.status, ok.body.as_slice()), (200, b"ok".as_slice()));
}
