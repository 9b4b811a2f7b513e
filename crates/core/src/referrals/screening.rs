//! Screening referrals: the secretaries' list of referrals awaiting a decision, their call
//! attempts (with the outcome) and notes, notes kept encrypted, and the referral's own fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::queue::{deadline_status, ConsultationState, DeadlineStatus};

/// How a call to the patient went.
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
    pub const ALL: [CallOutcome; 4] =
        [CallOutcome::Reached, CallOutcome::NoAnswer, CallOutcome::Voicemail, CallOutcome::WrongNumber];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reached => "reached",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Voicemail => "voicemail",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }

    /// `reached`, `no_answer`, `voicemail` or `wrong_number`; a refusal names `field`.
    pub fn parse(s: &str, field: &str) -> Result<CallOutcome> {
        CallOutcome::ALL.into_iter().find(|o| o.as_str() == s.trim()).ok_or_else(|| {
            Error::field(ErrorCode::InvalidInput, field, "A call outcome is reached, no_answer, voicemail or wrong_number.")
        })
    }
}

/// A screening entry: a call attempt (with its outcome) or a note. Notes are stored encrypted.
/// Entries belong to a referral; a few older ones were written about a consultation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScreeningEntry {
    pub id: i32,
    pub referral_id: Option<i32>,
    pub consultation_id: Option<i32>,
    pub staff_id: i32,
    /// Who wrote it, as the clinic's staff list names them.
    pub staff_name: Option<String>,
    pub call_outcome: Option<CallOutcome>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A referral awaiting a decision, as the screening list shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReferralToScreen {
    pub referral_id: i32,
    pub patient_person_id: i32,
    pub patient_name: Option<String>,
    pub partner_id: i32,
    pub partner_name: String,
    pub received_at: DateTime<Utc>,
    /// When the consultation must have started: the partner's working days from arrival.
    pub deadline_at: DateTime<Utc>,
    pub deadline_status: DeadlineStatus,
    pub call_attempts: i32,
    pub last_call_outcome: Option<CallOutcome>,
    pub last_call_at: Option<DateTime<Utc>>,
    /// The first staff member who screened it.
    pub supervisor_staff_id: Option<i32>,
    pub supervisor_name: Option<String>,
}

/// The screening list: referrals of the acting staff member's clinic that are neither booked nor
/// declined, the nearest deadline first (then the oldest), at most 500.
pub async fn screening_list(tx: &mut ClinicTx) -> Result<Vec<ReferralToScreen>> {
    tx.require(Capability::ScreenConsultation)?;
    let clinic = tx.clinic();
    let rows = sqlx::query!(
        r#"SELECT r.id, r.patient_person_id, pp.name AS "patient_name?", r.partner_id, pa.name AS partner_name,
                  r.received_at, r.deadline_at,
                  (SELECT count(*) FROM consultation_screenings s
                    WHERE s.referral_id = r.id AND s.kind = 'call_attempt')::int AS "call_attempts!",
                  last.call_outcome AS "last_call_outcome?: CallOutcome", last.created_at AS "last_call_at?",
                  r.supervisor_staff_id, st.name AS "supervisor_name?"
             FROM referrals r
             JOIN partners pa ON pa.id = r.partner_id
             LEFT JOIN patient_persons pp ON pp.id = r.patient_person_id
             LEFT JOIN staff st ON st.id = r.supervisor_staff_id
             LEFT JOIN LATERAL (
                   SELECT s.call_outcome, s.created_at FROM consultation_screenings s
                    WHERE s.referral_id = r.id AND s.kind = 'call_attempt'
                    ORDER BY s.created_at DESC, s.id DESC LIMIT 1) last ON true
            WHERE r.declined_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM consultations c WHERE c.referral_id = r.id)
              AND ($1::int IS NULL OR pa.clinic_id = $1)
            ORDER BY r.deadline_at, r.received_at, r.id
            LIMIT 500"#,
        clinic,
    )
    .fetch_all(tx.conn())
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| ReferralToScreen {
            referral_id: r.id,
            patient_person_id: r.patient_person_id,
            patient_name: r.patient_name,
            partner_id: r.partner_id,
            partner_name: r.partner_name,
            received_at: r.received_at,
            deadline_at: r.deadline_at,
            // Not started, like a consultation waiting for pickup.
            deadline_status: deadline_status(Some(r.deadline_at), None, ConsultationState::ReadyForPickup, now),
            call_attempts: r.call_attempts,
            last_call_outcome: r.last_call_outcome,
            last_call_at: r.last_call_at,
            supervisor_staff_id: r.supervisor_staff_id,
            supervisor_name: r.supervisor_name,
        })
        .collect())
}

/// A field of the referral as the partner sent it, its value as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReferralField {
    pub name: String,
    pub value: String,
}

/// Fields of the payload the screening panel leaves out: the national id is not needed to screen,
/// and the phone number is shown with the patient.
const FIELDS_NOT_SHOWN: &[&str] = &["PID", "PhoneNumber", "source"];
/// The contract's fields (a partner's referral, then a therapist's), in the order the panel shows
/// them; any others follow by name.
const FIELDS_FIRST: &[&str] = &[
    "JournalGuid",
    "MessageTimestamp",
    "FormatId",
    "Firstname",
    "Lastname",
    "Email",
    "therapist_reference",
    "therapist_name",
    "therapist_organization",
    "reason",
];

/// The referral's own fields, decrypted from the stored payload, for the screening panel: the
/// contract's fields first, then whatever else the partner sent, without the national id and the
/// phone number.
pub async fn referral_fields(tx: &mut ClinicTx, vault: &Vault, referral_id: i32) -> Result<Vec<ReferralField>> {
    let payload = super::raw_payload(tx, vault, referral_id).await?;
    Ok(fields_of(&payload))
}

