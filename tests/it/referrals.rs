//! Partner referral intake: validation of every field, idempotence (also under
//! concurrent replays), what a referral creates (no consultation: it awaits screening),
//! Standard Webhooks signatures.

use chrono::{NaiveDate, Utc};
use digimed_core::referrals::{self, Intake, ReferralStatus};
use digimed_core::webhook_signature::{self, SignatureError, SignedHeaders, SigningKey};
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_tests::{Role, TestDb};
use serde_json::{json, Value};
use uuid::Uuid;

pub use digimed_tests::fixtures::{nid, partner, referral_body as body, SECRET};

async fn counts(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "patient_persons",
        "patients",
        "communication_preference_tokens",
        "referrals",
        "consultations",
        "orders",
        "line_items",
        "outbox",
        "audit_log",
    ] {
        out.push(sqlx::query_scalar(&format!("SELECT count(*) FROM {t}")).fetch_one(&db.owner).await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_referral_creates_person_link_referral_and_event_but_no_consultation() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let id = nid(1);
    let guid = Uuid::new_v4();
    let raw = body(id.as_str(), guid).to_string();
    let intake = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, raw.as_bytes()).await).await.unwrap();
    let Intake::Created(r) = intake else { panic!("a new referral is created") };
    assert_eq!((r.consultation_id, r.status), (None, ReferralStatus::AwaitingScreening));

    // It waits for screening: no consultation, no order; its deadline counts from its arrival.
    let c = counts(&db).await;
    assert_eq!(&c[..7], &[1, 1, 1, 1, 0, 0, 0], "persons, links, tokens, referrals; no consultation, order or line item");
    let deadline_ok: bool =
        sqlx::query_scalar("SELECT deadline_at = add_working_days(received_at, 2) FROM referrals WHERE id = $1")
            .bind(r.referral_id)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert!(deadline_ok);

    let (source, marketing, tokens): (Option<i32>, bool, i64) = sqlx::query_as(
        "SELECT source_partner_id, marketing_allowed,
                (SELECT count(*) FROM communication_preference_tokens WHERE patient_person_id = pp.id)
           FROM patient_persons pp WHERE id = $1",
    )
    .bind(r.patient_person_id)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((source, marketing, tokens), (Some(p.id), false, 1));
    let entry: String =
        sqlx::query_scalar("SELECT entry_point FROM patients WHERE patient_person_id = $1 AND organization_id = $2")
            .bind(r.patient_person_id)
            .bind(clinic)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(entry, "partner_referral");
    let event: Value = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'referral.received'")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(
        (&event["referral_id"], &event["consultation_id"], &event["status"]),
        (&json!(r.referral_id), &Value::Null, &json!("awaiting_screening"))
    );

    // The raw payload is stored encrypted, unknown fields included, and never in plain text.
    let stored = ClinicTx::run(&db.owner, async |tx| referrals::raw_payload(tx, &db.vault, r.referral_id).await).await.unwrap();
    assert_eq!(stored["Urgency"]["note"], json!("kept as sent"));
    let ct: Vec<u8> = sqlx::query_scalar("SELECT payload_encrypted FROM referrals WHERE id = $1")
        .bind(r.referral_id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&ct).contains(id.as_str()));
    let nid_plain: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE changes::text LIKE '%' || $1 || '%'")
        .bind(id.as_str())
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(nid_plain, 0, "the national id never reaches the audit log");
}

