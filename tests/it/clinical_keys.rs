//! Key domains (`docs/operations.md`, "Key domains"): a doctor files a result on a workstation
//! holding the contact and the clinical keys; the service's key file and the owner's login read
//! none of it; the service's routes never hand result text out; without the clinical keys nothing
//! is filed; each domain's rotation re-encrypts its own columns only; results written under the
//! contact keys before the domains existed are moved by the clinical rotation, which admins run
//! and the owner cannot.

use digimed_clerk::{SessionKeys, SessionPolicy, SessionVerifier};
use digimed_core::drafts::{self, DraftKind};
use digimed_core::keys::{Vault, ENCRYPTED_COLUMNS};
use digimed_core::meetings::Meetings;
use digimed_core::results::{self, ResultInput};
use digimed_core::session::AppRole;
use digimed_core::{queue, ClinicTx, ErrorCode};
use digimed_crypto::{CryptoError, DataKeys, FieldAad, KeyDomain, KeyStore};
use digimed_tests::session_keys::{SigningKey, APP_ORIGIN, ISSUER};
use digimed_tests::{Staff, TestDb};

/// Words of the result that must never leave a doctor's or admin's workstation in plaintext.
const NOTES: &str = "Clinical-proof: tendonitis, advised rest 7c1e";
const JOB: &str = "Clinical-proof carpenter 7c1e";
const POLICY: &str = "80017000931";

struct Clinic {
    db: TestDb,
    doctor: Staff,
    admin: Staff,
    dir: std::path::PathBuf,
}

impl Drop for Clinic {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let doctor = db.staff(AppRole::Doctor, oslo, "ck-doctor").await;
    let admin = db.staff(AppRole::Admin, oslo, "ck-admin").await;
    let dir = std::env::temp_dir().join(format!("digimed-clinical-keys-{}", uuid::Uuid::new_v4().simple()));
    Clinic { db, doctor, admin, dir }
}

fn result_input() -> ResultInput {
    ResultInput {
        icpc2: "L87".into(),
        outcome: "helped".into(),
        patient_job_description: Some(JOB.into()),
        notes: Some(NOTES.into()),
        policy_number: Some(POLICY.into()),
        ..Default::default()
    }
}

/// Picks and starts the oldest waiting consultation as the clinic's doctor.
async fn started(c: &Clinic) -> i32 {
    let picked =
        ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().expect("a consultation to pick");
    ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), picked.id).await).await.unwrap();
    picked.id
}

/// Every stored field of every result, as (row id, column, ciphertext), as the owner sees them.
async fn result_fields(db: &TestDb) -> Vec<(i32, &'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (table, column, _) in ENCRYPTED_COLUMNS.iter().filter(|(t, _, _)| *t == "consultation_results") {
        let rows: Vec<(i32, Vec<u8>)> =
            sqlx::query_as(&format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"))
                .fetch_all(&db.owner)
                .await
                .unwrap();
        out.extend(rows.into_iter().map(|(id, ct)| (id, *column, ct)));
    }
    out
}

/// Every contact field of the database, as (table, column, row id, ciphertext).
async fn contact_fields(db: &TestDb) -> Vec<(&'static str, &'static str, i32, Vec<u8>)> {
    let mut out = Vec::new();
    for (table, column, _) in ENCRYPTED_COLUMNS.iter().filter(|(_, _, d)| *d == KeyDomain::Contact) {
        let rows: Vec<(i32, Vec<u8>)> =
            sqlx::query_as(&format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"))
                .fetch_all(&db.owner)
                .await
                .unwrap();
        out.extend(rows.into_iter().map(|(id, ct)| (*table, *column, id, ct)));
    }
    out
}

/// Every row of every table, as text, the way the owner would see it.
async fn whole_database_as_text(db: &TestDb) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let mut all = String::new();
    for t in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t")).fetch_all(&db.owner).await.unwrap();
        all.push_str(&rows.join("\n"));
    }
    all
}

/// A draft as (kind, contact ciphertext, clinical ciphertext).
type DraftRow = (String, Option<Vec<u8>>, Option<Vec<u8>>);

fn copy(keys: &DataKeys) -> DataKeys {
    DataKeys::from_json(keys.to_json().expose()).unwrap()
}

