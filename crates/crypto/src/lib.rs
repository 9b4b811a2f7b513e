//! Field encryption and key handling: AES-256-GCM field ciphertexts bound to their row, keyed
//! blind indexes for look-ups, data-key storage (file or OS keyring) and redacting secrets.

mod keys;
mod secret;
mod store;

pub use keys::{CryptoError, DataKeys, FieldAad, InvalidKeys, KeyDomain};
pub use secret::{Secret, SecretString};
pub use store::{
    keyring_delete, keyring_get, keyring_set, KeyStore, KeyStoreError, KeyringError, CLINICAL_KEYS_ACCOUNT, DATA_KEYS_ACCOUNT,
    DEFAULT_SERVICE,
};
