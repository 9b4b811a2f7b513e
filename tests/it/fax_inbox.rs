//! The fax inbox (`docs/fax-inbox.md`): Telnyx's `fax.received` webhook over HTTP against the
//! real service, with a local stand-in of Telnyx's media storage serving the fax's PDF; then the
//! support agent's inbox: reading a fax (audited), completing its draft into a patient, and
//! discarding one with a reason. Refusals write nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use digimed_core::accounts::Accounts;
use digimed_core::faxes::{self, FaxCompletion, ReceivedFax};
use digimed_core::session::AppRole;
use digimed_core::{Acting, ErrorCode};
use digimed_tests::http::footprint;
use digimed_tests::service::{self, RunningService};
use digimed_tests::{act, is_denied, own, TestDb};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

const TELNYX: &str = "/v1/webhooks/telnyx";

/// The account's signing key pair, as Telnyx holds it (the service gets only the public half).
fn telnyx_pair() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[42u8; 32]).unwrap()
}

fn public_key(pair: &Ed25519KeyPair) -> String {
    B64.encode(pair.public_key().as_ref())
}

fn referral_pdf(patient: &str) -> Vec<u8> {
    digimed_demo::sample_fax_pdf(&["Referral", &format!("Patient: {patient}"), "Reason: knee pain, please assess."])
}

