//! `digimed lead list` and `digimed lead convert` (docs/leads.md), as a staff login: the demo's
//! leads with masked phones; secretaries refused; a lead the clinic cannot serve refused in one
//! line naming each failing criterion; a lead it can serve converted into a patient.

use digimed_tests::{Role, TestDb};

mod common;

use common::{digimed_with_input, one_error_line, staff_url};

#[tokio::test]
async fn support_agents_list_and_convert_leads_from_the_command_line() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let support = db.staff(Role::CustomerSupport, oslo, "cli-leads-support").await;
    let secretary = db.staff(Role::Secretary, oslo, "cli-leads-secretary").await;
    let dir = std::env::temp_dir().join(format!("digimed-lead-cli-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    std::fs::write(&key_file, db.vault.keys().to_json().expose()).unwrap();
    let key_file = key_file.to_str().unwrap().to_string();
    let run = |url: &str, args: &[&str]| digimed_with_input(args, &[("DATABASE_URL", url), ("DIGIMED_KEY_FILE", &key_file)], "");
    let (as_support, as_secretary) = (staff_url(&db, &support), staff_url(&db, &secretary));

    let out = run(&as_support, &["lead", "list", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let leads: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = leads.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Kristin Hovland", "Unknown caller", "Oskar Lien"]);
    assert_eq!(leads[0]["phone_masked"], "+47*****001");
    let person = |i: usize| leads[i]["patient_person_id"].as_i64().unwrap().to_string();
    let out = run(&as_support, &["lead", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Kristin Hovland") && text.contains("+47*****001"), "{text}");
    assert!(!text.contains("+4741350001"), "the whole number is never printed: {text}");

    let out = run(&as_secretary, &["lead", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("cannot see and convert leads"));

    // Oskar is 15 and lives where neither the clinic nor its partner serves.
    let oskar = person(2);
    let args = ["lead", "convert", &oskar, "--email", "oskar.lien@example.com", "--postcode", "7010", "--channel", "phone"];
    let out = run(&as_support, &args);
    assert_eq!(out.status.code(), Some(2));
    let line = one_error_line(&out);
    assert!(line.contains("age:") && line.contains("coverage:") && !line.contains("channel:"), "{line}");

    let kristin = person(0);
    let args =
        ["lead", "convert", &kristin, "--email", "kristin.hovland@example.com", "--postcode", "0150", "--channel", "video"];
    let out = run(&as_support, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("converted Kristin Hovland into patient "));
    let entry: String = sqlx::query_scalar("SELECT entry_point FROM patients WHERE patient_person_id = $1")
        .bind(kristin.parse::<i32>().unwrap())
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(entry, "concierge_cold_call");
    // Converted once: a second time is refused.
    let out = run(&as_support, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("converted already"));
    let _ = std::fs::remove_dir_all(&dir);
}