#[tokio::test]
async fn a_replay_answers_the_same_and_writes_nothing() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let raw = body(nid(2).as_str(), Uuid::new_v4()).to_string();
    let first = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, raw.as_bytes()).await).await.unwrap();
    assert!(first.is_new());
    let before = counts(&db).await;
    let again = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, raw.as_bytes()).await).await.unwrap();
    assert_eq!(again, Intake::Replayed(first.receipt()));
    assert_eq!(counts(&db).await, before, "a replay writes nothing, not even an audit row");

    // Another referral for the same person reuses the person.
    let other = ClinicTx::run(&db.owner, async |tx| {
        referrals::receive(tx, &db.vault, &p, body(nid(2).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
    })
    .await
    .unwrap();
    assert!(other.is_new());
    assert_eq!(other.receipt().patient_person_id, first.receipt().patient_person_id);
    assert_ne!(other.receipt().referral_id, first.receipt().referral_id);
    let persons: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_persons").fetch_one(&db.owner).await.unwrap();
    assert_eq!(persons, 1);
}

#[tokio::test]
async fn concurrent_replays_create_one_referral() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let raw = body(nid(3).as_str(), Uuid::new_v4()).to_string();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (pool, vault, p, raw) = (db.owner.clone(), db.vault.clone(), p.clone(), raw.clone());
        tasks.push(tokio::spawn(async move {
            ClinicTx::run(&pool, async |tx| referrals::receive(tx, &vault, &p, raw.as_bytes()).await).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().expect("every delivery is answered"));
    }
    assert_eq!(results.iter().filter(|r| r.is_new()).count(), 1, "exactly one delivery creates");
    let receipt = results[0].receipt();
    assert!(results.iter().all(|r| r.receipt() == receipt), "every delivery gets the same answer");
    let c = counts(&db).await;
    assert_eq!(&c[..7], &[1, 1, 1, 1, 0, 0, 0]);
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let strict = partner(&db, clinic, false).await;
    let before = counts(&db).await;
    let good = body(nid(4).as_str(), Uuid::new_v4());
    let mut bad_check = nid(4).as_str().to_string();
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '0' { '1' } else { '0' });
    let cases: Vec<(&str, Value, ErrorCode)> = vec![
        ("JournalGuid", json!(null), ErrorCode::InvalidInput),
        ("JournalGuid", json!("not-a-uuid"), ErrorCode::InvalidInput),
        ("JournalGuid", json!(42), ErrorCode::InvalidInput),
        ("PID", json!(null), ErrorCode::NationalIdRequired),
        ("PID", json!("1311690021"), ErrorCode::InvalidNationalId),
        ("PID", json!(bad_check), ErrorCode::InvalidNationalId),
        ("PID", json!("32136900000"), ErrorCode::InvalidNationalId),
        ("PID", json!(13116900216u64), ErrorCode::InvalidInput),
        ("MessageTimestamp", json!(null), ErrorCode::InvalidInput),
        ("MessageTimestamp", json!("2022-11-08 22:51"), ErrorCode::InvalidInput),
        ("MessageTimestamp", json!("2022-11-08T22:51:10"), ErrorCode::InvalidInput),
        ("Firstname", json!(null), ErrorCode::NameRequired),
        ("Firstname", json!("   "), ErrorCode::NameRequired),
        ("Lastname", json!(null), ErrorCode::NameRequired),
        ("Lastname", json!("Dan\u{7}ser"), ErrorCode::InvalidName),
        ("Email", json!("not-an-email"), ErrorCode::InvalidEmailFormat),
        ("PhoneNumber", json!(null), ErrorCode::PhoneRequired),
        ("PhoneNumber", json!("12345678"), ErrorCode::InvalidPhoneFormat),
        ("PhoneNumber", json!("+47123"), ErrorCode::InvalidPhoneFormat),
        ("FormatId", json!(["x"]), ErrorCode::InvalidInput),
    ];
    for (field, value, code) in cases {
        let mut b = good.clone();
        if value.is_null() {
            b.as_object_mut().unwrap().remove(field);
        } else {
            b[field] = value.clone();
        }
        let e = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, b.to_string().as_bytes()).await)
            .await
            .unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (code, Some(field)), "{field} = {value}");
        assert!(!e.message.contains(nid(4).as_str()), "messages never repeat the national id");
    }
    // A synthetic number from a partner not marked as a test partner.
    let e = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &strict, good.to_string().as_bytes()).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::SyntheticNationalIdNotAllowed, Some("PID")));
    // Several invalid fields: the first is named, all are listed.
    let mut b = good.clone();
    b["PID"] = json!("123");
    b["PhoneNumber"] = json!("nope");
    let e = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, b.to_string().as_bytes()).await)
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("PID"));
    assert_eq!(e.details.unwrap()["fields"].as_array().unwrap().len(), 2);
    // Not JSON, or not an object.
    for raw in ["not json", "[1,2]"] {
        let e =
            ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, raw.as_bytes()).await).await.unwrap_err();
        assert_eq!((e.code, e.field), (ErrorCode::InvalidJson, None));
    }
    // The optional e-mail may be absent or null.
    let mut b = good.clone();
    b["Email"] = json!(null);
    assert!(ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, &p, b.to_string().as_bytes()).await)
        .await
        .unwrap()
        .is_new());
    let after = counts(&db).await;
    assert_eq!(after[3], before[3] + 1, "only the one valid referral was written");
}

