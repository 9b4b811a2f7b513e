//! `digimed report export` as an administrator: the workbook written, the summary printed, and
//! bad input or the wrong role refused with one line, no file and no audit row.

use digimed_tests::{Role, TestDb};

mod common;

use common::{digimed_with_input, one_error_line, staff_url};

#[tokio::test]
async fn report_export_writes_the_workbook_and_refuses_what_it_must() {
    let db = TestDb::new().await;
    let creds = db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let admin = db.staff(Role::Admin, oslo, "cli-report-admin").await;
    let secretary = db.staff(Role::Secretary, oslo, "cli-report-secretary").await;
    let dir = std::env::temp_dir().join(format!("digimed-report-cli-{}", uuid::Uuid::new_v4().simple()));
    let (key_file, clinical_key_file) = db.write_key_files(&dir);
    let today = chrono::Utc::now().date_naive();
    let (from, to) = ((today - chrono::Duration::days(30)).to_string(), today.to_string());
    let out_file = dir.join("fjordtrygd.xlsx");
    let out_path = out_file.to_str().unwrap().to_string();
    let exports = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log WHERE action = 'EXPORT'").fetch_one(&db.owner).await.unwrap()
    };

    let as_admin = staff_url(&db, &admin);
    let env = [
        ("DATABASE_URL", as_admin.as_str()),
        ("DIGIMED_KEY_FILE", key_file.as_str()),
        ("DIGIMED_CLINICAL_KEY_FILE", clinical_key_file.as_str()),
    ];
    let args = ["report", "export", "--partner", &creds.partner_name, "--from", &from, "--to", &to, "--out", &out_path, "--json"];
    let out = digimed_with_input(&args, &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consultations c JOIN partners p ON p.id = c.partner_id WHERE p.name = $1")
            .bind(&creds.partner_name)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(summary["consultations"], serde_json::json!(expected));
    assert_eq!(summary["format"], "xlsx");
    let bytes = std::fs::read(&out_file).unwrap();
    assert_eq!(&bytes[..2], b"PK", "a zip container, as .xlsx files are");
    assert_eq!(exports().await, 1);

    // Bad input: one line, exit 2, nothing written.
    for (bad, says) in [
        (vec!["--from", "01.01.2026", "--to", &to, "--out", &out_path], "YYYY-MM-DD"),
        (vec!["--from", &to, "--to", &from, "--out", &out_path], "ends before"),
        (vec!["--from", &from, "--to", &to, "--out", "report.pdf"], ".xlsx"),
    ] {
        let mut args = vec!["report", "export", "--partner", &creds.partner_name];
        args.extend(bad);
        let out = digimed_with_input(&args, &env, "");
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(one_error_line(&out).contains(says), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = digimed_with_input(
        &["report", "export", "--partner", "nobody", "--from", &from, "--to", &to, "--out", dir.join("x.csv").to_str().unwrap()],
        &env,
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("no partner named"));

    // A secretary may not export; no file is left behind.
    let as_secretary = staff_url(&db, &secretary);
    let env = [("DATABASE_URL", as_secretary.as_str()), ("DIGIMED_KEY_FILE", key_file.as_str())];
    let denied = dir.join("denied.csv");
    let out = digimed_with_input(
        &["report", "export", "--partner", &creds.partner_name, "--from", &from, "--to", &to, "--out", denied.to_str().unwrap()],
        &env,
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("administrators"));
    assert!(!denied.exists());
    assert_eq!(exports().await, 1, "only the admin's export is recorded");
    let _ = std::fs::remove_dir_all(&dir);
}
