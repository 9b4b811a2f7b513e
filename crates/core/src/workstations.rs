//! Workstation enrollment (`docs/operations.md`, "Enrolling a workstation"): an admin makes a
//! one-time bundle holding the server address, the clinic's CA certificate, the role and the data
//! keys that role needs, sealed with age under a generated passphrase; a new workstation opens it,
//! its user signs in, and only then is the enrollment used up in the database and the keys saved.
//! Revoking an enrollment, then rotating the keys ([`deliver_keys`]), leaves the revoked
//! workstation with keys that read no new data, while the others pick up the new key at sign-in
//! ([`pick_up_keys`]), sealed to their own age identity.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret as _, SecretString};
use chrono::{DateTime, Utc};
use digimed_crypto::{DataKeys, KeyDomain, KeyStore, KeyStoreError, Secret};
use rand::Rng as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::session::AppRole;

/// The format version of a bundle's contents.
pub const BUNDLE_VERSION: u32 = 1;
const BUNDLE_FORMAT: &str = "digimed-workstation-enrollment";

/// The key domains. `contact` is the data keys every role holds (keyring account `data-keys`);
/// `clinical` (results) is held by doctors and admins only.
pub const CONTACT: &str = "contact";
pub const CLINICAL: &str = "clinical";

/// The key domains a workstation of this role needs: the one rule of which keys a bundle carries.
pub fn domains_for(role: AppRole) -> &'static [&'static str] {
    match role {
        AppRole::Secretary | AppRole::CustomerSupport => &[CONTACT],
        AppRole::Doctor | AppRole::Admin => &[CONTACT, CLINICAL],
    }
}

/// The key sets this console holds, by domain: what it can hand on in a bundle or deliver after a
/// rotation. The clinical set is there only on a doctor's or admin's workstation.
pub fn held_key_sets(vault: &Vault) -> BTreeMap<&'static str, &DataKeys> {
    let mut held = BTreeMap::from([(CONTACT, vault.keys())]);
    if let Ok(clinical) = vault.keys_of(KeyDomain::Clinical) {
        held.insert(CLINICAL, clinical);
    }
    held
}

/// An enrollment as the Workstations panel and `digimed workstation list` show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Enrollment {
    pub id: i32,
    pub label: String,
    pub role: AppRole,
    pub domains: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `None` with `revoked_at` set: revoked by the database owner.
    pub revoked_by: Option<String>,
    /// When the keys were rotated after the revocation.
    pub keys_rotated_at: Option<DateTime<Utc>>,
}

/// A new enrollment: the sealed bundle to hand to the workstation, and the passphrase, shown
/// once, that opens it.
#[derive(Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewEnrollment {
    pub enrollment: Enrollment,
    /// The bundle, age-encrypted and ASCII-armored.
    pub bundle: String,
    pub passphrase: String,
}

impl std::fmt::Debug for NewEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEnrollment").field("enrollment", &self.enrollment).finish_non_exhaustive()
    }
}

