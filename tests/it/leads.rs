//! Leads (docs/leads.md): the list shows the callers filed at my clinic who have no account, with
//! masked phones read through the audited path; secretaries and doctors are refused; the
//! serviceability check names each failing criterion and a refused conversion writes nothing; a
//! conversion makes the lead a patient once, through the one intake path.

use chrono::{Datelike, Utc};
use digimed_core::accounts::Accounts;
use digimed_core::cold_calls::{self, TrackedCall};
use digimed_core::leads::{self, Criterion, LeadInput, Reason};
use digimed_core::onboarding::{self, OnboardInput};
use digimed_core::patients::EntryPoint;
use digimed_core::session::AppRole;
use digimed_core::{ClinicTx, ErrorCode};
use digimed_tests::fixtures::{partner, seed_rules};
use digimed_tests::{Staff, TestDb};
use serde_json::Value;

struct Setup {
    db: TestDb,
    clinic: i32,
    support: Staff,
}

/// A clinic covering the 0xxx postcodes, whose partner covers 50xx, offering video only.
async fn setup(tag: &str) -> Setup {
    let db = TestDb::new().await;
    let clinic = db.clinic(&format!("Lead Clinic {tag}")).await;
    seed_rules(&db, &[clinic]).await;
    let p = partner(&db, clinic, false).await;
    for (org, prefix) in [(clinic, "0"), (p.organization_id, "50")] {
        sqlx::query("INSERT INTO organization_coverage (organization_id, postcode_prefix) VALUES ($1, $2)")
            .bind(org)
            .bind(prefix)
            .execute(&db.owner)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE organizations SET consultation_channels = '{video}' WHERE id = $1")
        .bind(clinic)
        .execute(&db.owner)
        .await
        .unwrap();
    let support = db.staff(AppRole::CustomerSupport, clinic, &format!("lead-support-{tag}")).await;
    Setup { db, clinic, support }
}

/// A call the call tracking reports for `org`, received as the service would (the one path).
async fn call(db: &TestDb, org: i32, id: &str, phone: &str, name: Option<&str>, seconds: i32) -> Option<i32> {
    let call = TrackedCall {
        call_id: id.into(),
        customer_phone_number: phone.into(),
        customer_name: name.map(String::from),
        duration_seconds: seconds,
        answered: Some(true),
        started_at: Some(Utc::now()),
    };
    let tx = ClinicTx::begin(&db.owner).await.unwrap();
    cold_calls::receive_call(tx, &db.vault, &Accounts::Local, org, &call, "47").await.unwrap().patient_person_id
}

fn adult_input(person: i32) -> LeadInput {
    LeadInput {
        patient_person_id: Some(person),
        email: Some("lead.person@example.com".into()),
        date_of_birth: Some("1985-06-01".into()),
        postcode: Some("5003".into()),
        channel: Some("video".into()),
        ..LeadInput::default()
    }
}

async fn convert(s: &Setup, who: &Staff, input: &LeadInput) -> digimed_core::Result<leads::Converted> {
    let tx = ClinicTx::begin(&who.pool).await?;
    leads::convert_lead(tx, &s.db.vault, &Accounts::Local, input, "47").await
}

/// What a conversion writes, to show that a refused one wrote nothing: users, the person's row,
/// their links, forms and events.
async fn footprint(db: &TestDb, person: i32) -> Value {
    sqlx::query_scalar(
        "SELECT jsonb_build_object(
                  'users', (SELECT count(*) FROM users),
                  'person', (SELECT to_jsonb(pp) FROM patient_persons pp WHERE id = $1),
                  'links', (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id) FROM patients p WHERE patient_person_id = $1),
                  'forms', (SELECT count(*) FROM forms),
                  'outbox', (SELECT count(*) FROM outbox),
                  'memberships', (SELECT count(*) FROM user_organizations))",
    )
    .bind(person)
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_list_shows_my_clinics_leads_with_masked_phones_and_audits_each_read() {
    let s = setup("list").await;
    let other = s.db.clinic("Another Clinic").await;
    let mine = call(&s.db, s.clinic, "CAL-L1", "+4791110001", Some("Kari Lead"), 90).await.unwrap();
    let unknown = call(&s.db, s.clinic, "CAL-L2", "+4791110002", None, 61).await.unwrap();
    // A short call names nobody; another clinic's lead is not mine.
    assert_eq!(call(&s.db, s.clinic, "CAL-L3", "+4791110003", Some("Short Call"), 20).await, None);
    call(&s.db, other, "CAL-L4", "+4791110004", Some("Their Lead"), 120).await.unwrap();
    // A walk-in patient has an account: no lead.
    let tx = ClinicTx::begin(&s.support.pool).await.unwrap();
    let input = OnboardInput {
        name: Some("Walk In".into()),
        email: Some("walk.in@example.com".into()),
        phone: Some("+4791110005".into()),
        organization_id: Some(i64::from(s.clinic)),
    };
    onboarding::onboard(tx, &s.db.vault, &Accounts::Local, &input, EntryPoint::WalkIn, "47").await.unwrap();

    let list = ClinicTx::run(&s.support.pool, async |tx| leads::list_leads(tx, &s.db.vault).await).await.unwrap();
    let mut ids: Vec<i32> = list.iter().map(|l| l.patient_person_id).collect();
    ids.sort();
    assert_eq!(ids, {
        let mut v = vec![mine, unknown];
        v.sort();
        v
    });
    let kari = list.iter().find(|l| l.patient_person_id == mine).unwrap();
    assert_eq!(kari.name, "Kari Lead");
    assert_eq!(kari.entry_point, EntryPoint::ColdCall);
    assert_eq!(kari.phone_masked.as_deref(), Some("+47*****001"));
    assert_eq!(kari.last_call_seconds, Some(90));
    assert!(kari.last_call_at.is_some());
    let nameless = list.iter().find(|l| l.patient_person_id == unknown).unwrap();
    assert_eq!((nameless.name.as_str(), nameless.name_known, kari.name_known), (cold_calls::UNKNOWN_CALLER, false, true));

    // Each phone shown was read through the audited path, in the support agent's name.
    for person in [mine, unknown] {
        let reads: Vec<(String, Value)> = sqlx::query_as(
            "SELECT actor, changes FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons' AND entity_id = $1",
        )
        .bind(person.to_string())
        .fetch_all(&s.db.owner)
        .await
        .unwrap();
        assert_eq!(reads.len(), 1, "one audited read of person {person}'s phone");
        assert_eq!(reads[0].0, s.support.login);
        assert!(reads[0].1["fields"].as_array().unwrap().contains(&Value::from("phone")));
    }
}

