//! Where data keys live: a 0600 JSON key file (headless services) or the OS keyring (desktop),
//! plus small helpers for other secrets kept in the keyring.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::{DataKeys, KeyDomain, Secret};

/// Keyring service name used by the console.
pub const DEFAULT_SERVICE: &str = "digimed-console";
/// Keyring account under which the data keys (of the contact domain) are stored.
pub const DATA_KEYS_ACCOUNT: &str = "data-keys";
/// Keyring account under which the keys of the clinical domain are stored.
pub const CLINICAL_KEYS_ACCOUNT: &str = "clinical-keys";

/// Where the data keys are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// A JSON key file (see [`DataKeys::to_json`]), written atomically with mode 0600.
    File(PathBuf),
    /// An entry in the OS keyring (the Secret Service on Linux desktops).
    Keyring { service: String, account: String },
}

/// Why data keys could not be loaded or saved. Messages say where, and never contain keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    #[error("no data keys found in {where_} — run `digimed keys init{}`", init_flag(*domain))]
    Missing { where_: String, domain: KeyDomain },
    #[error("the keys in {where_} are {found} keys, not {expected} keys")]
    WrongDomain { where_: String, expected: KeyDomain, found: KeyDomain },
    #[error("cannot read data keys from {where_}: {reason}")]
    Unreadable { where_: String, reason: String },
    #[error("data keys in {where_} are invalid: {reason}")]
    Invalid { where_: String, reason: String },
    #[error("data keys already exist in {where_}; refusing to overwrite them")]
    AlreadyExists { where_: String },
    #[error("cannot save data keys to {where_}: {reason}")]
    Unwritable { where_: String, reason: String },
}

fn init_flag(domain: KeyDomain) -> &'static str {
    match domain {
        KeyDomain::Contact => "",
        KeyDomain::Clinical => " --domain clinical",
    }
}

/// A failure of the OS keyring. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

impl KeyStore {
    /// The console's keyring entry: service `digimed-console`, account `data-keys`.
    pub fn default_keyring() -> Self {
        Self::Keyring { service: DEFAULT_SERVICE.into(), account: DATA_KEYS_ACCOUNT.into() }
    }

    /// The keyring entry of the clinical keys: service `digimed-console`, account `clinical-keys`.
    pub fn clinical_keyring() -> Self {
        Self::Keyring { service: DEFAULT_SERVICE.into(), account: CLINICAL_KEYS_ACCOUNT.into() }
    }

    /// A human description of the location, used in error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("key file {}", path.display()),
            Self::Keyring { service, account } => {
                format!("OS keyring entry (service \"{service}\", account \"{account}\")")
            }
        }
    }

    /// Loads the data keys (of whichever domain the document says).
    pub fn load(&self) -> Result<DataKeys, KeyStoreError> {
        self.load_any(KeyDomain::Contact)
    }

    /// Loads the keys of `domain`; keys of another domain are refused, so that a store named
    /// for the clinical keys never hands out the contact keys or the other way round.
    pub fn load_for(&self, domain: KeyDomain) -> Result<DataKeys, KeyStoreError> {
        let keys = self.load_any(domain)?;
        if keys.domain() != domain {
            return Err(KeyStoreError::WrongDomain { where_: self.describe(), expected: domain, found: keys.domain() });
        }
        Ok(keys)
    }

    fn load_any(&self, domain: KeyDomain) -> Result<DataKeys, KeyStoreError> {
        let where_ = self.describe();
        let json: Zeroizing<String> = match self {
            Self::File(path) => match fs::read_to_string(path) {
                Ok(text) => Zeroizing::new(text),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(KeyStoreError::Missing { where_, domain });
                }
                Err(e) => return Err(KeyStoreError::Unreadable { where_, reason: e.to_string() }),
            },
            Self::Keyring { service, account } => match keyring_get(service, account) {
                Ok(Some(secret)) => Zeroizing::new(secret.expose().clone()),
                Ok(None) => return Err(KeyStoreError::Missing { where_, domain }),
                Err(e) => return Err(KeyStoreError::Unreadable { where_, reason: e.to_string() }),
            },
        };
        DataKeys::from_json(&json).map_err(|e| KeyStoreError::Invalid { where_, reason: e.0.to_owned() })
    }

    /// Saves new data keys; refuses to overwrite keys that are already there.
    pub fn save(&self, keys: &DataKeys) -> Result<(), KeyStoreError> {
        self.write(keys, false)
    }

    /// Saves data keys, replacing any stored ones (for rotation: the new keys must still hold
    /// every key id that ciphertexts use).
    pub fn save_replacing(&self, keys: &DataKeys) -> Result<(), KeyStoreError> {
        self.write(keys, true)
    }

    fn write(&self, keys: &DataKeys, replace: bool) -> Result<(), KeyStoreError> {
        let where_ = self.describe();
        let json = keys.to_json();
        match self {
            Self::File(path) => write_key_file(path, json.expose().as_bytes(), replace).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => KeyStoreError::AlreadyExists { where_ },
                _ => KeyStoreError::Unwritable { where_, reason: e.to_string() },
            }),
            Self::Keyring { service, account } => {
                let unwritable = |e: KeyringError| KeyStoreError::Unwritable { where_: self.describe(), reason: e.to_string() };
                if !replace && keyring_get(service, account).map_err(unwritable)?.is_some() {
                    return Err(KeyStoreError::AlreadyExists { where_ });
                }
                keyring_set(service, account, &json).map_err(unwritable)
            }
        }
    }
}

