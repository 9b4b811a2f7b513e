//! `digimed onboard --json` prints what the API answers (`{"data": ...}` or the API's
//! `{"error": ...}`), and `digimed api-token create` prints a token once.

use std::process::Output;

use digimed_tests::TestDb;

mod common;

use common::{db_url, digimed_with_input};

fn digimed(args: &[&str], env: &[(&str, &str)]) -> Output {
    digimed_with_input(args, env, "")
}

#[tokio::test]
async fn onboard_prints_the_api_json() {
    let db = TestDb::new().await;
    let org = db.clinic("Cli Clinic").await;
    let dir = std::env::temp_dir().join(format!("digimed-onboard-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    std::fs::write(&key_file, db.vault.keys().to_json().expose()).unwrap();
    let url = db_url(&db);
    let env = [("DATABASE_URL", url.as_str()), ("DIGIMED_KEY_FILE", key_file.to_str().unwrap())];
    let org_s = org.to_string();
    let args = [
        "onboard",
        "--name",
        "Cli Person",
        "--email",
        "cli.person@example.com",
        "--phone",
        "912 34 567",
        "--org",
        &org_s,
        "--json",
    ];

    let out = digimed(&args, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("local account directory"), "the CLI says where accounts are kept");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["user_created"], true);
    assert_eq!(v["data"]["person"]["name"], "Cli Person");
    assert_eq!(v["data"]["patient"]["organization_id"], org);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("91234567"), "the phone number is not echoed");

    let again = digimed(&args, &env);
    assert_eq!(again.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["error"]["code"], "patient_already_exists");
    assert_eq!(v["error"]["details"]["organization_id"], org);

    let bad = digimed(&["onboard", "--name", "X", "--email", "nope", "--phone", "1", "--org", &org_s, "--json"], &env);
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["error"]["code"], "invalid_email_format");

    // A token for a staff member, printed once on stdout.
    let staff = db.staff(digimed_tests::Role::CustomerSupport, org, "cli-token").await;
    let out = digimed(&["api-token", "create", "--staff", &staff.login], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("dgm_") && token.len() > 40);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&db.owner).await.unwrap();
    assert_ne!(stored, token.as_bytes());

    // The login the service signs in with.
    let login = format!("svc_cli_{}", &db.name[2..14]);
    db.forget_login_later(&login);
    let out = digimed_with_input(&["api-token", "service-login", "--login", &login], &env, "a-long-service-password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pool = db.connect_as(&login, "a-long-service-password").await.unwrap();
    let member: bool =
        sqlx::query_scalar("SELECT pg_has_role(current_user, 'digimed_service', 'USAGE')").fetch_one(&pool).await.unwrap();
    assert!(member);
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
