//! Workstation enrollment: an admin's bundle, a new workstation using it after its user signed
//! in, the keys it saved reading a patient's phone; the refusals (wrong passphrase, tampered
//! bundle, a used, a revoked bundle, the wrong role), each leaving nothing saved; revoking, the
//! rotation after it, the others picking up the new key and the revoked one reading no new data.

use std::path::PathBuf;

use digimed_core::keys::Vault;
use digimed_core::session::{sign_in, AppRole};
use digimed_core::workstations::{self, Bundle, SecretPlace, WorkstationStore};
use digimed_core::{ClinicTx, Error, ErrorCode};
use digimed_crypto::{DataKeys, KeyDomain, KeyStore};
use digimed_tests::{Staff, TestDb};

/// A workstation's own folder: its key file and its identity.
struct Workstation {
    dir: PathBuf,
    store: WorkstationStore,
}

impl Workstation {
    fn new(name: &str) -> Workstation {
        let dir = std::env::temp_dir().join(format!("digimed-ws-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = WorkstationStore {
            contact: KeyStore::File(dir.join("keys.json")),
            clinical: Some(KeyStore::File(dir.join("clinical-keys.json"))),
            identity: SecretPlace::File(dir.join("identity.json")),
        };
        Workstation { dir, store }
    }

    /// The files in its folder: empty while nothing was saved.
    fn saved(&self) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(&self.dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn vault(&self) -> Vault {
        Vault::load(&self.store.contact).unwrap()
    }

    /// Its user signs in on the bundle's server, then the bundle is used.
    async fn enroll(&self, bundle: &Bundle, who: &Staff) -> Result<(), Error> {
        let (pool, session) = sign_in(&bundle.server, &who.login, &who.password).await?;
        assert_eq!(session.staff_id, who.id);
        let tx = ClinicTx::begin(&pool).await?;
        let out = workstations::accept(tx, bundle, &self.store).await.map(|_| ());
        pool.close().await;
        out
    }

    /// Signs in again and takes the keys delivered since.
    async fn sign_in_again(&self, db: &TestDb, who: &Staff) -> Vec<String> {
        let (pool, _) = sign_in(&db.server(), &who.login, &who.password).await.unwrap();
        let mut tx = ClinicTx::begin(&pool).await.unwrap();
        let renewed = workstations::pick_up_keys(&mut tx, &self.store).await.unwrap();
        tx.commit().await.unwrap();
        renewed
    }
}

impl Drop for Workstation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn make(db: &TestDb, admin: &Staff, label: &str, role: AppRole) -> workstations::NewEnrollment {
    let mut tx = ClinicTx::begin(&admin.pool).await.unwrap();
    let made = workstations::create(&mut tx, &db.vault, label, role, &db.server()).await.unwrap();
    tx.commit().await.unwrap();
    made
}

/// A phone of the demo data, as (row id, ciphertext, plaintext under the clinic's keys).
async fn a_phone(db: &TestDb, vault: &Vault) -> (i32, Vec<u8>, String) {
    let (id, ct): (i32, Vec<u8>) =
        sqlx::query_as("SELECT id, phone_encrypted FROM patient_persons WHERE phone_encrypted IS NOT NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let plain = vault.decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap();
    (id, ct, plain)
}

async fn used_by(db: &TestDb, id: i32) -> Option<i32> {
    sqlx::query_scalar("SELECT used_by FROM workstation_enrollment_uses WHERE enrollment_id = $1")
        .bind(id)
        .fetch_optional(&db.owner)
        .await
        .unwrap()
}

async fn clinic_with_staff(db: &TestDb) -> (i32, Staff, Staff) {
    db.seed_demo().await;
    let clinic: i32 = sqlx::query_scalar("SELECT id FROM organizations WHERE kind = 'clinic' ORDER BY id LIMIT 1")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let admin = db.staff(AppRole::Admin, clinic, "ina").await;
    let secretary = db.staff(AppRole::Secretary, clinic, "randi").await;
    (clinic, admin, secretary)
}

#[tokio::test]
async fn a_new_workstation_enrolls_and_reads_a_patients_phone() {
    let db = TestDb::new().await;
    let (_, admin, secretary) = clinic_with_staff(&db).await;
    let made = make(&db, &admin, " Reception 2 ", AppRole::Secretary).await;
    assert!(made.bundle.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "an armored age file");
    assert_eq!(made.passphrase.len(), 35);
    assert!(!made.bundle.contains("blind_index_key") && !made.bundle.contains(&made.passphrase));
    assert_eq!((made.enrollment.label.as_str(), made.enrollment.role), ("Reception 2", AppRole::Secretary));
    assert_eq!(made.enrollment.domains, vec!["contact"]);
    assert_eq!(made.enrollment.created_by, "ina");

    let bundle = workstations::open(made.bundle.as_bytes(), &made.passphrase).unwrap();
    assert_eq!(bundle.server, workstations::shareable_server(&db.server()).unwrap().0);
    assert!(!bundle.server.contains('@'), "no user in the address: {}", bundle.server);
    assert_eq!((bundle.role, bundle.domains()), (AppRole::Secretary, vec!["contact".to_string()]));

    let ws = Workstation::new("reception");
    ws.enroll(&bundle, &secretary).await.unwrap();
    assert_eq!(ws.saved(), vec!["identity.json", "keys.json"]);
    let (id, ct, phone) = a_phone(&db, &db.vault).await;
    assert_eq!(ws.vault().decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap(), phone);
    assert_eq!(used_by(&db, made.enrollment.id).await, Some(secretary.id));

    // The admin sees it used, by whom; the making and the use are in the audit log.
    let list = ClinicTx::run(&admin.pool, async |tx| workstations::list(tx).await).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].used_by.as_deref(), Some("randi"));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE entity_type = 'workstation_enrollments' AND entity_id = $1")
            .bind(made.enrollment.id.to_string())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(audited, 2, "made, then used");
    let hash_in_log: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'workstation_enrollments' AND changes ->> 'token_hash' <> '[redacted]'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(hash_in_log, 0, "the secret's hash is redacted in the log");

    // Only admins make or list enrollments.
    let mut tx = ClinicTx::begin(&secretary.pool).await.unwrap();
    let e = workstations::create(&mut tx, &db.vault, "Mine", AppRole::Secretary, &db.server()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = workstations::list(&mut tx).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
}

#[tokio::test]
async fn refusals_say_why_and_save_nothing() {
    let db = TestDb::new().await;
    let (clinic, admin, secretary) = clinic_with_staff(&db).await;
    let made = make(&db, &admin, "Reception 3", AppRole::Secretary).await;

    // Wrong passphrase.
    let e = workstations::open(made.bundle.as_bytes(), "abcde-fghij-kmnpq-rstuv-wxyz2-34567").unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::WrongPassphrase, Some("passphrase")), "{e:?}");
    // Tampered: one character of the sealed payload changed; and a file that is no bundle.
    let mut lines: Vec<String> = made.bundle.lines().map(str::to_string).collect();
    let target = lines.len() - 3;
    let mut chars: Vec<char> = lines[target].chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    lines[target] = chars.into_iter().collect();
    let tampered = lines.join("\n") + "\n";
    let e = workstations::open(tampered.as_bytes(), &made.passphrase).unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::BundleTampered, Some("bundle")), "{e:?}");
    let e = workstations::open(b"{\"format\":\"digimed-workstation-enrollment\"}", &made.passphrase).unwrap_err();
    assert_eq!(e.code, ErrorCode::BundleTampered);
    assert!(!e.message.contains(&made.passphrase));

    let bundle = workstations::open(made.bundle.as_bytes(), &made.passphrase).unwrap();
    // The wrong role: refused, nothing saved, the bundle still unused.
    let doctor = db.staff(AppRole::Doctor, clinic, "dora").await;
    let ws = Workstation::new("wrong-role");
    let e = ws.enroll(&bundle, &doctor).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}");
    assert!(e.message.contains("secretary"), "{}", e.message);
    assert_eq!(ws.saved(), Vec::<String>::new());
    assert_eq!(used_by(&db, made.enrollment.id).await, None);

    // Used once; a second use is refused and saves nothing.
    Workstation::new("first").enroll(&bundle, &secretary).await.unwrap();
    let again = Workstation::new("again");
    let e = again.enroll(&bundle, &secretary).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::EnrollmentUsed, Some("bundle")), "{e:?}");
    assert_eq!(again.saved(), Vec::<String>::new());

    // Revoked before use.
    let second = make(&db, &admin, "Reception 4", AppRole::Secretary).await;
    let revoked = ClinicTx::run(&admin.pool, async |tx| workstations::revoke(tx, second.enrollment.id).await).await.unwrap();
    assert_eq!(revoked.revoked_by.as_deref(), Some("ina"));
    let e = ClinicTx::run(&admin.pool, async |tx| workstations::revoke(tx, second.enrollment.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    let late = Workstation::new("late");
    let second = workstations::open(second.bundle.as_bytes(), &second.passphrase).unwrap();
    let e = late.enroll(&second, &secretary).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::EnrollmentRevoked, Some("bundle")), "{e:?}");
    assert_eq!(late.saved(), Vec::<String>::new());

    // A workstation that holds keys already is not enrolled again.
    let third = make(&db, &admin, "Reception 5", AppRole::Secretary).await;
    let third = workstations::open(third.bundle.as_bytes(), &third.passphrase).unwrap();
    let holder = Workstation::new("holder");
    holder.store.contact.save(&DataKeys::generate()).unwrap();
    let e = holder.enroll(&third, &secretary).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists, "{e:?}");
    assert_eq!(holder.saved(), vec!["keys.json"]);
}

