//! Who may call what over HTTP: every endpoint of `digimed serve` × every kind of caller, with
//! the expected status written out below as the policy a reader can check. Callers refused
//! (401/403) must also leave every table as it was.

use chrono::Utc;
use digimed_core::onboarding;
use digimed_core::patients::EntryPoint;
use digimed_core::session::AppRole;
use digimed_core::{Acting, ClinicTx};
use digimed_crypto::Secret;
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::http::{error_code, footprint, raw_http, request, staff_token, webhook_headers};
use digimed_tests::service::{self, standin_accounts, RunningService};
use digimed_tests::TestDb;
use serde_json::json;
use uuid::Uuid;

use crate::onboarding::{input, seed_rules};
use crate::referrals::{body as referral_body, nid, partner, SECRET};

/// Who is calling, for the endpoints that take a bearer API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    /// `Authorization: Basic …` instead of a bearer token.
    NotBearer,
    /// `Authorization: Bearer` followed by something that is not a token of ours.
    Malformed,
    /// A well-formed token that was never issued.
    Unknown,
    /// A token past its expiry.
    Expired,
    /// A revoked token.
    Revoked,
    /// A valid token of a staff member who has since been deactivated.
    Deactivated,
    Secretary,
    Doctor,
    CustomerSupport,
    Admin,
    /// An admin of another clinic, acting on this clinic's organization.
    AdminOfAnotherClinic,
}
use Caller::*;

/// The policy for bearer-token callers. Columns:
/// `POST /v1/patients/onboard`, `POST /v1/patients`, `POST /v1/patients/match`,
/// `POST /v1/webhooks/pridok` (a bearer token is no partner signature), `GET /healthz`,
/// `POST /v1/unknown`.
const TOKEN_POLICY: &[(Caller, [u16; 6])] = &[
    //                      onboard create match pridok healthz unknown
    (NoToken, [401, 401, 401, 401, 200, 404]),
    (NotBearer, [401, 401, 401, 401, 200, 404]),
    (Malformed, [401, 401, 401, 401, 200, 404]),
    (Unknown, [401, 401, 401, 401, 200, 404]),
    (Expired, [401, 401, 401, 401, 200, 404]),
    (Revoked, [401, 401, 401, 401, 200, 404]),
    (Deactivated, [401, 401, 401, 401, 200, 404]),
    (Secretary, [403, 403, 403, 401, 200, 404]),
    (Doctor, [403, 403, 403, 401, 200, 404]),
    (CustomerSupport, [201, 201, 200, 401, 200, 404]),
    (Admin, [201, 201, 200, 401, 200, 404]),
    (AdminOfAnotherClinic, [403, 403, 200, 401, 200, 404]),
];

/// How a partner's webhook is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    None,
    /// Only some of the three headers.
    Partial,
    WrongSecret,
    /// Signed correctly, six minutes ago (a minute past the tolerance, so a slow run cannot drift into it).
    StaleTimestamp,
    /// Signed correctly, six minutes ahead.
    FutureTimestamp,
    /// Signed correctly, then the body was changed.
    TamperedBody,
    /// Signed correctly, but `?partner=` names another partner.
    OtherPartnerNamed,
    Correct,
    /// The same referral again, correctly signed.
    CorrectReplay,
}

/// The policy for `POST /v1/webhooks/pridok`.
const WEBHOOK_POLICY: &[(Signature, u16)] = &[
    (Signature::None, 401),
    (Signature::Partial, 401),
    (Signature::WrongSecret, 401),
    (Signature::StaleTimestamp, 401),
    (Signature::FutureTimestamp, 401),
    (Signature::TamperedBody, 401),
    (Signature::OtherPartnerNamed, 401),
    (Signature::Correct, 201),
    (Signature::CorrectReplay, 200),
];

struct World {
    db: TestDb,
    clerk: ClerkStandin,
    svc: RunningService,
    org1: i32,
    org2: i32,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let org1 = db.clinic("Access One").await;
    let org2 = db.clinic("Access Two").await;
    seed_rules(&db, &[org1, org2]).await;
    partner(&db, org1, true).await;
    let clerk = ClerkStandin::start().await;
    let svc = service::start(&db, standin_accounts(&clerk)).await;
    World { db, clerk, svc, org1, org2 }
}

