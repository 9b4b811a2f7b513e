//! The `digimed` tool as an operator meets it: bad input gets one clear line naming the problem
//! and a non-zero exit, and nothing is half-created.

use digimed_tests::TestDb;

mod common;

use common::{db_url, digimed_with_input as digimed, one_error_line, staff_url};

#[tokio::test]
async fn staff_add_refuses_bad_input_and_creates_nothing() {
    let db = TestDb::new().await;
    db.clinic("Testklinikken").await;
    let url = db_url(&db);
    let env = [("DATABASE_URL", url.as_str())];
    let email = format!("cli@{}", db.login_domain());
    let cases: [(&[&str], &str, &str); 4] = [
        (&["--role", "nurse"], "a long enough password", "Unknown role"),
        (&["--role", "doctor"], "", "password is empty"),
        (&["--role", "doctor"], "short", "at least 12 characters"),
        (&["--role", "doctor", "--org", "999"], "a long enough password", "no clinic with id 999"),
    ];
    for (extra, password, expect) in cases {
        let mut args = vec!["staff", "add", "--email", &email, "--name", "Cli Person", "--password-stdin"];
        args.extend_from_slice(extra);
        let out = digimed(&args, &env, password);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let line = one_error_line(&out);
        assert!(line.contains(expect), "{line}");
        assert!(!line.contains(password) || password.is_empty() || password == "short");
    }
    let staff: i64 = sqlx::query_scalar("SELECT count(*) FROM staff").fetch_one(&db.owner).await.unwrap();
    assert_eq!(staff, 0);
    let role: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(&email)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!role);

    // The good case, with the password only on standard input.
    let out = digimed(
        &["staff", "add", "--email", &email, "--name", "Cli Person", "--role", "secretary", "--password-stdin"],
        &env,
        "a long enough password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db.forget_login_later(&email);
    let out = digimed(&["audit", "verify"], &env, "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
}

#[test]
fn missing_key_file_and_unreachable_database_are_named() {
    let out = digimed(
        &["db", "seed-demo"],
        &[("DIGIMED_KEY_FILE", "/nonexistent/digimed-keys.json"), ("DATABASE_URL", "postgres://x@127.0.0.1:1/x")],
        "",
    );
    assert_ne!(out.status.code(), Some(0));
    let line = one_error_line(&out);
    assert!(line.contains("/nonexistent/digimed-keys.json"), "{line}");
    assert!(line.contains("digimed keys init"), "{line}");

    let out = digimed(&["db", "migrate"], &[("DATABASE_URL", "postgres://someone:hunter2-secret@127.0.0.1:1/x")], "");
    assert_eq!(out.status.code(), Some(3));
    let line = one_error_line(&out);
    assert!(line.contains("cannot be reached"), "{line}");
    assert!(!line.contains("hunter2"), "the password in the URL must not be echoed");

    let out = digimed(&["db", "migrate"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("DATABASE_URL is not set"));

    let out = digimed(&["db", "migrate"], &[("DATABASE_URL", "not a url")], "");
    assert!(one_error_line(&out).contains("not a valid PostgreSQL URL"));
}

#[tokio::test]
async fn keys_init_refuses_to_overwrite_and_rotate_reencrypts() {
    let dir = std::env::temp_dir().join(format!("digimed-cli-{}", uuid::Uuid::new_v4().simple()));
    let key_file = dir.join("keys.json");
    let key_file = key_file.to_str().unwrap();
    let clinical_file = dir.join("clinical-keys.json");
    let clinical_file = clinical_file.to_str().unwrap();
    let db = TestDb::new().await;
    let url = db_url(&db);
    let env = [("DIGIMED_KEY_FILE", key_file), ("DATABASE_URL", url.as_str()), ("DIGIMED_CLINICAL_KEY_FILE", clinical_file)];
    let out = digimed(&["keys", "init"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = std::fs::read_to_string(key_file).unwrap();
    let out = digimed(&["keys", "init"], &env, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("already exist"));
    assert_eq!(std::fs::read_to_string(key_file).unwrap(), first, "the existing keys are untouched");
    // The clinical keys: a file of their own, saying their domain; the contact file is refused
    // as their place, and an unknown domain is named.
    let out = digimed(&["keys", "init", "--domain", "clinical"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created clinical keys (key id 1)"));
    let clinical_first = std::fs::read_to_string(clinical_file).unwrap();
    assert!(clinical_first.contains(r#""domain":"clinical""#));
    let out = digimed(&["keys", "init", "--domain", "clinical"], &env, "");
    assert!(one_error_line(&out).contains("keys rotate --domain clinical"));
    let same = [("DIGIMED_KEY_FILE", key_file), ("DATABASE_URL", url.as_str()), ("DIGIMED_CLINICAL_KEY_FILE", key_file)];
    assert!(one_error_line(&digimed(&["keys", "init", "--domain", "clinical"], &same, "")).contains("file of their own"));
    assert!(one_error_line(&digimed(&["keys", "init", "--domain", "billing"], &env, "")).contains("contact or clinical"));

    let out = digimed(&["icpc2", "import", &digimed_tests::icpc2_file()], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let domain = db.login_domain();
    let out = digimed(&["db", "seed-demo", "--login-domain", &domain, "--json"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results = || async {
        sqlx::query_as::<_, (i32, Vec<u8>)>("SELECT id, icpc2_encrypted FROM consultation_results")
            .fetch_all(&db.owner)
            .await
            .unwrap()
    };
    let seeded_results = results().await;
    assert!(!seeded_results.is_empty(), "the demo's results, under the clinical keys");
    for (_, ct) in &seeded_results {
        assert_eq!(digimed_crypto::DataKeys::header_of(ct).unwrap(), (digimed_crypto::KeyDomain::Clinical, 1));
    }
    let out = digimed(&["keys", "rotate", "--batch", "2"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("contact key 2 is now current"), "{said}");
    assert_eq!(results().await, seeded_results, "the contact rotation leaves the results alone");
    let keys = digimed_crypto::KeyStore::File(key_file.into()).load().unwrap();
    assert_eq!(keys.current_key_id(), 2);
    let phones: Vec<(i32, Vec<u8>)> =
        sqlx::query_as("SELECT id, phone_encrypted FROM patient_persons WHERE phone_encrypted IS NOT NULL")
            .fetch_all(&db.owner)
            .await
            .unwrap();
    // The demo fax's draft has no phone number until someone reads the fax.
    assert_eq!(phones.len(), 17, "11 referred (8 booked, 3 awaiting screening), 3 walk-in demo patients and 3 leads");
    let (fax, pdf): (i32, Vec<u8>) =
        sqlx::query_as("SELECT id, pdf_encrypted FROM inbound_faxes").fetch_one(&db.owner).await.unwrap();
    let aad = digimed_crypto::FieldAad { table: "inbound_faxes", column: "pdf_encrypted", row_id: fax as i64 };
    assert_eq!(digimed_crypto::DataKeys::key_id_of(&pdf).unwrap(), 2);
    assert!(keys.decrypt(&aad, &pdf).unwrap().starts_with(b"%PDF-"));
    for (id, ct) in phones {
        assert_eq!(digimed_crypto::DataKeys::key_id_of(&ct).unwrap(), 2);
        let aad = digimed_crypto::FieldAad { table: "patient_persons", column: "phone_encrypted", row_id: id as i64 };
        assert!(keys.decrypt_string(&aad, &ct).unwrap().starts_with("+47"));
    }

    // The clinical rotation: refused to the owner before any key is made; an admin's.
    let out = digimed(&["keys", "rotate", "--domain", "clinical"], &env, "");
    assert!(one_error_line(&out).contains("re-encrypt consultation results under the clinical keys"));
    assert_eq!(std::fs::read_to_string(clinical_file).unwrap(), clinical_first, "the clinical keys are untouched");
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let admin = db.staff(digimed_tests::Role::Admin, oslo, "cli-keys-admin").await;
    let as_admin = staff_url(&db, &admin);
    let admin_env =
        [("DIGIMED_KEY_FILE", key_file), ("DATABASE_URL", as_admin.as_str()), ("DIGIMED_CLINICAL_KEY_FILE", clinical_file)];
    let out = digimed(&["keys", "rotate", "--domain", "clinical", "--batch", "2"], &admin_env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("clinical key 2 is now current"), "{said}");
    let clinical = digimed_crypto::KeyStore::File(clinical_file.into()).load_for(digimed_crypto::KeyDomain::Clinical).unwrap();
    for (id, ct) in results().await {
        assert_eq!(digimed_crypto::DataKeys::header_of(&ct).unwrap(), (digimed_crypto::KeyDomain::Clinical, 2));
        let aad = digimed_crypto::FieldAad { table: "consultation_results", column: "icpc2_encrypted", row_id: id as i64 };
        assert!(clinical.decrypt(&aad, &ct).is_ok());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