#[tokio::test]
async fn a_filed_result_is_read_only_by_the_workstation_never_by_the_services_keys_or_the_owner() {
    let c = clinic().await;
    let id = started(&c).await;
    let filed = result_input();
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &filed).await).await.unwrap();

    // The service's key file holds the contact keys only (as `digimed keys init` writes it).
    let (service_file, _) = c.db.write_key_files(&c.dir);
    let service_keys = KeyStore::File(service_file.clone().into()).load().unwrap();
    assert_eq!(service_keys.domain(), KeyDomain::Contact);
    let service_vault = Vault::load(&KeyStore::File(service_file.into())).unwrap();
    assert!(!service_vault.holds(KeyDomain::Clinical));

    // Every field of every result (the demo's and the doctor's), read by the owner's login.
    let fields = result_fields(&c.db).await;
    let rows: std::collections::BTreeSet<i32> = fields.iter().map(|(row, _, _)| *row).collect();
    assert!(rows.len() >= 2, "the demo's results and the doctor's");
    assert!(fields.len() >= 2 * rows.len());
    for (row, column, ct) in &fields {
        let aad = FieldAad::new("consultation_results", column, i64::from(*row));
        assert_eq!(
            service_keys.decrypt(&aad, ct),
            Err(CryptoError::WrongDomain { ciphertext: KeyDomain::Clinical, keys: KeyDomain::Contact }),
            "{column} of result {row}"
        );
        let refused = service_vault.decrypt("consultation_results", column, i64::from(*row), ct).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ClinicalKeysUnavailable, "{column} of result {row}");
        c.db.vault.decrypt("consultation_results", column, i64::from(*row), ct).expect("the workstation reads it");
    }

    // The doctor's workstation reads what was filed; the service's vault is refused before the
    // database is asked, and the owner's login may not read results at all.
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(read[0].notes.as_deref(), Some(NOTES));
    assert_eq!(read[0].patient_job_description.as_deref(), Some(JOB));
    assert_eq!(read[0].policy_number.as_deref(), Some(POLICY));
    let audited_reads = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM audit_log WHERE action = 'READ' AND entity_type = 'consultation_results'",
        )
        .fetch_one(&c.db.owner)
        .await
        .unwrap()
    };
    sqlx::query("SELECT audit_seal_pending()").execute(&c.db.owner).await.unwrap();
    let reads_before = audited_reads().await;
    let err = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &service_vault, id).await).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ClinicalKeysUnavailable);
    assert_eq!(err.code.as_str(), "clinical_keys_unavailable");
    assert!(err.message.contains("doctor's or admin's workstation"), "{}", err.message);
    let err = ClinicTx::run(&c.db.owner, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    sqlx::query("SELECT audit_seal_pending()").execute(&c.db.owner).await.unwrap();
    assert_eq!(audited_reads().await, reads_before, "refused reads read nothing");

    // No plaintext of the result anywhere in the database (the outbox's events, messages,
    // CRM syncs, the audit log).
    let everything = whole_database_as_text(&c.db).await;
    for secret in [NOTES, JOB, POLICY] {
        assert!(!everything.contains(secret), "a result's text is stored in plaintext");
    }
}

