//! Screening a referral: the secretary's call attempts (with their outcome) and notes, notes kept
//! encrypted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;

/// A call attempt or note from screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CallOutcome {
    Reached,
    NoAnswer,
    Voicemail,
    WrongNumber,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reached => "reached",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Voicemail => "voicemail",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }
}

/// A screening entry: a call attempt (with its outcome) or a note. Notes are stored encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScreeningEntry {
    pub id: i32,
    pub consultation_id: i32,
    pub staff_id: i32,
    pub call_outcome: Option<CallOutcome>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A secretary records a call attempt (`outcome`) or a note about a consultation. The first
/// screener of a referral becomes its supervisor.
pub async fn screen(
    tx: &mut ClinicTx,
    vault: &Vault,
    id: i32,
    outcome: Option<CallOutcome>,
    note: Option<&str>,
) -> Result<ScreeningEntry> {
    tx.require(Capability::ScreenConsultation)?;
    let staff_id = tx.staff()?.staff_id;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if outcome.is_none() && note.is_none() {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "Record a call outcome or write a note."));
    }
    if note.is_some_and(|n| n.chars().count() > 5000) {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "A note is at most 5000 characters."));
    }
    let visible = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM consultations WHERE id = $1) AS "visible!""#, id)
        .fetch_one(tx.conn())
        .await?;
    if !visible {
        return Err(Error::not_found("The consultation"));
    }
    let sid = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('consultation_screenings', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let created_at = sqlx::query_scalar!(
        "INSERT INTO consultation_screenings (id, consultation_id, staff_id, kind, call_outcome, note_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
        sid,
        id,
        staff_id,
        if outcome.is_some() { "call_attempt" } else { "note" },
        outcome as Option<CallOutcome>,
        note.map(|n| vault.encrypt("consultation_screenings", "note_encrypted", i64::from(sid), n)),
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "UPDATE referrals SET supervisor_staff_id = $2
          WHERE id = (SELECT referral_id FROM consultations WHERE id = $1) AND supervisor_staff_id IS NULL",
        id,
        staff_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(ScreeningEntry {
        id: sid,
        consultation_id: id,
        staff_id,
        call_outcome: outcome,
        note: note.map(str::to_string),
        created_at,
    })
}

/// The screening entries of a consultation, oldest first, notes decrypted.
pub async fn screenings(tx: &mut ClinicTx, vault: &Vault, id: i32) -> Result<Vec<ScreeningEntry>> {
    tx.require(Capability::ReadScreening)?;
    let rows = sqlx::query!(
        r#"SELECT id, staff_id, call_outcome AS "call_outcome: CallOutcome", note_encrypted, created_at FROM consultation_screenings
            WHERE consultation_id = $1 ORDER BY created_at, id"#,
        id,
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ScreeningEntry {
                id: r.id,
                consultation_id: id,
                staff_id: r.staff_id,
                call_outcome: r.call_outcome,
                note: r
                    .note_encrypted
                    .map(|ct| vault.decrypt("consultation_screenings", "note_encrypted", i64::from(r.id), &ct))
                    .transpose()?,
                created_at: r.created_at,
            })
        })
        .collect()
}
