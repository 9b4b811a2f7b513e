//! One typed configuration, read from the environment by every face.

use std::path::PathBuf;

use digimed_crypto::{KeyStore, Secret};

use crate::error::{Error, ErrorCode, Result};

/// Where patient login accounts live.
#[derive(Debug, Clone)]
pub enum AccountDirectory {
    /// Clerk's Backend API.
    Clerk { api_url: String, secret_key: Secret<String> },
    /// No Clerk key configured: accounts are kept in the clinic database only (demo, offline).
    Local,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: Option<Secret<String>>,
    pub key_store: KeyStore,
    pub accounts: AccountDirectory,
    /// Country calling code for phone numbers written without one.
    pub default_phone_country: String,
}

pub const KEYRING_SERVICE: &str = "digimed-console";
pub const KEYRING_DATA_KEYS: &str = "data-keys";
pub const KEYRING_CLERK_KEY: &str = "clerk-secret-key";
pub const DEFAULT_CLERK_API_URL: &str = "https://api.clerk.com/v1";

impl Config {
    /// Reads `DATABASE_URL`, `DIGIMED_KEY_FILE`, `CLERK_API_URL`, `CLERK_SECRET_KEY` and
    /// `DIGIMED_PHONE_COUNTRY`. Without `DIGIMED_KEY_FILE` keys come from the OS keyring.
    pub fn from_env() -> Result<Config> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let key_store = match var("DIGIMED_KEY_FILE") {
            Some(path) => KeyStore::File(PathBuf::from(path)),
            None => KeyStore::Keyring { service: KEYRING_SERVICE.to_string(), account: KEYRING_DATA_KEYS.to_string() },
        };
        let clerk_key = match var("CLERK_SECRET_KEY") {
            Some(k) => Some(Secret::new(k)),
            None if matches!(key_store, KeyStore::Keyring { .. }) => {
                digimed_crypto::keyring_get(KEYRING_SERVICE, KEYRING_CLERK_KEY).ok().flatten()
            }
            None => None,
        };
        let accounts = match clerk_key {
            Some(secret_key) => AccountDirectory::Clerk {
                api_url: var("CLERK_API_URL").unwrap_or_else(|| DEFAULT_CLERK_API_URL.to_string()),
                secret_key,
            },
            None => AccountDirectory::Local,
        };
        let default_phone_country = var("DIGIMED_PHONE_COUNTRY").unwrap_or_else(|| "47".to_string());
        if !default_phone_country.chars().all(|c| c.is_ascii_digit()) || default_phone_country.len() > 3 {
            return Err(Error::field(
                ErrorCode::Configuration,
                "DIGIMED_PHONE_COUNTRY",
                "DIGIMED_PHONE_COUNTRY must be a country calling code such as 47.",
            ));
        }
        Ok(Config { database_url: var("DATABASE_URL").map(Secret::new), key_store, accounts, default_phone_country })
    }

    pub fn database_url(&self) -> Result<&str> {
        self.database_url.as_ref().map(|s| s.expose().as_str()).ok_or_else(|| {
            Error::field(
                ErrorCode::Configuration,
                "DATABASE_URL",
                "DATABASE_URL is not set; point it at the clinic database (make run sets up a local one).",
            )
        })
    }

    /// A sentence for the console and CLI saying where patient accounts are kept.
    pub fn accounts_notice(&self) -> &'static str {
        match self.accounts {
            AccountDirectory::Clerk { .. } => "Patient accounts are created in Clerk.",
            AccountDirectory::Local => "Clerk is not configured: patient accounts are kept in the local account directory.",
        }
    }
}
