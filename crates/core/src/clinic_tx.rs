//! The one way an operation acts: a database transaction that knows who acts.
//!
//! Every core operation takes a [`ClinicTx`]. Each face opens it in its own way:
//! - the console on the staff member's own pool (they signed in as their own login role),
//! - the `digimed` tool as the login `DATABASE_URL` names (a staff login, or the owner for
//!   operations),
//! - the HTTP service on its own pool, becoming the authenticated staff member's login for the
//!   length of the transaction (`SET LOCAL ROLE`), or acting as itself for an outside party it
//!   authenticated (a partner's signed webhook), or acting as itself narrowed to one patient's
//!   own rows (a patient's Clerk session token).
//!
//! Opening it reads, inside the same transaction, who the login is ([`Actor`]): a staff member
//! (role, staff id, clinic), the database owner, or the service. [`ClinicTx::require`] is the one
//! role check in Rust; the database's grants and row-level security check the same again, so a
//! raw connection can do no more (see `ARCHITECTURE.md` and [`Capability`]).
//!
//! The face commits: an operation writes nothing that outlives a failed or dropped transaction.
//! Operations with an effect outside the database (a Clerk account, a file) take the
//! transaction by value and commit it themselves, so they can undo that effect when the commit
//! fails.

use std::ops::{Deref, DerefMut};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::capability::Capability;
use crate::error::{Error, ErrorCode, Result};
use crate::session::{AppRole, StaffSession};

/// How a transaction is opened: as the pool's own login, or by the service for someone it
/// authenticated.
#[derive(Debug, Clone)]
pub enum Acting {
    /// The pool's own login is the actor (console, CLI).
    Direct,
    /// The pool belongs to the service, which acts as this staff login (`SET LOCAL ROLE`).
    Staff {
        login: String,
        /// How the caller was authenticated (e.g. `api-token:12`), recorded in the audit log.
        acting_for: String,
    },
    /// The service acts as itself for an outside party it authenticated, e.g. `partner:3` for a
    /// partner's signed webhook; recorded in the audit log.
    Party { acting_for: String },
    /// The service acts as itself for a patient it authenticated (a Clerk session token), and
    /// the database narrows what it sees to that person's own rows (`acting_patient_person()`).
    Patient {
        /// `patient_persons.id`.
        person_id: i32,
        /// How the patient was authenticated (`patient:<person id>`), recorded in the audit log.
        acting_for: String,
    },
}

/// Who a transaction acts for, read from the database when it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff member, through their own login or the service acting for them.
    Staff(StaffSession),
    /// The database owner: migrations and operations from the command line. Belongs to no clinic.
    Owner,
    /// The HTTP service's own login, acting for an outside party it authenticated.
    Service,
    /// The HTTP service's own login, acting for a patient signed in to the patient app; the
    /// database shows it only this person's rows.
    Patient { person_id: i32 },
}

impl Actor {
    /// The clinic role, for a staff member.
    pub fn role(&self) -> Option<AppRole> {
        match self {
            Actor::Staff(s) => Some(s.role),
            _ => None,
        }
    }

    /// Words for a person: "your role (secretary)", "the database owner", "the service".
    pub fn describe(&self) -> String {
        match self {
            Actor::Staff(s) => format!("your role ({})", s.role.as_str().replace('_', " ")),
            Actor::Owner => "the database owner".to_string(),
            Actor::Service => "the service".to_string(),
            Actor::Patient { .. } => "a patient".to_string(),
        }
    }
}

/// A transaction acting for one [`Actor`]. Derefs to the connection, so statements run on it
/// with `&mut **tx` (or [`ClinicTx::conn`]).
pub struct ClinicTx {
    tx: Transaction<'static, Postgres>,
    actor: Actor,
    through_service: bool,
    pool: PgPool,
}

struct ActorRow {
    staff_id: Option<i32>,
    login: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    organization_id: Option<i32>,
    is_owner: bool,
    is_service: bool,
}

impl ClinicTx {
    /// Begins a transaction acting as the pool's own login.
    pub async fn begin(pool: &PgPool) -> Result<ClinicTx> {
        Self::begin_acting(pool, &Acting::Direct).await
    }

    /// Begins a transaction acting as `acting` says.
    pub async fn begin_acting(pool: &PgPool, acting: &Acting) -> Result<ClinicTx> {
        let mut tx = pool.begin().await?;
        match acting {
            Acting::Direct => {}
            Acting::Staff { login, acting_for } => {
                sqlx::query!(
                    r#"SELECT set_config('role', $1, true) AS "role!", set_config('digimed.acting_for', $2, true) AS "acting_for!""#,
                    login,
                    acting_for,
                )
                .fetch_one(&mut *tx)
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
            Acting::Party { acting_for } => {
                sqlx::query_scalar!(r#"SELECT set_config('digimed.acting_for', $1, true) AS "acting_for!""#, acting_for)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            Acting::Patient { person_id, acting_for } => {
                sqlx::query!(
                    r#"SELECT set_config('digimed.acting_for', $1, true) AS "acting_for!",
                              set_config('digimed.acting_patient', $2, true) AS "acting_patient!""#,
                    acting_for,
                    person_id.to_string(),
                )
                .fetch_one(&mut *tx)
                .await?;
            }
        }
        // Who the transaction's current login is, in one statement.
        let row = sqlx::query_as!(
            ActorRow,
            r#"SELECT s.id AS "staff_id?", current_user::text AS "login!", s.name AS "name?", s.email AS "email?",
                      current_app_role() AS role, s.organization_id AS "organization_id?",
                      pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'public.patients'::regclass), 'USAGE') AS "is_owner!",
                      pg_has_role(current_user, 'digimed_service', 'USAGE') AS "is_service!"
                 FROM (SELECT 1) AS one
                 LEFT JOIN staff s ON s.login_role = current_user AND s.active"#
        )
        .fetch_one(&mut *tx)
        .await?;
        let actor = Self::actor_from(row, acting)?;
        Ok(ClinicTx { tx, actor, through_service: !matches!(acting, Acting::Direct), pool: pool.clone() })
    }

