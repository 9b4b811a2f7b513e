//! Messages to patients, delivered for real: e-mails to an SMTP server on loopback (aiosmtpd),
//! SMS to a local stand-in speaking Twilio's Messages API (basic authentication, form fields
//! `To`, `From`, `Body`, the idempotency header, a JSON answer with `sid`). The right link in the
//! patient's language; nothing sent twice across retries and two workers; failures shown as
//! failed with the reason; marketing suppressed for a partner's patient and an opt-out while
//! service messages go; nothing configured keeps messages queued and says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use digimed_core::accounts::Accounts;
use digimed_core::forms::{self, SignedBy};
use digimed_core::meetings::Meetings;
use digimed_core::messages::delivery::DeliveryOptions;
use digimed_core::messages::transport::{DeliveryConfig, EmailSetup, Mailer, SmsSetup, Twilio};
use digimed_core::messages::{self, MessageChannel, MessageFilter, MessageKind, MessageState, PatientMessage};
use digimed_core::public_links::PublicUrl;
use digimed_core::queue::{self, NewBooking};
use digimed_core::results::{self, ResultInput};
use digimed_core::session::AppRole;
use digimed_core::{ClinicTx, ErrorCode};
use digimed_service::messages::MessageWorker;
use digimed_tests::service::{service_pool, service_pool_named};
use digimed_tests::{Staff, TestDb};
use tokio::io::AsyncBufReadExt;

use crate::onboarding::{input, run, seed_rules};

const PUBLIC: &str = "https://digimed.example.test";
const SID: &str = "AC0123456789abcdef";
const TOKEN: &str = "sms-auth-token-not-a-real-one";

// ---------------------------------------------------------------------------------------------
// The SMTP server: aiosmtpd in a child process.

#[derive(Debug, Clone)]
struct Mail {
    rcpt_tos: Vec<String>,
    message_id: String,
    subject: String,
    body: String,
}

struct SmtpSink {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    _child: tokio::process::Child,
}

async fn smtp_sink(env: &[(&str, &str)]) -> SmtpSink {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp_sink.py");
    let mut cmd = tokio::process::Command::new("/usr/bin/python3");
    cmd.arg(script).stdout(std::process::Stdio::piped()).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("python3 with aiosmtpd (scripts/deps.sh installs python3-aiosmtpd)");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    let port: u16 = first.strip_prefix("PORT ").expect("the sink says its port").parse().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let sink = mails.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            if v.get("message_id").is_some() {
                sink.lock().unwrap().push(Mail {
                    rcpt_tos: v["rcpt_tos"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect(),
                    message_id: text("message_id"),
                    subject: text("subject"),
                    body: text("body"),
                });
            }
        }
    });
    SmtpSink { port, mails, _child: child }
}

// ---------------------------------------------------------------------------------------------
// The SMS provider: Twilio's Messages API, as its documentation describes it.

#[derive(Debug, Clone)]
struct Sms {
    to: String,
    from: String,
    body: String,
    idempotency: String,
    accepted: bool,
}

#[derive(Clone, Default)]
struct SmsStandin {
    got: Arc<Mutex<Vec<Sms>>>,
    fail_first: Arc<Mutex<usize>>,
    refuse: Arc<Mutex<bool>>,
}

