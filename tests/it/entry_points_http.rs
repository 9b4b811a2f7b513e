//! Two ways in from outside, over HTTP against the real service: a therapist's referral
//! (`POST /v1/referrals/therapist`, signed by the therapist's partner) and CallRail's post-call
//! webhook (`POST /v1/webhooks/callrail`, signed as CallRail signs). Each registers through the
//! one intake path; replays, refused credentials and malformed bodies write nothing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use digimed_core::accounts::Accounts;
use digimed_core::cold_calls::CallRailKey;
use digimed_core::intake::{self, IntakeInput};
use digimed_core::patients::EntryPoint;
use digimed_core::referrals::{self, NewPartner};
use digimed_core::session::AppRole;
use digimed_core::{Acting, ClinicTx};
use digimed_tests::http::{footprint, webhook_headers};
use digimed_tests::service::{self, RunningService};
use digimed_tests::TestDb;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha1::Sha1;

const THERAPIST: &str = "/v1/referrals/therapist";
const CALLRAIL: &str = "/v1/webhooks/callrail";
/// The therapists' partner's webhook secret.
const SECRET: &str = "whsec_dGhlcmFwaXN0cy1zZWNyZXQtZm9yLXRlc3RzLTAxMjM0NTY=";
/// Another partner's secret: a valid secret, but not this partner's.
const STRANGER: &str = "whsec_c3RyYW5nZXItc2VjcmV0LWZvci10ZXN0cy0wMTIzNDU2Nzg=";
/// The company signing key CallRail shows on its webhooks page.
const CALLRAIL_KEY: &str = "0b1f4c2d9e8a7b6c5d4e3f2a1b0c9d8e";

/// Row counts of every table these requests could write, the call record included.
async fn counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = footprint(db).await;
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM tracked_calls").fetch_one(&db.owner).await.unwrap();
    out.push(("tracked_calls", calls));
    out
}

