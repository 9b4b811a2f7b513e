//! The patient card and editing the profile (docs/patients.md): what each role sees, the national
//! id masked unless revealed, every read of the encrypted contact fields in the audit log with the
//! reader, a doctor refused for a patient they do not treat, secretaries never given the health
//! profile (not even through a raw connection), profile edits by each allowed role, every bad
//! field refused by name with nothing written, and another clinic's staff seeing nothing.

use digimed_core::patients::{self, EntryPoint, InsuranceEntryFields, NewPerson, PersonStatus, ProfileEdit, Withheld};
use digimed_core::session::AppRole;
use digimed_core::{ClinicTx, ErrorCode};
use digimed_domain::{NationalId, PersonName, Phone};
use digimed_tests::fixtures::nid;
use digimed_tests::{is_denied, Staff, TestDb};
use serde_json::Value;

const PHONE: &str = "+4791234567";

struct Clinic {
    db: TestDb,
    org: i32,
    other_org: i32,
    secretary: Staff,
    doctor: Staff,
    colleague: Staff,
    support: Staff,
    admin: Staff,
    other_support: Staff,
    person: i32,
    national_id: NationalId,
}

/// A person created by `org`'s own registration (so the profile is the clinic's to see), with a
/// phone, a national id and an e-mail account.
async fn person_of(db: &TestDb, org: i32, name: &str, national_id: &NationalId, origin: bool) -> i32 {
    let user: i32 =
        sqlx::query_scalar("INSERT INTO users (email, username, account_directory) VALUES ($1, $1, 'local') RETURNING id")
            .bind(format!("{}@example.com", name.to_lowercase().replace(' ', ".")))
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let name = PersonName::parse(name).unwrap();
    let phone = Phone::parse(PHONE, "47").unwrap();
    ClinicTx::run(&db.owner, async |tx| {
        let id = patients::create_person(
            tx,
            &db.vault,
            NewPerson {
                name: &name,
                user_id: Some(user),
                date_of_birth: None,
                national_id: Some(national_id),
                phone: Some(&phone),
                status: PersonStatus::Active,
                source_partner_id: None,
            },
        )
        .await?;
        patients::link_patient(tx, id, org, EntryPoint::WalkIn, origin).await?;
        Ok(id)
    })
    .await
    .unwrap()
}

/// A consultation of `person` at `org`, assigned to `doctor`.
async fn consultation_with(db: &TestDb, person: i32, org: i32, doctor: i32) -> i32 {
    sqlx::query_scalar(
        "INSERT INTO consultations (patient_person_id, organization_id, state, assigned_doctor_id, assigned_at)
         VALUES ($1, $2, 'pending_sp', $3, now()) RETURNING id",
    )
    .bind(person)
    .bind(org)
    .bind(doctor)
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let org = db.clinic("Kortklinikken").await;
    let other_org = db.clinic("Andre klinikk").await;
    let secretary = db.staff(AppRole::Secretary, org, "pc-secretary").await;
    let doctor = db.staff(AppRole::Doctor, org, "pc-doctor").await;
    let colleague = db.staff(AppRole::Doctor, org, "pc-colleague").await;
    let support = db.staff(AppRole::CustomerSupport, org, "pc-support").await;
    let admin = db.staff(AppRole::Admin, org, "pc-admin").await;
    let other_support = db.staff(AppRole::CustomerSupport, other_org, "pc-other-support").await;
    let national_id = nid(41);
    let person = person_of(&db, org, "Kari Kort", &national_id, true).await;
    consultation_with(&db, person, org, doctor.id).await;
    Clinic { db, org, other_org, secretary, doctor, colleague, support, admin, other_support, person, national_id }
}

async fn card_as(c: &Clinic, who: &Staff, reveal: bool) -> digimed_core::Result<patients::PatientCard> {
    ClinicTx::run(&who.pool, async |tx| patients::card(tx, &c.db.vault, c.person, reveal).await).await
}

async fn edit_as(c: &Clinic, who: &Staff, edit: &ProfileEdit) -> digimed_core::Result<patients::ProfileSaved> {
    ClinicTx::run(&who.pool, async |tx| patients::edit_profile(tx, &c.db.vault, c.person, edit, "47").await).await
}