#[tokio::test]
async fn revoking_then_rotating_shuts_the_revoked_workstation_out_and_delivers_to_the_others() {
    let db = TestDb::new().await;
    let (_, admin, secretary) = clinic_with_staff(&db).await;
    let stays = Workstation::new("stays");
    let leaves = Workstation::new("leaves");
    for (ws, label) in [(&stays, "Reception 6"), (&leaves, "Reception 7")] {
        let made = make(&db, &admin, label, AppRole::Secretary).await;
        ws.enroll(&workstations::open(made.bundle.as_bytes(), &made.passphrase).unwrap(), &secretary).await.unwrap();
    }
    let leaving: i32 = sqlx::query_scalar("SELECT id FROM workstation_enrollments WHERE label = 'Reception 7'")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let revoked = ClinicTx::run(&admin.pool, async |tx| workstations::revoke(tx, leaving).await).await.unwrap();
    assert!(revoked.revoked_at.is_some() && revoked.keys_rotated_at.is_none());
    // Nothing delivered yet: the remaining workstation has nothing new to take.
    assert!(stays.sign_in_again(&db, &secretary).await.is_empty());

    // The owner's rotation: a new key, every field re-encrypted, delivered to the enrolled.
    let mut keys = DataKeys::from_json(db.vault.keys().to_json().expose()).unwrap();
    let new_id = keys.rotate();
    let rotated = Vault::new(keys);
    digimed_tests::rotate_all(&db.owner, &rotated, 50).await.unwrap();
    let delivered =
        ClinicTx::run(&db.owner, async |tx| workstations::deliver_keys(tx, &rotated, KeyDomain::Contact).await).await.unwrap();
    assert_eq!(delivered, 1, "only the workstation still enrolled");
    let list = ClinicTx::run(&admin.pool, async |tx| workstations::list(tx).await).await.unwrap();
    let gone = list.iter().find(|e| e.id == leaving).unwrap();
    assert!(gone.keys_rotated_at.is_some());
    // Only the owner delivers keys.
    let e = ClinicTx::run(&admin.pool, async |tx| workstations::deliver_keys(tx, &rotated, KeyDomain::Contact).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);

    let (id, ct, phone) = a_phone(&db, &rotated).await;
    assert_eq!(DataKeys::key_id_of(&ct).unwrap(), new_id, "re-encrypted under the new key");
    // The revoked workstation's keys read nothing under the new key...
    let e = leaves.vault().decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeysUnavailable, "{e:?}");
    // ... and it is given none.
    assert!(leaves.sign_in_again(&db, &secretary).await.is_empty());
    assert_eq!(leaves.vault().keys().current_key_id(), 1);
    // The other takes the new key at its next sign-in and reads the phone again, once.
    assert_eq!(stays.sign_in_again(&db, &secretary).await, vec!["contact"]);
    assert_eq!(stays.vault().keys().current_key_id(), new_id);
    assert_eq!(stays.vault().decrypt("patient_persons", "phone_encrypted", i64::from(id), &ct).unwrap(), phone);
    assert!(stays.sign_in_again(&db, &secretary).await.is_empty());
}