/// Writes `contents` to a 0600 temporary file beside `path`, then moves it into place: by
/// rename when replacing, by hard link otherwise (which fails if `path` already exists).
fn write_key_file(path: &Path, contents: &[u8], replace: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let name = path.file_name().ok_or_else(|| io::Error::other("the key file path has no file name"))?;
    let tmp = dir.join(format!(".{}.{}-{:016x}.tmp", name.to_string_lossy(), std::process::id(), rand::rngs::OsRng.next_u64()));
    let result = write_private_file(&tmp, contents).and_then(|()| {
        if replace {
            fs::rename(&tmp, path)
        } else {
            match fs::hard_link(&tmp, path) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists && !path.exists() => {
                    // The file system cannot hard-link: fall back to a plain rename.
                    fs::rename(&tmp, path)
                }
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(io::Error::new(io::ErrorKind::AlreadyExists, e)),
                other => other,
            }
        }
    });
    let _ = fs::remove_file(&tmp);
    if result.is_ok() {
        // Make the new directory entry durable; not all platforms can open a directory.
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    result
}

fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn keyring_entry(service: &str, account: &str) -> Result<keyring::Entry, KeyringError> {
    keyring::Entry::new(service, account).map_err(keyring_error)
}

/// Maps keyring errors to messages that cannot carry secret bytes.
fn keyring_error(e: keyring::Error) -> KeyringError {
    use keyring::Error as E;
    match e {
        E::NoDefaultStore => KeyringError::Unavailable(
            "no credential store (on Linux: the Secret Service of the desktop session) could be reached".into(),
        ),
        E::NoStorageAccess(err) => KeyringError::Unavailable(err.to_string()),
        E::PlatformFailure(err) => KeyringError::Failed(err.to_string()),
        E::BadEncoding(_) | E::BadDataFormat(..) => KeyringError::Failed("the stored value is not valid text".into()),
        E::Ambiguous(_) => KeyringError::Failed("more than one keyring entry matches".into()),
        E::NoEntry => KeyringError::Failed("no such keyring entry".into()),
        other => KeyringError::Failed(other.to_string()),
    }
}