async fn sms_standin(s: SmsStandin) -> String {
    let app = Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        post(move |Path(sid): Path<String>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>| {
            let s = s.clone();
            async move {
                let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}")));
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
                if sid != SID || auth != expected {
                    return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"code": 20003, "status": 401})));
                }
                let (Some(to), Some(from), Some(body)) = (form.get("To"), form.get("From"), form.get("Body")) else {
                    return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"code": 21604, "status": 400})));
                };
                let idempotency =
                    headers.get("i-twilio-idempotency-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let mut fail = s.fail_first.lock().unwrap();
                let refuse = *s.refuse.lock().unwrap();
                let accepted = *fail == 0 && !refuse;
                s.got.lock().unwrap().push(Sms {
                    to: to.clone(),
                    from: from.clone(),
                    body: body.clone(),
                    idempotency: idempotency.clone(),
                    accepted,
                });
                if refuse {
                    return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"code": 21211, "status": 400})));
                }
                if *fail > 0 {
                    *fail -= 1;
                    return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"code": 20500, "status": 503})));
                }
                let sid = format!("SM{}", &idempotency.replace('-', "")[..16.min(idempotency.len())]);
                (StatusCode::CREATED, Json(serde_json::json!({"sid": sid, "status": "queued", "to": to})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn config(smtp_port: Option<u16>, sms_url: Option<&str>) -> DeliveryConfig {
    DeliveryConfig {
        public_url: Ok(PublicUrl::parse(PUBLIC).unwrap()),
        email: match smtp_port {
            Some(p) => EmailSetup::Ready(Box::new(
                Mailer::new(&format!("smtp://127.0.0.1:{p}"), Some("Digimed <post@digimed.example.test>")).unwrap(),
            )),
            None => EmailSetup::NotConfigured,
        },
        sms: match sms_url {
            Some(u) => SmsSetup::Ready(Twilio::new(u, SID, TOKEN.to_string(), "+4790000001").unwrap()),
            None => SmsSetup::NotConfigured,
        },
    }
}

fn quick() -> DeliveryOptions {
    DeliveryOptions {
        batch: 10,
        max_attempts: 3,
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        held_wait: Duration::from_millis(50),
    }
}

// ---------------------------------------------------------------------------------------------
// The clinic and its patients.

struct Clinic {
    db: TestDb,
    org: i32,
    doctor: Staff,
    secretary: Staff,
    support: Staff,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let org = db.clinic("Message Clinic").await;
    seed_rules(&db, &[org]).await;
    let doctor = db.staff(AppRole::Doctor, org, "m-doctor").await;
    let secretary = db.staff(AppRole::Secretary, org, "m-secretary").await;
    let support = db.staff(AppRole::CustomerSupport, org, "m-support").await;
    Clinic { db, org, doctor, secretary, support }
}

/// Onboards a walk-in patient (the rules ask for forms and the welcome e-mail); returns the
/// person's id.
async fn patient(c: &Clinic, name: &str, email: &str, phone: &str) -> i32 {
    run(&c.support.pool, &c.db, &Accounts::Local, &input(name, email, phone, c.org)).await.unwrap().patient_person_id
}

/// Books, picks and starts a consultation for `person`; returns its id and the join link.
async fn started(c: &Clinic, person: i32) -> (i32, String) {
    let booking = NewBooking {
        patient_person_id: person,
        partner_id: None,
        enabled_channels: vec![],
        primary_channel: None,
        doctor_id: Some(c.doctor.id),
    };
    let booked = ClinicTx::run(&c.secretary.pool, async |tx| queue::book(tx, &booking).await).await.unwrap();
    let meeting = Meetings::demo();
    let s = ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &meeting, booked.id).await).await.unwrap();
    (booked.id, s.patient_video_url)
}

async fn list(c: &Clinic, filter: MessageFilter) -> Vec<PatientMessage> {
    ClinicTx::run(&c.secretary.pool, async |tx| messages::list(tx, filter).await).await.unwrap()
}