/// What a bundle holds, as read with its passphrase. `Debug` shows no secret.
#[derive(Serialize, Deserialize)]
pub struct Bundle {
    format: String,
    version: u32,
    pub enrollment_id: i32,
    secret: String,
    /// The server address, without user or password, and without `sslrootcert` (the CA
    /// certificate travels in `ca_pem`).
    pub server: String,
    pub ca_pem: Option<String>,
    pub role: AppRole,
    pub label: String,
    keys: BTreeMap<String, serde_json::Value>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("enrollment_id", &self.enrollment_id)
            .field("server", &self.server)
            .field("role", &self.role)
            .field("domains", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Bundle {
    /// The key domains it carries.
    pub fn domains(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    /// The key set of one domain.
    pub fn keys(&self, domain: &str) -> Result<Option<DataKeys>> {
        let Some(value) = self.keys.get(domain) else { return Ok(None) };
        let json = Secret::new(value.to_string());
        DataKeys::from_json(json.expose()).map(Some).map_err(|_| tampered())
    }
}

/// What the sign-in screen shows of a bundle before the user signs in.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BundlePreview {
    pub enrollment_id: i32,
    pub label: String,
    pub server: String,
    pub role: AppRole,
    pub domains: Vec<String>,
    pub has_ca: bool,
}

impl From<&Bundle> for BundlePreview {
    fn from(b: &Bundle) -> Self {
        BundlePreview {
            enrollment_id: b.enrollment_id,
            label: b.label.clone(),
            server: b.server.clone(),
            role: b.role,
            domains: b.domains(),
            has_ca: b.ca_pem.is_some(),
        }
    }
}

fn tampered() -> Error {
    Error::field(
        ErrorCode::BundleTampered,
        "bundle",
        "This file is not an enrollment bundle, or it was changed after it was made; ask the administrator for a new one.",
    )
}

fn wrong_passphrase() -> Error {
    Error::field(ErrorCode::WrongPassphrase, "passphrase", "The passphrase does not open this bundle; check it and try again.")
}

/// A passphrase of 6 groups of 5 characters from 32 that cannot be misread (no `l`, `o`, `0`,
/// `1`): 150 bits from the OS's random source, strengthened further by age's scrypt.
pub fn generate_passphrase() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..6).map(|_| (0..5).map(|_| ALPHABET[rng.gen_range(0..32)] as char).collect::<String>()).collect::<Vec<_>>().join("-")
}

const SSLROOTCERT_NAMES: &[&str] = &["sslrootcert", "ssl-root-cert", "ssl-ca"];
const CREDENTIAL_NAMES: &[&str] = &["user", "password", "passfile"];

/// The server address as a bundle carries it: no user, no password, no CA file path; and the CA
/// file's path, if the address names one.
pub fn shareable_server(address: &str) -> Result<(String, Option<PathBuf>)> {
    let invalid = || Error::field(ErrorCode::Configuration, "server", "The server address is not a postgres:// address.");
    let mut url = url::Url::parse(address.trim()).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(invalid());
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let mut ca = None;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| {
            if SSLROOTCERT_NAMES.contains(&k.as_ref()) {
                ca = Some(PathBuf::from(v.as_ref()));
                None
            } else if CREDENTIAL_NAMES.contains(&k.as_ref()) {
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok((url.to_string(), ca))
}

/// The address a workstation signs in to: the bundle's, with `sslrootcert` naming the CA file
/// the workstation keeps, when there is one.
pub fn server_with_ca(server: &str, ca_file: Option<&Path>) -> String {
    let Some(ca) = ca_file else { return server.to_string() };
    match url::Url::parse(server) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("sslrootcert", &ca.to_string_lossy());
            url.to_string()
        }
        Err(_) => server.to_string(),
    }
}

fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

const ENROLLMENT_COLUMNS: &str = r#"e.id, e.label, e.role, e.domains, cs.name AS created_by, e.created_at, u.used_at,
    us.name AS used_by, e.revoked_at, rs.name AS revoked_by, e.keys_rotated_at"#;

#[derive(sqlx::FromRow)]
struct EnrollmentRow {
    id: i32,
    label: String,
    role: String,
    domains: Vec<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    used_by: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    keys_rotated_at: Option<DateTime<Utc>>,
}

impl EnrollmentRow {
    fn into_enrollment(self) -> Result<Enrollment> {
        Ok(Enrollment {
            id: self.id,
            label: self.label,
            role: AppRole::parse(&self.role)?,
            domains: self.domains,
            created_by: self.created_by,
            created_at: self.created_at,
            used_at: self.used_at,
            used_by: self.used_by,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by,
            keys_rotated_at: self.keys_rotated_at,
        })
    }
}