/// The READ entries of the person's contact fields: (actor, changes), oldest first.
async fn contact_reads(c: &Clinic) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons' AND entity_id = $1
          ORDER BY id",
    )
    .bind(c.person.to_string())
    .fetch_all(&c.db.owner)
    .await
    .unwrap()
}

/// The person's row and the number of audit entries, to show that nothing was written.
async fn footprint(c: &Clinic) -> (Value, i64) {
    let row: Value = sqlx::query_scalar("SELECT to_jsonb(pp) - 'updated_at' FROM patient_persons pp WHERE id = $1")
        .bind(c.person)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    let entries: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending)")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    (row, entries)
}

fn masked(n: &NationalId) -> String {
    format!("******{}", &n.expose()[6..])
}

#[tokio::test]
async fn each_role_sees_what_it_may() {
    let c = clinic().await;
    sqlx::query("UPDATE patient_persons SET blood_type = 'A+', allergies = ARRAY['Penicillin'] WHERE id = $1")
        .bind(c.person)
        .execute(&c.db.owner)
        .await
        .unwrap();

    // The secretary: contact details and the consultations, never the health profile.
    let card = card_as(&c, &c.secretary, false).await.unwrap();
    assert_eq!(card.name, "Kari Kort");
    assert_eq!(card.email.as_deref(), Some("kari.kort@example.com"));
    assert_eq!(card.entry_point, EntryPoint::WalkIn);
    assert!(card.profile_origin);
    let contact = card.contact.as_ref().expect("the contact details");
    assert_eq!(contact.phone.as_deref(), Some(PHONE));
    assert_eq!(contact.date_of_birth, Some(c.national_id.birth_date()));
    assert_eq!(card.contact_withheld, None);
    assert!(card.profile.is_none());
    assert_eq!(card.profile_withheld, Some(Withheld::NotForRole));
    assert!(!card.may_edit_profile);
    assert_eq!(card.consultations.len(), 1);
    assert_eq!(card.consultations[0].consultation.assigned_doctor_id, Some(c.doctor.id));
    assert!(!card.consultations[0].result_filed);

    // Support agents, admins and the treating doctor: the profile too.
    for who in [&c.support, &c.admin, &c.doctor] {
        let card = card_as(&c, who, false).await.unwrap();
        let profile = card.profile.expect("the health profile");
        assert_eq!(profile.blood_type.as_deref(), Some("A+"));
        assert_eq!(profile.allergies, ["Penicillin"]);
        assert!(profile.chronic_conditions.is_empty());
        assert_eq!(card.profile_withheld, None);
        assert!(card.may_edit_profile);
        assert_eq!(card.contact.unwrap().phone.as_deref(), Some(PHONE));
    }

    // A doctor who does not treat the patient is refused with the reason, and nothing is read.
    let before = contact_reads(&c).await.len();
    let e = card_as(&c, &c.colleague, false).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("patients they treat"), "{}", e.message);
    assert_eq!(contact_reads(&c).await.len(), before);
    // Nor does the database hand the contact fields to them.
    let raw = sqlx::query("SELECT * FROM patient_contact_as($1, current_user::text, false)")
        .bind(c.person)
        .fetch_all(&c.colleague.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&raw), "{raw}");
    // Once assigned a consultation of the patient, they treat them.
    consultation_with(&c.db, c.person, c.org, c.colleague.id).await;
    assert!(card_as(&c, &c.colleague, false).await.unwrap().profile.is_some());
}

