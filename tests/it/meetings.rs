//! Meeting rooms: one room per consultation, kept across restarts; Jitsi join links whose tokens
//! an independent JWT library (PyJWT, Debian's python3-jwt) verifies against the secret: claims,
//! the room of the link, moderator for the doctor and participant for the patient, and expiry a
//! bounded time after the deadline (or the start); demo links when nothing is configured; a
//! refusal naming the variable when the settings are wrong.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use digimed_core::meetings::{
    self, Channel, JitsiConfig, JitsiProvider, MeetingLinks, MeetingProvider, MeetingRole, Meetings, Participant, Room,
    LINK_VALIDITY,
};
use digimed_core::queue::{self, ConsultationState, Started};
use digimed_core::{ClinicTx, ErrorCode};
use digimed_crypto::Secret;
use digimed_tests::Role;
use serde_json::Value;

use crate::queue::{clinic, Clinic};

const DOMAIN: &str = "meet.clinic.test";
const APP_ID: &str = "digimed-test";
const SECRET: &str = "a-shared-secret-of-forty-two-characters!!!";

fn jitsi_config(secret: &str) -> JitsiConfig {
    JitsiConfig { domain: DOMAIN.to_string(), app_id: APP_ID.to_string(), secret: Secret::new(secret.to_string()) }
}

fn jitsi() -> Meetings {
    Meetings::jitsi(jitsi_config(SECRET))
}

/// PyJWT's verdict on a link: the verified claims and the room of its path, or why it refused.
fn verify_with(url: &str, secret: &str) -> Result<Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/verify_jitsi_jwt.py");
    // Debian's own interpreter, where python3-jwt is installed (scripts/deps.sh).
    let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let out = Command::new(python)
        .arg(&script)
        .arg(url)
        .env("JITSI_SECRET", secret)
        .env("JITSI_APP_ID", APP_ID)
        .env("JITSI_DOMAIN", DOMAIN)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("No module named 'jwt'"), "PyJWT is missing: install python3-jwt (scripts/deps.sh)");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the script prints JSON"))
    } else {
        Err(stderr)
    }
}

fn verify(url: &str) -> Value {
    verify_with(url, SECRET).unwrap_or_else(|e| panic!("PyJWT refused a link: {e}"))
}

/// A waiting consultation, picked by a new doctor; with or without a deadline.
async fn picked(c: &Clinic, doctor: &digimed_tests::Staff, deadline: bool) -> i32 {
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO consultations (patient_person_id, organization_id, partner_id, deadline_at)
         VALUES ($1, $2, $3, CASE WHEN $4 THEN now() + interval '2 days' END) RETURNING id",
    )
    .bind(c.person)
    .bind(c.clinic)
    .bind(if deadline { Some(c.partner_id) } else { None })
    .bind(deadline)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    ClinicTx::run(&doctor.pool, async |tx| queue::pick(tx, id).await).await.unwrap();
    id
}

async fn start(pool: &sqlx::PgPool, meetings: &Meetings, id: i32) -> Result<Started, digimed_core::Error> {
    ClinicTx::run(pool, async |tx| queue::start(tx, meetings, id).await).await
}

async fn rooms(c: &Clinic, id: i32) -> Vec<(String, String)> {
    sqlx::query_as("SELECT provider, room_name FROM meeting_rooms WHERE consultation_id = $1")
        .bind(id)
        .fetch_all(&c.db.owner)
        .await
        .unwrap()
}

async fn times(c: &Clinic, id: i32) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    sqlx::query_as("SELECT starts_at, deadline_at FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap()
}

fn exp(v: &Value) -> i64 {
    v["claims"]["exp"].as_i64().unwrap()
}

fn moderator(v: &Value) -> &str {
    v["claims"]["context"]["user"]["moderator"].as_str().unwrap()
}