async fn preference_token(db: &TestDb, person: i32) -> String {
    sqlx::query_scalar("SELECT token FROM communication_preference_tokens WHERE patient_person_id = $1")
        .bind(person)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

/// Waits (up to 30 s) until no message is queued any more, running `worker` passes meanwhile.
async fn settle(db: &TestDb, worker: &MessageWorker) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        worker.tick().await.unwrap();
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_messages WHERE state = 'queued'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
        if queued == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{queued} messages still queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (up to 20 s) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn completes_blocking_forms(c: &Clinic, person: i32) {
    // The rules' blocking forms would hold the first consultation back; sign them on paper.
    let forms: Vec<i32> = sqlx::query_scalar(
        "SELECT f.id FROM forms f JOIN patients p ON p.id = f.patient_id WHERE p.patient_person_id = $1 AND f.status = 'pending'",
    )
    .bind(person)
    .fetch_all(&c.db.owner)
    .await
    .unwrap();
    for id in forms {
        ClinicTx::run(&c.support.pool, async |tx| {
            let text = forms::text(tx, id).await?;
            forms::sign(tx, id, SignedBy::StaffAttested, &text.template_sha256).await
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn each_message_reaches_the_patient_with_the_right_link_in_their_language() {
    let c = clinic().await;
    let sink = smtp_sink(&[]).await;
    let sms = SmsStandin::default();
    let sms_url = sms_standin(sms.clone()).await;
    let kari = patient(&c, "Kari Nordmann", "kari.message@example.com", "91234560").await;
    let john = patient(&c, "John Doe", "john.message@example.com", "91234561").await;
    sqlx::query("UPDATE patient_persons SET language = 'en' WHERE id = $1").bind(john).execute(&c.db.owner).await.unwrap();
    completes_blocking_forms(&c, kari).await;
    completes_blocking_forms(&c, john).await;

    // Onboarding queued the welcome e-mail and the forms invitation for each.
    let kinds: Vec<MessageKind> =
        list(&c, MessageFilter { patient_person_id: Some(kari), ..Default::default() }).await.iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&MessageKind::Welcome) && kinds.contains(&MessageKind::FormsInvitation), "{kinds:?}");

    let (kari_c, kari_link) = started(&c, kari).await;
    let (john_c, john_link) = started(&c, john).await;
    let join = list(&c, MessageFilter { consultation_id: Some(john_c), ..Default::default() }).await;
    assert_eq!(join.len(), 1);
    assert_eq!(
        (join[0].kind, join[0].channel, join[0].state),
        (MessageKind::JoinLink, Some(MessageChannel::Sms), MessageState::Queued)
    );

    let worker =
        MessageWorker::new(service_pool(&c.db).await, c.db.vault.clone(), config(Some(sink.port), Some(&sms_url)), quick());
    settle(&c.db, &worker).await;

    // The join links, by SMS, each in the patient's language, with the footer's preferences link.
    let got = sms.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    let to_kari = got.iter().find(|s| s.to == "+4791234560").expect("Kari's SMS");
    let to_john = got.iter().find(|s| s.to == "+4791234561").expect("John's SMS");
    assert!(to_kari.body.contains(&kari_link) && to_kari.body.contains("Bli med"), "{}", to_kari.body);
    assert!(to_john.body.contains(&john_link) && to_john.body.contains("Join here"), "{}", to_john.body);
    assert!(to_kari.body.contains(&format!("{PUBLIC}/preferences/{}", preference_token(&c.db, kari).await)));
    assert_eq!(to_kari.from, "+4790000001");
    let sent = list(&c, MessageFilter { consultation_id: Some(kari_c), ..Default::default() }).await;
    assert_eq!(sent[0].state, MessageState::Sent);
    assert!(sent[0].provider_id.as_deref().unwrap().starts_with("SM"));

    // The welcome e-mails and forms invitations, by e-mail.
    let mails = sink.mails.lock().unwrap().clone();
    let kari_mails: Vec<&Mail> = mails.iter().filter(|m| m.rcpt_tos == ["kari.message@example.com"]).collect();
    assert_eq!(kari_mails.len(), 2, "{mails:?}");
    let forms = kari_mails.iter().find(|m| m.subject == "Skjemaer du må signere").expect("the forms invitation in bokmål");
    assert!(forms.body.contains(&format!("{PUBLIC}/forms/{}", preference_token(&c.db, kari).await)), "{}", forms.body);
    // Each message is in the language the patient had when it was queued: John chose English
    // after his welcome e-mail was queued.
    assert!(mails.iter().any(|m| m.rcpt_tos == ["john.message@example.com"] && m.subject == "Velkommen til Digimed"));

    // Completing thanks the patient with the review page's link; cancelling tells them.
    let result = ResultInput { icpc2: "R74".into(), outcome: "helped".into(), ..Default::default() };
    c.db.import_icpc2().await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, john_c, &result).await)
        .await
        .unwrap();
    ClinicTx::run(&c.secretary.pool, async |tx| queue::cancel(tx, kari_c, "The patient felt better").await).await.unwrap();
    settle(&c.db, &worker).await;
    let review: String = sqlx::query_scalar("SELECT token FROM consultation_reviews WHERE consultation_id = $1")
        .bind(john_c)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert!(review.len() >= 43);
    let mails = sink.mails.lock().unwrap().clone();
    let thanks = mails.iter().find(|m| m.subject == "Thank you for your consultation").expect("the thank-you");
    assert!(thanks.body.contains(&format!("{PUBLIC}/review/{review}")), "{}", thanks.body);
    assert!(!thanks.body.contains("R74"), "no clinical content");
    let cancelled = mails.iter().find(|m| m.subject == "Konsultasjonen din er avlyst").expect("the cancellation");
    assert!(!cancelled.body.contains("felt better"), "the reason stays in the clinic");
    assert_eq!(cancelled.rcpt_tos, ["kari.message@example.com"]);
    // The e-mail's Message-ID is the message's idempotency key, and what staff see as its id.
    let listed = list(&c, MessageFilter { consultation_id: Some(kari_c), ..Default::default() }).await;
    let cancel_msg = listed.iter().find(|m| m.kind == MessageKind::Cancellation).unwrap();
    assert_eq!(cancel_msg.provider_id.as_deref(), Some(cancelled.message_id.as_str()));

    // At rest the recipient and text are ciphertext.
    let rows: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT recipient_encrypted, body_encrypted FROM patient_messages WHERE recipient_encrypted IS NOT NULL")
            .fetch_all(&c.db.owner)
            .await
            .unwrap();
    assert!(rows.len() >= 8);
    for (r, b) in rows {
        for plain in [&b"example.com"[..], b"91234560", b"Digimed", b"review"] {
            assert!(!r.windows(plain.len()).any(|w| w == plain) && !b.windows(plain.len()).any(|w| w == plain));
        }
    }
}

#[tokio::test]
async fn retries_and_two_workers_never_send_a_message_twice() {
    let c = clinic().await;
    let sink = smtp_sink(&[("SMTP_SINK_DEFER", "2")]).await;
    let sms = SmsStandin::default();
    *sms.fail_first.lock().unwrap() = 2;
    let sms_url = sms_standin(sms.clone()).await;
    let mut people = Vec::new();
    for i in 0..6 {
        let p = patient(&c, &format!("Twice Person {i}"), &format!("twice{i}@example.com"), &format!("9200000{i}")).await;
        completes_blocking_forms(&c, p).await;
        people.push(p);
    }
    for p in &people[..3] {
        started(&c, *p).await;
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_messages").fetch_one(&c.db.owner).await.unwrap();
    assert_eq!(total, 6 * 2 + 3, "a welcome and a forms invitation each, and three join links");

    // Two services, each with its own login and worker, on one database.
    let mut stops = Vec::new();
    for name in ["svc_a", "svc_b"] {
        let w = MessageWorker::new(
            service_pool_named(&c.db, name).await,
            c.db.vault.clone(),
            config(Some(sink.port), Some(&sms_url)),
            DeliveryOptions { max_attempts: 8, ..quick() },
        )
        .with_poll_interval(Duration::from_millis(10));
        let (stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(w.run(rx));
        stops.push(stop);
    }
    let db = &c.db;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM patient_messages WHERE state = 'queued'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
        if queued == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{queued} messages still queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for s in stops {
        let _ = s.send(true);
    }
    let states: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT state FROM patient_messages").fetch_all(&db.owner).await.unwrap();
    assert_eq!(states, ["sent"]);
    until("the e-mails to arrive", || sink.mails.lock().unwrap().len() == 12).await;

    // Each e-mail arrived once, under its own Message-ID, though two were deferred at first.
    let mails = sink.mails.lock().unwrap().clone();
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "{mails:?}");
    // Each SMS was accepted once; the refused attempts carried the same idempotency key.
    let got = sms.got.lock().unwrap().clone();
    let accepted: Vec<&Sms> = got.iter().filter(|s| s.accepted).collect();
    assert_eq!(accepted.len(), 3, "{got:?}");
    let mut keys: Vec<&str> = accepted.iter().map(|s| s.idempotency.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3);
    assert_eq!(got.len(), 5, "two refusals and three acceptances");
    let db_keys: Vec<String> =
        sqlx::query_scalar("SELECT idempotency_key::text FROM patient_messages WHERE channel = 'sms' ORDER BY 1")
            .fetch_all(&db.owner)
            .await
            .unwrap();
    let mut sent_keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sent_keys.sort();
    assert_eq!(db_keys, sent_keys);
    // A sent message is never sent again: the database refuses to change it.
    let e = sqlx::query("UPDATE patient_messages SET state = 'queued' WHERE state = 'sent'").execute(&db.owner).await;
    assert!(e.is_err());
}

#[tokio::test]
async fn failures_show_as_failed_with_the_reason() {
    let c = clinic().await;
    let refusing = smtp_sink(&[("SMTP_SINK_REFUSE", "1")]).await;
    let sms = SmsStandin::default();
    *sms.refuse.lock().unwrap() = true;
    let sms_url = sms_standin(sms.clone()).await;
    let p = patient(&c, "Failing Person", "failing@example.com", "93000001").await;
    completes_blocking_forms(&c, p).await;
    let (consultation, _) = started(&c, p).await;

    let worker =
        MessageWorker::new(service_pool(&c.db).await, c.db.vault.clone(), config(Some(refusing.port), Some(&sms_url)), quick());
    settle(&c.db, &worker).await;
    let all = list(&c, MessageFilter { patient_person_id: Some(p), ..Default::default() }).await;
    assert_eq!(all.len(), 3);
    for m in &all {
        assert_eq!(m.state, MessageState::Failed, "{m:?}");
    }
    let join = all.iter().find(|m| m.kind == MessageKind::JoinLink).unwrap();
    assert_eq!(join.reason.as_deref(), Some("The SMS provider refused the message (HTTP 400, error 21211)."));
    let mail = all.iter().find(|m| m.kind == MessageKind::Welcome).unwrap();
    assert_eq!(mail.reason.as_deref(), Some("The mail server refused the message (550)."));
    // The queue shows the failed join link as a warning.
    let warnings =
        ClinicTx::run(&c.secretary.pool, async |tx| messages::join_link_warnings(tx, &[consultation]).await).await.unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].state, MessageState::Failed);

    // A server that cannot be reached: retried, then failed with the reason.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let resent = ClinicTx::run(&c.doctor.pool, async |tx| messages::resend_join_link(tx, consultation).await).await.unwrap();
    sqlx::query("UPDATE communication_preference_tokens SET sms_allowed = false WHERE patient_person_id = $1")
        .bind(p)
        .execute(&c.db.owner)
        .await
        .unwrap();
    let by_mail = ClinicTx::run(&c.doctor.pool, async |tx| messages::resend_join_link(tx, consultation).await).await.unwrap();
    assert_eq!((resent.channel, by_mail.channel), (Some(MessageChannel::Sms), Some(MessageChannel::Email)));
    let worker =
        MessageWorker::new(service_pool_named(&c.db, "svc2").await, c.db.vault.clone(), config(Some(closed), None), quick());
    settle_email(&c.db, &worker).await;
    let m = list(&c, MessageFilter { consultation_id: Some(consultation), ..Default::default() }).await;
    let unreachable = m.iter().find(|x| x.id == by_mail.id).unwrap();
    assert_eq!(unreachable.state, MessageState::Failed);
    assert_eq!(unreachable.attempts, 3);
    let reason = unreachable.reason.as_deref().unwrap();
    assert!(reason.contains("cannot be reached") && reason.ends_with("Gave up after 3 attempts."), "{reason}");
    // With SMS not configured the first resend stays queued, and says so.
    let held = m.iter().find(|x| x.id == resent.id).unwrap();
    assert_eq!(held.state, MessageState::Queued);

    // A malformed DIGIMED_SMTP_URL: one clear line, and the e-mails fail with the reason.
    let malformed = DeliveryConfig {
        email: EmailSetup::Invalid(Mailer::new("smtp//user:hunter2@mail", Some("a@b.test")).err().unwrap()),
        ..config(None, None)
    };
    let lines = MessageWorker::notices(&malformed).await;
    assert!(lines.iter().any(|l| l.contains("DIGIMED_SMTP_URL is malformed")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("hunter2")));
    let again = ClinicTx::run(&c.doctor.pool, async |tx| messages::resend_join_link(tx, consultation).await).await.unwrap();
    let worker = MessageWorker::new(service_pool_named(&c.db, "svc3").await, c.db.vault.clone(), malformed, quick());
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    let m = list(&c, MessageFilter { consultation_id: Some(consultation), ..Default::default() }).await;
    let bad = m.iter().find(|x| x.id == again.id).unwrap();
    assert_eq!(bad.state, MessageState::Failed);
    assert!(bad.reason.as_deref().unwrap().contains("DIGIMED_SMTP_URL is malformed"));
    assert!(!bad.reason.as_deref().unwrap().contains("hunter2"));
}

