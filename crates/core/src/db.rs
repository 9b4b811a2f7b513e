//! Connecting to the shared PostgreSQL and keeping its schema current.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
pub use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};

/// The one schema, roles and policies included.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Parses a database URL into connection options, with an error that never echoes the URL
/// (it may carry a password).
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url.trim()).map_err(|_| {
        Error::field(
            ErrorCode::Configuration,
            "database_url",
            "DATABASE_URL is not a valid PostgreSQL URL (expected postgres://user@host:port/database).",
        )
    })
}

/// How long a caller waits for a free connection, or for one to the server to open, before it
/// is told the database is unavailable (a retryable error: 503 over HTTP).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a pool. Fails fast with a clear message when the server cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    let opts = connect_options(url)?.application_name("digimed");
    PgPoolOptions::new().max_connections(max_connections).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(opts).await.map_err(|e| {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => Error::new(
                ErrorCode::DatabaseUnavailable,
                "The database server cannot be reached; check DATABASE_URL and that the server is running.",
            )
            .retryable(),
            other => Error::from(other),
        }
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