    fn actor_from(row: ActorRow, acting: &Acting) -> Result<Actor> {
        if let (Some(staff_id), Some(name), Some(email), Some(organization_id)) =
            (row.staff_id, row.name, row.email, row.organization_id)
        {
            let role = row
                .role
                .ok_or_else(|| Error::new(ErrorCode::Forbidden, "This login has no clinic role; ask an administrator."))?;
            return Ok(Actor::Staff(StaffSession {
                staff_id,
                login: row.login,
                name,
                email,
                role: AppRole::parse(&role)?,
                organization_id,
            }));
        }
        match acting {
            // The service was told to act for a staff login that is no longer an active member.
            Acting::Staff { .. } => Err(Error::new(ErrorCode::Unauthorized, "This staff member is no longer active.")),
            // Only the service acts for a patient; the owner or a staff login never does.
            Acting::Patient { person_id, .. } if row.is_service && !row.is_owner => Ok(Actor::Patient { person_id: *person_id }),
            Acting::Patient { .. } => {
                Err(Error::new(ErrorCode::Forbidden, "Only the service's login acts for a signed-in patient."))
            }
            _ if row.is_owner => Ok(Actor::Owner),
            _ if row.is_service => Ok(Actor::Service),
            _ => Err(Error::new(ErrorCode::Forbidden, "This login is not an active staff member of this clinic database.")),
        }
    }

    /// Runs `op` in a transaction acting as the pool's own login, and commits it when `op`
    /// succeeds (a failed `op` leaves nothing behind). For the command line and tests; the
    /// console and the service open and commit their transactions themselves.
    pub async fn run<T>(pool: &PgPool, op: impl AsyncFnOnce(&mut ClinicTx) -> Result<T>) -> Result<T> {
        Self::run_acting(pool, &Acting::Direct, op).await
    }

    /// Runs `op` in a transaction acting as `acting` says, and commits it when `op` succeeds (a
    /// failed `op` leaves nothing behind): one operation of one request.
    pub async fn run_acting<T>(pool: &PgPool, acting: &Acting, op: impl AsyncFnOnce(&mut ClinicTx) -> Result<T>) -> Result<T> {
        let mut tx = Self::begin_acting(pool, acting).await?;
        let out = op(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Whether the service opened this transaction for someone it authenticated (an API call),
    /// rather than the actor's own login (console, CLI).
    pub fn through_service(&self) -> bool {
        self.through_service
    }

    /// Refuses, with a message naming what was tried, unless the actor may do `capability`.
    /// The one role check in Rust.
    pub fn require(&self, capability: Capability) -> Result<()> {
        if capability.allows(&self.actor) {
            Ok(())
        } else {
            Err(Error::forbidden(capability.refusal(&self.actor)))
        }
    }

    /// The acting staff member; refused for the owner and the service.
    pub fn staff(&self) -> Result<&StaffSession> {
        match &self.actor {
            Actor::Staff(s) => Ok(s),
            other => Err(Error::forbidden(format!(
                "This is done by a staff member signed in as themselves, not {}.",
                other.describe()
            ))),
        }
    }

    /// The patient the transaction acts for (`patient_persons.id`); refused for anyone else.
    pub fn patient_person(&self) -> Result<i32> {
        match &self.actor {
            Actor::Patient { person_id } => Ok(*person_id),
            other => Err(Error::forbidden(format!(
                "This is done by a patient signed in to the patient app, not {}.",
                other.describe()
            ))),
        }
    }

    /// The acting staff member's clinic; `None` for the owner and the service.
    pub fn clinic(&self) -> Option<i32> {
        match &self.actor {
            Actor::Staff(s) => Some(s.organization_id),
            _ => None,
        }
    }

    /// The pool the transaction came from, for work that must outlive it (e.g. checking, after a
    /// dropped onboarding, whether it committed).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connection, for statements.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// A savepoint inside this transaction: work that may be rolled back on its own (e.g. to
    /// try again after losing a race) without ending the transaction.
    pub async fn savepoint(&mut self) -> Result<Transaction<'_, Postgres>> {
        use sqlx::Acquire;
        Ok((&mut *self.tx).begin().await?)
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(Error::from)
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.map_err(Error::from)
    }
}

impl Deref for ClinicTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for ClinicTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
