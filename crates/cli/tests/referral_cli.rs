//! `digimed referral|consultation book|partner` as the clinic's staff meet them: an imported
//! referral waits in the screening list, a secretary records a call, books one and declines
//! another (a reason required), and an admin has a partner's referrals booked on arrival.

use digimed_tests::fixtures::{nid, partner, referral_body};
use digimed_tests::{Role, TestDb};

mod common;

use common::{db_url, digimed_with_input as digimed, one_error_line, staff_url};

#[tokio::test]
async fn secretaries_screen_book_and_decline_referrals_from_the_command_line() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let secretary = db.staff(Role::Secretary, clinic, "cli-secretary").await;
    let doctor = db.staff(Role::Doctor, clinic, "cli-doctor").await;
    let admin = db.staff(Role::Admin, clinic, "cli-admin").await;
    let dir = std::env::temp_dir().join(format!("digimed-referral-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    std::fs::write(&key_file, db.vault.keys().to_json().expose()).unwrap();
    let key_file = key_file.to_str().unwrap().to_string();
    let (owner, as_secretary, as_doctor, as_admin) =
        (db_url(&db), staff_url(&db, &secretary), staff_url(&db, &doctor), staff_url(&db, &admin));
    let env = |url: &str| vec![("DATABASE_URL", url.to_string()), ("DIGIMED_KEY_FILE", key_file.clone())];
    let run = |url: &str, args: &[&str], stdin: &str| {
        let env = env(url);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        digimed(args, &env, stdin)
    };
    let import = |n: u16| {
        let file = dir.join(format!("referral-{n}.json"));
        std::fs::write(&file, referral_body(nid(n).as_str(), uuid::Uuid::new_v4()).to_string()).unwrap();
        let out = run(&owner, &["referral", "import", file.to_str().unwrap(), "--partner", &p.name, "--json"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };

    let first = import(1);
    assert_eq!(
        (&first["consultation_id"], &first["status"]),
        (&serde_json::Value::Null, &serde_json::json!("awaiting_screening"))
    );
    let second = import(2);
    let (a, b) = (first["referral_id"].to_string(), second["referral_id"].to_string());

    // The screening list, and a call recorded with a note from standard input.
    let out = run(&as_secretary, &["referral", "screen", &a, "--call", "reached", "--note-stdin"], "Prefers chat\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&as_secretary, &["referral", "list", "--json"], "");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let listed_a = list.as_array().unwrap().iter().find(|r| r["referral_id"] == first["referral_id"]).unwrap();
    assert_eq!(
        (&listed_a["call_attempts"], &listed_a["last_call_outcome"]),
        (&serde_json::json!(1), &serde_json::json!("reached"))
    );
    let out = run(&as_doctor, &["referral", "list"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("only secretaries and administrators may"));

    // Booked with a doctor, chat first.
    let doctor_id = doctor.id.to_string();
    let args = [
        "consultation",
        "book",
        "--referral",
        &a,
        "--channel",
        "chat",
        "--channel",
        "video",
        "--primary",
        "chat",
        "--doctor",
        &doctor_id,
        "--json",
    ];
    let out = run(&as_secretary, &args, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let booked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&booked["state"], &booked["primary_channel"]), (&serde_json::json!("pending_sp"), &serde_json::json!("chat")));
    let out = run(&as_secretary, &args, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("already booked"));

    // Declined: a reason is required; then it has left the list.
    let out = run(&as_secretary, &["referral", "decline", &b, "--reason", " "], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("reason"));
    let out = run(&as_secretary, &["referral", "decline", &b, "--reason", "Could not be reached in three days"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&as_secretary, &["referral", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no referrals awaiting screening");
    let out = run(&as_secretary, &["consultation", "book", "--referral", &b], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("declined"));

    // The admin has the partner's referrals booked on arrival.
    let out = run(&as_admin, &["partner", "set", &p.name, "--book-on-arrival", "true"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&as_admin, &["partner", "list"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("referrals booked on arrival"));
    let third = import(3);
    assert_eq!(third["status"], serde_json::json!("booked"));
    assert!(third["consultation_id"].is_i64());
    let consultations: i64 = sqlx::query_scalar("SELECT count(*) FROM consultations").fetch_one(&db.owner).await.unwrap();
    assert_eq!(consultations, 2);
    std::fs::remove_dir_all(&dir).ok();
}