#[tokio::test]
async fn signatures_are_accepted_rejected_and_expire() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let now = Utc::now();
    let raw = body(nid(5).as_str(), Uuid::new_v4()).to_string();
    let key = SigningKey::from_secret(SECRET).unwrap();
    let ts = now.timestamp().to_string();
    let sig = webhook_signature::sign(&key, "msg_1", now.timestamp(), &raw);
    let h = SignedHeaders { id: Some("msg_1"), timestamp: Some(&ts), signature: Some(&sig) };

    let found = ClinicTx::run(&db.owner, async |tx| referrals::authenticate(tx, &db.vault, None, &h, raw.as_bytes(), now).await)
        .await
        .unwrap();
    assert_eq!(found.id, p.id);
    let named = ClinicTx::run(&db.owner, async |tx| {
        referrals::authenticate(tx, &db.vault, Some("pridok-test"), &h, raw.as_bytes(), now).await
    })
    .await
    .unwrap();
    assert_eq!(named.id, p.id);

    let refuse = |e: digimed_core::Error| assert_eq!(e.code, ErrorCode::Unauthorized);
    // Tampered body, wrong secret, missing signature, expired and future timestamps.
    refuse(
        ClinicTx::run(&db.owner, async |tx| referrals::authenticate(tx, &db.vault, None, &h, b"{}", now).await)
            .await
            .unwrap_err(),
    );
    let wrong = webhook_signature::sign(
        &SigningKey::from_secret("some-other-secret-0123456789").unwrap(),
        "msg_1",
        now.timestamp(),
        &raw,
    );
    refuse(
        ClinicTx::run(&db.owner, async |tx| {
            referrals::authenticate(tx, &db.vault, None, &SignedHeaders { signature: Some(&wrong), ..h }, raw.as_bytes(), now)
                .await
        })
        .await
        .unwrap_err(),
    );
    refuse(
        ClinicTx::run(&db.owner, async |tx| {
            referrals::authenticate(tx, &db.vault, None, &SignedHeaders { signature: None, ..h }, raw.as_bytes(), now).await
        })
        .await
        .unwrap_err(),
    );
    let later = now + chrono::Duration::seconds(301);
    let e = ClinicTx::run(&db.owner, async |tx| referrals::authenticate(tx, &db.vault, None, &h, raw.as_bytes(), later).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Unauthorized, Some("webhook-timestamp")));
    let earlier = now - chrono::Duration::seconds(301);
    refuse(
        ClinicTx::run(&db.owner, async |tx| referrals::authenticate(tx, &db.vault, None, &h, raw.as_bytes(), earlier).await)
            .await
            .unwrap_err(),
    );
    refuse(
        ClinicTx::run(&db.owner, async |tx| {
            referrals::authenticate(tx, &db.vault, Some("nobody"), &h, raw.as_bytes(), now).await
        })
        .await
        .unwrap_err(),
    );

    // The core verify function directly.
    assert_eq!(webhook_signature::verify(&key, &h, raw.as_bytes()), Ok(()));
    let old = (now.timestamp() - 400).to_string();
    let old_sig = webhook_signature::sign(&key, "msg_1", now.timestamp() - 400, &raw);
    assert_eq!(
        webhook_signature::verify(&key, &SignedHeaders { timestamp: Some(&old), signature: Some(&old_sig), ..h }, raw.as_bytes()),
        Err(SignatureError::TimestampOutOfTolerance)
    );
}