#[tokio::test]
async fn without_the_clinical_keys_nothing_is_filed_amended_or_drafted() {
    let c = clinic().await;
    let id = started(&c).await;
    let contact_only = c.db.vault.contact_only();
    let err =
        ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &contact_only, id, &result_input()).await)
            .await
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::ClinicalKeysUnavailable);
    let state: String =
        sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(id).fetch_one(&c.db.owner).await.unwrap();
    assert_eq!(state, "in_progress", "the consultation is not completed");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM consultation_results WHERE consultation_id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(versions, 0);

    // A draft of the result is clinical too; the onboarding form is not.
    let payload = serde_json::json!({"notes": NOTES});
    let err = ClinicTx::run(&c.doctor.pool, async |tx| {
        drafts::save_draft(tx, &contact_only, DraftKind::ConsultationResult, id, &payload).await
    })
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::ClinicalKeysUnavailable);
    let drafts_kept: i64 = sqlx::query_scalar("SELECT count(*) FROM drafts").fetch_one(&c.db.owner).await.unwrap();
    assert_eq!(drafts_kept, 0);
    ClinicTx::run(&c.doctor.pool, async |tx| {
        drafts::save_draft(tx, &c.db.vault, DraftKind::ConsultationResult, id, &payload).await
    })
    .await
    .unwrap();
    ClinicTx::run(&c.doctor.pool, async |tx| {
        drafts::save_draft(tx, &contact_only, DraftKind::Onboarding, 0, &serde_json::json!({"name": "Kari"})).await
    })
    .await
    .unwrap();
    let kept: Vec<DraftRow> =
        sqlx::query_as("SELECT kind, payload_encrypted, clinical_payload_encrypted FROM drafts ORDER BY kind")
            .fetch_all(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(kept.len(), 2);
    let (kind, contact, clinical) = &kept[0];
    assert_eq!((kind.as_str(), contact.is_none()), ("consultation_result", true));
    assert_eq!(DataKeys::domain_of(clinical.as_ref().unwrap()), Ok(KeyDomain::Clinical));
    let (kind, contact, clinical) = &kept[1];
    assert_eq!((kind.as_str(), clinical.is_none()), ("onboarding", true));
    assert_eq!(DataKeys::domain_of(contact.as_ref().unwrap()), Ok(KeyDomain::Contact));
    let err =
        ClinicTx::run(&c.doctor.pool, async |tx| drafts::load_draft(tx, &contact_only, DraftKind::ConsultationResult, id).await)
            .await
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::ClinicalKeysUnavailable);
    let draft =
        ClinicTx::run(&c.doctor.pool, async |tx| drafts::load_draft(tx, &c.db.vault, DraftKind::ConsultationResult, id).await)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(draft.payload, payload);
}