#[tokio::test]
async fn secretaries_and_doctors_are_refused() {
    let s = setup("roles").await;
    let lead = call(&s.db, s.clinic, "CAL-R1", "+4791120001", Some("Role Lead"), 75).await.unwrap();
    let before = footprint(&s.db, lead).await;
    for role in [AppRole::Secretary, AppRole::Doctor] {
        let who = s.db.staff(role, s.clinic, &format!("lead-{}", role.as_str())).await;
        let e = ClinicTx::run(&who.pool, async |tx| leads::list_leads(tx, &s.db.vault).await).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{role:?} lists");
        assert!(e.message.contains("leads"), "{}", e.message);
        let e = ClinicTx::run(&who.pool, async |tx| leads::check_lead(tx, &adult_input(lead)).await).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{role:?} checks");
        let e = convert(&s, &who, &adult_input(lead)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{role:?} converts");
        // Nor may their own login read the calls, the coverage or change an entry point.
        assert!(sqlx::query("SELECT started_at FROM tracked_calls").fetch_all(&who.pool).await.is_err());
        assert!(sqlx::query("SELECT postcode_prefix FROM organization_coverage").fetch_all(&who.pool).await.is_err());
    }
    assert_eq!(footprint(&s.db, lead).await, before);
}

#[tokio::test]
async fn a_failed_check_names_each_criterion_and_writes_nothing() {
    let s = setup("refused").await;
    let lead = call(&s.db, s.clinic, "CAL-F1", "+4791130001", Some("Young Lead"), 75).await.unwrap();
    let today = Utc::now().date_naive();
    let minor = format!("{:04}-{:02}-{:02}", today.year() - 17, today.month(), today.day().min(28));
    let young = LeadInput {
        date_of_birth: Some(minor),
        postcode: Some("7010".into()),
        channel: Some("phone".into()),
        ..adult_input(lead)
    };
    let before = footprint(&s.db, lead).await;

    let checked = ClinicTx::run(&s.support.pool, async |tx| leads::check_lead(tx, &young).await).await.unwrap();
    assert!(!checked.passed);
    assert_eq!(
        checked.criteria.iter().map(|c| (c.criterion, c.passed, c.reason)).collect::<Vec<_>>(),
        [
            (Criterion::Age, false, Reason::UnderAge),
            (Criterion::Coverage, false, Reason::NotCovered),
            (Criterion::Channel, false, Reason::NotOffered)
        ]
    );

    let e = convert(&s, &s.support, &young).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("date_of_birth")));
    for criterion in ["age", "coverage", "channel"] {
        assert!(e.message.contains(criterion), "the refusal names {criterion}: {}", e.message);
    }
    assert_eq!(e.details.as_ref().unwrap()["criteria"].as_array().unwrap().len(), 3);

    // Each criterion alone refuses, and names only itself.
    for (bad, criterion, field) in [
        (LeadInput { date_of_birth: Some(format!("{}-01-01", today.year() - 10)), ..adult_input(lead) }, "age", "date_of_birth"),
        (LeadInput { postcode: Some("0150".into()), ..adult_input(lead) }, "", ""),
        (LeadInput { postcode: Some("5120".into()), ..adult_input(lead) }, "coverage", "postcode"),
        (LeadInput { channel: Some("phone".into()), ..adult_input(lead) }, "channel", "channel"),
        (LeadInput { postcode: None, ..adult_input(lead) }, "coverage", "postcode"),
    ] {
        let checked = ClinicTx::run(&s.support.pool, async |tx| leads::check_lead(tx, &bad).await).await.unwrap();
        if criterion.is_empty() {
            assert!(checked.passed, "the clinic's own 0xxx area is covered");
            continue;
        }
        let e = convert(&s, &s.support, &bad).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{}", e.message);
        assert!(e.message.contains(&format!("converted: {criterion}:")), "{}", e.message);
        let failing: Vec<&str> = e.details.as_ref().unwrap()["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == Value::Bool(false))
            .map(|c| c["criterion"].as_str().unwrap())
            .collect();
        assert_eq!(failing, [criterion], "{}", e.message);
    }
    // Malformed values name their field; a missing e-mail address too.
    for (bad, field) in [
        (LeadInput { postcode: Some("50".into()), ..adult_input(lead) }, "postcode"),
        (LeadInput { national_id: Some("12345678901".into()), ..adult_input(lead) }, "national_id"),
        (LeadInput { email: None, ..adult_input(lead) }, "email"),
    ] {
        assert_eq!(convert(&s, &s.support, &bad).await.unwrap_err().field.as_deref(), Some(field));
    }
    assert_eq!(footprint(&s.db, lead).await, before, "a refused conversion writes nothing");
}