/// Reads a secret from the OS keyring; `Ok(None)` when there is no such entry.
pub fn keyring_get(service: &str, account: &str) -> Result<Option<Secret<String>>, KeyringError> {
    match keyring_entry(service, account)?.get_password() {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Stores (or replaces) a secret in the OS keyring.
pub fn keyring_set(service: &str, account: &str, secret: &Secret<String>) -> Result<(), KeyringError> {
    keyring_entry(service, account)?.set_password(secret.expose()).map_err(keyring_error)
}

/// Deletes a secret from the OS keyring; `Ok(false)` when there was none.
pub fn keyring_delete(service: &str, account: &str) -> Result<bool, KeyringError> {
    match keyring_entry(service, account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed on drop.
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "digimed-crypto-test-{}-{:016x}",
                std::process::id(),
                rand::rngs::OsRng.next_u64()
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn file_round_trip_with_private_permissions() {
        let scratch = ScratchDir::new();
        let path = scratch.0.join("config/keys.json");
        let store = KeyStore::File(path.clone());
        let keys = DataKeys::generate();
        store.save(&keys).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.to_json().expose(), keys.to_json().expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    }

    #[test]
    fn save_refuses_to_overwrite_but_save_replacing_does() {
        let scratch = ScratchDir::new();
        let store = KeyStore::File(scratch.0.join("keys.json"));
        let mut keys = DataKeys::generate();
        store.save(&keys).unwrap();
        let err = store.save(&DataKeys::generate()).unwrap_err();
        assert!(matches!(err, KeyStoreError::AlreadyExists { .. }), "{err:?}");
        assert_eq!(store.load().unwrap().to_json().expose(), keys.to_json().expose());

        keys.rotate();
        store.save_replacing(&keys).unwrap();
        assert_eq!(store.load().unwrap().current_key_id(), 2);
        assert_eq!(fs::read_dir(&scratch.0).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_names_the_path() {
        let scratch = ScratchDir::new();
        let path = scratch.0.join("nope.json");
        let err = KeyStore::File(path.clone()).load().unwrap_err();
        assert!(matches!(err, KeyStoreError::Missing { .. }));
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("digimed keys init"), "{message}");
    }

    #[test]
    fn a_store_for_one_domain_refuses_the_other_domains_keys() {
        let scratch = ScratchDir::new();
        let contact = KeyStore::File(scratch.0.join("contact.json"));
        let clinical = KeyStore::File(scratch.0.join("clinical.json"));
        contact.save(&DataKeys::generate()).unwrap();
        clinical.save(&DataKeys::generate_for(KeyDomain::Clinical)).unwrap();
        assert_eq!(clinical.load_for(KeyDomain::Clinical).unwrap().domain(), KeyDomain::Clinical);
        let err = contact.load_for(KeyDomain::Clinical).unwrap_err();
        assert!(matches!(err, KeyStoreError::WrongDomain { .. }), "{err:?}");
        assert!(err.to_string().contains("are contact keys, not clinical keys"), "{err}");
        assert!(clinical.load_for(KeyDomain::Contact).is_err());
        let missing = KeyStore::File(scratch.0.join("none.json")).load_for(KeyDomain::Clinical).unwrap_err();
        assert!(missing.to_string().contains("digimed keys init --domain clinical"), "{missing}");
        assert_eq!(
            KeyStore::clinical_keyring(),
            KeyStore::Keyring { service: "digimed-console".into(), account: "clinical-keys".into() }
        );
    }

    #[test]
    fn invalid_and_unreadable_files() {
        let scratch = ScratchDir::new();
        let path = scratch.0.join("keys.json");
        fs::write(&path, "{}").unwrap();
        let err = KeyStore::File(path.clone()).load().unwrap_err();
        assert!(matches!(err, KeyStoreError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));

        let err = KeyStore::File(scratch.0.clone()).load().unwrap_err();
        assert!(matches!(err, KeyStoreError::Unreadable { .. }), "{err:?}");
    }

    #[test]
    fn keyring_descriptions() {
        let store = KeyStore::default_keyring();
        assert_eq!(store, KeyStore::Keyring { service: "digimed-console".into(), account: "data-keys".into() });
        assert!(store.describe().contains("digimed-console"));
    }

    /// Talks to the real Secret Service, so it needs a D-Bus session with an unlocked
    /// `gnome-keyring-daemon`; `make test` runs it that way (`cargo test -- --ignored keyring`).
    #[test]
    #[ignore = "needs a Secret Service session; make test runs it under dbus-run-session"]
    fn keyring_round_trip() {
        let service = "digimed-console-test";
        let account = format!("test-{:016x}", rand::rngs::OsRng.next_u64());
        assert!(keyring_get(service, &account).unwrap().is_none());
        keyring_set(service, &account, &Secret::from("s3cret")).unwrap();
        assert_eq!(keyring_get(service, &account).unwrap().unwrap().expose(), "s3cret");
        assert!(keyring_delete(service, &account).unwrap());
        assert!(!keyring_delete(service, &account).unwrap());

        let store = KeyStore::Keyring { service: service.into(), account: account.clone() };
        assert!(matches!(store.load(), Err(KeyStoreError::Missing { .. })));
        let mut keys = DataKeys::generate();
        store.save(&keys).unwrap();
        assert!(matches!(store.save(&keys), Err(KeyStoreError::AlreadyExists { .. })));
        keys.rotate();
        store.save_replacing(&keys).unwrap();
        assert_eq!(store.load().unwrap().to_json().expose(), keys.to_json().expose());
        assert!(keyring_delete(service, &account).unwrap());
    }
}
