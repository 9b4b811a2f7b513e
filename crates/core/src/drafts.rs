//! Drafts: a staff member's unfinished work, kept in the database so that it survives a crash
//! of the console or a lost connection and can be offered back: a doctor's consultation result
//! being written (keyed by the consultation) and a half-filled onboarding form (one per staff
//! member). The payload is whatever the form holds, as JSON, encrypted and bound to its row: a
//! result's draft with the clinical keys (`clinical_payload_encrypted`), the onboarding form with
//! the contact keys (`payload_encrypted`). Row-level security lets only the author read, change or discard a draft.
//! Filing the result or completing the onboarding discards the draft in the same transaction.

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest draft accepted (as JSON text).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

const TABLE: &str = "drafts";
const COLUMN: &str = "payload_encrypted";
const CLINICAL_COLUMN: &str = "clinical_payload_encrypted";

/// What a draft is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DraftKind {
    /// A consultation result; the subject is the consultation's id.
    ConsultationResult,
    /// The onboarding form; the subject is always 0.
    Onboarding,
}

impl DraftKind {
    /// Whether the draft is clinical text (a result), kept under the clinical keys.
    fn is_clinical(self) -> bool {
        matches!(self, DraftKind::ConsultationResult)
    }

    /// Checks the subject id that goes with this kind.
    fn check_subject(self, subject_id: i32) -> Result<()> {
        match self {
            DraftKind::Onboarding if subject_id != 0 => {
                Err(Error::field(ErrorCode::InvalidInput, "subject_id", "An onboarding draft has subject 0."))
            }
            DraftKind::ConsultationResult if subject_id <= 0 => {
                Err(Error::field(ErrorCode::InvalidInput, "subject_id", "A result draft names its consultation."))
            }
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

/// Saves (or replaces) the acting staff member's draft of `kind` for `subject_id`.
pub async fn save_draft(
    tx: &mut ClinicTx,
    vault: &Vault,
    kind: DraftKind,
    subject_id: i32,
    payload: &serde_json::Value,
) -> Result<DraftInfo> {
    tx.require(Capability::KeepDrafts)?;
    kind.check_subject(subject_id)?;
    let text = serde_json::to_string(payload).map_err(|_| Error::invalid("payload", "The draft is not valid JSON."))?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::field(
            ErrorCode::PayloadTooLarge,
            "payload",
            format!("A draft may be at most {} KiB.", MAX_PAYLOAD_BYTES / 1024),
        ));
    }
    let staff_id = tx.staff()?.staff_id;
    let clinical = kind.is_clinical();
    if clinical {
        vault.keys_of(digimed_crypto::KeyDomain::Clinical)?;
    }
    // The row (new or existing, locked until commit) gives the id the ciphertext is bound to.
    let row = sqlx::query!(
        r#"INSERT INTO drafts (staff_id, kind, subject_id, payload_encrypted, clinical_payload_encrypted)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN NULL ELSE '\x'::bytea END, CASE WHEN $4 THEN '\x'::bytea END)
           ON CONFLICT (staff_id, kind, subject_id) DO UPDATE SET updated_at = now()
           RETURNING id, created_at"#,
        staff_id,
        kind as DraftKind,
        subject_id,
        clinical,
    )
    .fetch_one(tx.conn())
    .await?;
    let updated_at = if clinical {
        // A result's draft saved before the key domains existed (in the contact column) moves to
        // the clinical column here.
        sqlx::query_scalar!(
            "UPDATE drafts SET clinical_payload_encrypted = $2, payload_encrypted = NULL, updated_at = now()
              WHERE id = $1 RETURNING updated_at",
            row.id,
            vault.encrypt(TABLE, CLINICAL_COLUMN, i64::from(row.id), &text)?,
        )
        .fetch_one(tx.conn())
        .await?
    } else {
        sqlx::query_scalar!(
            "UPDATE drafts SET payload_encrypted = $2, updated_at = now() WHERE id = $1 RETURNING updated_at",
            row.id,
            vault.encrypt(TABLE, COLUMN, i64::from(row.id), &text)?,
        )
        .fetch_one(tx.conn())
        .await?
    };
    Ok(DraftInfo { kind, subject_id, created_at: row.created_at, updated_at })
}

/// The acting staff member's draft of `kind` for `subject_id`, if there is one.
pub async fn load_draft(tx: &mut ClinicTx, vault: &Vault, kind: DraftKind, subject_id: i32) -> Result<Option<Draft>> {
    tx.require(Capability::KeepDrafts)?;
    kind.check_subject(subject_id)?;
    let staff_id = tx.staff()?.staff_id;
    if kind.is_clinical() {
        vault.keys_of(digimed_crypto::KeyDomain::Clinical)?;
    }
    let row = sqlx::query!(
        "SELECT id, payload_encrypted, clinical_payload_encrypted, updated_at FROM drafts
          WHERE staff_id = $1 AND kind = $2 AND subject_id = $3",
        staff_id,
        kind as DraftKind,
        subject_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let text = match (&row.clinical_payload_encrypted, &row.payload_encrypted) {
        (Some(ct), _) => vault.decrypt(TABLE, CLINICAL_COLUMN, i64::from(row.id), ct)?,
        (None, Some(ct)) => vault.decrypt(TABLE, COLUMN, i64::from(row.id), ct)?,
        (None, None) => return Err(Error::internal("A stored draft could not be read.")),
    };
    let payload = serde_json::from_str(&text).map_err(|_| Error::internal("A stored draft could not be read."))?;
    Ok(Some(Draft { kind, subject_id, payload, updated_at: row.updated_at }))
}

/// Every draft of the acting staff member, newest first (to offer them back on return).
pub async fn list_drafts(tx: &mut ClinicTx) -> Result<Vec<DraftInfo>> {
    tx.require(Capability::KeepDrafts)?;
    let staff_id = tx.staff()?.staff_id;
    Ok(sqlx::query_as!(
        DraftInfo,
        r#"SELECT kind AS "kind: DraftKind", subject_id, created_at, updated_at FROM drafts
            WHERE staff_id = $1 ORDER BY updated_at DESC, id DESC"#,
        staff_id,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Throws the acting staff member's draft away. True when there was one.
pub async fn discard_draft(tx: &mut ClinicTx, kind: DraftKind, subject_id: i32) -> Result<bool> {
    tx.require(Capability::KeepDrafts)?;
    kind.check_subject(subject_id)?;
    discard_own(tx, kind, subject_id).await
}

/// Discards the acting staff member's draft as part of the operation that finishes it (filing
/// the result, completing the onboarding). Does nothing when the actor is not a staff member.
pub(crate) async fn discard_own(tx: &mut ClinicTx, kind: DraftKind, subject_id: i32) -> Result<bool> {
    let Ok(staff) = tx.staff() else { return Ok(false) };
    let staff_id = staff.staff_id;
    let n = sqlx::query!(
        "DELETE FROM drafts WHERE staff_id = $1 AND kind = $2 AND subject_id = $3",
        staff_id,
        kind as DraftKind,
        subject_id,
    )
    .execute(tx.conn())
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
    }
}