#[tokio::test]
async fn a_conversion_makes_the_lead_a_patient_once() {
    let s = setup("convert").await;
    let lead = call(&s.db, s.clinic, "CAL-C1", "+4791140001", None, 300).await.unwrap();
    let other = s.db.clinic("Other Lead Clinic").await;
    let theirs = call(&s.db, other, "CAL-C2", "+4791140002", Some("Their Lead"), 300).await.unwrap();

    // The call tracking knew no name: the agent gives one.
    let e = convert(&s, &s.support, &adult_input(lead)).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NameRequired, Some("name")));
    // Another clinic's lead is not found from mine.
    let e = convert(&s, &s.support, &LeadInput { name: Some("X Y".into()), ..adult_input(theirs) }).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);

    let input = LeadInput { name: Some("Nora Lead".into()), ..adult_input(lead) };
    let done = convert(&s, &s.support, &input).await.unwrap();
    assert_eq!((done.patient_person_id, done.name.as_str()), (lead, "Nora Lead"));
    assert!(done.serviceability.passed);
    let user = done.user_id.expect("the converted lead has an account");

    // One person, one link (the cold call's, now the concierge's), one account, the forms.
    let links: Vec<(i32, String)> = sqlx::query_as("SELECT id, entry_point FROM patients WHERE patient_person_id = $1")
        .bind(lead)
        .fetch_all(&s.db.owner)
        .await
        .unwrap();
    assert_eq!(links, [(done.patient_id, "concierge_cold_call".to_string())]);
    let (person_user, name, born): (Option<i32>, String, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT user_id, name, date_of_birth FROM patient_persons WHERE id = $1")
            .bind(lead)
            .fetch_one(&s.db.owner)
            .await
            .unwrap();
    assert_eq!((person_user, name.as_str()), (Some(user), "Nora Lead"));
    assert_eq!(born, chrono::NaiveDate::from_ymd_opt(1985, 6, 1));
    let email: String =
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user).fetch_one(&s.db.owner).await.unwrap();
    assert_eq!(email, "lead.person@example.com");
    let forms: i64 = sqlx::query_scalar("SELECT count(*) FROM forms WHERE patient_id = $1")
        .bind(done.patient_id)
        .fetch_one(&s.db.owner)
        .await
        .unwrap();
    assert!(forms > 0, "the onboarding's forms are there");
    let onboarded: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = 'patient.onboarded'")
        .fetch_one(&s.db.owner)
        .await
        .unwrap();
    assert_eq!(onboarded, 1);

    // A second conversion is refused, names the patient and writes nothing.
    let after = footprint(&s.db, lead).await;
    let e = convert(&s, &s.support, &input).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PatientAlreadyExists);
    assert_eq!(e.details.as_ref().unwrap()["existing_patient_id"], Value::from(done.patient_id));
    assert_eq!(footprint(&s.db, lead).await, after);
    let list = ClinicTx::run(&s.support.pool, async |tx| leads::list_leads(tx, &s.db.vault).await).await.unwrap();
    assert!(list.iter().all(|l| l.patient_person_id != lead), "a converted lead is no lead");

    // The database allows no other change of an entry point, even to support agents.
    let refused = sqlx::query("UPDATE patients SET entry_point = 'walk_in' WHERE id = $1")
        .bind(done.patient_id)
        .execute(&s.support.pool)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("entry point"), "{refused}");
}

