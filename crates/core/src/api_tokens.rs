//! Bearer tokens for the HTTP service. A token belongs to one staff member; the service acts as
//! that staff member's login role (see `clinic_tx`). Tokens are shown once and stored as SHA-256.

use digimed_crypto::Secret;
use digimed_domain::Email;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::session::AppRole;

const PREFIX: &str = "dgm_";

#[derive(Debug)]
pub struct CreatedToken {
    pub id: i32,
    pub staff_id: i32,
    /// Shown once to whoever created it; never stored.
    pub token: Secret<String>,
}

/// The staff member a request is authenticated as.
#[derive(Debug, Clone, Serialize)]
pub struct TokenIdentity {
    pub token_id: i32,
    pub staff_id: i32,
    pub login: String,
    pub role: AppRole,
    pub organization_id: i32,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token for an active staff member (the owner's operation). Also lets the service
/// role become that staff member's login, which is how it acts for them.
pub async fn create(tx: &mut ClinicTx, staff_email: &Email, valid_days: Option<i64>) -> Result<CreatedToken> {
    tx.require(Capability::IssueApiTokens)?;
    let staff = sqlx::query!("SELECT id, login_role FROM staff WHERE email = $1 AND active", staff_email.as_str())
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::field(ErrorCode::NotFound, "staff", "There is no active staff member with this e-mail address."))?;
    let token = Secret::new(format!("{PREFIX}{}", crate::patients::new_token()));
    let id = sqlx::query_scalar!(
        "INSERT INTO api_tokens (staff_id, token_hash, expires_at)
         VALUES ($1, $2, CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() + make_interval(days => $3::int) END)
         RETURNING id",
        staff.id,
        hash(token.expose()),
        valid_days,
    )
    .fetch_one(tx.conn())
    .await?;
    let ddl = sqlx::query_scalar!(r#"SELECT format('GRANT %I TO digimed_service', $1::text) AS "ddl!""#, staff.login_role)
        .fetch_one(tx.conn())
        .await?;
    sqlx::raw_sql(&ddl).execute(tx.conn()).await?;
    tracing::info!(token_id = id, staff_id = staff.id, "API token created");
    Ok(CreatedToken { id, staff_id: staff.id, token })
}

/// Revokes a token (the owner, or an administrator of the token's clinic).
pub async fn revoke(tx: &mut ClinicTx, token_id: i32) -> Result<()> {
    tx.require(Capability::RevokeApiTokens)?;
    let n = sqlx::query!("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::not_found("The API token"));
    }
    Ok(())
}

/// Checks a bearer token (the service, acting as itself). Any failure is the same `unauthorized`.
pub async fn authenticate(tx: &mut ClinicTx, bearer: &str) -> Result<TokenIdentity> {
    tx.require(Capability::AuthenticateCallers)?;
    let unauthorized = || Error::new(ErrorCode::Unauthorized, "A valid API token is required (Authorization: Bearer <token>).");
    let bearer = bearer.trim();
    if !bearer.starts_with(PREFIX) || bearer.len() > 200 {
        return Err(unauthorized());
    }
    sqlx::query_as!(
        TokenIdentity,
        r#"SELECT t.id AS token_id, s.id AS staff_id, s.login_role AS login, s.role AS "role: AppRole", s.organization_id
             FROM api_tokens t JOIN staff s ON s.id = t.staff_id
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL
              AND (t.expires_at IS NULL OR t.expires_at > now()) AND s.active"#,
        hash(bearer),
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(unauthorized)
}

/// Creates the login the HTTP service signs in with (the owner's operation): a member of
/// `digimed_service`, which may become the staff logins that have API tokens. Password rules
/// are those of staff passwords; the password is sent to the server only as a SCRAM verifier.
pub async fn create_service_login(tx: &mut ClinicTx, login: &str, password: &Secret<String>) -> Result<()> {
    tx.require(Capability::CreateLogins)?;
    let login = login.trim();
    if login.is_empty() || login.len() > 63 || !login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::field(ErrorCode::InvalidInput, "login", "The login must be 1–63 letters, digits, '_' or '-'."));
    }
    if password.expose().chars().count() < 12 {
        return Err(Error::field(ErrorCode::WeakPassword, "password", "The password must have at least 12 characters."));
    }
    crate::staff::ensure_role_name_free(tx, login, "login", "A login with this name already exists on this database server.")
        .await?;
    crate::staff::create_login_role(tx, login, &crate::staff::scram_verifier(password), "digimed_service").await
}