#[tokio::test]
async fn marketing_is_suppressed_for_partner_patients_and_opt_outs_while_service_messages_go() {
    let c = clinic().await;
    let sink = smtp_sink(&[]).await;
    // A patient who came through the insurer partner.
    let partner = digimed_tests::fixtures::partner(&c.db, c.org, true).await;
    let referral = digimed_tests::fixtures::booked_referral(&c.db, &partner, 41).await;
    let referred: i32 = sqlx::query_scalar("SELECT patient_person_id FROM consultations WHERE id = $1")
        .bind(referral.consultation_id.unwrap())
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    let welcome =
        ClinicTx::run(&c.secretary.pool, async |tx| messages::queue(tx, MessageKind::Welcome, referred, c.org, None, None).await)
            .await
            .unwrap();
    assert_eq!(welcome.state, MessageState::Suppressed);
    assert_eq!(welcome.reason.as_deref(), Some("The patient came through an insurer partner: no marketing is sent to them."));
    let cancel_id = referral.consultation_id.unwrap();
    ClinicTx::run(&c.secretary.pool, async |tx| queue::cancel(tx, cancel_id, "Booked twice").await).await.unwrap();

    // A walk-in patient who opted out of marketing on their preferences page.
    let p = patient(&c, "Opted Out", "opted.out@example.com", "94000001").await;
    sqlx::query("DELETE FROM patient_messages WHERE patient_person_id = $1").bind(p).execute(&c.db.owner).await.unwrap();
    sqlx::query(
        "UPDATE communication_preference_tokens SET marketing_opt_out = true, updated_at = now() WHERE patient_person_id = $1",
    )
    .bind(p)
    .execute(&c.db.owner)
    .await
    .unwrap();
    let again =
        run(&c.support.pool, &c.db, &Accounts::Local, &input("Opted Out", "opted.out@example.com", "94000001", c.org)).await;
    assert!(again.is_err(), "already a patient");
    let w = ClinicTx::run(&c.support.pool, async |tx| messages::queue(tx, MessageKind::Welcome, p, c.org, None, None).await)
        .await
        .unwrap();
    assert_eq!((w.state, w.reason.as_deref()), (MessageState::Suppressed, Some("The patient opted out of marketing.")));
    let forms =
        ClinicTx::run(&c.support.pool, async |tx| messages::queue(tx, MessageKind::FormsInvitation, p, c.org, None, None).await)
            .await
            .unwrap();
    assert_eq!(forms.state, MessageState::Queued);

    let sms = SmsStandin::default();
    let sms_url = sms_standin(sms.clone()).await;
    let worker =
        MessageWorker::new(service_pool(&c.db).await, c.db.vault.clone(), config(Some(sink.port), Some(&sms_url)), quick());
    settle(&c.db, &worker).await;
    let mails = sink.mails.lock().unwrap().clone();
    assert!(mails.iter().all(|m| m.subject != "Velkommen til Digimed"), "no welcome e-mail went out: {mails:?}");
    assert!(mails.iter().any(|m| m.rcpt_tos == ["opted.out@example.com"] && m.subject == "Skjemaer du må signere"));
    let referred_msgs = list(&c, MessageFilter { patient_person_id: Some(referred), ..Default::default() }).await;
    let cancellation = referred_msgs.iter().find(|m| m.kind == MessageKind::Cancellation).expect("the cancellation");
    assert_eq!(cancellation.state, MessageState::Sent, "service messages go to partner patients too");
}

