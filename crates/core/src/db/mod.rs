//! Connecting to the shared PostgreSQL and keeping its schema current.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
pub use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};

/// The one schema, roles and policies included.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

pub mod tls;

/// Parses a database URL (`DATABASE_URL`) into connection options, with an error that never
/// echoes the URL (it may carry a password), and applies the clinic's TLS rule ([`tls`]): a
/// server that is not on this computer is reached with `verify-full` unless the URL asks for
/// `verify-ca` or `require`, and never unencrypted.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    secure_connect_options(
        url,
        "DATABASE_URL",
        "DATABASE_URL is not a valid PostgreSQL URL (expected postgres://user@host:port/database).",
    )
}

/// The one way every face turns a database address into connection options: parses `address`
/// (refused with `not_a_url`, naming `field`) and applies the TLS rule of [`tls`].
pub fn secure_connect_options(address: &str, field: &str, not_a_url: &str) -> Result<PgConnectOptions> {
    let address = address.trim();
    let opts = PgConnectOptions::from_str(address).map_err(|_| Error::field(ErrorCode::Configuration, field, not_a_url))?;
    let request = tls::TlsRequest::read(address, field)?;
    tls::secure(opts, &request, field)
}

/// How long a caller waits for a free connection, or for one to the server to open, before it
/// is told the database is unavailable (a retryable error: 503 over HTTP).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a pool. Fails fast with a clear message when the server cannot be reached or its
/// certificate is refused.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    let opts = connect_options(url)?.application_name("digimed");
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(opts.clone())
        .await
        .map_err(|e| match tls::tls_failure(&e, &opts, "DATABASE_URL") {
            Some(refused) => refused,
            None => match e {
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => Error::new(
                    ErrorCode::DatabaseUnavailable,
                    "The database server cannot be reached; check DATABASE_URL and that the server is running.",
                )
                .retryable(),
                other => Error::from(other),
            },
        })
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<usize> {
    let before: i64 = applied_count(pool).await;
    MIGRATOR.run(pool).await.map_err(|e| {
        tracing::error!(error = %e, "migration failed");
        Error::internal(format!("Migrating the database failed: {e}"))
    })?;
    Ok((applied_count(pool).await - before).max(0) as usize)
}

async fn applied_count(pool: &PgPool) -> i64 {
    // Before the first migration the table does not exist yet: nothing was applied.
    sqlx::query_scalar!(r#"SELECT count(*) AS "applied!" FROM _sqlx_migrations WHERE success"#).fetch_one(pool).await.unwrap_or(0)
}
