//! One typed configuration, read from the environment by every face.

use std::path::PathBuf;

use digimed_clerk::{SessionKeys, SessionPolicy};
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

/// How the service verifies the session tokens of patients signed in to the patient app
/// (`docs/patient-api.md`): `None` when `CLERK_ISSUER` is not set, and the patient routes
/// answer `configuration`.
#[derive(Debug, Clone)]
pub struct PatientSessions {
    pub keys: SessionKeys,
    pub policy: SessionPolicy,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: Option<Secret<String>>,
    /// Where the contact keys are (`DIGIMED_KEY_FILE`, or the keyring account `data-keys`).
    pub key_store: KeyStore,
    /// Where the clinical keys are (`DIGIMED_CLINICAL_KEY_FILE`, or the keyring account
    /// `clinical-keys` where the contact keys are in the keyring too); `None` when neither is
    /// configured. A keyring without the entry means the keys are not held here
    /// ([`crate::keys::Vault::load_configured`]). `digimed serve` never reads it.
    pub clinical_key_store: Option<KeyStore>,
    pub accounts: AccountDirectory,
    pub patient_sessions: Option<PatientSessions>,
    /// The partner (by name) whose referrals patients' booking requests from the patient app
    /// become (`DIGIMED_BOOKING_PARTNER`).
    pub booking_partner: Option<String>,
    /// The signing secret of Clerk's webhook endpoint (`CLERK_WEBHOOK_SIGNING_SECRET`, `whsec_...`).
    pub clerk_webhook_secret: Option<Secret<String>>,
    /// The company signing key of CallRail's webhooks (`CALLRAIL_SIGNING_KEY`).
    pub callrail_signing_key: Option<Secret<String>>,
    /// The clinic (`organization_id`) that cold calls reported by CallRail are filed under
    /// (`DIGIMED_CALLRAIL_ORGANIZATION`), as configured.
    pub callrail_organization: Option<String>,
    /// The account's public key for Telnyx's webhook signatures (`TELNYX_PUBLIC_KEY`, base64).
    pub telnyx_public_key: Option<String>,
    /// The clinic (`organization_id`) that faxes received through Telnyx are filed under
    /// (`DIGIMED_FAX_ORGANIZATION`), as configured.
    pub fax_organization: Option<String>,
    /// Country calling code for phone numbers written without one.
    pub default_phone_country: String,
    /// The clinic's HubSpot account (`HUBSPOT_ACCESS_TOKEN`, `HUBSPOT_API_URL`,
    /// `HUBSPOT_CONCIERGE_OWNER_ID`); `None`: nothing is sent to a CRM (`docs/crm.md`).
    pub hubspot: Option<HubSpot>,
}

/// Where new persons and referrals are synced as HubSpot contacts (`docs/crm.md`).
#[derive(Debug, Clone)]
pub struct HubSpot {
    /// The API base, `https://api.hubapi.com` unless `HUBSPOT_API_URL` says otherwise.
    pub api_url: String,
    /// The private app's access token (`HUBSPOT_ACCESS_TOKEN`).
    pub access_token: Secret<String>,
    /// The HubSpot owner the concierge's tasks are assigned to (`HUBSPOT_CONCIERGE_OWNER_ID`).
    pub concierge_owner_id: Option<String>,
}

pub const DEFAULT_HUBSPOT_API_URL: &str = "https://api.hubapi.com";

impl HubSpot {
    /// The HubSpot settings from the environment's values: `None` without an access token; an
    /// API URL that is not http(s) is refused.
    pub fn from_values(token: Option<String>, api_url: Option<String>, owner: Option<String>) -> Result<Option<HubSpot>> {
        let Some(token) = token else { return Ok(None) };
        let api_url = api_url.unwrap_or_else(|| DEFAULT_HUBSPOT_API_URL.to_string()).trim().trim_end_matches('/').to_string();
        if !api_url.starts_with("https://") && !api_url.starts_with("http://") {
            return Err(Error::field(
                ErrorCode::Configuration,
                "HUBSPOT_API_URL",
                "HUBSPOT_API_URL must be HubSpot's API base, such as https://api.hubapi.com.",
            ));
        }
        Ok(Some(HubSpot {
            api_url,
            access_token: Secret::new(token.trim().to_string()),
            concierge_owner_id: owner.map(|o| o.trim().to_string()),
        }))
    }
}

pub const KEYRING_SERVICE: &str = "digimed-console";
pub const KEYRING_DATA_KEYS: &str = "data-keys";
pub const KEYRING_CLINICAL_KEYS: &str = "clinical-keys";
/// The variable naming the clinical key file.
pub const CLINICAL_KEY_FILE_VAR: &str = "DIGIMED_CLINICAL_KEY_FILE";
pub const KEYRING_CLERK_KEY: &str = "clerk-secret-key";
pub const DEFAULT_CLERK_API_URL: &str = "https://api.clerk.com/v1";