/// Like [`settle`] for e-mail only (when SMS is not configured).
async fn settle_email(db: &TestDb, worker: &MessageWorker) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        worker.tick().await.unwrap();
        let queued: i64 =
            sqlx::query_scalar("SELECT count(*) FROM patient_messages WHERE state = 'queued' AND channel = 'email'")
                .fetch_one(&db.owner)
                .await
                .unwrap();
        if queued == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{queued} e-mails still queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_nothing_configured_messages_stay_queued_and_say_so() {
    let c = clinic().await;
    let p = patient(&c, "Kept Person", "kept@example.com", "95000001").await;
    let nothing = DeliveryConfig {
        public_url: Ok(PublicUrl::parse(PUBLIC).unwrap()),
        email: EmailSetup::NotConfigured,
        sms: SmsSetup::NotConfigured,
    };
    let lines = MessageWorker::notices(&nothing).await;
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("e-mail is not configured") && lines[0].contains("none is sent"), "{lines:?}");
    assert!(lines[1].contains("SMS is not configured") && lines[1].contains("none is sent"), "{lines:?}");
    let worker = MessageWorker::new(service_pool(&c.db).await, c.db.vault.clone(), nothing, quick());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        worker.tick().await.unwrap();
        let all = list(&c, MessageFilter { patient_person_id: Some(p), ..Default::default() }).await;
        if all.iter().all(|m| m.reason.is_some()) {
            for m in &all {
                assert_eq!(m.state, MessageState::Queued);
                assert_eq!(m.reason.as_deref(), Some("Not sent: e-mail is not configured (DIGIMED_SMTP_URL is not set)."));
                assert_eq!(m.attempts, 0);
                assert_eq!(m.provider_id, None);
            }
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What would be sent is kept, encrypted.
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM patient_messages WHERE patient_person_id = $1 AND body_encrypted IS NOT NULL")
            .bind(p)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(kept, 2);
}