#[tokio::test]
async fn the_demos_leads_are_listed_and_an_adult_in_the_partners_area_converts() {
    let db = TestDb::new().await;
    let demo = db.seed_demo().await;
    let support = demo.staff.iter().find(|s| s.role == AppRole::CustomerSupport).unwrap();
    let pool = db.connect_as(&support.login, support.password.expose()).await.unwrap();
    let list = ClinicTx::run(&pool, async |tx| leads::list_leads(tx, &db.vault).await).await.unwrap();
    let names: Vec<&str> = list.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Kristin Hovland", "Unknown caller", "Oskar Lien"], "the latest call first");
    let kristin = &list[0];
    assert_eq!(kristin.date_of_birth, chrono::NaiveDate::from_ymd_opt(1978, 9, 14), "from her national id");
    let input = LeadInput {
        patient_person_id: Some(kristin.patient_person_id),
        name: Some("Kristin Hovland".into()),
        email: Some("kristin.hovland@example.com".into()),
        date_of_birth: Some("1978-09-14".into()),
        postcode: Some("5003".into()),
        channel: Some("video".into()),
        ..LeadInput::default()
    };
    let tx = ClinicTx::begin(&pool).await.unwrap();
    let done = leads::convert_lead(tx, &db.vault, &Accounts::Local, &input, "47").await.unwrap();
    assert_eq!(done.patient_id, kristin.patient_id);
    // Oskar is 15: refused.
    let oskar = list.iter().find(|l| l.name == "Oskar Lien").unwrap();
    let checked = ClinicTx::run(&pool, async |tx| {
        leads::check_lead(
            tx,
            &LeadInput {
                patient_person_id: Some(oskar.patient_person_id),
                postcode: Some("0150".into()),
                channel: Some("phone".into()),
                ..LeadInput::default()
            },
        )
        .await
    })
    .await
    .unwrap();
    assert_eq!(checked.criteria.iter().map(|c| c.passed).collect::<Vec<_>>(), [false, true, true]);
}