fn count(c: &[(&'static str, i64)], table: &str) -> i64 {
    c.iter().find(|(t, _)| *t == table).map(|(_, n)| *n).unwrap()
}

/// How many rows of each table changed between two counts, for the tables that did.
fn grown(before: &[(&'static str, i64)], after: &[(&'static str, i64)], tables: &[&str]) -> Vec<(String, i64)> {
    tables.iter().map(|t| (t.to_string(), count(after, t) - count(before, t))).collect()
}

async fn post(svc: &RunningService, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut req =
        reqwest::Client::new().post(format!("{}{path}", svc.base)).header("Content-Type", "application/json").body(body.to_vec());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A therapist's referral, signed with `secret` as the partner signs it.
async fn refer(svc: &RunningService, secret: &str, body: &Value) -> (u16, Value) {
    let raw = body.to_string();
    let headers: Vec<(&str, String)> = webhook_headers(secret, raw.as_bytes(), Utc::now().timestamp()).into_iter().collect();
    post(svc, THERAPIST, &headers, raw.as_bytes()).await
}

fn referral(reference: &str, clinic: i32, phone: &str) -> Value {
    json!({
        "therapist_reference": reference,
        "therapist_name": "Kari Terapeut",
        "therapist_organization": "Bedre Søvn AS",
        "reason": "Sleep problems for six months; asks for a doctor's assessment.",
        "organization_id": clinic,
        "name": "Ola Henvist",
        "phone": phone,
        "date_of_birth": "1988-04-12",
    })
}

const PATIENT_TABLES: &[&str] = &["patient_persons", "communication_preference_tokens", "patients", "referrals", "consultations"];

#[tokio::test]
async fn a_therapist_referral_registers_the_patient_once_and_waits_for_screening() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Therapy Clinic").await;
    let other = db.clinic("Other Clinic").await;
    let new =
        NewPartner { name: "therapists", clinic_id: clinic, is_test_partner: false, deadline_working_days: 3, deal_id: None };
    let partner = ClinicTx::run(&db.owner, async |tx| referrals::add_partner(tx, &db.vault, &new, SECRET).await).await.unwrap();
    let svc = service::start(&db, Accounts::Local).await;

    let body = referral("TR-1001", clinic, "91234567");
    let before = counts(&db).await;
    let (status, v) = refer(&svc, SECRET, &body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["status"], "awaiting_screening", "{v}");
    assert!(v["data"]["consultation_id"].is_null(), "{v}");
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, PATIENT_TABLES),
        [("patient_persons", 1), ("communication_preference_tokens", 1), ("patients", 1), ("referrals", 1), ("consultations", 0)]
            .map(|(t, n)| (t.to_string(), n)),
    );
    assert!(
        count(&after, "audit_log") + count(&after, "audit_pending")
            > count(&before, "audit_log") + count(&before, "audit_pending")
    );
    let person = v["data"]["patient_person_id"].as_i64().unwrap() as i32;
    let referral_id = v["data"]["referral_id"].as_i64().unwrap() as i32;
    let (entry_point, org): (String, i32) =
        sqlx::query_as("SELECT entry_point, organization_id FROM patients WHERE patient_person_id = $1")
            .bind(person)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((entry_point.as_str(), org), ("therapist_referral", clinic));
    let (partner_id, reference): (i32, Option<String>) =
        sqlx::query_as("SELECT partner_id, source_reference FROM referrals WHERE id = $1")
            .bind(referral_id)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((partner_id, reference.as_deref()), (partner.id, Some("TR-1001")));

    // The secretaries see it in their screening list, with the therapist and the reason.
    let secretary = db.staff(AppRole::Secretary, clinic, "tr-secretary").await;
    let list =
        digimed_tests::act(&secretary.pool, &Acting::Direct, async |tx| referrals::screening_list(tx).await).await.unwrap();
    let entry = list.iter().find(|r| r.referral_id == referral_id).expect("the referral awaits screening");
    assert_eq!((entry.patient_person_id, entry.partner_name.as_str()), (person, "therapists"));
    let fields = digimed_tests::act(&secretary.pool, &Acting::Direct, async |tx| {
        referrals::referral_fields(tx, &db.vault, referral_id).await
    })
    .await
    .unwrap();
    assert!(fields.iter().any(|f| f.name == "reason" && f.value.starts_with("Sleep problems")), "{fields:?}");
    assert!(fields.iter().all(|f| !f.value.contains("91234567")), "the screening panel shows no phone number");

    // The same reference again, even with other content, is the first referral: 200, nothing written.
    let before = counts(&db).await;
    let mut again = body.clone();
    again["reason"] = json!("Sent once more.");
    let (status, replay) = refer(&svc, SECRET, &again).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["data"], v["data"]);
    assert_eq!(counts(&db).await, before, "a replay writes nothing");

    // A signature with another secret, or none: 401, nothing written.
    let fresh = referral("TR-1002", clinic, "91234568");
    let (status, e) = refer(&svc, STRANGER, &fresh).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{e}");
    let (status, e) = post(&svc, THERAPIST, &[], fresh.to_string().as_bytes()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{e}");
    assert_eq!(counts(&db).await, before);

    // Bad content: 422 naming the field, nothing written.
    let mut no_reason = fresh.clone();
    no_reason.as_object_mut().unwrap().remove("reason");
    let mut bad_phone = fresh.clone();
    bad_phone["phone"] = json!("12");
    let mut no_contact = fresh.clone();
    no_contact.as_object_mut().unwrap().remove("phone");
    let mut no_reference = fresh.clone();
    no_reference["therapist_reference"] = json!("  ");
    let mut misspelt = fresh.clone();
    misspelt["phone_number"] = json!("91234568");
    let mut bad_date = fresh.clone();
    bad_date["date_of_birth"] = json!("12.04.1988");
    for (body, field) in [
        (no_reason, "reason"),
        (bad_phone, "phone"),
        (no_contact, "phone"),
        (no_reference, "therapist_reference"),
        (misspelt, "phone_number"),
        (bad_date, "date_of_birth"),
    ] {
        let (status, e) = refer(&svc, SECRET, &body).await;
        assert_eq!(status, 422, "{field}: {e}");
        assert_eq!(e["error"]["details"]["field"], field, "{e}");
    }
    assert_eq!(counts(&db).await, before, "refused referrals write nothing");

    // A clinic that is not the partner's: 403, nothing written.
    let (status, e) = refer(&svc, SECRET, &referral("TR-1003", other, "91234569")).await;
    assert_eq!((status, e["error"]["code"].as_str()), (403, Some("forbidden")), "{e}");
    assert_eq!(counts(&db).await, before);

    // Filing the referral fails after the patient was registered: nothing of either is kept.
    refuse_inserts(&db, "referrals").await;
    let (status, e) = refer(&svc, SECRET, &referral("TR-1004", clinic, "91234570")).await;
    assert!(status >= 400, "{e}");
    assert_eq!(counts(&db).await, before, "a referral that fails half way leaves no patient behind");
    allow_inserts(&db, "referrals").await;
    let (status, e) = refer(&svc, SECRET, &referral("TR-1004", clinic, "91234570")).await;
    assert_eq!(status, 201, "{e}");

    // With an e-mail address the patient is onboarded (an account too), in the same transaction.
    let before = counts(&db).await;
    let mut with_email = referral("TR-1005", clinic, "91234571");
    with_email["email"] = json!("ola.henvist@example.com");
    let (status, e) = refer(&svc, SECRET, &with_email).await;
    assert_eq!(status, 201, "{e}");
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, &["users", "patient_persons", "communication_preference_tokens", "patients", "referrals"]),
        [("users", 1), ("patient_persons", 1), ("communication_preference_tokens", 1), ("patients", 1), ("referrals", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );
}