impl Config {
    /// Reads `DATABASE_URL`, `DIGIMED_KEY_FILE`, `DIGIMED_CLINICAL_KEY_FILE`, `CLERK_API_URL`, `CLERK_SECRET_KEY`,
    /// `CLERK_ISSUER`, `CLERK_JWT_KEY`, `CLERK_AUTHORIZED_PARTIES`, `DIGIMED_BOOKING_PARTNER`, `CLERK_WEBHOOK_SIGNING_SECRET`,
    /// `CALLRAIL_SIGNING_KEY`, `DIGIMED_CALLRAIL_ORGANIZATION`, `TELNYX_PUBLIC_KEY`, `DIGIMED_FAX_ORGANIZATION`, `HUBSPOT_ACCESS_TOKEN`, `HUBSPOT_API_URL`,
    /// `HUBSPOT_CONCIERGE_OWNER_ID` and `DIGIMED_PHONE_COUNTRY`. Without `DIGIMED_KEY_FILE` keys come from the OS keyring.
    pub fn from_env() -> Result<Config> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let key_store = match var("DIGIMED_KEY_FILE") {
            Some(path) => KeyStore::File(PathBuf::from(path)),
            None => KeyStore::Keyring { service: KEYRING_SERVICE.to_string(), account: KEYRING_DATA_KEYS.to_string() },
        };
        let clinical_key_store = match var(CLINICAL_KEY_FILE_VAR) {
            Some(path) => Some(KeyStore::File(PathBuf::from(path))),
            None if matches!(key_store, KeyStore::Keyring { .. }) => {
                Some(KeyStore::Keyring { service: KEYRING_SERVICE.to_string(), account: KEYRING_CLINICAL_KEYS.to_string() })
            }
            None => None,
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
        let patient_sessions = patient_sessions(&var, &accounts)?;
        Ok(Config {
            database_url: var("DATABASE_URL").map(Secret::new),
            key_store,
            clinical_key_store,
            accounts,
            patient_sessions,
            booking_partner: var("DIGIMED_BOOKING_PARTNER"),
            clerk_webhook_secret: var("CLERK_WEBHOOK_SIGNING_SECRET").map(Secret::new),
            callrail_signing_key: var("CALLRAIL_SIGNING_KEY").map(Secret::new),
            callrail_organization: var("DIGIMED_CALLRAIL_ORGANIZATION"),
            telnyx_public_key: var("TELNYX_PUBLIC_KEY"),
            fax_organization: var("DIGIMED_FAX_ORGANIZATION"),
            default_phone_country,
            hubspot: HubSpot::from_values(
                var("HUBSPOT_ACCESS_TOKEN"),
                var("HUBSPOT_API_URL"),
                var("HUBSPOT_CONCIERGE_OWNER_ID"),
            )?,
        })
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

/// Patient sign-in: `CLERK_ISSUER` (the instance's Frontend API URL, which every session token
/// names as `iss`) turns it on; the key is `CLERK_JWT_KEY` (PEM, no network) or else the Backend
/// API's key set (`CLERK_API_URL`, `CLERK_SECRET_KEY`); `CLERK_AUTHORIZED_PARTIES` lists the
/// origins allowed as `azp`, comma-separated.
fn patient_sessions(var: &dyn Fn(&str) -> Option<String>, accounts: &AccountDirectory) -> Result<Option<PatientSessions>> {
    let Some(issuer) = var("CLERK_ISSUER") else {
        return Ok(None);
    };
    if !issuer.trim().starts_with("https://") && !issuer.trim().starts_with("http://") {
        return Err(Error::field(
            ErrorCode::Configuration,
            "CLERK_ISSUER",
            "CLERK_ISSUER must be the Clerk instance's Frontend API URL, such as https://clerk.example.com.",
        ));
    }
    let parties: Vec<String> = var("CLERK_AUTHORIZED_PARTIES")
        .map(|v| v.split(',').map(|p| p.trim().trim_end_matches('/').to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let keys =
        match (var("CLERK_JWT_KEY"), accounts) {
            (Some(pem), _) => SessionKeys::Pem(pem),
            (None, AccountDirectory::Clerk { api_url, secret_key }) => {
                SessionKeys::Jwks { api_url: api_url.clone(), secret_key: secret_key.clone() }
            }
            (None, AccountDirectory::Local) => return Err(Error::field(
                ErrorCode::Configuration,
                "CLERK_JWT_KEY",
                "CLERK_ISSUER is set, but there is no key to verify session tokens with: set CLERK_JWT_KEY or CLERK_SECRET_KEY.",
            )),
        };
    Ok(Some(PatientSessions { keys, policy: SessionPolicy::new(&issuer, parties) }))
}