async fn fetch(tx: &mut ClinicTx, id: Option<i32>) -> Result<Vec<Enrollment>> {
    let rows: Vec<EnrollmentRow> = sqlx::query_as(&format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM workstation_enrollments e
           JOIN staff cs ON cs.id = e.created_by
           LEFT JOIN workstation_enrollment_uses u ON u.enrollment_id = e.id
           LEFT JOIN staff us ON us.id = u.used_by
           LEFT JOIN staff rs ON rs.id = e.revoked_by
          WHERE $1::integer IS NULL OR e.id = $1
          ORDER BY e.created_at DESC, e.id DESC"
    ))
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(EnrollmentRow::into_enrollment).collect()
}

/// Makes an enrollment for a workstation of `role`: records it, and seals a bundle with the
/// server address (`server`, the address this admin is connected to), its CA certificate and
/// the key sets the role needs, under a new passphrase.
pub async fn create(tx: &mut ClinicTx, vault: &Vault, label: &str, role: AppRole, server: &str) -> Result<NewEnrollment> {
    tx.require(Capability::EnrollWorkstations)?;
    let label = label.trim();
    if label.is_empty() {
        return Err(Error::invalid("label", "Name the workstation, such as \"Reception 2\"."));
    }
    if label.chars().count() > 100 {
        return Err(Error::invalid("label", "Keep the workstation's name under 100 characters."));
    }
    let (server, ca_path) = shareable_server(server)?;
    let ca_pem = match ca_path {
        Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
            Error::field(
                ErrorCode::Configuration,
                "server",
                format!("The CA certificate file named by sslrootcert ({}) cannot be read: {e}.", path.display()),
            )
        })?),
        None => None,
    };
    let held = held_key_sets(vault);
    let mut keys = BTreeMap::new();
    for domain in domains_for(role) {
        let Some(set) = held.get(domain) else {
            // A doctor's or admin's workstation without the clinical keys could read no result.
            return Err(Error::field(
                ErrorCode::ClinicalKeysUnavailable,
                "role",
                format!(
                    "A {} workstation needs the clinical keys, which this computer does not hold: make its bundle on an admin's workstation.",
                    role.as_str()
                ),
            ));
        };
        let json = set.to_json();
        let value: serde_json::Value =
            serde_json::from_str(json.expose()).map_err(|_| Error::internal("The data keys could not be read."))?;
        keys.insert((*domain).to_string(), value);
    }
    let domains: Vec<String> = keys.keys().cloned().collect();

    let mut secret_bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret_bytes);
    let secret = hex::encode(secret_bytes);
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO workstation_enrollments (label, role, domains, token_hash) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(label)
    .bind(role.as_str())
    .bind(&domains)
    .bind(token_hash(&secret))
    .fetch_one(tx.conn())
    .await?;

    let bundle = Bundle {
        format: BUNDLE_FORMAT.to_string(),
        version: BUNDLE_VERSION,
        enrollment_id: id,
        secret,
        server,
        ca_pem,
        role,
        label: label.to_string(),
        keys,
    };
    let plaintext = Secret::new(serde_json::to_string(&bundle).map_err(|_| Error::internal("The bundle could not be written."))?);
    let passphrase = generate_passphrase();
    let sealed = seal_with_passphrase(plaintext.expose().as_bytes(), &passphrase)?;
    let enrollment = fetch(tx, Some(id)).await?.pop().ok_or_else(|| Error::not_found("The enrollment"))?;
    Ok(NewEnrollment { enrollment, bundle: sealed, passphrase })
}

fn seal_with_passphrase(plaintext: &[u8], passphrase: &str) -> Result<String> {
    let failed = |_| Error::internal("The bundle could not be encrypted.");
    let encryptor = age::Encryptor::with_user_passphrase(SecretString::from(passphrase.to_string()));
    let mut out = Vec::new();
    let armored = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).map_err(failed)?;
    let mut writer = encryptor.wrap_output(armored).map_err(failed)?;
    writer.write_all(plaintext).map_err(failed)?;
    writer.finish().and_then(|armor| armor.finish()).map_err(failed)?;
    String::from_utf8(out).map_err(|_| Error::internal("The bundle could not be encrypted."))
}

