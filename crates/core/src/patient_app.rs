//! The patient app, signed in as the patient (see `docs/patient-api.md`): which person a Clerk
//! account is, and the patient's own consultations. The patient's consent forms are in
//! [`crate::forms`] (`list_own`, and `text`, `sign`, `decline`, `withdraw` acting for the
//! patient).
//!
//! The service acts for a patient with [`Acting::Patient`](crate::clinic_tx::Acting::Patient):
//! as its own login, with the database narrowed to the person's own rows (migration
//! `*_patient_acting.sql`), so neither the core nor a query can reach another patient's records.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::Result;

/// The person (`patient_persons.id`) whose login account is this Clerk user, if any. The service
/// asks this, as itself, when a session token has verified.
pub async fn person_for_clerk_user(tx: &mut ClinicTx, clerk_user_id: &str) -> Result<Option<i32>> {
    tx.require(Capability::AuthenticateCallers)?;
    Ok(sqlx::query_scalar!(
        "SELECT pp.id FROM users u JOIN patient_persons pp ON pp.user_id = u.id
          WHERE u.clerk_user_id = $1 AND u.account_directory = 'clerk'
          ORDER BY pp.id LIMIT 1",
        clerk_user_id,
    )
    .fetch_optional(tx.conn())
    .await?)
}

/// One of the patient's consultations as the patient app shows it: where it stands and its
/// times, never its clinical result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OwnConsultation {
    pub consultation_id: i32,
    pub organization_id: i32,
    /// `ready_for_pickup`, `pending_sp`, `in_progress`, `completed`, `cancelled`, ...
    pub state: String,
    pub category: String,
    pub primary_channel: String,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The consultations of the patient signed in to the patient app, newest first.
pub async fn own_consultations(tx: &mut ClinicTx) -> Result<Vec<OwnConsultation>> {
    tx.require(Capability::ReadOwnConsultations)?;
    let person_id = tx.patient_person()?;
    Ok(sqlx::query_as!(
        OwnConsultation,
        "SELECT id AS consultation_id, organization_id, state, category, primary_channel, created_at, deadline_at,
                starts_at, ends_at, cancelled_at
           FROM consultations WHERE patient_person_id = $1 ORDER BY created_at DESC, id DESC",
        person_id,
    )
    .fetch_all(tx.conn())
    .await?)
}
