//! Staff sign-in. A staff member signs in to the shared database as their own login role; the
//! database (role membership and row-level security) decides what they may do.

use digimed_crypto::Secret;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};

/// The four clinic roles. Every staff login role is a member of exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AppRole {
    Secretary,
    Doctor,
    CustomerSupport,
    Admin,
}

impl AppRole {
    pub const ALL: [AppRole; 4] = [AppRole::Secretary, AppRole::Doctor, AppRole::CustomerSupport, AppRole::Admin];

    /// The name of the database role.
    pub fn as_str(self) -> &'static str {
        match self {
            AppRole::Secretary => "secretary",
            AppRole::Doctor => "doctor",
            AppRole::CustomerSupport => "customer_support",
            AppRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<AppRole> {
        AppRole::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            Error::field(
                ErrorCode::UnknownRole,
                "role",
                format!("Unknown role \"{}\"; choose one of secretary, doctor, customer_support, admin.", s.trim()),
            )
        })
    }
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StaffSession {
    pub staff_id: i32,
    pub login: String,
    pub name: String,
    pub email: String,
    pub role: AppRole,
    /// The clinic (organization) the staff member works for.
    pub organization_id: i32,
}

/// Builds connection options from a server URL (`postgres://host:port/db` or with a
/// `?host=/socket/dir`), replacing any user and password in it with the given ones. The clinic's
/// TLS rule applies as for every face (`db::secure_connect_options`).
pub fn staff_connect_options(server_url: &str, username: &str, password: &Secret<String>) -> Result<PgConnectOptions> {
    let url = server_url.trim();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::field(
            ErrorCode::Configuration,
            "server",
            "The server address must be a database URL (postgres://host:port/database).",
        ));
    }
    let opts = crate::db::secure_connect_options(
        url,
        "server",
        "The server address is not a valid database URL (expected postgres://host:port/database).",
    )?;
    Ok(opts.username(username.trim()).password(password.expose()).application_name("digimed-console"))
}

/// Signs a staff member in: connects as their login role and reads who they are.
pub async fn sign_in(server_url: &str, username: &str, password: &Secret<String>) -> Result<(PgPool, StaffSession)> {
    if username.trim().is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "username", "Enter your username."));
    }
    if password.expose().is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "password", "Enter your password."));
    }
    let opts = staff_connect_options(server_url, username, password)?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(opts.clone())
        .await
        .map_err(|e| sign_in_error(e, &opts))?;
    let session = current_staff(&pool).await?;
    Ok((pool, session))
}

/// Reads the staff member the pool's login role belongs to; refused for a login that is not an
/// active staff member.
pub async fn current_staff(pool: &PgPool) -> Result<StaffSession> {
    let tx = ClinicTx::begin(pool).await?;
    let session = tx
        .staff()
        .cloned()
        .map_err(|_| Error::new(ErrorCode::Forbidden, "This login is not an active staff member of this clinic database."))?;
    tx.commit().await?;
    Ok(session)
}

fn sign_in_error(e: sqlx::Error, opts: &PgConnectOptions) -> Error {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            Some("28P01") | Some("28000") => return Error::new(ErrorCode::Unauthorized, "Wrong username or password."),
            Some("3D000") => {
                return Error::field(ErrorCode::Configuration, "server", "That database does not exist on the server.")
            }
            _ => {}
        }
    }
    crate::db::tls::tls_failure(&e, opts, "server").unwrap_or_else(|| Error::from(e))
}