#[tokio::test]
async fn the_services_routes_never_hand_out_a_result() {
    let c = clinic().await;
    let id = started(&c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &result_input()).await)
        .await
        .unwrap();
    // The patient of the consultation signs in to the patient app.
    let person: i32 = sqlx::query_scalar("SELECT patient_person_id FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    let linked = sqlx::query(
        "WITH u AS (INSERT INTO users (email, username, account_directory, clerk_user_id)
                    VALUES ('clinical-proof@example.com', 'clinical-proof@example.com', 'clerk', 'user_clinical_proof')
                    RETURNING id)
         UPDATE patient_persons SET user_id = (SELECT id FROM u) WHERE id = $1",
    )
    .bind(person)
    .execute(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(linked.rows_affected(), 1);
    let key = SigningKey::generate("ins_clinical_proof");
    let verifier =
        SessionVerifier::new(SessionKeys::Pem(key.public_pem.clone()), SessionPolicy::new(ISSUER, vec![APP_ORIGIN.into()]))
            .unwrap();
    // Handed the workstation's vault, the service still holds the contact keys only.
    let pool = digimed_tests::service::service_pool(&c.db).await;
    let state = digimed_service::AppState {
        pool: pool.clone(),
        vault: c.db.vault.clone(),
        accounts: digimed_core::accounts::Accounts::Local,
        phone_country: "47".to_string(),
        patient_sessions: Some(verifier),
        booking_partner: None,
        clerk_webhook_key: None,
        callrail: None,
        fax: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(digimed_service::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let token = key.session_token("user_clinical_proof");
    let mine = http.get(format!("{base}/v1/me/consultations")).bearer_auth(&token).send().await.unwrap();
    let status = mine.status();
    let body = mine.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"].as_i64() == Some(i64::from(id)) || x["consultation_id"].as_i64() == Some(i64::from(id))),
        "the patient sees the consultation: {body}"
    );
    let mut answers = body;
    for path in ["/healthz", "/openapi.json", "/v1/me/forms"] {
        let r = http.get(format!("{base}{path}")).bearer_auth(&token).send().await.unwrap();
        answers.push_str(&r.text().await.unwrap());
    }
    for secret in [NOTES, JOB, POLICY] {
        assert!(!answers.contains(secret), "the service handed out a result's {secret}");
    }
    let _ = stop.send(());
}

#[tokio::test]
async fn each_rotation_reencrypts_its_own_domain_and_the_clinical_one_moves_old_results() {
    let c = clinic().await;
    let id = started(&c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &result_input()).await)
        .await
        .unwrap();
    // A version written before the key domains existed: under the contact keys (the owner
    // imports it, as earlier records were).
    let contact = copy(c.db.vault.keys());
    let row: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('consultation_results', 'id'))::int")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    let old = |column: &str, text: &str| {
        contact.encrypt(&FieldAad::new("consultation_results", column, i64::from(row)), text.as_bytes())
    };
    let author: i32 = sqlx::query_scalar("SELECT assigned_doctor_id FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO consultation_results (id, consultation_id, version, author_staff_id, icpc2_encrypted, outcome_encrypted,
                                           notes_encrypted, amend_reason_encrypted)
         VALUES ($1, $2, 2, $3, $4, $5, $6, $7)",
    )
    .bind(row)
    .bind(id)
    .bind(author)
    .bind(old("icpc2_encrypted", "L87"))
    .bind(old("outcome_encrypted", "helped"))
    .bind(old("notes_encrypted", "Written before the key domains"))
    .bind(old("amend_reason_encrypted", "Old record"))
    .execute(&c.db.owner)
    .await
    .unwrap();
    let legacy_fields = 4;
    // The workstation still reads it; the service's vault does not (though its raw keys would,
    // which is why the clinical rotation moves it).
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &c.db.vault, id).await).await.unwrap();
    assert_eq!(read[0].notes.as_deref(), Some("Written before the key domains"));
    let legacy_ct: Vec<u8> = sqlx::query_scalar("SELECT notes_encrypted FROM consultation_results WHERE id = $1")
        .bind(row)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(
        c.db.vault
            .contact_only()
            .decrypt("consultation_results", "notes_encrypted", i64::from(row), &legacy_ct)
            .unwrap_err()
            .code,
        ErrorCode::ClinicalKeysUnavailable
    );

    let before_results = result_fields(&c.db).await;
    let before_contact = contact_fields(&c.db).await;

    // The contact rotation (the owner, with the contact keys alone) leaves every result alone,
    // also the old one under the contact keys.
    let mut rotated_contact = copy(c.db.vault.keys());
    let contact_id = rotated_contact.rotate();
    let owner_vault = Vault::new(copy(&rotated_contact));
    let report = digimed_tests::rotate_all(&c.db.owner, &owner_vault, 50).await.unwrap();
    assert_eq!(report.reencrypted as usize, before_contact.len());
    assert_eq!(result_fields(&c.db).await, before_results, "the contact rotation touches no result");
    for (table, column, row, ct) in contact_fields(&c.db).await {
        assert_eq!(DataKeys::header_of(&ct).unwrap(), (KeyDomain::Contact, contact_id), "{table}.{column} {row}");
    }
    let after_contact = contact_fields(&c.db).await;

    // The clinical rotation: not the owner's, nor a doctor's; an admin's, with both domains' keys.
    let mut clinical = copy(c.db.vault.keys_of(KeyDomain::Clinical).unwrap());
    let clinical_id = clinical.rotate();
    let workstation = Vault::with_clinical(copy(&rotated_contact), Some(clinical));
    for pool in [&c.db.owner, &c.doctor.pool] {
        let err = digimed_tests::rotate_clinical(pool, &workstation, 50).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden, "{}", err.message);
    }
    let err = digimed_tests::rotate_clinical(&c.admin.pool, &c.db.vault.contact_only(), 50).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ClinicalKeysUnavailable);
    assert_eq!(result_fields(&c.db).await, before_results, "refused rotations change nothing");

    let report = digimed_tests::rotate_clinical(&c.admin.pool, &workstation, 3).await.unwrap();
    assert_eq!(report.new_key_id, clinical_id);
    assert_eq!(report.moved_from_contact, legacy_fields);
    assert_eq!(report.reencrypted as usize, before_results.len() - legacy_fields as usize);
    assert_eq!(contact_fields(&c.db).await, after_contact, "the clinical rotation touches no contact field");
    let after = result_fields(&c.db).await;
    assert_eq!(after.len(), before_results.len());
    for ((row, column, old_ct), (_, _, ct)) in before_results.iter().zip(&after) {
        assert_eq!(DataKeys::header_of(ct).unwrap(), (KeyDomain::Clinical, clinical_id), "{column} of result {row}");
        assert_eq!(
            workstation.decrypt("consultation_results", column, i64::from(*row), ct).unwrap(),
            c.db.vault.decrypt("consultation_results", column, i64::from(*row), old_ct).unwrap(),
            "{column} of result {row} reads the same"
        );
        let aad = FieldAad::new("consultation_results", column, i64::from(*row));
        assert!(matches!(rotated_contact.decrypt(&aad, ct), Err(CryptoError::WrongDomain { .. })));
    }
    let read = ClinicTx::run(&c.doctor.pool, async |tx| results::read(tx, &workstation, id).await).await.unwrap();
    assert_eq!(read[0].notes.as_deref(), Some("Written before the key domains"));
    assert_eq!(read[1].notes.as_deref(), Some(NOTES));
    // The admin's re-encryption is in the audit log in their name.
    sqlx::query("SELECT audit_seal_pending()").execute(&c.db.owner).await.unwrap();
    let admin_updates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'UPDATE' AND entity_type = 'consultation_results'",
    )
    .bind(&c.admin.login)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(admin_updates as usize, before_results.len());

    // A second pass finds nothing left to do.
    let again = digimed_tests::rotate_clinical(&c.admin.pool, &workstation, 100).await.unwrap();
    assert_eq!((again.reencrypted, again.moved_from_contact, again.already_current as usize), (0, 0, after.len()));
}