#[tokio::test]
async fn resending_a_link_and_bad_input() {
    let c = clinic().await;
    let p = patient(&c, "Resend Person", "resend@example.com", "96000001").await;
    completes_blocking_forms(&c, p).await;
    let booking = NewBooking {
        patient_person_id: p,
        partner_id: None,
        enabled_channels: vec![],
        primary_channel: None,
        doctor_id: Some(c.doctor.id),
    };
    let booked = ClinicTx::run(&c.secretary.pool, async |tx| queue::book(tx, &booking).await).await.unwrap();
    let count =
        async || -> i64 { sqlx::query_scalar("SELECT count(*) FROM patient_messages").fetch_one(&c.db.owner).await.unwrap() };
    let before = count().await;
    // Not started yet: refused, nothing written.
    let e = ClinicTx::run(&c.secretary.pool, async |tx| messages::resend_join_link(tx, booked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    let e = ClinicTx::run(&c.secretary.pool, async |tx| messages::resend_join_link(tx, -3).await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("consultation"));
    let e = ClinicTx::run(&c.support.pool, async |tx| messages::resend_join_link(tx, booked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = ClinicTx::run(&c.secretary.pool, async |tx| {
        messages::list(tx, MessageFilter { patient_person_id: Some(0), consultation_id: None }).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("patient"));
    assert_eq!(count().await, before);

    let meeting = Meetings::demo();
    let s = ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &meeting, booked.id).await).await.unwrap();
    let other = c.db.staff(AppRole::Doctor, c.org, "m-other-doctor").await;
    let e = ClinicTx::run(&other.pool, async |tx| messages::resend_join_link(tx, booked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let again = ClinicTx::run(&c.secretary.pool, async |tx| messages::resend_join_link(tx, booked.id).await).await.unwrap();
    assert_eq!((again.kind, again.state), (MessageKind::JoinLink, MessageState::Queued));
    let links: Vec<String> =
        sqlx::query_scalar("SELECT link_url FROM patient_messages WHERE consultation_id = $1 AND kind = 'join_link'")
            .bind(booked.id)
            .fetch_all(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(links, [s.patient_video_url.clone(), s.patient_video_url]);
    // Staff of another clinic see none of it.
    let elsewhere = c.db.clinic("Other Clinic").await;
    let stranger = c.db.staff(AppRole::Secretary, elsewhere, "m-stranger").await;
    let seen = ClinicTx::run(&stranger.pool, async |tx| {
        messages::list(tx, MessageFilter { patient_person_id: Some(p), consultation_id: None }).await
    })
    .await
    .unwrap();
    assert!(seen.is_empty());
    let e = ClinicTx::run(&stranger.pool, async |tx| messages::resend_join_link(tx, booked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}