#[tokio::test]
async fn the_national_id_is_masked_unless_revealed_and_every_read_is_audited_with_the_reader() {
    let c = clinic().await;
    assert!(contact_reads(&c).await.is_empty());

    let card = card_as(&c, &c.secretary, false).await.unwrap();
    let contact = card.contact.unwrap();
    assert_eq!(contact.national_id.as_deref(), Some(masked(&c.national_id).as_str()));
    assert!(!contact.national_id_revealed);
    let reads = contact_reads(&c).await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].0, c.secretary.login);
    assert_eq!(reads[0].1["fields"], serde_json::json!(["phone", "national_id"]));
    assert_eq!(reads[0].1["national_id_revealed"], false);

    let card = card_as(&c, &c.secretary, true).await.unwrap();
    let contact = card.contact.unwrap();
    assert_eq!(contact.national_id.as_deref(), Some(c.national_id.expose()));
    assert!(contact.national_id_revealed);
    let reads = contact_reads(&c).await;
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[1].0, c.secretary.login);
    assert_eq!(reads[1].1["national_id_revealed"], true);

    // The entries hold which fields were read, never their values.
    let log: String =
        sqlx::query_scalar("SELECT string_agg(changes::text, ' ') FROM audit_log").fetch_one(&c.db.owner).await.unwrap();
    assert!(!log.contains(c.national_id.expose()) && !log.contains("91234567"));
    // The chain still verifies.
    let report = ClinicTx::run(&c.db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

#[tokio::test]
async fn a_secretary_never_gets_the_health_profile_nor_any_ciphertext() {
    let c = clinic().await;
    sqlx::query("UPDATE patient_persons SET blood_type = 'O-', chronic_conditions = ARRAY['Astma'] WHERE id = $1")
        .bind(c.person)
        .execute(&c.db.owner)
        .await
        .unwrap();
    let json = serde_json::to_string(&card_as(&c, &c.secretary, false).await.unwrap()).unwrap();
    assert!(!json.contains("Astma") && !json.contains("O-"), "{json}");

    // Not through a raw connection either: the view hides the health part and every ciphertext.
    type Row = (bool, bool, Option<String>, Option<Vec<String>>, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
    let read = |pool: sqlx::PgPool| async move {
        sqlx::query_as::<_, Row>(
            "SELECT profile_visible, health_visible, blood_type, chronic_conditions, phone_encrypted, national_id_encrypted,
                    emergency_contact_phone_encrypted
               FROM patient_profiles WHERE id = $1",
        )
        .bind(c.person)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let (visible, health, blood, conditions, phone, id, emergency) = read(c.secretary.pool.clone()).await;
    assert!(visible && !health);
    assert_eq!((blood, conditions), (None, None));
    assert!(phone.is_none() && id.is_none() && emergency.is_none());
    let (_, health, blood, _, phone, _, _) = read(c.support.pool.clone()).await;
    assert!(health);
    assert_eq!(blood.as_deref(), Some("O-"));
    assert!(phone.is_none(), "staff get ciphertexts only through patient_contact_as");
    let direct = sqlx::query("SELECT blood_type FROM patient_persons").fetch_all(&c.secretary.pool).await.unwrap_err();
    assert!(is_denied(&direct), "{direct}");
}

#[tokio::test]
async fn a_profile_not_shared_with_the_clinic_is_said_so_and_nothing_is_decrypted() {
    let c = clinic().await;
    // First registered at the other clinic, then linked here without the sharing consent.
    let elsewhere = person_of(&c.db, c.other_org, "Per Annen", &nid(42), true).await;
    patients_link(&c.db, elsewhere, c.org).await;
    let card = ClinicTx::run(&c.support.pool, async |tx| patients::card(tx, &c.db.vault, elsewhere, true).await).await.unwrap();
    assert_eq!(card.name, "Per Annen");
    assert!(card.contact.is_none() && card.profile.is_none());
    assert_eq!(card.contact_withheld, Some(Withheld::NotShared));
    assert_eq!(card.profile_withheld, Some(Withheld::NotShared));
    assert!(!card.profile_origin && !card.profile_shared && !card.may_edit_profile);
    let reads: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'READ' AND entity_id = $1")
        .bind(elsewhere.to_string())
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(reads, 0);
    // Nor can it be edited from here.
    let e = ClinicTx::run(&c.support.pool, async |tx| {
        patients::edit_profile(
            tx,
            &c.db.vault,
            elsewhere,
            &ProfileEdit { blood_type: Some("A+".into()), ..Default::default() },
            "47",
        )
        .await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("not shared"), "{}", e.message);
}

async fn patients_link(db: &TestDb, person: i32, org: i32) {
    ClinicTx::run(&db.owner, async |tx| patients::link_patient(tx, person, org, EntryPoint::ExistingPersonLink, false).await)
        .await
        .unwrap();
}

#[tokio::test]
async fn another_clinics_support_agent_sees_nothing() {
    let c = clinic().await;
    let e = card_as(&c, &c.other_support, true).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e =
        edit_as(&c, &c.other_support, &ProfileEdit { blood_type: Some("B+".into()), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(contact_reads(&c).await.is_empty());
    let handed: Vec<(Option<Vec<u8>>,)> =
        sqlx::query_as("SELECT phone_encrypted FROM patient_contact_as($1, current_user::text, true)")
            .bind(c.person)
            .fetch_all(&c.other_support.pool)
            .await
            .unwrap();
    assert!(handed.is_empty());
    assert!(contact_reads(&c).await.is_empty());
}

#[tokio::test]
async fn support_agents_admins_and_treating_doctors_edit_the_profile() {
    let c = clinic().await;
    let saved = edit_as(
        &c,
        &c.support,
        &ProfileEdit {
            date_of_birth: Some("1980-02-03".into()),
            blood_type: Some("0+".into()),
            allergies: Some(vec![" Penicillin ".into(), "Nøtter".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(saved.changed, ["date_of_birth", "blood_type", "allergies"]);

    let saved = edit_as(
        &c,
        &c.admin,
        &ProfileEdit {
            insurance_entries: Some(vec![InsuranceEntryFields {
                insurer: "Gjensidige".into(),
                policy_number: "1234 5678".into(),
            }]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(saved.changed, ["insurance_entries"]);

    let saved = edit_as(
        &c,
        &c.doctor,
        &ProfileEdit {
            chronic_conditions: Some(vec!["Astma".into()]),
            emergency_contact_name: Some("Ola Kort".into()),
            emergency_contact_phone: Some("412 34 567".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(saved.changed, ["chronic_conditions", "emergency_contact_name", "emergency_contact_phone"]);

    // Saving the same again changes nothing and writes nothing.
    let before = footprint(&c).await;
    let same = edit_as(&c, &c.support, &ProfileEdit { blood_type: Some("O+".into()), ..Default::default() }).await.unwrap();
    assert!(same.changed.is_empty());
    assert_eq!(footprint(&c).await, before);

    let card = card_as(&c, &c.support, false).await.unwrap();
    let contact = card.contact.unwrap();
    assert_eq!(contact.date_of_birth.map(|d| d.to_string()).as_deref(), Some("1980-02-03"));
    assert_eq!(contact.emergency_contact_name.as_deref(), Some("Ola Kort"));
    assert_eq!(contact.emergency_contact_phone.as_deref(), Some("+4741234567"));
    let profile = card.profile.unwrap();
    assert_eq!(profile.blood_type.as_deref(), Some("O+"));
    assert_eq!(profile.allergies, ["Penicillin", "Nøtter"]);
    assert_eq!(profile.chronic_conditions, ["Astma"]);
    assert_eq!(
        profile.insurance_entries,
        [InsuranceEntryFields { insurer: "Gjensidige".into(), policy_number: "12345678".into() }]
    );
    // The emergency contact's phone is the person's field, read through the audited function.
    let reads = contact_reads(&c).await;
    assert_eq!(reads.last().unwrap().1["fields"], serde_json::json!(["phone", "national_id", "emergency_contact_phone"]));

    // Each edit is in the audit log in its editor's name, the phone only as "[redacted]".
    let updates: Vec<(String, Value)> = sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE action = 'UPDATE' AND entity_type = 'patient_persons' AND entity_id = $1
          ORDER BY id",
    )
    .bind(c.person.to_string())
    .fetch_all(&c.db.owner)
    .await
    .unwrap();
    let actors: Vec<&str> = updates.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actors, [c.support.login.as_str(), c.admin.login.as_str(), c.doctor.login.as_str()]);
    assert_eq!(updates[2].1["emergency_contact_phone_encrypted"]["to"], "[redacted]");
    assert_eq!(updates[0].1["blood_type"]["to"], "O+");
    let log: String =
        sqlx::query_scalar("SELECT string_agg(changes::text, ' ') FROM audit_log").fetch_one(&c.db.owner).await.unwrap();
    assert!(!log.contains("41234567"));

    // Clearing: an empty text or list.
    let saved = edit_as(
        &c,
        &c.support,
        &ProfileEdit { allergies: Some(vec![]), emergency_contact_phone: Some(String::new()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(saved.changed, ["allergies", "emergency_contact_phone"]);
    let card = card_as(&c, &c.support, false).await.unwrap();
    assert!(card.profile.unwrap().allergies.is_empty());
    assert_eq!(card.contact.unwrap().emergency_contact_phone, None);
}

#[tokio::test]
async fn secretaries_and_doctors_who_do_not_treat_the_patient_do_not_edit() {
    let c = clinic().await;
    let before = footprint(&c).await;
    let edit = ProfileEdit { blood_type: Some("AB-".into()), ..Default::default() };
    let e = edit_as(&c, &c.secretary, &edit).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("secretary"), "{}", e.message);
    let e = edit_as(&c, &c.colleague, &edit).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("patients they treat"), "{}", e.message);
    // Through a raw connection: the policy leaves the row out for the colleague, and no doctor
    // changes the name, the phone or the national id.
    let n = sqlx::query("UPDATE patient_persons SET blood_type = 'AB-' WHERE id = $1")
        .bind(c.person)
        .execute(&c.colleague.pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 0);
    let denied = sqlx::query("UPDATE patient_persons SET name = 'X' WHERE id = $1")
        .bind(c.person)
        .execute(&c.doctor.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&denied), "{denied}");
    let denied = sqlx::query("UPDATE patient_persons SET blood_type = 'AB-' WHERE id = $1")
        .bind(c.person)
        .execute(&c.secretary.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&denied), "{denied}");
    assert_eq!(footprint(&c).await, before);
}

#[tokio::test]
async fn each_malformed_field_is_refused_by_name_and_nothing_is_written() {
    let c = clinic().await;
    let entry = |insurer: &str, policy: &str| InsuranceEntryFields { insurer: insurer.into(), policy_number: policy.into() };
    let cases: Vec<(ProfileEdit, &str)> = vec![
        (ProfileEdit { date_of_birth: Some("2999-01-01".into()), ..Default::default() }, "date_of_birth"),
        (ProfileEdit { date_of_birth: Some("1899-12-31".into()), ..Default::default() }, "date_of_birth"),
        (ProfileEdit { date_of_birth: Some("03.02.1980".into()), ..Default::default() }, "date_of_birth"),
        (ProfileEdit { blood_type: Some("C+".into()), ..Default::default() }, "blood_type"),
        (ProfileEdit { allergies: Some(vec!["Pollen".into(), " ".into()]), ..Default::default() }, "allergies"),
        (ProfileEdit { allergies: Some(vec!["Pollen".into(), "pollen".into()]), ..Default::default() }, "allergies"),
        (ProfileEdit { chronic_conditions: Some(vec!["x".repeat(101)]), ..Default::default() }, "chronic_conditions"),
        (ProfileEdit { insurance_entries: Some(vec![entry("", "123")]), ..Default::default() }, "insurance_entries"),
        (ProfileEdit { insurance_entries: Some(vec![entry("Tryg", "12AB")]), ..Default::default() }, "insurance_entries"),
        (
            ProfileEdit { insurance_entries: Some(vec![entry("Tryg", "1"), entry("tryg", "1")]), ..Default::default() },
            "insurance_entries",
        ),
        (ProfileEdit { emergency_contact_name: Some("Ola\u{0}Kort".into()), ..Default::default() }, "emergency_contact_name"),
        (ProfileEdit { emergency_contact_phone: Some("12".into()), ..Default::default() }, "emergency_contact_phone"),
        // A good field does not carry a bad one through.
        (
            ProfileEdit {
                blood_type: Some("A+".into()),
                emergency_contact_phone: Some("not a phone".into()),
                ..Default::default()
            },
            "emergency_contact_phone",
        ),
    ];
    let before = footprint(&c).await;
    for (edit, field) in cases {
        let e = edit_as(&c, &c.support, &edit).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
        assert!(matches!(e.code, ErrorCode::InvalidInput | ErrorCode::InvalidPhoneFormat | ErrorCode::InvalidName), "{e:?}");
        assert!(!e.message.contains("Pollen") && !e.message.contains("12AB"), "{}", e.message);
    }
    assert_eq!(footprint(&c).await, before);
}

#[tokio::test]
async fn the_history_says_which_results_are_filed_and_their_authors_treat_the_patient() {
    let c = clinic().await;
    let id = consultation_with(&c.db, c.person, c.org, c.doctor.id).await;
    for statement in [
        "UPDATE consultations SET state = 'in_progress', starts_at = now() WHERE id = $1",
        // A result the colleague wrote (as an import of earlier records would file it).
        "INSERT INTO consultation_results (consultation_id, author_staff_id, icpc2_encrypted, outcome_encrypted)
         VALUES ($1, $2, '\\x00', '\\x00')",
        "UPDATE consultations SET state = 'completed', ends_at = now() WHERE id = $1",
    ] {
        let q = sqlx::query(statement).bind(id);
        let q = if statement.contains("$2") { q.bind(c.colleague.id) } else { q };
        q.execute(&c.db.owner).await.unwrap();
    }
    let card = card_as(&c, &c.secretary, false).await.unwrap();
    let filed: Vec<(i32, bool)> = card.consultations.iter().map(|e| (e.consultation.id, e.result_filed)).collect();
    assert_eq!(filed.len(), 2);
    assert!(filed.contains(&(id, true)));
    assert_eq!(filed.iter().filter(|(_, f)| *f).count(), 1);
    // The colleague wrote a result for the patient: they treat them.
    assert!(card_as(&c, &c.colleague, false).await.unwrap().profile.is_some());
    // Another clinic's staff cannot ask whether it has a result.
    let asked: bool = sqlx::query_scalar("SELECT consultation_result_filed($1, current_user::text)")
        .bind(id)
        .fetch_one(&c.other_support.pool)
        .await
        .unwrap();
    assert!(!asked);
}

#[tokio::test]
async fn support_agents_and_admins_set_the_language_of_the_patients_messages() {
    use digimed_core::preferences::Language;
    let c = clinic().await;
    let set_as = async |who: &Staff, language: Language| {
        ClinicTx::run(&who.pool, async |tx| patients::set_message_language(tx, c.person, language).await).await
    };
    let card = card_as(&c, &c.support, false).await.unwrap();
    assert_eq!(card.language, Language::Nb, "bokmål unless the patient asked for English");
    assert!(card.may_set_language);
    assert!(!card_as(&c, &c.secretary, false).await.unwrap().may_set_language);
    assert!(!card_as(&c, &c.doctor, false).await.unwrap().may_set_language);

    // Refused for roles that do not set it and for another clinic; nothing written.
    let before = footprint(&c).await;
    for who in [&c.secretary, &c.doctor] {
        let e = set_as(who, Language::En).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{}", e.message);
    }
    let e = set_as(&c.other_support, Language::En).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let denied = sqlx::query("UPDATE patient_persons SET language = 'en' WHERE id = $1")
        .bind(c.person)
        .execute(&c.secretary.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&denied), "{denied}");
    assert_eq!(footprint(&c).await, before);

    // A support agent sets English: the card says so, the change is audited with who made it;
    // the same again writes nothing; an admin sets bokmål back.
    assert!(set_as(&c.support, Language::En).await.unwrap());
    assert_eq!(card_as(&c, &c.secretary, false).await.unwrap().language, Language::En);
    let (actor, changes): (String, Value) = sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE action = 'UPDATE' AND entity_type = 'patient_persons' AND entity_id = $1
          ORDER BY id DESC LIMIT 1",
    )
    .bind(c.person.to_string())
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(actor, c.support.login);
    assert_eq!((&changes["language"]["from"], &changes["language"]["to"]), (&Value::from("nb"), &Value::from("en")), "{changes}");
    let after = footprint(&c).await;
    assert!(!set_as(&c.support, Language::En).await.unwrap());
    assert_eq!(footprint(&c).await, after, "the same language again writes nothing");
    assert!(set_as(&c.admin, Language::Nb).await.unwrap());
    assert_eq!(card_as(&c, &c.doctor, false).await.unwrap().language, Language::Nb);
}
