//! Who a database transaction acts for. The console and the CLI connect as the staff member
//! (or the owner, for operations) and act directly. The HTTP service connects as its own login
//! and, for a caller it has authenticated, becomes that caller's login role for the length of
//! the transaction (`SET LOCAL ROLE`), so grants and row-level security apply to the caller, and
//! the audit log records on whose behalf (`digimed.acting_for`).

use sqlx::{PgPool, Postgres, Transaction};

use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone)]
pub enum Acting {
    /// The pool's own login is the actor.
    Direct,
    /// The pool belongs to the service, which acts as this staff login.
    Staff {
        login: String,
        /// How the caller was authenticated (e.g. `api-token:12`), recorded in the audit log.
        acting_for: String,
    },
}

/// Begins a transaction acting as `acting`.
pub async fn begin(pool: &PgPool, acting: &Acting) -> Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    if let Acting::Staff { login, acting_for } = acting {
        sqlx::query("SELECT set_config('role', $1, true), set_config('digimed.acting_for', $2, true)")
            .bind(login)
            .bind(acting_for)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42501") => {
                    tracing::error!("the service's database login may not act for this staff login");
                    Error::new(
                        ErrorCode::Configuration,
                        "The service is not set up to act for this staff member (its database login must be a member of digimed_service, and the token created with `digimed api-token create`).",
                    )
                }
                _ => Error::from(e),
            })?;
    }
    Ok(tx)
}