/// Makes every insert into `table` fail, as a fault half way through a request (the database's
/// own refusal, not a stand-in for it).
async fn refuse_inserts(db: &TestDb, table: &str) {
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
         CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_insert();"
    ))
    .execute(&db.owner)
    .await
    .unwrap();
}

async fn allow_inserts(db: &TestDb, table: &str) {
    sqlx::raw_sql(&format!("DROP TRIGGER refuse_insert ON {table}; DROP FUNCTION refuse_insert();"))
        .execute(&db.owner)
        .await
        .unwrap();
}

/// A post-call report as CallRail sends it (a few of its many fields).
fn call(id: &str, phone: &str, seconds: i64) -> Value {
    json!({
        "resource_id": id,
        "answered": true,
        "business_phone_number": "+4722000000",
        "customer_city": "Oslo",
        "customer_country": "NO",
        "customer_name": "Kari Nordmann",
        "customer_phone_number": phone,
        "direction": "inbound",
        "duration": seconds,
        "start_time": "2026-12-01T10:00:00.000+01:00",
        "tracking_phone_number": "+4722000001",
        "first_call": true,
        "tags": [],
    })
}

/// CallRail's `Signature` header for `body`: base64 of HMAC-SHA1 of the raw body with the key.
fn callrail_signature(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    B64.encode(mac.finalize().into_bytes())
}

async fn report(svc: &RunningService, key: &str, body: &Value) -> (u16, Value) {
    let raw = body.to_string();
    let signature = callrail_signature(key, raw.as_bytes());
    post(svc, CALLRAIL, &[("Signature", signature)], raw.as_bytes()).await
}

async fn callrail_service(db: &TestDb, clinic: i32) -> RunningService {
    let callrail = digimed_service::CallRail { key: CallRailKey::new(CALLRAIL_KEY).unwrap(), organization_id: clinic };
    service::start_configured(db, Accounts::Local, None, None, None, Some(callrail)).await
}

const CALL_TABLES: &[&str] = &["patient_persons", "communication_preference_tokens", "patients", "tracked_calls"];

