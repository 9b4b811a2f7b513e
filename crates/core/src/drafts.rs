//! Drafts: a staff member's unfinished work, kept in the database so that it survives a crash
//! of the console or a lost connection and can be offered back: a doctor's consultation result
//! being written (keyed by the consultation) and a half-filled onboarding form (one per staff
//! member). The payload is whatever the form holds, as JSON, encrypted with the data keys and
//! bound to its row. Row-level security lets only the author read, change or discard a draft.
//! Filing the result or completing the onboarding discards the draft in the same transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;

/// Largest draft accepted (as JSON text).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

const TABLE: &str = "drafts";
const COLUMN: &str = "payload_encrypted";

/// What a draft is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// A consultation result; the subject is the consultation's id.
    ConsultationResult,
    /// The onboarding form; the subject is always 0.
    Onboarding,
}

impl DraftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::ConsultationResult => "consultation_result",
            DraftKind::Onboarding => "onboarding",
        }
    }

    fn parse(s: &str) -> Option<DraftKind> {
        [DraftKind::ConsultationResult, DraftKind::Onboarding].into_iter().find(|k| k.as_str() == s)
    }

    /// Checks the subject id that goes with this kind.
    fn check_subject(self, subject_id: i32) -> Result<()> {
        match self {
            DraftKind::Onboarding if subject_id != 0 => {
                Err(Error::field(ErrorCode::InvalidInput, "subject_id", "An onboarding draft has subject 0."))
            }
            DraftKind::ConsultationResult if subject_id <= 0 => Err(Error::field(
                ErrorCode::InvalidInput,
                "subject_id",
                "A result draft names its consultation.",
            )),
            _ => Ok(()),
        }
    }
}

/// A draft without its content, as a list of unfinished work shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DraftInfo {
    pub kind: DraftKind,
    pub subject_id: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A draft with its content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub kind: DraftKind,
    pub subject_id: i32,
    pub payload: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Only a staff member signed in as themselves keeps drafts.
async fn require_staff(conn: &mut PgConnection) -> Result<i32> {
    let staff: Option<i32> = sqlx::query_scalar("SELECT current_staff_id()").fetch_one(&mut *conn).await?;
    staff.ok_or_else(|| Error::forbidden("Drafts are kept for staff members signed in as themselves."))
}

/// Saves (or replaces) the signed-in staff member's draft of `kind` for `subject_id`.
pub async fn save_draft(
    pool: &PgPool,
    vault: &Vault,
    kind: DraftKind,
    subject_id: i32,
    payload: &serde_json::Value,
) -> Result<DraftInfo> {
    kind.check_subject(subject_id)?;
    let text = serde_json::to_string(payload).map_err(|_| Error::invalid("payload", "The draft is not valid JSON."))?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::field(
            ErrorCode::PayloadTooLarge,
            "payload",
            format!("A draft may be at most {} KiB.", MAX_PAYLOAD_BYTES / 1024),
        ));
    }
    let mut tx = pool.begin().await?;
    require_staff(&mut tx).await?;
    // The row (new or existing, locked until commit) gives the id the ciphertext is bound to.
    let (id, created_at): (i32, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO drafts (staff_id, kind, subject_id, payload_encrypted)
         VALUES (current_staff_id(), $1, $2, '\\x')
         ON CONFLICT (staff_id, kind, subject_id) DO UPDATE SET updated_at = now()
         RETURNING id, created_at",
    )
    .bind(kind.as_str())
    .bind(subject_id)
    .fetch_one(&mut *tx)
    .await?;
    let updated_at: DateTime<Utc> =
        sqlx::query_scalar("UPDATE drafts SET payload_encrypted = $2, updated_at = now() WHERE id = $1 RETURNING updated_at")
            .bind(id)
            .bind(vault.encrypt(TABLE, COLUMN, id as i64, &text))
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(DraftInfo { kind, subject_id, created_at, updated_at })
}

/// The signed-in staff member's draft of `kind` for `subject_id`, if there is one.
pub async fn load_draft(pool: &PgPool, vault: &Vault, kind: DraftKind, subject_id: i32) -> Result<Option<Draft>> {
    kind.check_subject(subject_id)?;
    let mut conn = pool.acquire().await?;
    require_staff(&mut conn).await?;
    let row: Option<(i32, Vec<u8>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, payload_encrypted, updated_at FROM drafts
          WHERE staff_id = current_staff_id() AND kind = $1 AND subject_id = $2",
    )
    .bind(kind.as_str())
    .bind(subject_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, ciphertext, updated_at)) = row else { return Ok(None) };
    let text = vault.decrypt(TABLE, COLUMN, id as i64, &ciphertext)?;
    let payload = serde_json::from_str(&text).map_err(|_| Error::internal("A stored draft could not be read."))?;
    Ok(Some(Draft { kind, subject_id, payload, updated_at }))
}

/// Every draft of the signed-in staff member, newest first (to offer them back on return).
pub async fn list_drafts(pool: &PgPool) -> Result<Vec<DraftInfo>> {
    let mut conn = pool.acquire().await?;
    require_staff(&mut conn).await?;
    let rows: Vec<(String, i32, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT kind, subject_id, created_at, updated_at FROM drafts
          WHERE staff_id = current_staff_id() ORDER BY updated_at DESC, id DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, subject_id, created_at, updated_at)| {
            Some(DraftInfo { kind: DraftKind::parse(&kind)?, subject_id, created_at, updated_at })
        })
        .collect())
}

/// Throws the signed-in staff member's draft away. True when there was one.
pub async fn discard_draft(pool: &PgPool, kind: DraftKind, subject_id: i32) -> Result<bool> {
    kind.check_subject(subject_id)?;
    let mut conn = pool.acquire().await?;
    require_staff(&mut conn).await?;
    discard_in(&mut conn, kind, subject_id).await
}

/// Discards the acting staff member's draft inside the caller's transaction (when the result is
/// filed or the onboarding done). Does nothing for a session that is not a staff member.
pub(crate) async fn discard_in(conn: &mut PgConnection, kind: DraftKind, subject_id: i32) -> Result<bool> {
    let n = sqlx::query("DELETE FROM drafts WHERE staff_id = current_staff_id() AND kind = $1 AND subject_id = $2")
        .bind(kind.as_str())
        .bind(subject_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_go_with_their_kind() {
        assert!(DraftKind::Onboarding.check_subject(0).is_ok());
        assert_eq!(DraftKind::Onboarding.check_subject(3).unwrap_err().field.as_deref(), Some("subject_id"));
        assert!(DraftKind::ConsultationResult.check_subject(7).is_ok());
        assert!(DraftKind::ConsultationResult.check_subject(0).is_err());
        for k in [DraftKind::ConsultationResult, DraftKind::Onboarding] {
            assert_eq!(DraftKind::parse(k.as_str()), Some(k));
        }
    }
}