#[tokio::test]
async fn a_doctors_workstation_gets_the_clinical_keys_and_their_rotation_by_an_admin() {
    let db = TestDb::new().await;
    let (clinic, admin, _) = clinic_with_staff(&db).await;
    let doctor = db.staff(AppRole::Doctor, clinic, "sindre").await;

    // A computer without the clinical keys (the server's) cannot make a doctor's bundle, and
    // nothing is recorded.
    let server_vault = db.vault.contact_only();
    let mut tx = ClinicTx::begin(&admin.pool).await.unwrap();
    let e = workstations::create(&mut tx, &server_vault, "Room 3", AppRole::Doctor, &db.server()).await.unwrap_err();
    drop(tx);
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::ClinicalKeysUnavailable, Some("role")));
    assert!(e.message.contains("admin's workstation"), "{}", e.message);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM workstation_enrollments").fetch_one(&db.owner).await.unwrap();
    assert_eq!(count, 0);

    // On an admin's workstation the bundle carries both domains, and the doctor's workstation
    // keeps each in its own store.
    let made = make(&db, &admin, "Room 3", AppRole::Doctor).await;
    assert_eq!(made.enrollment.domains, vec!["clinical", "contact"]);
    let ws = Workstation::new("room3");
    ws.enroll(&workstations::open(made.bundle.as_bytes(), &made.passphrase).unwrap(), &doctor).await.unwrap();
    let clinical_store = ws.store.clinical.clone().unwrap();
    let held = clinical_store.load_for(KeyDomain::Clinical).unwrap();
    assert_eq!(held.key_ids(), db.vault.keys_of(KeyDomain::Clinical).unwrap().key_ids());
    assert!(ws.store.contact.load_for(KeyDomain::Contact).is_ok());

    // An admin rotates the clinical keys and seals them to the doctor's workstation; the contact
    // keys are not theirs to hand out.
    let mut clinical = DataKeys::from_json(db.vault.keys_of(KeyDomain::Clinical).unwrap().to_json().expose()).unwrap();
    let new_id = clinical.rotate();
    let contact = DataKeys::from_json(db.vault.keys().to_json().expose()).unwrap();
    let rotated = Vault::with_clinical(contact, Some(clinical));
    let delivered =
        ClinicTx::run(&admin.pool, async |tx| workstations::deliver_keys(tx, &rotated, KeyDomain::Clinical).await).await.unwrap();
    assert_eq!(delivered, 1);
    let e = ClinicTx::run(&admin.pool, async |tx| workstations::deliver_keys(tx, &rotated, KeyDomain::Contact).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    // Even straight through the database, an admin cannot deliver contact keys.
    let raw = sqlx::query("SELECT deliver_workstation_keys($1, 'contact', 99, '\\x00')")
        .bind(made.enrollment.id)
        .execute(&admin.pool)
        .await
        .unwrap_err();
    assert!(raw.to_string().contains("Only the database owner"), "{raw}");

    assert_eq!(ws.sign_in_again(&db, &doctor).await, vec!["clinical".to_string()]);
    assert_eq!(clinical_store.load_for(KeyDomain::Clinical).unwrap().current_key_id(), new_id);
}