/// A local stand-in of Telnyx's media storage: `/media/<name>.pdf` is a referral PDF,
/// `/media/page.html` is not a PDF, anything else fails. Counts the downloads.
struct MediaStandin {
    base: String,
    downloads: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn media_standin() -> MediaStandin {
    let downloads = Arc::new(AtomicUsize::new(0));
    let counter = downloads.clone();
    let app = Router::new().route(
        "/media/{name}",
        get(move |Path(name): Path<String>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                match name.as_str() {
                    "page.html" => (StatusCode::OK, b"<html>not a fax</html>".to_vec()),
                    n if n.ends_with(".pdf") => (StatusCode::OK, referral_pdf("Synthetic Testperson")),
                    _ => (StatusCode::INTERNAL_SERVER_ERROR, Vec::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    MediaStandin { base: format!("http://{addr}"), downloads, _stop: tx }
}

/// A `fax.received` event as Telnyx sends it.
fn received(fax_id: &str, from: &str, media_url: &str) -> Value {
    json!({
        "data": {
            "event_type": "fax.received",
            "id": uuid::Uuid::new_v4().to_string(),
            "occurred_at": "2026-12-01T09:30:00.000000Z",
            "record_type": "event",
            "payload": {
                "connection_id": "1453742805816968295",
                "direction": "inbound",
                "fax_id": fax_id,
                "from": from,
                "to": "+4721000000",
                "media_url": media_url,
                "page_count": 1,
                "partial_content": false,
                "status": "received",
                "user_id": "9fd26e62-38b3-4fa3-87df-5a9a2c62037e"
            }
        },
        "meta": {"attempt": 1, "delivered_to": "https://clinic.example/v1/webhooks/telnyx"}
    })
}

/// Telnyx's headers for `body` signed at `timestamp` with `pair`.
fn signed(pair: &Ed25519KeyPair, body: &[u8], timestamp: i64) -> Vec<(&'static str, String)> {
    let ts = timestamp.to_string();
    let signature = pair.sign(&[ts.as_bytes(), b"|", body].concat());
    vec![("telnyx-timestamp", ts), ("telnyx-signature-ed25519", B64.encode(signature.as_ref()))]
}

async fn post(svc: &RunningService, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{TELNYX}", svc.base))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn deliver(svc: &RunningService, pair: &Ed25519KeyPair, event: &Value) -> (u16, Value) {
    let raw = event.to_string();
    post(svc, &signed(pair, raw.as_bytes(), Utc::now().timestamp()), raw.as_bytes()).await
}

/// Row counts of every table these requests could write, the fax inbox included.
async fn counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = footprint(db).await;
    let faxes: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_faxes").fetch_one(&db.owner).await.unwrap();
    out.push(("inbound_faxes", faxes));
    out
}

fn count(c: &[(&'static str, i64)], table: &str) -> i64 {
    c.iter().find(|(t, _)| *t == table).map(|(_, n)| *n).unwrap()
}

const FAX_TABLES: &[&str] = &["patient_persons", "communication_preference_tokens", "patients", "inbound_faxes"];

fn grown(before: &[(&'static str, i64)], after: &[(&'static str, i64)]) -> Vec<(String, i64)> {
    FAX_TABLES.iter().map(|t| (t.to_string(), count(after, t) - count(before, t))).collect()
}

async fn fax_service(db: &TestDb, clinic: i32, pair: &Ed25519KeyPair) -> RunningService {
    let fax = digimed_service::fax_intake(Some(&public_key(pair)), Some(&clinic.to_string())).unwrap().unwrap();
    service::start_fax(db, fax).await
}

#[tokio::test]
async fn a_received_fax_files_one_draft_with_its_pdf_encrypted_and_a_replay_changes_nothing() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Fax Clinic").await;
    let media = media_standin().await;
    let pair = telnyx_pair();
    let svc = fax_service(&db, clinic, &pair).await;

    // A valid delivery: one draft person, their token, their link (inbound_fax), the fax.
    let event = received("fax-0001", "+4722334455", &format!("{}/media/fax-0001.pdf", media.base));
    let before = counts(&db).await;
    let (status, v) = deliver(&svc, &pair, &event).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        grown(&before, &counts(&db).await),
        [("patient_persons", 1), ("communication_preference_tokens", 1), ("patients", 1), ("inbound_faxes", 1)]
            .map(|(t, n)| (t.to_string(), n)),
    );
    let person = v["data"]["patient_person_id"].as_i64().unwrap() as i32;
    let inbox_id = v["data"]["inbox_id"].as_i64().unwrap() as i32;
    assert_eq!(v["data"]["fax_id"], "fax-0001");
    let (name, status_, entry_point, org): (String, String, String, i32) = sqlx::query_as(
        "SELECT pp.name, pp.status, p.entry_point, p.organization_id
           FROM patient_persons pp JOIN patients p ON p.patient_person_id = pp.id WHERE pp.id = $1",
    )
    .bind(person)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), status_.as_str(), entry_point.as_str(), org),
        (faxes::PLACEHOLDER_NAME, "draft", "inbound_fax", clinic)
    );
    // The PDF and the sender's number are kept encrypted, bound to the row.
    let (pdf_ct, sender_ct, pages, pdf_bytes, row_text): (Vec<u8>, Vec<u8>, Option<i32>, i32, String) = sqlx::query_as(
        "SELECT pdf_encrypted, sender_phone_encrypted, page_count, pdf_bytes, f::text FROM inbound_faxes f WHERE id = $1",
    )
    .bind(inbox_id)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let pdf = referral_pdf("Synthetic Testperson");
    assert_eq!(db.vault.decrypt_bytes("inbound_faxes", "pdf_encrypted", i64::from(inbox_id), &pdf_ct).unwrap(), pdf);
    assert_eq!((pages, pdf_bytes as usize), (Some(1), pdf.len()));
    assert_eq!(
        db.vault.decrypt("inbound_faxes", "sender_phone_encrypted", i64::from(inbox_id), &sender_ct).unwrap(),
        "+4722334455"
    );
    assert!(!row_text.contains("22334455"), "the sender's number is stored in plaintext");
    assert!(!row_text.contains("Synthetic Testperson") && !row_text.contains("%PDF"), "the PDF is stored in plaintext");
    assert!(db.vault.decrypt_bytes("inbound_faxes", "pdf_encrypted", i64::from(inbox_id) + 1, &pdf_ct).is_err());
    assert_eq!(media.downloads.load(Ordering::SeqCst), 1);

    // The same fax delivered again (a new event id, a new signature): 200, the first answer,
    // nothing written, nothing downloaded.
    let before = counts(&db).await;
    let mut again = event.clone();
    again["data"]["id"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, replay) = deliver(&svc, &pair, &again).await;
    assert_eq!((status, &replay["data"]), (200, &v["data"]), "{replay}");
    assert_eq!(counts(&db).await, before, "a replayed fax writes nothing");
    assert_eq!(media.downloads.load(Ordering::SeqCst), 1);

    // The provider's other fax events are answered and not acted on.
    let mut other = event.clone();
    other["data"]["event_type"] = json!("fax.media.processing.started");
    let (status, ignored) = deliver(&svc, &pair, &other).await;
    assert_eq!((status, &ignored["data"]["ignored"]), (200, &json!("fax.media.processing.started")), "{ignored}");
    assert_eq!(counts(&db).await, before);

    // A wrong, missing or stale signature: 401 naming the header, nothing written or downloaded.
    let second = received("fax-0002", "+4722334466", &format!("{}/media/fax-0002.pdf", media.base));
    let raw = second.to_string();
    let stranger = Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).unwrap();
    let now = Utc::now().timestamp();
    let signed_other_body = signed(&pair, event.to_string().as_bytes(), now);
    let stale = signed(&pair, raw.as_bytes(), now - faxes::TIMESTAMP_TOLERANCE_SECONDS - 60);
    let mut tampered = signed(&pair, raw.as_bytes(), now);
    tampered[0].1 = (now + 1).to_string();
    for (what, headers, header) in [
        ("another account's key", signed(&stranger, raw.as_bytes(), now), "telnyx-signature-ed25519"),
        ("signed for another body", signed_other_body, "telnyx-signature-ed25519"),
        ("no headers", vec![], "telnyx-timestamp"),
        ("signed too long ago", stale, "telnyx-timestamp"),
        ("a timestamp changed after signing", tampered, "telnyx-signature-ed25519"),
    ] {
        let (status, e) = post(&svc, &headers, raw.as_bytes()).await;
        assert_eq!((status, e["error"]["code"].as_str()), (401, Some("unauthorized")), "{what}: {e}");
        assert_eq!(e["error"]["details"]["field"], header, "{what}: {e}");
    }
    assert_eq!(counts(&db).await, before, "refused signatures write nothing");
    assert_eq!(media.downloads.load(Ordering::SeqCst), 1);