impl World {
    /// The `Authorization` header value for a caller (a new staff member and token per caller).
    async fn authorization(&self, caller: Caller) -> Option<String> {
        let bearer = |t: &Secret<String>| Some(format!("Bearer {}", t.expose()));
        let who = format!("{caller:?}").to_lowercase();
        match caller {
            NoToken => None,
            NotBearer => Some("Basic c3VwcG9ydDpwYXNzd29yZA==".into()),
            Malformed => Some("Bearer not a token; DROP TABLE api_tokens".into()),
            Unknown => Some(format!("Bearer dgm_{}", Uuid::new_v4().simple())),
            Expired | Revoked | Deactivated => {
                let (id, token) = staff_token(&self.db, AppRole::Admin, self.org1, &who).await;
                let sql = match caller {
                    Expired => "UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1",
                    Revoked => "UPDATE api_tokens SET revoked_at = now() WHERE id = $1",
                    _ => "UPDATE staff SET active = false WHERE id = (SELECT staff_id FROM api_tokens WHERE id = $1)",
                };
                sqlx::query(sql).bind(id).execute(&self.db.owner).await.unwrap();
                bearer(&token)
            }
            Secretary | Doctor | CustomerSupport | Admin => {
                let role = match caller {
                    Secretary => AppRole::Secretary,
                    Doctor => AppRole::Doctor,
                    CustomerSupport => AppRole::CustomerSupport,
                    _ => AppRole::Admin,
                };
                bearer(&staff_token(&self.db, role, self.org1, &who).await.1)
            }
            AdminOfAnotherClinic => bearer(&staff_token(&self.db, AppRole::Admin, self.org2, &who).await.1),
        }
    }

    /// A person who is a patient of org2 only, so that linking them to org1 is valid.
    async fn person_elsewhere(&self, n: usize) -> i32 {
        let accounts = standin_accounts(&self.clerk);
        let i = input("Else Where", &format!("else.{n}@example.com"), &format!("9{:07}", 1_000 + n), self.org2);
        digimed_tests::own(&self.db.owner, &Acting::Direct, async |tx| {
            onboarding::onboard(tx, &self.db.vault, &accounts, &i, EntryPoint::WalkIn, "47").await
        })
        .await
        .unwrap()
        .patient_person_id
    }

    async fn call(&self, method: &str, path: &str, auth: Option<&str>, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let body = if method == "GET" { Vec::new() } else { body.to_string().into_bytes() };
        let a = raw_http(&self.svc.base, &request(method, path, &headers, &body)).await;
        let v = a.json();
        (a.status, v)
    }
}

#[tokio::test]
async fn every_endpoint_by_every_bearer_caller() {
    let w = world().await;
    for (i, (caller, expected)) in TOKEN_POLICY.iter().enumerate() {
        let auth = w.authorization(*caller).await;
        let auth = auth.as_deref();
        let person = w.person_elsewhere(i).await;
        let referral = referral_body(nid(60 + i as u16).as_str(), Uuid::new_v4());
        let calls = [
            (
                "POST",
                "/v1/patients/onboard",
                json!({"name": "Access Case", "email": format!("case.{i}@example.com"), "phone": format!("4{:07}", 2_000 + i), "organization_id": w.org1}),
            ),
            ("POST", "/v1/patients", json!({"patient_person_id": person, "organization_id": w.org1})),
            ("POST", "/v1/patients/match", json!({"email": format!("else.{i}@example.com")})),
            ("POST", "/v1/webhooks/pridok", referral),
            ("GET", "/healthz", json!(null)),
            ("POST", "/v1/unknown", json!({})),
        ];
        for ((method, path, body), want) in calls.iter().zip(expected) {
            let before = footprint(&w.db).await;
            let (status, v) = w.call(method, path, auth, body).await;
            assert_eq!(status, *want, "{caller:?} {method} {path}: {v}");
            match status {
                401 | 403 | 404 => {
                    let code = error_code(&v);
                    let want_code = match status {
                        401 => "unauthorized",
                        403 => "forbidden",
                        _ => "not_found",
                    };
                    assert_eq!(code, want_code, "{caller:?} {method} {path}");
                    assert_eq!(footprint(&w.db).await, before, "{caller:?} {method} {path} was refused but wrote something");
                }
                201 => assert!(v["data"]["patient"]["id"].is_i64(), "{caller:?} {path}: {v}"),
                _ => {}
            }
        }
    }
    // What was allowed was done once per allowed caller: two onboardings, two links.
    let onboarded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM patients WHERE organization_id = $1 AND entry_point = 'onboarding_api'")
            .bind(w.org1)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let linked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM patients WHERE organization_id = $1 AND entry_point = 'existing_person_link'")
            .bind(w.org1)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let allowed = |col: usize| TOKEN_POLICY.iter().filter(|(_, s)| s[col] == 201).count() as i64;
    assert_eq!((onboarded, linked), (allowed(0), allowed(1)));
}

