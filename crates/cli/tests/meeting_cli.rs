//! `digimed consultation start` and `digimed consultation links` with a meeting service: a missing
//! Jitsi secret is one line naming the variable and starts nothing; configured, both parties'
//! links are printed, the patient's again by `links`.

use digimed_core::queue;
use digimed_core::ClinicTx;
use digimed_tests::{Role, TestDb};

mod common;

use common::{digimed_with_input, one_error_line, staff_url};

const SECRET: &str = "a-shared-secret-of-forty-two-characters!!!";

#[tokio::test]
async fn consultations_start_on_jitsi_from_the_command_line_and_a_missing_secret_is_named() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let doctor = db.staff(Role::Doctor, oslo, "cli-meeting-doctor").await;
    let dir = std::env::temp_dir().join(format!("digimed-meeting-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    std::fs::write(&key_file, db.vault.keys().to_json().expose()).unwrap();
    let picked = ClinicTx::run(&doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().unwrap();
    let id = picked.id.to_string();
    let url = staff_url(&db, &doctor);
    let base = [
        ("DATABASE_URL", url.as_str()),
        ("DIGIMED_KEY_FILE", key_file.to_str().unwrap()),
        ("DIGIMED_JITSI_DOMAIN", "meet.clinic.test"),
        ("DIGIMED_JITSI_APP_ID", "digimed-test"),
    ];

    // The domain without its secret: one line naming the variable, and the consultation waits.
    let out = digimed_with_input(&["consultation", "start", &id], &base, "");
    assert_eq!(out.status.code(), Some(2));
    let line = one_error_line(&out);
    assert!(line.contains("DIGIMED_JITSI_SECRET"), "{line}");
    let state: String =
        sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(picked.id).fetch_one(&db.owner).await.unwrap();
    assert_eq!(state, "pending_sp");

    // With the secret: both parties' links, never the secret.
    let env = [&base[..], &[("DIGIMED_JITSI_SECRET", SECRET)]].concat();
    let out = digimed_with_input(&["consultation", "start", &id, "--json"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains(SECRET));
    let started: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let room: String = sqlx::query_scalar("SELECT room_name FROM meeting_rooms WHERE consultation_id = $1")
        .bind(picked.id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let prefix = format!("https://meet.clinic.test/{room}?jwt=");
    for key in ["doctor_video_url", "doctor_chat_url", "patient_video_url", "patient_chat_url"] {
        assert!(started[key].as_str().unwrap().starts_with(&prefix), "{key}: {}", started[key]);
    }
    assert_ne!(started["doctor_video_url"], started["patient_video_url"]);
    assert_eq!(started["demo"], false);

    // Read again (another process: the room is the stored one).
    let out = digimed_with_input(&["consultation", "links", &id, "--json"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(links["patient_video_url"], started["patient_video_url"]);
    std::fs::remove_dir_all(&dir).ok();
}