#[tokio::test]
async fn starting_makes_one_jitsi_room_the_doctor_moderates_and_the_patient_joins() {
    let c = clinic().await;
    let (doc, me) = c.member(Role::Doctor, "dora").await;
    let id = picked(&c, &doc, true).await;
    let started = start(&doc.pool, &jitsi(), id).await.unwrap();
    assert_eq!(started.consultation.state, ConsultationState::InProgress);
    assert!(!started.demo);

    // One room, its name 128 random bits (32 hex digits), and every link leads into it.
    let stored = rooms(&c, id).await;
    assert_eq!(stored.len(), 1);
    let (provider, room) = stored[0].clone();
    assert_eq!(provider, "jitsi");
    assert_eq!(room.len(), 32);
    assert!(room.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{room}");
    for url in [&started.doctor_video_url, &started.doctor_chat_url, &started.patient_video_url, &started.patient_chat_url] {
        assert!(url.starts_with(&format!("https://{DOMAIN}/{room}?jwt=")), "{url}");
    }

    // PyJWT checks the signature against the secret, iss, aud, sub, exp, and that the token's
    // room is the link's.
    let doctor_video = verify(&started.doctor_video_url);
    let doctor_chat = verify(&started.doctor_chat_url);
    let patient_video = verify(&started.patient_video_url);
    let patient_chat = verify(&started.patient_chat_url);
    for v in [&doctor_video, &doctor_chat, &patient_video, &patient_chat] {
        assert_eq!(v["path_room"], room.as_str());
        assert_eq!(v["claims"]["room"], room.as_str());
        assert_eq!(v["claims"]["iss"], APP_ID);
        assert_eq!(v["claims"]["aud"], APP_ID);
        assert_eq!(v["claims"]["sub"], DOMAIN);
    }
    // The doctor moderates, under their own name; the patient takes part, under no name of theirs.
    assert_eq!(moderator(&doctor_video), "true");
    assert_eq!(moderator(&doctor_chat), "true");
    assert_eq!(doctor_video["claims"]["context"]["user"]["name"], me.name.as_str());
    assert_eq!(moderator(&patient_video), "false");
    assert_eq!(moderator(&patient_chat), "false");
    assert_eq!(patient_video["claims"]["context"]["user"]["name"], meetings::PATIENT_DISPLAY_NAME);
    // Chat is the room's own chat: the same room, entered with camera and microphone off.
    assert_eq!(doctor_video["fragment"], "");
    for v in [&doctor_chat, &patient_chat] {
        let fragment = v["fragment"].as_str().unwrap();
        assert!(fragment.contains("config.startWithVideoMuted=true") && fragment.contains("config.startWithAudioMuted=true"));
    }

    // Every link expires the bound after the deadline.
    let (_, deadline) = times(&c, id).await;
    let bound = (deadline.unwrap() + LINK_VALIDITY).timestamp();
    for v in [&doctor_video, &doctor_chat, &patient_video, &patient_chat] {
        assert_eq!(exp(v), bound);
    }
    assert_eq!(started.patient_links_expire_at.timestamp(), bound);

    // The patient's link is what the outgoing event carries; the doctor's never leaves.
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event_type = 'consultation.started' AND (payload->>'consultation_id')::int = $1",
    )
    .bind(id)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(payload["video_join_url"], started.patient_video_url.as_str());
    assert_eq!(payload["demo"], false);
    assert!(!payload.to_string().contains(&started.doctor_video_url));
    assert!(!payload.to_string().contains(SECRET));

    // Starting again is refused and makes no second room.
    let e = start(&doc.pool, &jitsi(), id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert_eq!(rooms(&c, id).await.len(), 1);

    // After a restart (a new configuration read), the doctor gets the same room again: the
    // patient's links exactly as made at the start, the doctor's valid at least the bound from now.
    let before = Utc::now();
    let again: MeetingLinks =
        ClinicTx::run(&doc.pool, async |tx| meetings::links_for_doctor(tx, &jitsi(), id).await).await.unwrap();
    assert_eq!(again.patient_video_url, started.patient_video_url);
    assert_eq!(again.patient_chat_url, started.patient_chat_url);
    let rejoin = verify(&again.doctor_video_url);
    assert_eq!(rejoin["path_room"], room.as_str());
    assert_eq!(moderator(&rejoin), "true");
    assert!(exp(&rejoin) >= bound);
    assert!(exp(&rejoin) >= (before + LINK_VALIDITY).timestamp() - 1);

    // Another consultation gets a room of its own.
    let other = picked(&c, &doc, true).await;
    start(&doc.pool, &jitsi(), other).await.unwrap();
    assert_ne!(rooms(&c, other).await[0].1, room);
}

#[tokio::test]
async fn only_the_assigned_doctor_reads_the_links_of_a_consultation_in_progress() {
    let c = clinic().await;
    let (doc, _) = c.member(Role::Doctor, "dora").await;
    let (colleague, _) = c.member(Role::Doctor, "bent").await;
    let (secretary, _) = c.member(Role::Secretary, "sara").await;
    let id = picked(&c, &doc, true).await;
    let links =
        async |pool: &sqlx::PgPool| ClinicTx::run(pool, async |tx| meetings::links_for_doctor(tx, &jitsi(), id).await).await;
    // Not started yet: no meeting to join.
    assert_eq!(links(&doc.pool).await.unwrap_err().code, ErrorCode::InvalidStateTransition);
    start(&doc.pool, &jitsi(), id).await.unwrap();
    assert!(links(&doc.pool).await.is_ok());
    assert_eq!(links(&colleague.pool).await.unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(links(&secretary.pool).await.unwrap_err().code, ErrorCode::Forbidden);
    // Nor does the colleague read the room's name on a raw connection.
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM meeting_rooms").fetch_one(&colleague.pool).await.unwrap();
    assert_eq!(seen, 0);
    assert!(sqlx::query("SELECT count(*) FROM meeting_rooms").execute(&secretary.pool).await.is_err());
    // Rooms are never renamed.
    let e = sqlx::query("UPDATE meeting_rooms SET room_name = md5('x') WHERE consultation_id = $1")
        .bind(id)
        .execute(&c.db.owner)
        .await
        .unwrap_err();
    assert_eq!(e.as_database_error().and_then(|d| d.code()).as_deref(), Some("P0001"));
}

#[tokio::test]
async fn without_a_deadline_links_expire_a_bounded_time_after_the_start() {
    let c = clinic().await;
    let (doc, _) = c.member(Role::Doctor, "dora").await;
    let id = picked(&c, &doc, false).await;
    let started = start(&doc.pool, &jitsi(), id).await.unwrap();
    let (starts_at, deadline) = times(&c, id).await;
    assert!(deadline.is_none());
    let bound = (starts_at + LINK_VALIDITY).timestamp();
    assert_eq!(exp(&verify(&started.patient_video_url)), bound);
    assert_eq!(exp(&verify(&started.doctor_video_url)), bound);
}

#[test]
fn pyjwt_refuses_a_wrong_secret_an_expired_token_and_a_token_for_another_room() {
    let provider = JitsiProvider::new(jitsi_config(SECRET));
    let room = Room { provider: "jitsi".into(), name: meetings::random_room_name() };
    let patient = Participant { display_name: "Patient".into(), role: MeetingRole::Participant };
    let future = Utc::now() + Duration::hours(1);
    let link = provider.join_link(&room, &patient, Channel::Video, future).unwrap();
    assert!(verify_with(&link, SECRET).is_ok());
    assert!(verify_with(&link, "another-secret-of-forty-two-characters!!!!").unwrap_err().contains("InvalidSignatureError"));
    let expired =
        provider.join_link(&room, &patient, Channel::Video, Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()).unwrap();
    assert!(verify_with(&expired, SECRET).unwrap_err().contains("ExpiredSignatureError"));
    let other_room = meetings::random_room_name();
    let moved = link.replacen(&room.name, &other_room, 1);
    assert!(verify_with(&moved, SECRET).unwrap_err().contains("not the room of the link"));
}

#[tokio::test]
async fn with_nothing_configured_links_are_flagged_as_demo_links() {
    let meetings = Meetings::from_settings(|_| None, || None);
    assert!(meetings.status().demo);
    assert!(meetings.startup_line().contains("no meeting service is set up"));
    let c = clinic().await;
    let (doc, _) = c.member(Role::Doctor, "dora").await;
    let id = picked(&c, &doc, true).await;
    let started = start(&doc.pool, &meetings, id).await.unwrap();
    assert!(started.demo);
    let room = rooms(&c, id).await[0].clone();
    assert_eq!(room.0, "demo");
    assert_eq!(started.patient_video_url, format!("https://meet.digimed.test/{}", room.1));
    assert!(!started.doctor_video_url.contains("jwt="));
    // A demo room stays a demo room when a real service is configured later.
    let again = ClinicTx::run(&doc.pool, async |tx| meetings::links_for_doctor(tx, &jitsi(), id).await).await.unwrap();
    assert!(again.demo);
}

#[tokio::test]
async fn wrong_settings_refuse_to_start_naming_the_variable_and_change_nothing() {
    let settings = |pairs: Vec<(&'static str, &'static str)>| {
        move |k: &str| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
    };
    let no_secret =
        Meetings::from_settings(settings(vec![("DIGIMED_JITSI_DOMAIN", DOMAIN), ("DIGIMED_JITSI_APP_ID", APP_ID)]), || None);
    let status = no_secret.status();
    assert!(!status.demo);
    assert_eq!(status.problem.as_ref().and_then(|p| p.field.as_deref()), Some("DIGIMED_JITSI_SECRET"));
    assert!(no_secret.startup_line().contains("DIGIMED_JITSI_SECRET"));
    let bad_domain = Meetings::from_settings(
        settings(vec![
            ("DIGIMED_JITSI_DOMAIN", "https://meet.clinic.test/"),
            ("DIGIMED_JITSI_APP_ID", APP_ID),
            ("DIGIMED_JITSI_SECRET", SECRET),
        ]),
        || None,
    );
    assert!(bad_domain.startup_line().contains("DIGIMED_JITSI_DOMAIN"));
    assert!(!bad_domain.startup_line().contains(SECRET));
    assert!(!format!("{bad_domain:?} {:?}", jitsi()).contains(SECRET));

    let c = clinic().await;
    let (doc, _) = c.member(Role::Doctor, "dora").await;
    let id = picked(&c, &doc, true).await;
    for (meetings, variable) in [(no_secret, "DIGIMED_JITSI_SECRET"), (bad_domain, "DIGIMED_JITSI_DOMAIN")] {
        let e = start(&doc.pool, &meetings, id).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Configuration);
        assert_eq!(e.field.as_deref(), Some(variable));
        assert!(e.message.contains(variable), "{}", e.message);
    }
    let state: String =
        sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(id).fetch_one(&c.db.owner).await.unwrap();
    assert_eq!(state, "pending_sp");
    assert!(rooms(&c, id).await.is_empty());
}