fn fields_of(payload: &Value) -> Vec<ReferralField> {
    let Some(map) = payload.as_object() else { return Vec::new() };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out: Vec<ReferralField> = FIELDS_FIRST
        .iter()
        .filter_map(|name| {
            map.get(*name).filter(|v| !v.is_null()).map(|v| ReferralField { name: name.to_string(), value: text(v) })
        })
        .collect();
    let mut rest: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, v)| !v.is_null() && !FIELDS_FIRST.contains(&k.as_str()) && !FIELDS_NOT_SHOWN.contains(&k.as_str()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    out.extend(rest.into_iter().map(|(k, v)| ReferralField { name: k.clone(), value: text(v) }));
    out
}

/// A secretary records a call attempt (`outcome`) or a note about a referral of their clinic. The
/// first screener of a referral becomes its supervisor.
pub async fn screen(
    tx: &mut ClinicTx,
    vault: &Vault,
    referral_id: i32,
    outcome: Option<CallOutcome>,
    note: Option<&str>,
) -> Result<ScreeningEntry> {
    tx.require(Capability::ScreenConsultation)?;
    let me = tx.staff()?.clone();
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if outcome.is_none() && note.is_none() {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "Record a call outcome or write a note."));
    }
    if note.is_some_and(|n| n.chars().count() > 5000) {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "A note is at most 5000 characters."));
    }
    let visible = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM referrals WHERE id = $1) AS "visible!""#, referral_id)
        .fetch_one(tx.conn())
        .await?;
    if !visible {
        return Err(Error::field(ErrorCode::NotFound, "referral_id", "The referral was not found."));
    }
    let sid = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('consultation_screenings', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let created_at = sqlx::query_scalar!(
        "INSERT INTO consultation_screenings (id, referral_id, staff_id, kind, call_outcome, note_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
        sid,
        referral_id,
        me.staff_id,
        if outcome.is_some() { "call_attempt" } else { "note" },
        outcome as Option<CallOutcome>,
        note.map(|n| vault.encrypt("consultation_screenings", "note_encrypted", i64::from(sid), n)).transpose()?,
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "UPDATE referrals SET supervisor_staff_id = $2 WHERE id = $1 AND supervisor_staff_id IS NULL",
        referral_id,
        me.staff_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(ScreeningEntry {
        id: sid,
        referral_id: Some(referral_id),
        consultation_id: None,
        staff_id: me.staff_id,
        staff_name: Some(me.name),
        call_outcome: outcome,
        note: note.map(str::to_string),
        created_at,
    })
}

/// The screening entries of a referral, oldest first, notes decrypted.
pub async fn screenings(tx: &mut ClinicTx, vault: &Vault, referral_id: i32) -> Result<Vec<ScreeningEntry>> {
    tx.require(Capability::ReadScreening)?;
    entries(tx, vault, Some(referral_id), None).await
}

/// The screening entries behind a consultation (those of its referral, and any written about the
/// consultation itself), oldest first, notes decrypted: what the doctor reads before calling.
pub async fn consultation_screenings(tx: &mut ClinicTx, vault: &Vault, consultation_id: i32) -> Result<Vec<ScreeningEntry>> {
    tx.require(Capability::ReadScreening)?;
    entries(tx, vault, None, Some(consultation_id)).await
}

async fn entries(
    tx: &mut ClinicTx,
    vault: &Vault,
    referral_id: Option<i32>,
    consultation_id: Option<i32>,
) -> Result<Vec<ScreeningEntry>> {
    let rows = sqlx::query!(
        r#"SELECT s.id, s.referral_id, s.consultation_id, s.staff_id, st.name AS "staff_name?",
                  s.call_outcome AS "call_outcome: CallOutcome", s.note_encrypted, s.created_at
             FROM consultation_screenings s
             LEFT JOIN staff st ON st.id = s.staff_id
            WHERE ($1::int IS NOT NULL AND s.referral_id = $1)
               OR ($2::int IS NOT NULL AND (s.consultation_id = $2
                   OR s.referral_id = (SELECT c.referral_id FROM consultations c WHERE c.id = $2)))
            ORDER BY s.created_at, s.id"#,
        referral_id,
        consultation_id,
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ScreeningEntry {
                id: r.id,
                referral_id: r.referral_id,
                consultation_id: r.consultation_id,
                staff_id: r.staff_id,
                staff_name: r.staff_name,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_panel_shows_the_referrals_fields_without_the_national_id_and_the_phone() {
        let payload = json!({
            "PhoneNumber": "+4712345678", "PID": "13916900281", "Lastname": "Danser", "Firstname": "Line",
            "JournalGuid": "g", "Urgency": {"level": 2}, "Email": null, "Attachment": "letter.pdf",
        });
        let shown: Vec<(String, String)> = fields_of(&payload).into_iter().map(|f| (f.name, f.value)).collect();
        let expected = [
            ("JournalGuid", "g"),
            ("Firstname", "Line"),
            ("Lastname", "Danser"),
            ("Attachment", "letter.pdf"),
            ("Urgency", r#"{"level":2}"#),
        ];
        assert_eq!(shown, expected.map(|(a, b)| (a.to_string(), b.to_string())));
        assert!(fields_of(&json!([1, 2])).is_empty());
    }

    #[test]
    fn call_outcomes_parse_by_their_names() {
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str(), "call").unwrap(), o);
        }
        assert_eq!(CallOutcome::parse("busy", "call").unwrap_err().field.as_deref(), Some("call"));
    }
}
