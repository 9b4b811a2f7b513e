//! `digimed patient show` and `digimed patient edit`, signed in as staff: the national id masked
//! unless `--reveal-national-id` (each read in the audit log in the reader's name), `--json`, the
//! health profile withheld from secretaries, edits with lists replaced or cleared, and a bad
//! option refused in one line with nothing written.

use digimed_core::patients::{self, EntryPoint, NewPerson, PersonStatus};
use digimed_core::ClinicTx;
use digimed_domain::{PersonName, Phone};
use digimed_tests::fixtures::nid;
use digimed_tests::{Role, TestDb};
use serde_json::Value;

mod common;

use common::{db_url, digimed_with_input, one_error_line, staff_url};

fn digimed(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    digimed_with_input(args, env, "")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

async fn reads(db: &TestDb, person: i32) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons' AND entity_id = $1
          ORDER BY id",
    )
    .bind(person.to_string())
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn patient_show_masks_unless_revealed_and_edit_changes_the_profile() {
    let db = TestDb::new().await;
    let org = db.clinic("Kortklinikken").await;
    let secretary = db.staff(Role::Secretary, org, "cli-secretary").await;
    let support = db.staff(Role::CustomerSupport, org, "cli-support").await;
    let national_id = nid(77);
    let phone = Phone::parse("+4791234567", "47").unwrap();
    let name = PersonName::parse("Kari Kommando").unwrap();
    let person = ClinicTx::run(&db.owner, async |tx| {
        let id = patients::create_person(
            tx,
            &db.vault,
            NewPerson {
                name: &name,
                user_id: None,
                date_of_birth: None,
                national_id: Some(&national_id),
                phone: Some(&phone),
                status: PersonStatus::Active,
                source_partner_id: None,
            },
        )
        .await?;
        patients::link_patient(tx, id, org, EntryPoint::WalkIn, true).await?;
        Ok(id)
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("digimed-patient-cli-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    std::fs::write(&key_file, db.vault.keys().to_json().expose()).unwrap();
    let key_file = key_file.to_str().unwrap();
    let (as_secretary, as_support, as_owner) = (staff_url(&db, &secretary), staff_url(&db, &support), db_url(&db));
    let env = |url: &str| [("DATABASE_URL", url.to_string()), ("DIGIMED_KEY_FILE", key_file.to_string())];
    let run = |url: &str, args: &[&str]| {
        let e = env(url);
        digimed(args, &[(e[0].0, e[0].1.as_str()), (e[1].0, e[1].1.as_str())])
    };
    let id = person.to_string();
    let masked = format!("******{}", &national_id.expose()[6..]);

    // Masked by default, the phone shown, the health profile not the secretary's.
    let out = stdout(&run(&as_secretary, &["patient", "show", &id]));
    assert!(out.contains("Kari Kommando") && out.contains("+4791234567"), "{out}");
    assert!(out.contains(&masked) && !out.contains(national_id.expose()), "{out}");
    assert!(out.contains("not shown to your role"), "{out}");
    let r = reads(&db, person).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, secretary.login);
    assert_eq!(r[0].1["national_id_revealed"], false);

    // Revealed on request, as JSON, and recorded as revealed.
    let card: Value =
        serde_json::from_str(&stdout(&run(&as_secretary, &["patient", "show", &id, "--reveal-national-id", "--json"]))).unwrap();
    assert_eq!(card["contact"]["national_id"], national_id.expose());
    assert_eq!(card["contact"]["national_id_revealed"], true);
    assert_eq!(card["profile"], Value::Null);
    assert_eq!(card["profile_withheld"], "not_for_role");
    let r = reads(&db, person).await;
    assert_eq!((r.len(), r[1].0.as_str()), (2, secretary.login.as_str()));
    assert_eq!(r[1].1["national_id_revealed"], true);

    // The support agent edits; lists are replaced, and cleared with --no-….
    let out = stdout(&run(
        &as_support,
        &[
            "patient",
            "edit",
            &id,
            "--date-of-birth",
            "1980-02-03",
            "--blood-type",
            "ab+",
            "--allergy",
            "Penicillin",
            "--allergy",
            "Pollen",
            "--chronic-condition",
            "Astma",
            "--insurance",
            "Gjensidige:1234 5678",
            "--emergency-contact-name",
            "Ola Kommando",
            "--emergency-contact-phone",
            "412 34 567",
        ],
    ));
    assert!(out.contains("saved") && out.contains("blood_type") && out.contains("emergency_contact_phone"), "{out}");
    let card: Value = serde_json::from_str(&stdout(&run(&as_support, &["patient", "show", &id, "--json"]))).unwrap();
    assert_eq!(card["profile"]["blood_type"], "AB+");
    assert_eq!(card["profile"]["allergies"], serde_json::json!(["Penicillin", "Pollen"]));
    assert_eq!(card["profile"]["insurance_entries"], serde_json::json!([{"insurer": "Gjensidige", "policy_number": "12345678"}]));
    assert_eq!(card["contact"]["date_of_birth"], "1980-02-03");
    assert_eq!(card["contact"]["emergency_contact_phone"], "+4741234567");
    let out = stdout(&run(&as_support, &["patient", "edit", &id, "--no-allergies"]));
    assert!(out.contains("allergies"), "{out}");
    let out = stdout(&run(&as_support, &["patient", "edit", &id, "--blood-type", "AB+"]));
    assert!(out.contains("nothing changed"), "{out}");

    // Bad options: one line naming the problem, exit 2, nothing written.
    let before: Value = sqlx::query_scalar("SELECT to_jsonb(pp) FROM patient_persons pp WHERE id = $1")
        .bind(person)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    for (args, says) in [
        (vec!["--blood-type", "C+"], "blood type"),
        (vec!["--insurance", "Gjensidige"], "INSURER:POLICY_NUMBER"),
        (vec!["--date-of-birth", "2999-01-01"], "future"),
        (vec!["--allergy", "Pollen", "--allergy", "pollen"], "listed twice"),
    ] {
        let mut all = vec!["patient", "edit", id.as_str()];
        all.extend(args);
        let out = run(&as_support, &all);
        assert_eq!(out.status.code(), Some(2));
        let line = one_error_line(&out);
        assert!(line.contains(says), "{line}");
    }
    let out = run(&as_secretary, &["patient", "edit", &id, "--blood-type", "O-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("secretary"));
    let out = run(&as_owner, &["patient", "show", &id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("patient cards"));
    let after: Value = sqlx::query_scalar("SELECT to_jsonb(pp) FROM patient_persons pp WHERE id = $1")
        .bind(person)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(after, before);
    let _ = std::fs::remove_dir_all(&dir);
}
