//! The service's OpenAPI document (`docs/openapi.json`): the committed copy is the one the code
//! generates, it is valid OpenAPI 3.1 (checked by openapi-spec-validator), the running service
//! serves it, and requests generated from it (by schemathesis, property-based, with a fixed seed)
//! get no 5xx from any route, as a staff tool and as the patient app.

use std::path::{Path, PathBuf};
use std::process::Command;

use digimed_core::accounts::Accounts;
use digimed_core::cold_calls::CallRailKey;
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::SigningKey as WebhookKey;
use digimed_core::ClinicTx;
use digimed_crypto::Secret;
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::http::staff_token;
use digimed_tests::service::{self, standin_accounts};
use digimed_tests::session_keys::{SigningKey, APP_ORIGIN, ISSUER};
use digimed_tests::TestDb;

use crate::onboarding::{input, run, seed_rules};

fn committed_copy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

/// Where openapi-spec-validator and schemathesis are (`scripts/deps.sh` installs them).
fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("DIGIMED_OPENAPI_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
        cache.join("digimed-tools/openapi-venv/bin")
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run scripts/deps.sh (make test does)", path.display());
    path
}

/// A folder of one's own under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("digimed-openapi-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let generated = digimed_service::openapi_json_text();
    if std::env::var_os("DIGIMED_WRITE_OPENAPI").is_some() {
        std::fs::write(committed_copy(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_copy()).unwrap_or_default();
    assert!(committed == generated, "docs/openapi.json is stale: run `make openapi` and commit the result");
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route the service has is in it (the list is the service's, in docs/http-api.md).
    for path in [
        "/healthz",
        "/openapi.json",
        "/v1/patients/onboard",
        "/v1/patients",
        "/v1/patients/match",
        "/v1/patients/{id}/forms",
        "/v1/patients/{id}/consent-timeline",
        "/v1/forms/{id}",
        "/v1/forms/{id}/sign",
        "/v1/forms/{id}/decline",
        "/v1/consents/{id}/withdraw",
        "/v1/me/forms",
        "/v1/me/forms/{id}",
        "/v1/me/forms/{id}/sign",
        "/v1/me/forms/{id}/decline",
        "/v1/me/consents/{id}/withdraw",
        "/v1/me/consultations",
        "/v1/booking-requests",
        "/v1/webhooks/pridok",
        "/v1/webhooks/clerk",
        "/v1/webhooks/callrail",
        "/v1/webhooks/telnyx",
        "/v1/referrals/therapist",
        "/review/{token}",
        "/preferences/{token}",
        "/forms/{token}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
    for scheme in [
        "staff_token",
        "patient_session",
        "partner_signature",
        "clerk_webhook_signature",
        "callrail_signature",
        "telnyx_signature",
    ] {
        assert!(doc["components"]["securitySchemes"][scheme].is_object(), "{scheme}");
    }
    // Each error answer names the codes it may carry.
    let conflict = doc["paths"]["/v1/booking-requests"]["post"]["responses"]["409"]["description"].as_str().unwrap();
    assert!(conflict.contains("`forms_unsigned`"), "{conflict}");
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let out = Command::new(tool("openapi-spec-validator")).arg(committed_copy()).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openapi-spec-validator refused docs/openapi.json:\n{said}");
    assert!(said.contains("OK"), "{said}");
    // And the validator does refuse a broken document (a path whose parameter is not declared).
    let mut broken: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(committed_copy()).unwrap()).unwrap();
    broken["paths"]["/v1/forms/{id}"]["get"]["parameters"] = serde_json::json!([]);
    let dir = Scratch::new();
    let file = dir.0.join("broken.json");
    std::fs::write(&file, broken.to_string()).unwrap();
    let out = Command::new(tool("openapi-spec-validator")).arg(&file).output().unwrap();
    assert!(!out.status.success(), "a path parameter that is not declared is refused");
}

#[tokio::test]
async fn the_running_service_serves_its_document() {
    let db = TestDb::new().await;
    let svc = service::start(&db, Accounts::Local).await;
    let answer = reqwest::get(format!("{}/openapi.json", svc.base)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(answer.text().await.unwrap(), digimed_service::openapi_json_text());
}

/// Runs schemathesis against the service at `base`, with `header`, on the operations whose path
/// matches `paths`; panics with its report when a request got a 5xx (or the run failed).
fn schemathesis(base: &str, header: &str, paths: &str) {
    let work = Scratch::new();
    let out = Command::new(tool("schemathesis"))
        .current_dir(&work.0)
        .env("SCHEMATHESIS_HOOKS", "")
        .args(["run", committed_copy().to_str().unwrap(), "--url", base, "--header", header])
        .args(["--include-path-regex", paths])
        .args(["--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "30", "--seed", "20261207", "--generation-deterministic"])
        .args(["--workers", "1", "--no-color", "--request-timeout", "30"])
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found failures on {paths}:\n{said}");
    // The run drove operations and went through the fuzzing phase.
    let selected: u32 =
        said.lines().find_map(|l| l.trim().strip_prefix("Operations:")?.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    assert!(selected > 0, "schemathesis selected operations on {paths}:\n{said}");
    assert!(said.contains("Fuzzing"), "schemathesis ran its fuzzing phase on {paths}:\n{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_generated_from_the_document_get_no_server_error() {
    let db = TestDb::new().await;
    let org = db.clinic("OpenAPI Clinic").await;
    seed_rules(&db, &[org]).await;
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    // A patient of the clinic, signed in to the patient app, and the app's partner for booking requests.
    let support = db.staff(AppRole::CustomerSupport, org, "oa-support").await;
    let kari = run(&support.pool, &db, &accounts, &input("Kari Nordmann", "kari.oa@example.com", "91234567", org)).await.unwrap();
    let clerk_user_id: String = sqlx::query_scalar("SELECT clerk_user_id FROM users WHERE id = $1")
        .bind(kari.user_id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let app_partner = digimed_core::referrals::NewPartner {
        name: "patient-app",
        clinic_id: org,
        is_test_partner: true,
        deadline_working_days: 3,
        deal_id: None,
    };
    ClinicTx::run(&db.owner, async |tx| {
        digimed_core::referrals::add_partner(tx, &db.vault, &app_partner, digimed_tests::fixtures::SECRET).await
    })
    .await
    .unwrap();
    let key = SigningKey::generate("ins_openapi");
    clerk.set_jwks(vec![key.jwk.clone()]);
    let sessions = digimed_clerk::SessionVerifier::new(
        digimed_clerk::SessionKeys::Jwks { api_url: clerk.url.clone(), secret_key: Secret::new(clerk.secret_key.clone()) },
        digimed_clerk::SessionPolicy::new(ISSUER, vec![APP_ORIGIN.to_string()]),
    )
    .unwrap();
    // Every route configured, so that none answers only `configuration`.
    // (The fax key is the public key of RFC 8032's first Ed25519 test vector.)
    let fax = digimed_service::fax_intake(Some("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="), Some(&org.to_string()))
        .unwrap()
        .unwrap();
    let svc = service::start_all(
        &db,
        accounts,
        Some(sessions),
        Some("patient-app".to_string()),
        Some(WebhookKey::from_secret("whsec_b3BlbmFwaS1jbGVyay1zZWNyZXQtZm9yLXRlc3Rz").unwrap()),
        Some(digimed_service::CallRail { key: CallRailKey::new("7d1e0a9b8c2f4e6d").unwrap(), organization_id: org }),
        Some(fax),
    )
    .await;
    let (_, staff) = staff_token(&db, AppRole::CustomerSupport, org, "oa-api").await;
    let patient = key.session_token(&clerk_user_id);
    let base = svc.base.clone();
    let staff_header = format!("Authorization: Bearer {}", staff.expose());
    let patient_header = format!("Authorization: Bearer {patient}");
    tokio::task::spawn_blocking(move || {
        // As a staff tool, on every route but the patient app's own.
        schemathesis(
            &base,
            &staff_header,
            "^/(healthz|openapi\\.json|v1/(patients|forms|consents|webhooks|referrals)|review|preferences|forms)",
        );
        // As the signed-in patient, on the patient app's routes.
        schemathesis(&base, &patient_header, "^/v1/(me|booking-requests)");
    })
    .await
    .unwrap();
}