    // Correctly signed bodies that are no received fax: 422 naming the field, nothing written.
    let with = |path: &[&str], value: Value| {
        let mut e = second.clone();
        let mut at = &mut e;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        if value.is_null() {
            at.as_object_mut().unwrap().remove(path[path.len() - 1]);
        } else {
            at[path[path.len() - 1]] = value;
        }
        e
    };
    for (body, field) in [
        (with(&["data", "payload", "media_url"], Value::Null), "data.payload.media_url"),
        (with(&["data", "payload", "media_url"], json!("ftp://files.example/x.pdf")), "data.payload.media_url"),
        (with(&["data", "payload", "fax_id"], Value::Null), "data.payload.fax_id"),
        (with(&["data", "payload", "from"], json!("12")), "data.payload.from"),
        (with(&["data", "payload", "page_count"], json!("one")), "data.payload.page_count"),
        (with(&["data", "payload"], Value::Null), "data.payload"),
        (with(&["data", "payload", "media_url"], json!(format!("{}/media/page.html", media.base))), "data.payload.media_url"),
    ] {
        let (status, e) = deliver(&svc, &pair, &body).await;
        assert_eq!(status, 422, "{field}: {e}");
        assert_eq!(e["error"]["details"]["field"], field, "{e}");
    }
    let (status, e) = deliver(&svc, &pair, &json!(["not", "an", "event"])).await;
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_json")), "{e}");
    // The provider's storage failing: 502, retryable, nothing written.
    let (status, e) =
        deliver(&svc, &pair, &with(&["data", "payload", "media_url"], json!(format!("{}/media/gone", media.base)))).await;
    assert_eq!((status, e["error"]["code"].as_str()), (502, Some("fax_media_unavailable")), "{e}");
    assert_eq!(counts(&db).await, before, "refused deliveries write nothing");

    // Delivered once more after all that, the second fax is filed.
    let (status, v2) = deliver(&svc, &pair, &second).await;
    assert_eq!(status, 201, "{v2}");
}

#[tokio::test]
async fn without_telnyx_settings_the_webhook_answers_configuration_and_writes_nothing() {
    let db = TestDb::new().await;
    db.clinic("Fax Clinic").await;
    let svc = service::start(&db, Accounts::Local).await;
    let pair = telnyx_pair();
    let before = counts(&db).await;
    let (status, e) = deliver(&svc, &pair, &received("fax-0100", "+4722334455", "https://fax.example/x.pdf")).await;
    assert_eq!((status, e["error"]["code"].as_str()), (500, Some("configuration")), "{e}");
    assert_eq!(counts(&db).await, before);
    assert!(digimed_service::fax_intake(Some("not a key"), Some("1")).is_err());
    assert!(digimed_service::fax_intake(Some(&public_key(&pair)), Some("clinic")).is_err());
}

/// Files a fax for `clinic` as the service does (here as the owner, as `digimed fax import` does).
async fn file_fax(db: &TestDb, clinic: i32, fax_id: &str, minutes_ago: i64) -> faxes::FaxReceipt {
    let fax = ReceivedFax {
        fax_id: fax_id.to_string(),
        from: "+4722334455".to_string(),
        media_url: "https://fax.example/x.pdf".to_string(),
        page_count: Some(1),
        occurred_at: Some(Utc::now() - chrono::Duration::minutes(minutes_ago)),
    };
    let pdf = referral_pdf(fax_id);
    own(&db.owner, &Acting::Direct, async |tx| faxes::receive(tx, &db.vault, clinic, &fax, "47", async move || Ok(pdf)).await)
        .await
        .unwrap()
}

