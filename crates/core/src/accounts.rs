//! Where patient login accounts live: Clerk, or (with no Clerk key configured) the local account
//! directory, which is just the `users` table of the clinic database.

use digimed_clerk::{ClerkClient, ClerkError, RetryPolicy};
use digimed_domain::PersonName;

use crate::config::AccountDirectory;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone)]
pub enum Accounts {
    Local,
    Clerk(ClerkClient),
}

impl Accounts {
    pub fn from_config(directory: &AccountDirectory) -> Result<Accounts> {
        Accounts::with_policy(directory, RetryPolicy::default())
    }

    pub fn with_policy(directory: &AccountDirectory, policy: RetryPolicy) -> Result<Accounts> {
        match directory {
            AccountDirectory::Local => Ok(Accounts::Local),
            AccountDirectory::Clerk { api_url, secret_key } => ClerkClient::new(api_url, secret_key.clone(), policy)
                .map(Accounts::Clerk)
                .map_err(|e| Error::field(ErrorCode::Configuration, "CLERK_API_URL", e.to_string())),
        }
    }

    /// `clerk` or `local`, as stored in `users.account_directory`.
    pub fn kind(&self) -> &'static str {
        match self {
            Accounts::Local => "local",
            Accounts::Clerk(_) => "clerk",
        }
    }

    /// The account directory's id for this e-mail address, if it has one.
    pub async fn find(&self, email: &str) -> Result<Option<String>> {
        match self {
            Accounts::Local => Ok(None),
            Accounts::Clerk(c) => Ok(c.find_user_by_email(email).await.map_err(clerk_error)?.map(|u| u.id)),
        }
    }

    /// Creates the account; returns its id in the directory (none for the local directory).
    pub async fn create(&self, email: &str, name: &PersonName) -> Result<Option<String>> {
        match self {
            Accounts::Local => Ok(None),
            Accounts::Clerk(c) => {
                let (first, last) = name.split_first_last();
                Ok(Some(c.create_user(email, &first, &last).await.map_err(clerk_error)?.id))
            }
        }
    }

    /// Deletes an account created moments ago whose database transaction then failed.
    pub async fn delete(&self, id: &str) -> Result<()> {
        match self {
            Accounts::Local => Ok(()),
            Accounts::Clerk(c) => c.delete_user(id).await.map_err(clerk_error),
        }
    }
}

fn clerk_error(e: ClerkError) -> Error {
    let transient = matches!(&e, ClerkError::Timeout | ClerkError::Unreachable)
        || matches!(&e, ClerkError::Api { status, .. } if *status == 429 || *status >= 500);
    let err = Error::new(
        ErrorCode::ClerkApiError,
        "The account service (Clerk) could not create or find the patient's account; nothing was saved.",
    )
    .with_details(match &e {
        ClerkError::Api { status, code, .. } => serde_json::json!({"clerk_status": status, "clerk_code": code}),
        ClerkError::Timeout => serde_json::json!({"clerk_status": null, "reason": "timeout"}),
        ClerkError::Unreachable => serde_json::json!({"clerk_status": null, "reason": "unreachable"}),
        ClerkError::Malformed => serde_json::json!({"clerk_status": null, "reason": "malformed_response"}),
        ClerkError::Config(_) => serde_json::json!({"clerk_status": null, "reason": "configuration"}),
    });
    if transient {
        err.retryable()
    } else {
        err
    }
}