#[tokio::test]
async fn callrail_calls_make_one_lead_per_phone_and_short_calls_are_only_recorded() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Call Clinic").await;
    let svc = callrail_service(&db, clinic).await;

    // A call of 75 seconds: a new person, their token, their link (cold_call), the call.
    let first = call("CAL-0001", "+4791112222", 75);
    let before = counts(&db).await;
    let (status, v) = report(&svc, CALLRAIL_KEY, &first).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["person_created"], true, "{v}");
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, CALL_TABLES),
        [("patient_persons", 1), ("communication_preference_tokens", 1), ("patients", 1), ("tracked_calls", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );
    let person = v["data"]["patient_person_id"].as_i64().unwrap() as i32;
    let (name, entry_point): (String, String) = sqlx::query_as(
        "SELECT pp.name, p.entry_point FROM patient_persons pp JOIN patients p ON p.patient_person_id = pp.id WHERE pp.id = $1",
    )
    .bind(person)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((name.as_str(), entry_point.as_str()), ("Kari Nordmann", "cold_call"));

    // The same call reported again: 200, nothing written.
    let before = counts(&db).await;
    let (status, replay) = report(&svc, CALLRAIL_KEY, &first).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(
        replay["data"],
        v["data"]
            .as_object()
            .map(|d| {
                let mut d = d.clone();
                d.insert("person_created".into(), json!(false));
                Value::Object(d)
            })
            .unwrap()
    );
    assert_eq!(counts(&db).await, before, "a replayed call writes nothing");

    // Another call from the same phone (written nationally this time): the same person, one more call.
    let (status, v2) = report(&svc, CALLRAIL_KEY, &call("CAL-0002", "91112222", 240)).await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!((v2["data"]["patient_person_id"].as_i64(), &v2["data"]["person_created"]), (Some(person as i64), &json!(false)));
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, CALL_TABLES),
        [("patient_persons", 0), ("communication_preference_tokens", 0), ("patients", 0), ("tracked_calls", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );

    // A 30-second call: recorded, nobody created.
    let before = counts(&db).await;
    let (status, short) = report(&svc, CALLRAIL_KEY, &call("CAL-0003", "+4793334444", 30)).await;
    assert_eq!(status, 201, "{short}");
    assert!(short["data"]["patient_person_id"].is_null(), "{short}");
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, CALL_TABLES),
        [("patient_persons", 0), ("communication_preference_tokens", 0), ("patients", 0), ("tracked_calls", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );
    let (seconds, lead): (i32, Option<i32>) =
        sqlx::query_as("SELECT duration_seconds, patient_person_id FROM tracked_calls WHERE call_id = 'CAL-0003'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((seconds, lead), (30, None));
    // The calls keep no phone number in plaintext, only its blind index.
    let rows: Vec<String> = sqlx::query_scalar("SELECT t::text FROM tracked_calls t").fetch_all(&db.owner).await.unwrap();
    assert_eq!(rows.len(), 3);
    for number in ["91112222", "93334444"] {
        assert!(rows.iter().all(|r| !r.contains(number)), "a caller's number is stored in plaintext");
    }

    // A wrong or missing signature: 401, nothing written.
    let before = counts(&db).await;
    let fourth = call("CAL-0004", "+4795556666", 90);
    let (status, e) = report(&svc, "another-company-key", &fourth).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{e}");
    let (status, e) = post(&svc, CALLRAIL, &[], fourth.to_string().as_bytes()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{e}");
    // Signed for one body, sent with another.
    let signature = callrail_signature(CALLRAIL_KEY, first.to_string().as_bytes());
    let (status, e) = post(&svc, CALLRAIL, &[("Signature", signature)], fourth.to_string().as_bytes()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{e}");
    assert_eq!(counts(&db).await, before);

    // A correctly signed body that is no post-call report: 422 naming the field, nothing written.
    let mut no_duration = fourth.clone();
    no_duration.as_object_mut().unwrap().remove("duration");
    let mut bad_phone = fourth.clone();
    bad_phone["customer_phone_number"] = json!("12");
    let mut no_id = fourth.clone();
    no_id.as_object_mut().unwrap().remove("resource_id");
    let mut bad_answered = fourth.clone();
    bad_answered["answered"] = json!("yes");
    for (body, field) in
        [(no_duration, "duration"), (bad_phone, "customer_phone_number"), (no_id, "resource_id"), (bad_answered, "answered")]
    {
        let (status, e) = report(&svc, CALLRAIL_KEY, &body).await;
        assert_eq!(status, 422, "{field}: {e}");
        assert_eq!(e["error"]["details"]["field"], field, "{e}");
    }
    assert_eq!(counts(&db).await, before, "refused calls write nothing");

    // Recording the call fails after its caller was registered: nothing of either is kept.
    refuse_inserts(&db, "tracked_calls").await;
    let (status, e) = report(&svc, CALLRAIL_KEY, &fourth).await;
    assert!(status >= 400, "{e}");
    assert_eq!(counts(&db).await, before, "a call that fails half way leaves no lead behind");
    allow_inserts(&db, "tracked_calls").await;
    let (status, e) = report(&svc, CALLRAIL_KEY, &fourth).await;
    assert_eq!((status, &e["data"]["person_created"]), (201, &json!(true)), "{e}");
}

#[tokio::test]
async fn a_long_call_from_a_phone_known_at_another_clinic_links_that_person() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Call Clinic").await;
    let first_clinic = db.clinic("First Clinic").await;
    // A person known at another clinic by this phone number.
    let known = IntakeInput {
        name: Some("Known Caller".into()),
        phone: Some("+4797778888".into()),
        organization_id: Some(i64::from(first_clinic)),
        ..IntakeInput::default()
    };
    let registered = digimed_tests::own(&db.owner, &Acting::Direct, async |tx| {
        intake::register(tx, &db.vault, &Accounts::Local, EntryPoint::ConciergeColdCall, &known, "47").await
    })
    .await
    .unwrap();
    let person = i64::from(registered.patient_person_id);

    // The call links the known person to this clinic, creating nobody.
    let svc = callrail_service(&db, clinic).await;
    let before = counts(&db).await;
    let (status, v) = report(&svc, CALLRAIL_KEY, &call("CAL-0100", "+4797778888", 90)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!((v["data"]["patient_person_id"].as_i64(), &v["data"]["person_created"]), (Some(person), &json!(false)));
    let after = counts(&db).await;
    assert_eq!(
        grown(&before, &after, CALL_TABLES),
        [("patient_persons", 0), ("communication_preference_tokens", 0), ("patients", 1), ("tracked_calls", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );
    let entry_point: String =
        sqlx::query_scalar("SELECT entry_point FROM patients WHERE patient_person_id = $1 AND organization_id = $2")
            .bind(person as i32)
            .bind(clinic)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(entry_point, "cold_call");
}

#[tokio::test]
async fn without_callrail_settings_the_webhook_answers_configuration_and_writes_nothing() {
    let db = TestDb::new().await;
    db.clinic("Call Clinic").await;
    let svc = service::start(&db, Accounts::Local).await;
    let before = counts(&db).await;
    let (status, e) = report(&svc, CALLRAIL_KEY, &call("CAL-0200", "+4797778888", 90)).await;
    assert_eq!((status, e["error"]["code"].as_str()), (500, Some("configuration")), "{e}");
    assert_eq!(counts(&db).await, before);
}