#[tokio::test]
async fn the_database_keeps_results_clinical_and_agrees_with_the_column_list() {
    let c = clinic().await;
    let id = started(&c).await;
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, id, &result_input()).await)
        .await
        .unwrap();
    let row: i32 = sqlx::query_scalar("SELECT id FROM consultation_results WHERE consultation_id = $1")
        .bind(id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    let under_contact =
        c.db.vault.keys().encrypt(&FieldAad::new("consultation_results", "notes_encrypted", i64::from(row)), b"x");
    // Not even the owner, under the rotation rule, puts a result back under the contact keys.
    let mut tx = c.db.owner.begin().await.unwrap();
    sqlx::query("SELECT set_config('digimed.key_rotation', 'on', true)").execute(&mut *tx).await.unwrap();
    let err = sqlx::query("UPDATE consultation_results SET notes_encrypted = $1 WHERE id = $2")
        .bind(&under_contact)
        .bind(row)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().as_deref(), Some("23514"), "{err}");
    drop(tx);
    // An admin changes nothing outside a rotation, and nothing but the clinical columns in one.
    let fresh = c.db.vault.encrypt("consultation_results", "notes_encrypted", i64::from(row), "x").unwrap();
    let outside = sqlx::query("UPDATE consultation_results SET notes_encrypted = $1 WHERE id = $2")
        .bind(&fresh)
        .bind(row)
        .execute(&c.admin.pool)
        .await
        .unwrap();
    assert_eq!(outside.rows_affected(), 0);
    let mut tx = c.admin.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('digimed.key_rotation', 'on', true)").execute(&mut *tx).await.unwrap();
    let err =
        sqlx::query("UPDATE consultation_results SET version = 9 WHERE id = $1").bind(row).execute(&mut *tx).await.unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().as_deref(), Some("42501"), "{err}");
    drop(tx);
    // The ciphertexts are handed only to admins, and only of result columns.
    let err = sqlx::query("SELECT * FROM consultation_result_ciphertexts('notes_encrypted', 0, 10, current_user::text)")
        .fetch_all(&c.doctor.pool)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().as_deref(), Some("42501"), "{err}");
    let err = sqlx::query("SELECT * FROM consultation_result_ciphertexts('author_staff_id', 0, 10, current_user::text)")
        .fetch_all(&c.admin.pool)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().as_deref(), Some("42501"), "{err}");

    // The database's list of clinical result columns is the core's.
    let mut in_database: Vec<String> =
        sqlx::query_scalar("SELECT clinical_result_columns()").fetch_all(&c.db.owner).await.unwrap();
    in_database.sort();
    let mut in_core: Vec<String> = ENCRYPTED_COLUMNS
        .iter()
        .filter(|(t, _, d)| *t == "consultation_results" && *d == KeyDomain::Clinical)
        .map(|(_, c, _)| c.to_string())
        .collect();
    in_core.sort();
    assert_eq!(in_database, in_core);
    // And every encrypted column of the schema is in the core's list, with a domain.
    let mut schema: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
          WHERE table_schema = 'public' AND column_name LIKE '%\\_encrypted'
            AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')",
    )
    .fetch_all(&c.db.owner)
    .await
    .unwrap();
    schema.sort();
    let mut listed: Vec<(String, String)> = ENCRYPTED_COLUMNS.iter().map(|(t, c, _)| (t.to_string(), c.to_string())).collect();
    listed.sort();
    assert_eq!(schema, listed);
}
