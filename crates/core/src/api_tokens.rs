//! Bearer tokens for the HTTP service. A token belongs to one staff member; the service acts as
//! that staff member's login role (see `acting`). Tokens are shown once and stored as SHA-256.

use digimed_crypto::Secret;
use digimed_domain::Email;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

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

/// Creates a token for an active staff member (run by the database owner). Also lets the
/// service role become that staff member's login, which is how it acts for them.
pub async fn create(owner: &PgPool, staff_email: &Email, valid_days: Option<i64>) -> Result<CreatedToken> {
    let mut tx = owner.begin().await?;
    let staff: Option<(i32, String)> =
        sqlx::query_as("SELECT id, login_role FROM staff WHERE email = $1 AND active").bind(staff_email.as_str()).fetch_optional(&mut *tx).await?;
    let (staff_id, login) =
        staff.ok_or_else(|| Error::field(ErrorCode::NotFound, "staff", "There is no active staff member with this e-mail address."))?;
    let token = Secret::new(format!("{PREFIX}{}", crate::patients::new_token()));
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO api_tokens (staff_id, token_hash, expires_at)
         VALUES ($1, $2, CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() + make_interval(days => $3::int) END)
         RETURNING id",
    )
    .bind(staff_id)
    .bind(hash(token.expose()))
    .bind(valid_days)
    .fetch_one(&mut *tx)
    .await?;
    let ddl: String = sqlx::query_scalar("SELECT format('GRANT %I TO digimed_service', $1::text)")
        .bind(&login)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(token_id = id, staff_id, "API token created");
    Ok(CreatedToken { id, staff_id, token })
}

/// Revokes a token (run by the owner or an admin).
pub async fn revoke(pool: &PgPool, token_id: i32) -> Result<()> {
    let n = sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(token_id)
        .execute(pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::not_found("The API token"));
    }
    Ok(())
}

/// Checks a bearer token (as the service). Any failure is the same `unauthorized`.
pub async fn authenticate(service: &PgPool, bearer: &str) -> Result<TokenIdentity> {
    let unauthorized = || Error::new(ErrorCode::Unauthorized, "A valid API token is required (Authorization: Bearer <token>).");
    let bearer = bearer.trim();
    if !bearer.starts_with(PREFIX) || bearer.len() > 200 {
        return Err(unauthorized());
    }
    let row: Option<(i32, i32, String, String, i32)> = sqlx::query_as(
        "SELECT t.id, s.id, s.login_role, s.role, s.organization_id
           FROM api_tokens t JOIN staff s ON s.id = t.staff_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > now()) AND s.active",
    )
    .bind(hash(bearer))
    .fetch_optional(service)
    .await?;
    let (token_id, staff_id, login, role, organization_id) = row.ok_or_else(unauthorized)?;
    Ok(TokenIdentity { token_id, staff_id, login, role: AppRole::parse(&role)?, organization_id })
}

/// Creates the login the HTTP service signs in with (run by the owner): a member of
/// `digimed_service`, which may become the staff logins that have API tokens. Password rules
/// are those of staff passwords; the password is sent to the server only as a SCRAM verifier.
pub async fn create_service_login(owner: &PgPool, login: &str, password: &Secret<String>) -> Result<()> {
    let login = login.trim();
    if login.is_empty() || login.len() > 63 || !login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::field(ErrorCode::InvalidInput, "login", "The login must be 1–63 letters, digits, '_' or '-'."));
    }
    if password.expose().chars().count() < 12 {
        return Err(Error::field(ErrorCode::WeakPassword, "password", "The password must have at least 12 characters."));
    }
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(login)
        .fetch_one(owner)
        .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "login", "A login with this name already exists on this database server."));
    }
    let mut tx = owner.begin().await?;
    crate::staff::create_login_role(&mut tx, login, &crate::staff::scram_verifier(password), "digimed_service").await?;
    tx.commit().await?;
    Ok(())
}
