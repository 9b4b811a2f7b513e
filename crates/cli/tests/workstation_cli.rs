//! `digimed workstation`: an admin's bundle, a headless machine accepting it (a wrong passphrase
//! and a used bundle refused in one line, nothing saved), the list, and the owner's revoke that
//! rotates the keys so the revoked machine's keys read nothing.

use digimed_core::keys::Vault;
use digimed_core::session::AppRole;
use digimed_crypto::{DataKeys, KeyStore};
use digimed_tests::TestDb;

mod common;

use common::{db_url, digimed_with_input as digimed, one_error_line, staff_url};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("digimed-ws-cli-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test]
async fn enroll_accept_list_and_revoke_from_the_command_line() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let clinic: i32 = sqlx::query_scalar("SELECT id FROM organizations WHERE kind = 'clinic' ORDER BY id LIMIT 1")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let admin = db.staff(AppRole::Admin, clinic, "ina").await;
    let secretary = db.staff(AppRole::Secretary, clinic, "randi").await;
    let server_dir = scratch("server");
    let server_keys = server_dir.join("keys.json");
    KeyStore::File(server_keys.clone()).save(&DataKeys::from_json(db.vault.keys().to_json().expose()).unwrap()).unwrap();
    let server_keys = server_keys.to_str().unwrap();
    let bundle = server_dir.join("reception-9.age");
    let bundle = bundle.to_str().unwrap();

    let as_admin = staff_url(&db, &admin);
    let admin_env = [("DATABASE_URL", as_admin.as_str()), ("DIGIMED_KEY_FILE", server_keys)];
    let out =
        digimed(&["workstation", "enroll", "--label", "Reception 9", "--role", "secretary", "--out", bundle], &admin_env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let passphrase = said.lines().find_map(|l| l.split("): ").nth(1)).expect("the passphrase is printed").trim().to_string();
    assert_eq!(passphrase.len(), 35, "{said}");
    assert!(std::fs::read_to_string(bundle).unwrap().starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    // The bundle file is not overwritten by a second enrollment.
    let out =
        digimed(&["workstation", "enroll", "--label", "Reception 10", "--role", "secretary", "--out", bundle], &admin_env, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("cannot be written"));
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM workstation_enrollments").fetch_one(&db.owner).await.unwrap();
    assert_eq!(made, 1, "the refused second enrollment left no row");

    // A wrong passphrase: one line, nothing saved.
    let machine = scratch("machine");
    let machine_keys = machine.join("keys.json");
    let machine_env = [("DIGIMED_KEY_FILE", machine_keys.to_str().unwrap())];
    let login = secretary.login.as_str();
    let out = digimed(
        &["workstation", "accept", bundle, "--username", login],
        &machine_env,
        &format!("abcde-fghij-kmnpq-rstuv-wxyz2-34567\n{}\n", secretary.password.expose()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("passphrase does not open"), "{}", one_error_line(&out));
    assert_eq!(files_in(&machine), 0);

    let out = digimed(
        &["workstation", "accept", bundle, "--username", login],
        &machine_env,
        &format!("{passphrase}\n{}\n", secretary.password.expose()),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("enrolled as \"Reception 9\" (secretary)"), "{said}");
    assert!(!said.contains(secretary.password.expose()));
    let machine_vault = Vault::load(&KeyStore::File(machine_keys.clone())).unwrap();
    let (id, ct): (i32, Vec<u8>) =
        sqlx::query_as("SELECT id, phone_encrypted FROM patient_persons WHERE phone_encrypted IS NOT NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(
        machine_vault.decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap(),
        db.vault.decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap()
    );

    // Used once only.
    let second = scratch("second");
    let second_keys = second.join("keys.json");
    let out = digimed(
        &["workstation", "accept", bundle, "--username", login],
        &[("DIGIMED_KEY_FILE", second_keys.to_str().unwrap())],
        &format!("{passphrase}\n{}\n", secretary.password.expose()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("already been used"), "{}", one_error_line(&out));
    assert_eq!(files_in(&second), 0);

    let out = digimed(&["workstation", "list"], &admin_env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains("Reception 9") && listed.contains("by randi"), "{listed}");

    // The admin cannot rotate; the owner's revoke rotates, and the machine's keys read nothing now.
    let enrollment: i32 = sqlx::query_scalar("SELECT id FROM workstation_enrollments").fetch_one(&db.owner).await.unwrap();
    let out = digimed(&["workstation", "revoke", &enrollment.to_string()], &admin_env, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("rotate the data keys"), "{}", one_error_line(&out));
    let owner = db_url(&db);
    let out = digimed(
        &["workstation", "revoke", &enrollment.to_string()],
        &[("DATABASE_URL", owner.as_str()), ("DIGIMED_KEY_FILE", server_keys)],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains("revoked") && said.contains("key 2 is now current") && said.contains("delivered to 0 workstation(s)"),
        "{said}"
    );
    let ct: Vec<u8> = sqlx::query_scalar("SELECT phone_encrypted FROM patient_persons WHERE id = $1")
        .bind(id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(machine_vault.decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).is_err());
    let rotated = Vault::load(&KeyStore::File(server_keys.into())).unwrap();
    assert!(rotated.decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).is_ok());

    for dir in [server_dir, machine, second] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