#[tokio::test]
async fn an_admin_imports_a_referral_for_their_own_clinic_only() {
    let db = TestDb::new().await;
    let oslo = db.clinic("Oslo").await;
    let bergen = db.clinic("Bergen").await;
    let p = partner(&db, oslo, true).await;
    let admin = db.staff(Role::Admin, oslo, "ada").await;
    let elsewhere = db.staff(Role::Admin, bergen, "bob").await;
    let raw = body(nid(6).as_str(), Uuid::new_v4()).to_string();
    // The person already exists at another clinic: the referral links, not duplicates.
    let existing = {
        let other = ClinicTx::run(&db.owner, async |tx| {
            referrals::receive(tx, &db.vault, &p, body(nid(6).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
        })
        .await
        .unwrap();
        sqlx::query("DELETE FROM patients WHERE patient_person_id = $1")
            .bind(other.receipt().patient_person_id)
            .execute(&db.owner)
            .await
            .ok();
        other.receipt().patient_person_id
    };
    let partner_seen = ClinicTx::run(&admin.pool, async |tx| referrals::partner_by_name(tx, "pridok-test").await).await.unwrap();
    let r = ClinicTx::run(&admin.pool, async |tx| referrals::receive(tx, &db.vault, &partner_seen, raw.as_bytes()).await)
        .await
        .unwrap();
    assert!(r.is_new());
    assert_eq!(r.receipt().patient_person_id, existing);
    let e = ClinicTx::run(&elsewhere.pool, async |tx| {
        referrals::receive(tx, &db.vault, &partner_seen, body(nid(7).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
}

#[tokio::test]
async fn deadlines_count_working_days() {
    let db = TestDb::new().await;
    let cases = [
        // Friday 10:00 Oslo + 2 working days = Tuesday 10:00.
        ("2026-11-20 10:00 Europe/Oslo", 2, "2026-11-24 10:00 Europe/Oslo"),
        ("2026-11-21 23:30 Europe/Oslo", 2, "2026-11-24 23:30 Europe/Oslo"),
        ("2026-11-23 09:00 Europe/Oslo", 1, "2026-11-24 09:00 Europe/Oslo"),
        ("2026-11-23 09:00 Europe/Oslo", 5, "2026-11-30 09:00 Europe/Oslo"),
        // Across the change to summer time, at the same local time.
        ("2026-03-27 10:00 Europe/Oslo", 1, "2026-03-30 10:00 Europe/Oslo"),
    ];
    for (from, days, expect) in cases {
        let ok: bool = sqlx::query_scalar("SELECT add_working_days($1::timestamptz, $2) = $3::timestamptz")
            .bind(from)
            .bind(days)
            .bind(expect)
            .fetch_one(&db.owner)
            .await
            .unwrap();
        assert!(ok, "{from} + {days}");
    }
    let _ = NaiveDate::from_ymd_opt(2026, 1, 1);
}

#[tokio::test]
async fn the_webhook_answers_201_200_401_and_422_over_http() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let accounts = digimed_core::accounts::Accounts::from_config(&digimed_core::config::AccountDirectory::Local).unwrap();
    let svc = digimed_tests::service::start(&db, accounts).await;
    let url = format!("{}/v1/webhooks/pridok", svc.base);
    let http = reqwest::Client::new();
    let key = SigningKey::from_secret(SECRET).unwrap();
    let post = |raw: String, ts: i64, key: SigningKey, url: String| {
        let http = http.clone();
        async move {
            let id = format!("msg_{}", Uuid::new_v4().simple());
            let sig = webhook_signature::sign(&key, &id, ts, &raw);
            let r = http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(raw)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let now = Utc::now().timestamp();
    let raw = body(nid(8).as_str(), Uuid::new_v4()).to_string();

    let (status, first) = post(raw.clone(), now, key.clone(), url.clone()).await;
    assert_eq!(status, 201, "{first}");
    for k in ["referral_id", "patient_person_id"] {
        assert!(first[k].is_i64(), "{k} in {first}");
    }
    assert_eq!((&first["consultation_id"], &first["status"]), (&Value::Null, &json!("awaiting_screening")), "{first}");
    let (status, again) = post(raw.clone(), now, key.clone(), url.clone()).await;
    assert_eq!((status, &again), (200, &first), "a replay answers 200 with the same body");
    let (status, named) = post(raw.clone(), now, key.clone(), format!("{url}?partner={}", p.name)).await;
    assert_eq!((status, &named), (200, &first));

    // Signatures: wrong secret, stale or future timestamp, missing headers.
    let wrong = SigningKey::from_secret("not-the-partners-secret-0123456789").unwrap();
    assert_eq!(post(raw.clone(), now, wrong, url.clone()).await.0, 401);
    assert_eq!(post(raw.clone(), now - 400, key.clone(), url.clone()).await.0, 401);
    assert_eq!(post(raw.clone(), now + 400, key.clone(), url.clone()).await.0, 401);
    let unsigned = http.post(&url).header("content-type", "application/json").body(raw.clone()).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let tampered_sig = webhook_signature::sign(&key, "msg_x", now, &raw);
    let tampered = http
        .post(&url)
        .header("webhook-id", "msg_x")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", tampered_sig)
        .body(raw.replace("Danser", "Danzer"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status().as_u16(), 401);

    // Invalid content: 422 naming the field, nothing written.
    let before = counts(&db).await;
    let mut bad = body(nid(9).as_str(), Uuid::new_v4());
    bad["PhoneNumber"] = json!("12");
    let (status, err) = post(bad.to_string(), now, key.clone(), url.clone()).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], json!("invalid_phone_format"));
    assert_eq!(err["error"]["details"]["fields"][0]["field"], json!("PhoneNumber"));
    let (status, _) = post("not json".into(), now, key.clone(), url.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(counts(&db).await, before);
}
