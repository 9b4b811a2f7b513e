//! `digimed consultation complete` with every field of the result, `digimed result show` (as the
//! login DATABASE_URL names, audited in its name) and `digimed result amend` with its reason:
//! refusals are one line, exit 2, and write nothing.

use chrono::{Datelike, Duration, Utc};
use digimed_core::meetings::Meetings;
use digimed_core::queue;
use digimed_core::ClinicTx;
use digimed_domain::NationalId;
use digimed_tests::{Role, Staff, TestDb};

mod common;

use common::{digimed_with_input, one_error_line, staff_url};

/// A synthetic national id of someone `years` old today.
fn aged(years: i64) -> String {
    let born = (Utc::now() - Duration::days(365 * years + years / 4 + 30)).date_naive();
    let from = if born.year() >= 2000 { 500 } else { 100 };
    (0u16..300).find_map(|k| NationalId::synthetic(born, from + k)).unwrap().as_str().to_string()
}

struct Env {
    db: TestDb,
    key_file: String,
    clinical_key_file: String,
    dir: std::path::PathBuf,
}

impl Env {
    /// Runs `digimed` signed in as `who`.
    fn run(&self, who: &Staff, args: &[&str]) -> std::process::Output {
        let url = staff_url(&self.db, who);
        let env = [
            ("DATABASE_URL", url.as_str()),
            ("DIGIMED_KEY_FILE", self.key_file.as_str()),
            ("DIGIMED_CLINICAL_KEY_FILE", self.clinical_key_file.as_str()),
        ];
        digimed_with_input(args, &env, "")
    }

    /// Runs `digimed` signed in as `who` with the contact keys only (a computer that is not a
    /// doctor's or admin's workstation).
    fn run_without_clinical_keys(&self, who: &Staff, args: &[&str]) -> std::process::Output {
        let url = staff_url(&self.db, who);
        digimed_with_input(args, &[("DATABASE_URL", url.as_str()), ("DIGIMED_KEY_FILE", self.key_file.as_str())], "")
    }

    async fn versions(&self, id: i32) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM consultation_results WHERE consultation_id = $1")
            .bind(id)
            .fetch_one(&self.db.owner)
            .await
            .unwrap()
    }

    async fn readers(&self, id: i32) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT actor FROM audit_log WHERE action = 'READ' AND entity_type = 'consultation_results' AND entity_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.db.owner)
        .await
        .unwrap()
    }
}

async fn state_of(db: &TestDb, id: i32) -> String {
    sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(id).fetch_one(&db.owner).await.unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn refused(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    one_error_line(out)
}

#[tokio::test]
async fn results_are_filed_read_back_and_amended_from_the_command_line() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let doctor = db.staff(Role::Doctor, oslo, "cli-result-doctor").await;
    let colleague = db.staff(Role::Doctor, oslo, "cli-result-colleague").await;
    let secretary = db.staff(Role::Secretary, oslo, "cli-result-secretary").await;
    let dir = std::env::temp_dir().join(format!("digimed-result-cli-{}", uuid::Uuid::new_v4().simple()));
    let (key_file, clinical_key_file) = db.write_key_files(&dir);
    let env = Env { key_file, clinical_key_file, db, dir };
    let picked = ClinicTx::run(&doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().unwrap();
    ClinicTx::run(&doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), picked.id).await).await.unwrap();
    let id = picked.id.to_string();
    let complete = |ssn: &str| {
        let args = ["consultation", "complete", &id, "--icpc2", "R74", "--outcome", "helped", "--job-description", "Carpenter"];
        env.run(&doctor, &[&args[..], &["--patient-ssn", ssn]].concat())
    };

    // An adult's national id is refused, naming why; nothing is filed.
    let adult = aged(40);
    let line = refused(&complete(&adult));
    assert!(line.contains("only for a minor"), "{line}");
    assert!(!line.contains(&adult), "the number is not repeated");
    assert_eq!(env.versions(picked.id).await, 0);

    let child = aged(10);
    // Without the clinical keys the result is refused before anything is written.
    let args = ["consultation", "complete", &id, "--icpc2", "R74", "--outcome", "helped", "--patient-ssn", &child];
    let line = refused(&env.run_without_clinical_keys(&doctor, &args));
    assert!(line.contains("doctor's or admin's workstation"), "{line}");
    assert_eq!(env.versions(picked.id).await, 0);
    assert_eq!(state_of(&env.db, picked.id).await, "in_progress", "the consultation is not completed either");
    ok(&complete(&child));
    assert_eq!(env.versions(picked.id).await, 1);

    // Read back as the author: the latest version and the list, and the read audited in their name.
    let shown: serde_json::Value = serde_json::from_str(&ok(&env.run(&doctor, &["result", "show", &id, "--json"]))).unwrap();
    assert_eq!(shown["latest"]["icpc2"]["code"], "R74");
    assert_eq!(shown["latest"]["patient_job_description"], "Carpenter");
    assert_eq!(shown["latest"]["patient_ssn"], child.as_str());
    assert_eq!(shown["versions"].as_array().unwrap().len(), 1);
    assert_eq!(env.readers(picked.id).await, vec![doctor.login.clone()]);

    // Secretaries and doctors who neither wrote it nor follow the patient up are refused, and not recorded.
    assert!(refused(&env.run(&secretary, &["result", "show", &id])).contains("cannot read consultation results"));
    assert!(refused(&env.run(&colleague, &["result", "show", &id])).contains("a doctor following the patient up"));
    assert_eq!(env.readers(picked.id).await.len(), 1);

    // An amendment needs a reason; without one nothing is written.
    assert!(refused(&env.run(&doctor, &["result", "amend", &id, "--reason", " ", "--notes", "Changed"])).contains("why"));
    assert_eq!(env.versions(picked.id).await, 1);
    assert!(refused(&env.run(&doctor, &["result", "amend", &id, "--reason", "Wrong", "--patient-ssn", &adult])).contains("minor"));
    assert_eq!(env.versions(picked.id).await, 1);
    // A colleague cannot amend it.
    assert!(refused(&env.run(&colleague, &["result", "amend", &id, "--reason", "Mine now", "--outcome", "unable"]))
        .contains("Only the doctor who wrote this result"));

    let amended: serde_json::Value = serde_json::from_str(&ok(&env.run(
        &doctor,
        &["result", "amend", &id, "--reason", "Referred after the lab results", "--outcome", "referred_gp", "--json"],
    )))
    .unwrap();
    assert_eq!(amended["version"], 2);
    let text = ok(&env.run(&doctor, &["result", "show", &id]));
    assert!(text.contains("result version 2 of 2"), "{text}");
    assert!(text.contains("referred_gp"), "{text}");
    assert!(text.contains("Carpenter"), "fields left out keep the latest version's value: {text}");
    assert!(text.contains("amended: Referred after the lab results"), "{text}");
    assert!(text.contains("filed"), "{text}");
    let _ = std::fs::remove_dir_all(&env.dir);
}