async fn read_entries(db: &TestDb, fax: i32) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE action = 'READ' AND entity_type = 'inbound_faxes' AND entity_id = $1 ORDER BY id",
    )
    .bind(fax.to_string())
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn support_agents_read_complete_and_discard_faxes_and_secretaries_cannot() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Fax Clinic").await;
    let elsewhere = db.clinic("Other Clinic").await;
    let older = file_fax(&db, clinic, "fax-older", 30).await;
    let newer = file_fax(&db, clinic, "fax-newer", 5).await;
    let support = db.staff(AppRole::CustomerSupport, clinic, "support").await;
    let secretary = db.staff(AppRole::Secretary, clinic, "secretary").await;
    let stranger = db.staff(AppRole::CustomerSupport, elsewhere, "stranger").await;
    let vault = &db.vault;

    // The inbox: newest first, senders masked; each sender's read is recorded.
    let inbox = act(&support.pool, &Acting::Direct, async |tx| faxes::inbox(tx, vault).await).await.unwrap();
    assert_eq!(inbox.iter().map(|f| f.id).collect::<Vec<_>>(), [newer.inbox_id, older.inbox_id]);
    assert_eq!(inbox[0].sender, "+47 ••••• 455");
    assert_eq!(inbox[0].draft_name, None, "the placeholder name is not passed on as a name");
    assert_eq!(read_entries(&db, newer.inbox_id).await, [json!({"fields": ["sender_phone"]})]);
    // Another clinic's support agent sees none of them, and cannot open one.
    let theirs = act(&stranger.pool, &Acting::Direct, async |tx| faxes::inbox(tx, vault).await).await.unwrap();
    assert!(theirs.is_empty());
    let e = act(&stranger.pool, &Acting::Direct, async |tx| faxes::open(tx, vault, newer.inbox_id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);

    // Opening a fax gives its PDF; the read is recorded in the agent's name.
    let doc = act(&support.pool, &Acting::Direct, async |tx| faxes::open(tx, vault, newer.inbox_id).await).await.unwrap();
    assert_eq!(B64.decode(&doc.pdf_base64).unwrap(), referral_pdf("fax-newer"));
    assert_eq!(doc.state, "waiting");
    let (actor, changes): (String, Value) = sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE action = 'READ' AND entity_type = 'inbound_faxes' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(newer.inbox_id.to_string())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((actor.as_str(), changes), (support.login.as_str(), json!({"fields": ["sender_phone", "pdf"]})));

    // A secretary is refused everything, by the core and by the database.
    let before = counts(&db).await;
    let e = act(&secretary.pool, &Acting::Direct, async |tx| faxes::inbox(tx, vault).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let input = FaxCompletion { name: "Synthetic Testperson".into(), phone: Some("+4791234567".into()), national_id: None };
    let e = act(&secretary.pool, &Acting::Direct, async |tx| faxes::complete(tx, vault, older.inbox_id, &input, "47").await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = act(&secretary.pool, &Acting::Direct, async |tx| faxes::discard(tx, older.inbox_id, "duplicate").await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let raw = sqlx::query("SELECT id FROM inbound_faxes").fetch_all(&secretary.pool).await.unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    let raw = sqlx::query("SELECT * FROM inbound_fax_read_as($1, current_user::text, true)")
        .bind(older.inbox_id)
        .fetch_all(&secretary.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    // A support agent cannot read the PDF or the sender past the audited function either.
    let raw = sqlx::query("SELECT pdf_encrypted FROM inbound_faxes").fetch_all(&support.pool).await.unwrap_err();
    assert!(is_denied(&raw), "{raw}");

    // Completing needs a phone number or a national id, and valid ones; refusals change nothing.
    for (input, field, code) in [
        (
            FaxCompletion { name: "Synthetic Testperson".into(), phone: None, national_id: Some(" ".into()) },
            "phone",
            ErrorCode::PhoneRequired,
        ),
        (
            FaxCompletion { name: "Synthetic Testperson".into(), phone: Some("12".into()), national_id: None },
            "phone",
            ErrorCode::InvalidPhoneFormat,
        ),
        (
            FaxCompletion { name: " ".into(), phone: Some("+4791234567".into()), national_id: None },
            "name",
            ErrorCode::NameRequired,
        ),
        (
            FaxCompletion { name: "Synthetic Testperson".into(), phone: None, national_id: Some("12345678901".into()) },
            "national_id",
            ErrorCode::InvalidNationalId,
        ),
    ] {
        let e = act(&support.pool, &Acting::Direct, async |tx| faxes::complete(tx, vault, older.inbox_id, &input, "47").await)
            .await
            .unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (code, Some(field)), "{e:?}");
    }
    // Discarding needs a reason.
    let e = act(&support.pool, &Acting::Direct, async |tx| faxes::discard(tx, newer.inbox_id, "  ").await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("reason")));
    let after = counts(&db).await;
    assert_eq!(
        before.iter().filter(|(t, _)| *t != "audit_log" && *t != "audit_pending").collect::<Vec<_>>(),
        after.iter().filter(|(t, _)| *t != "audit_log" && *t != "audit_pending").collect::<Vec<_>>(),
        "refusals write nothing"
    );
    let states: Vec<(String, String)> = sqlx::query_as(
        "SELECT f.state, pp.status FROM inbound_faxes f JOIN patient_persons pp ON pp.id = f.patient_person_id ORDER BY f.id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(states, [("waiting".into(), "draft".into()), ("waiting".into(), "draft".into())]);

    // Completing the older fax: the draft becomes the patient read on the fax.
    let input = FaxCompletion { name: "Synthetic Testperson".into(), phone: Some("91234567".into()), national_id: None };
    act(&support.pool, &Acting::Direct, async |tx| faxes::complete(tx, vault, older.inbox_id, &input, "47").await).await.unwrap();
    let (name, status, phone_ct): (String, String, Vec<u8>) =
        sqlx::query_as("SELECT name, status, phone_encrypted FROM patient_persons WHERE id = $1")
            .bind(older.patient_person_id)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!((name.as_str(), status.as_str()), ("Synthetic Testperson", "active"));
    let row = i64::from(older.patient_person_id);
    assert_eq!(vault.decrypt("patient_persons", "phone_encrypted", row, &phone_ct).unwrap(), "+4791234567");
    // Discarding the newer one: kept with its reason, the draft discarded.
    act(&support.pool, &Acting::Direct, async |tx| faxes::discard(tx, newer.inbox_id, "Sent to the wrong clinic").await)
        .await
        .unwrap();
    let decided: Vec<(String, Option<String>, Option<i32>, String)> = sqlx::query_as(
        "SELECT f.state, f.discard_reason, f.decided_by, pp.status FROM inbound_faxes f
           JOIN patient_persons pp ON pp.id = f.patient_person_id ORDER BY f.id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        decided,
        [
            ("completed".into(), None, Some(support.id), "active".into()),
            ("discarded".into(), Some("Sent to the wrong clinic".into()), Some(support.id), "discarded".into()),
        ]
    );
    // Both have left the inbox; a discarded fax stays stored and can still be read.
    assert!(act(&support.pool, &Acting::Direct, async |tx| faxes::inbox(tx, vault).await).await.unwrap().is_empty());
    let kept = act(&support.pool, &Acting::Direct, async |tx| faxes::open(tx, vault, newer.inbox_id).await).await.unwrap();
    assert_eq!((kept.state.as_str(), kept.discard_reason.as_deref()), ("discarded", Some("Sent to the wrong clinic")));
    // Each leaves the inbox once.
    let e = act(&support.pool, &Acting::Direct, async |tx| faxes::discard(tx, older.inbox_id, "changed my mind").await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    // The database holds it too: a decided fax does not go back, nor does a discarded person.
    let raw = sqlx::query(
        "UPDATE inbound_faxes SET state = 'waiting', discard_reason = NULL, decided_at = NULL, decided_by = NULL WHERE id = $1",
    )
    .bind(newer.inbox_id)
    .execute(&support.pool)
    .await
    .unwrap_err();
    assert!(raw.to_string().contains("left the inbox"), "{raw}");
    let raw = sqlx::query("UPDATE patient_persons SET status = 'active' WHERE id = $1")
        .bind(newer.patient_person_id)
        .execute(&db.owner)
        .await
        .unwrap_err();
    assert!(raw.to_string().contains("never back"), "{raw}");
    // The decisions are in the audit log in the agent's name.
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT actor FROM audit_log WHERE action = 'UPDATE' AND entity_type = 'inbound_faxes'")
            .fetch_all(&db.owner)
            .await
            .unwrap();
    assert_eq!(actors, std::slice::from_ref(&support.login));
}