/// Opens a bundle with its passphrase. Refusals: `wrong_passphrase`, and `bundle_tampered` for a
/// file that is not a bundle, fails age's authentication or holds the wrong format.
pub fn open(sealed: &[u8], passphrase: &str) -> Result<Bundle> {
    let passphrase = passphrase.trim();
    if passphrase.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "passphrase", "Type the passphrase the administrator read out."));
    }
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(sealed)).map_err(|_| tampered())?;
    if !decryptor.is_scrypt() {
        return Err(tampered());
    }
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_string()));
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed | age::DecryptError::NoMatchingKeys => {
            wrong_passphrase()
        }
        _ => tampered(),
    })?;
    let mut plaintext = zeroize::Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plaintext).map_err(|_| tampered())?;
    let bundle: Bundle = serde_json::from_slice(&plaintext).map_err(|_| tampered())?;
    if bundle.format != BUNDLE_FORMAT || bundle.version != BUNDLE_VERSION || bundle.keys.is_empty() {
        return Err(tampered());
    }
    for domain in bundle.keys.keys() {
        bundle.keys(domain)?;
    }
    Ok(bundle)
}

/// Where a secret of this workstation is kept: an OS keyring entry, or a 0600 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretPlace {
    Keyring { service: String, account: String },
    File(PathBuf),
}

/// The keyring account of the workstation's age identity and enrollment id.
pub const KEYRING_WORKSTATION_IDENTITY: &str = "workstation-identity";

impl SecretPlace {
    fn read(&self) -> Result<Option<Secret<String>>> {
        match self {
            SecretPlace::Keyring { service, account } => {
                digimed_crypto::keyring_get(service, account).map_err(|e| Error::new(ErrorCode::KeysUnavailable, format!("{e}.")))
            }
            SecretPlace::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => Ok(Some(Secret::new(text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::new(ErrorCode::KeysUnavailable, format!("{} cannot be read: {e}.", path.display()))),
            },
        }
    }

    fn write(&self, secret: &Secret<String>) -> Result<()> {
        match self {
            SecretPlace::Keyring { service, account } => digimed_crypto::keyring_set(service, account, secret)
                .map_err(|e| Error::new(ErrorCode::KeysUnavailable, format!("{e}."))),
            SecretPlace::File(path) => {
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                options
                    .open(path)
                    .and_then(|mut f| f.write_all(secret.expose().as_bytes()).and_then(|()| f.sync_all()))
                    .map_err(|e| Error::new(ErrorCode::KeysUnavailable, format!("{} cannot be written: {e}.", path.display())))
            }
        }
    }

    fn delete(&self) {
        let _ = match self {
            SecretPlace::Keyring { service, account } => {
                digimed_crypto::keyring_delete(service, account).map(|_| ()).map_err(|_| ())
            }
            SecretPlace::File(path) => std::fs::remove_file(path).map_err(|_| ()),
        };
    }
}

/// Where this workstation keeps what an enrollment gives it: the key set of each domain and its
/// own age identity.
#[derive(Debug, Clone)]
pub struct WorkstationStore {
    pub contact: KeyStore,
    /// Where clinical keys go; none when this workstation has no place for them (a key file
    /// without `DIGIMED_CLINICAL_KEY_FILE`).
    pub clinical: Option<KeyStore>,
    pub identity: SecretPlace,
}

impl WorkstationStore {
    /// The console's: the OS keyring (service `digimed-console`).
    pub fn keyring() -> WorkstationStore {
        WorkstationStore {
            contact: KeyStore::default_keyring(),
            clinical: Some(KeyStore::clinical_keyring()),
            identity: SecretPlace::Keyring {
                service: crate::config::KEYRING_SERVICE.to_string(),
                account: KEYRING_WORKSTATION_IDENTITY.to_string(),
            },
        }
    }