#[tokio::test]
async fn the_partner_webhook_by_every_kind_of_signature() {
    let w = world().await;
    let url = |q: &str| format!("/v1/webhooks/pridok{q}");
    let raw = referral_body(nid(80).as_str(), Uuid::new_v4()).to_string();
    let now = Utc::now().timestamp();
    for (sig, want) in WEBHOOK_POLICY {
        let (path, body, headers): (String, String, Vec<(&'static str, String)>) = match sig {
            Signature::None => (url(""), raw.clone(), vec![]),
            Signature::Partial => {
                let h = webhook_headers(SECRET, raw.as_bytes(), now);
                (url(""), raw.clone(), vec![h[1].clone(), h[2].clone()])
            }
            Signature::WrongSecret => {
                (url(""), raw.clone(), webhook_headers("not-the-partners-secret-0123456789", raw.as_bytes(), now).to_vec())
            }
            Signature::StaleTimestamp => (url(""), raw.clone(), webhook_headers(SECRET, raw.as_bytes(), now - 360).to_vec()),
            Signature::FutureTimestamp => (url(""), raw.clone(), webhook_headers(SECRET, raw.as_bytes(), now + 360).to_vec()),
            Signature::TamperedBody => {
                (url(""), raw.replace("Danser", "Danzer"), webhook_headers(SECRET, raw.as_bytes(), now).to_vec())
            }
            Signature::OtherPartnerNamed => {
                (url("?partner=someone-else"), raw.clone(), webhook_headers(SECRET, raw.as_bytes(), now).to_vec())
            }
            Signature::Correct | Signature::CorrectReplay => {
                (url(""), raw.clone(), webhook_headers(SECRET, raw.as_bytes(), now).to_vec())
            }
        };
        let mut hdrs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        hdrs.push(("Content-Type", "application/json"));
        let before = footprint(&w.db).await;
        let a = raw_http(&w.svc.base, &request("POST", &path, &hdrs, body.as_bytes())).await;
        let v = a.json();
        assert_eq!(a.status, *want, "{sig:?}: {v}");
        if a.status == 401 {
            assert_eq!(error_code(&v), "unauthorized", "{sig:?}");
            assert_eq!(footprint(&w.db).await, before, "{sig:?} was refused but wrote something");
        } else {
            assert!(v["referral_id"].is_i64(), "{sig:?}: {v}");
        }
    }
    let referrals: i64 = sqlx::query_scalar("SELECT count(*) FROM referrals").fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(referrals, 1);
}

/// The policy for the patient app's form endpoints, by bearer caller. Columns:
/// `GET /v1/patients/{id}/forms`, `GET /v1/patients/{id}/consent-timeline`, `GET /v1/forms/{id}`,
/// `POST /v1/forms/{id}/sign`, `POST /v1/forms/{id}/decline`, `POST /v1/consents/{id}/withdraw`.
/// The patient is one of this clinic's: its secretaries and doctors read the forms but sign,
/// decline and withdraw nothing; another clinic's admin does not see the patient at all.
#[rustfmt::skip]
const FORMS_POLICY: &[(Caller, [u16; 6])] = &[
    //                      list  timeline text  sign  decline withdraw
    (NoToken,               [401,  401,     401,  401,  401,    401]),
    (NotBearer,             [401,  401,     401,  401,  401,    401]),
    (Malformed,             [401,  401,     401,  401,  401,    401]),
    (Unknown,               [401,  401,     401,  401,  401,    401]),
    (Expired,               [401,  401,     401,  401,  401,    401]),
    (Revoked,               [401,  401,     401,  401,  401,    401]),
    (Deactivated,           [401,  401,     401,  401,  401,    401]),
    (Secretary,             [200,  200,     200,  403,  403,    403]),
    (Doctor,                [200,  200,     200,  403,  403,    403]),
    (CustomerSupport,       [200,  200,     200,  200,  200,    200]),
    (Admin,                 [200,  200,     200,  200,  200,    200]),
    (AdminOfAnotherClinic,  [404,  404,     404,  404,  404,    404]),
];

#[tokio::test]
async fn the_form_endpoints_by_every_bearer_caller() {
    use digimed_core::forms::{self, SignedBy};
    let w = world().await;
    let accounts = standin_accounts(&w.clerk);
    for (i, (caller, expected)) in FORMS_POLICY.iter().enumerate() {
        let auth = w.authorization(*caller).await;
        let auth = auth.as_deref();
        // Two patients of this clinic, each with the two forms the rules require; one of the
        // second patient's forms is signed, so that there is a consent to withdraw.
        let mut patients = Vec::new();
        for k in 0..2 {
            let n = 100 + 2 * i + k;
            let p = input("Form Case", &format!("form.case.{n}@example.com"), &format!("5{:07}", n), w.org1);
            let done = digimed_tests::own(&w.db.owner, &Acting::Direct, async |tx| {
                onboarding::onboard(tx, &w.db.vault, &accounts, &p, EntryPoint::WalkIn, "47").await
            })
            .await
            .unwrap();
            let listed = ClinicTx::run(&w.db.owner, async |tx| forms::list_for_patient(tx, done.patient.id).await).await.unwrap();
            assert_eq!(listed.len(), 2, "the rules require two forms");
            patients.push((done.patient.id, listed));
        }
        let (patient, forms_a) = &patients[0];
        let (_, forms_b) = &patients[1];
        let signed = ClinicTx::run(&w.db.owner, async |tx| {
            forms::sign(tx, forms_b[0].form_id, SignedBy::Patient, &forms_b[0].template_sha256).await
        })
        .await
        .unwrap();
        let consent = signed.consents[0].id;
        let calls = [
            ("GET", format!("/v1/patients/{patient}/forms"), json!(null)),
            ("GET", format!("/v1/patients/{patient}/consent-timeline"), json!(null)),
            ("GET", format!("/v1/forms/{}", forms_a[0].form_id), json!(null)),
            ("POST", format!("/v1/forms/{}/sign", forms_a[0].form_id), json!({"template_sha256": forms_a[0].template_sha256})),
            ("POST", format!("/v1/forms/{}/decline", forms_a[1].form_id), json!({})),
            ("POST", format!("/v1/consents/{consent}/withdraw"), json!({"reason": "Changed my mind"})),
        ];
        let mut got = [0u16; 6];
        for (((method, path, body), want), got) in calls.iter().zip(expected).zip(got.iter_mut()) {
            let before = (footprint(&w.db).await, consent_rows(&w.db).await);
            let (status, v) = w.call(method, path, auth, body).await;
            *got = status;
            if status >= 400 {
                let want_code = match status {
                    401 => "unauthorized",
                    403 => "forbidden",
                    _ => "not_found",
                };
                assert_eq!(error_code(&v), want_code, "{caller:?} {method} {path}: {v}");
                assert_eq!(
                    (footprint(&w.db).await, consent_rows(&w.db).await),
                    before,
                    "{caller:?} {method} {path} was refused but wrote something"
                );
            } else if status == *want {
                assert!(!v["data"].is_null(), "{caller:?} {path}: {v}");
            }
        }
        assert_eq!(&got, expected, "{caller:?}: statuses of list, timeline, text, sign, decline, withdraw");
    }
}

/// The forms' and consents' states, to tell that a refused call changed nothing.
async fn consent_rows(db: &TestDb) -> (String, String) {
    sqlx::query_as(
        "SELECT (SELECT coalesce(string_agg(id || ':' || status, ',' ORDER BY id), '') FROM forms),
                (SELECT coalesce(string_agg(id || ':' || (withdrawn_at IS NOT NULL), ',' ORDER BY id), '') FROM consents)",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap()
}