    /// The store that goes with the configured key stores: the key file named by
    /// `DIGIMED_KEY_FILE` with the identity beside it (`<file>.workstation`) and the clinical key
    /// file of `DIGIMED_CLINICAL_KEY_FILE`, or the OS keyring.
    pub fn for_config(config: &crate::config::Config) -> WorkstationStore {
        let clinical = config.clinical_key_store.clone();
        match &config.key_store {
            KeyStore::File(path) => {
                let mut identity = path.clone().into_os_string();
                identity.push(".workstation");
                WorkstationStore {
                    contact: config.key_store.clone(),
                    clinical,
                    identity: SecretPlace::File(PathBuf::from(identity)),
                }
            }
            KeyStore::Keyring { service, .. } => WorkstationStore {
                contact: config.key_store.clone(),
                clinical,
                identity: SecretPlace::Keyring { service: service.clone(), account: KEYRING_WORKSTATION_IDENTITY.to_string() },
            },
        }
    }

    /// The key store of a domain.
    pub fn key_store(&self, domain: &str) -> Option<&KeyStore> {
        match domain {
            CONTACT => Some(&self.contact),
            CLINICAL => self.clinical.as_ref(),
            _ => None,
        }
    }

    /// Whether any data keys are kept here already (such a workstation is not enrolled again). A
    /// store that cannot be read (no keyring) is an error, not "none".
    pub fn holds_keys(&self) -> Result<bool> {
        match self.contact.load() {
            Ok(_) => Ok(true),
            Err(KeyStoreError::Missing { .. }) => Ok(false),
            Err(e) => Err(Error::new(ErrorCode::KeysUnavailable, e.to_string())),
        }
    }
}

fn delete_store(store: &KeyStore) {
    let _ = match store {
        KeyStore::File(path) => std::fs::remove_file(path).map_err(|_| ()),
        KeyStore::Keyring { service, account } => digimed_crypto::keyring_delete(service, account).map(|_| ()).map_err(|_| ()),
    };
}

#[derive(Serialize, Deserialize)]
struct IdentityDocument {
    enrollment_id: i32,
    identity: String,
}

/// Uses the bundle on this workstation, in a transaction of the staff member who has just signed
/// in on the bundle's server: uses the enrollment up in the database (refused when it is used,
/// revoked or unknown, or the role differs), saves the key sets and the workstation's new age
/// identity to `store`, then commits; anything saved is taken back when the commit fails.
pub async fn accept(mut tx: ClinicTx, bundle: &Bundle, store: &WorkstationStore) -> Result<BundlePreview> {
    tx.require(Capability::UseEnrollment)?;
    let mut sets = Vec::new();
    for domain in bundle.keys.keys() {
        let target = store.key_store(domain).ok_or_else(|| {
            Error::new(ErrorCode::Configuration, format!("This workstation has no place for the {domain} keys."))
        })?;
        let keys = bundle.keys(domain)?.ok_or_else(tampered)?;
        sets.push((target.clone(), keys));
    }
    if store.holds_keys()? {
        return Err(Error::new(
            ErrorCode::AlreadyExists,
            format!("This workstation already holds data keys ({}); it is enrolled already.", store.contact.describe()),
        ));
    }
    let identity = age::pq::Identity::generate();
    let recipient = identity.to_public().to_string();
    sqlx::query("SELECT role FROM workstation_enrollment_use($1, $2, $3)")
        .bind(bundle.enrollment_id)
        .bind(token_hash(&bundle.secret))
        .bind(&recipient)
        .fetch_one(tx.conn())
        .await?;

    let mut saved: Vec<&KeyStore> = Vec::new();
    let undo = |saved: &[&KeyStore]| saved.iter().for_each(|s| delete_store(s));
    for (target, keys) in &sets {
        if let Err(e) = target.save(keys) {
            undo(&saved);
            return Err(Error::new(ErrorCode::KeysUnavailable, e.to_string()));
        }
        saved.push(target);
    }
    let doc =
        IdentityDocument { enrollment_id: bundle.enrollment_id, identity: identity.to_string().expose_secret().to_string() };
    let doc =
        Secret::new(serde_json::to_string(&doc).map_err(|_| Error::internal("The workstation identity could not be written."))?);
    if let Err(e) = store.identity.write(&doc) {
        undo(&saved);
        return Err(e);
    }
    if let Err(e) = tx.commit().await {
        undo(&saved);
        store.identity.delete();
        return Err(e);
    }
    Ok(BundlePreview::from(bundle))
}

/// The clinic's enrollments, newest first (admins of the clinic; the owner sees every clinic's).
pub async fn list(tx: &mut ClinicTx) -> Result<Vec<Enrollment>> {
    tx.require(Capability::RevokeWorkstations)?;
    fetch(tx, None).await
}

/// Revokes an enrollment: its bundle can no longer be used, and the workstation gets no new keys.
/// The keys it holds still read what they encrypted until the keys are rotated (the owner's
/// `digimed workstation revoke` does both).
pub async fn revoke(tx: &mut ClinicTx, id: i32) -> Result<Enrollment> {
    tx.require(Capability::RevokeWorkstations)?;
    let current = fetch(tx, Some(id)).await?.pop().ok_or_else(|| Error::not_found("The workstation enrollment"))?;
    if current.revoked_at.is_some() {
        return Err(Error::new(ErrorCode::InvalidStateTransition, "This workstation is already revoked."));
    }
    sqlx::query("UPDATE workstation_enrollments SET revoked_at = now() WHERE id = $1").bind(id).execute(tx.conn()).await?;
    fetch(tx, Some(id)).await?.pop().ok_or_else(|| Error::not_found("The workstation enrollment"))
}

/// After a rotation of `domain` (the owner's for the contact keys, an admin's for the clinical
/// keys): seals the new key set to every workstation still enrolled for that domain and, for the
/// contact keys, marks the revocations the rotation answers. Returns how many workstations get
/// the new keys.
pub async fn deliver_keys(tx: &mut ClinicTx, vault: &Vault, domain: KeyDomain) -> Result<u64> {
    crate::keys::check_rotation(tx, domain)?;
    let keys = vault.keys_of(domain)?;
    let recipients: Vec<(i32, String)> = sqlx::query_as("SELECT enrollment_id, recipient FROM workstation_recipients($1)")
        .bind(domain.as_str())
        .fetch_all(tx.conn())
        .await?;
    let json = keys.to_json();
    let key_id = i32::try_from(keys.current_key_id()).unwrap_or(i32::MAX);
    for (id, recipient) in &recipients {
        let recipient: age::pq::Recipient =
            recipient.parse().map_err(|_| Error::internal("A workstation's registered recipient is not valid."))?;
        let sealed = age::encrypt(&recipient, json.expose().as_bytes())
            .map_err(|_| Error::internal("The new keys could not be sealed for a workstation."))?;
        sqlx::query("SELECT deliver_workstation_keys($1, $2, $3, $4)")
            .bind(id)
            .bind(domain.as_str())
            .bind(key_id)
            .bind(sealed)
            .execute(tx.conn())
            .await?;
    }
    if domain == KeyDomain::Contact {
        sqlx::query(
            "UPDATE workstation_enrollments SET keys_rotated_at = now() WHERE revoked_at IS NOT NULL AND keys_rotated_at IS NULL",
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(recipients.len() as u64)
}

/// At sign-in on an enrolled workstation: takes the newest keys delivered to it, when they are
/// newer than the ones it holds, and saves them (they hold every older key too). Returns the
/// domains renewed. A workstation that was not enrolled has nothing to pick up.
pub async fn pick_up_keys(tx: &mut ClinicTx, store: &WorkstationStore) -> Result<Vec<String>> {
    tx.require(Capability::UseEnrollment)?;
    let Some(doc) = store.identity.read()? else { return Ok(Vec::new()) };
    let doc: IdentityDocument = serde_json::from_str(doc.expose())
        .map_err(|_| Error::new(ErrorCode::KeysUnavailable, "This workstation's identity is not readable."))?;
    let identity: age::pq::Identity = doc
        .identity
        .parse()
        .map_err(|_| Error::new(ErrorCode::KeysUnavailable, "This workstation's identity is not readable."))?;
    let rows: Vec<(String, i32, Vec<u8>)> =
        sqlx::query_as("SELECT domain, key_id, sealed_keys FROM workstation_key_delivery($1)")
            .bind(doc.enrollment_id)
            .fetch_all(tx.conn())
            .await?;
    let mut renewed = Vec::new();
    for (domain, key_id, sealed) in rows {
        let Some(target) = store.key_store(&domain) else { continue };
        let held = target.load().map_err(|e| Error::new(ErrorCode::KeysUnavailable, e.to_string()))?;
        if i64::from(key_id) <= i64::from(held.current_key_id()) {
            continue;
        }
        let plain =
            zeroize::Zeroizing::new(age::decrypt(&identity, &sealed).map_err(|_| {
                Error::new(ErrorCode::KeysUnavailable, "The keys delivered to this workstation cannot be opened.")
            })?);
        let text = std::str::from_utf8(&plain)
            .map_err(|_| Error::new(ErrorCode::KeysUnavailable, "The delivered keys are not readable."))?;
        let fresh = DataKeys::from_json(text).map_err(|e| Error::new(ErrorCode::KeysUnavailable, e.to_string()))?;
        if !held.key_ids().iter().all(|id| fresh.key_ids().contains(id)) {
            return Err(Error::new(
                ErrorCode::KeysUnavailable,
                "The delivered keys lack keys this workstation holds; they were not saved.",
            ));
        }
        target.save_replacing(&fresh).map_err(|e| Error::new(ErrorCode::KeysUnavailable, e.to_string()))?;
        renewed.push(domain);
    }
    Ok(renewed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_get_their_domains() {
        assert_eq!(domains_for(AppRole::Secretary), &[CONTACT]);
        assert_eq!(domains_for(AppRole::CustomerSupport), &[CONTACT]);
        assert_eq!(domains_for(AppRole::Doctor), &[CONTACT, CLINICAL]);
        assert_eq!(domains_for(AppRole::Admin), &[CONTACT, CLINICAL]);
    }

    #[test]
    fn passphrases_are_long_and_readable() {
        let a = generate_passphrase();
        assert_eq!(a.len(), 6 * 5 + 5, "{a}");
        assert!(a.chars().all(|c| c == '-' || "abcdefghijkmnpqrstuvwxyz23456789".contains(c)), "{a}");
        assert_ne!(a, generate_passphrase());
    }

    #[test]
    fn the_shared_address_carries_no_credentials_or_ca_path() {
        let (server, ca) = shareable_server(
            "postgres://kari:hemmelig@db.clinic.example:5432/digimed?sslmode=verify-full&sslrootcert=/etc/ca.pem&password=x",
        )
        .unwrap();
        assert_eq!(server, "postgres://db.clinic.example:5432/digimed?sslmode=verify-full");
        assert_eq!(ca, Some(PathBuf::from("/etc/ca.pem")));
        assert!(!server.contains("kari") && !server.contains("hemmelig"));
        assert_eq!(
            server_with_ca(&server, Some(Path::new("/home/x/ca.pem"))),
            "postgres://db.clinic.example:5432/digimed?sslmode=verify-full&sslrootcert=%2Fhome%2Fx%2Fca.pem"
        );
        assert!(shareable_server("mysql://db/x").is_err());
    }
}
