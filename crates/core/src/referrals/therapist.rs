//! A therapist refers a patient (`docs/entry-points.md`): the therapist's system, registered as
//! a partner of the clinic, sends the patient and the reason. The patient is registered through
//! the one intake path (`intake::register`, entry point `therapist_referral`), and the referral is
//! filed as one of the partner's, so it waits in the secretaries' screening list. Both happen in
//! one transaction. The therapist's own reference names the referral: sent again, it changes
//! nothing and answers the first receipt.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{file, find_receipt_by_reference, Filed, Intake, Partner};
use crate::accounts::Accounts;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::intake::{self, IntakeInput, Registered};
use crate::keys::Vault;
use crate::patients::EntryPoint;

/// Longest therapist reference, in characters (the database holds the same bound).
pub const REFERENCE_MAX_CHARS: usize = 100;
/// Longest therapist name or organisation, in characters.
pub const THERAPIST_MAX_CHARS: usize = 200;
/// Longest reason for the referral, in characters.
pub const REASON_MAX_CHARS: usize = 2000;

/// A therapist's referral, parsed. The patient's own fields are checked by the intake path.
#[derive(Debug, Clone)]
pub struct TherapistReferral {
    /// The referral's id in the therapist's own system.
    pub reference: String,
    pub therapist_name: String,
    pub therapist_organization: Option<String>,
    /// Why the therapist refers the patient (kept encrypted with the referral).
    pub reason: String,
    /// The patient and the clinic (`organization_id`).
    pub patient: IntakeInput,
}

/// The fields of the request body.
pub const FIELDS: &[&str] = &[
    "therapist_reference",
    "therapist_name",
    "therapist_organization",
    "reason",
    "organization_id",
    "name",
    "phone",
    "national_id",
    "email",
    "date_of_birth",
];

fn text(obj: &Map<String, Value>, field: &str, max_chars: usize, multiline: bool) -> Result<Option<String>> {
    let s = match obj.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(Error::invalid(field, format!("{field} must be a string."))),
    };
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("{field} may have at most {max_chars} characters.")));
    }
    if s.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(Error::invalid(field, format!("{field} contains control characters.")));
    }
    Ok(Some(s.to_string()))
}

fn required(value: Option<String>, field: &str) -> Result<String> {
    value.ok_or_else(|| Error::invalid(field, format!("{field} is required.")))
}

impl TherapistReferral {
    /// Parses the request body. An error names the field; a field the request does not take is
    /// refused, so a misspelt one is not silently dropped.
    pub fn parse(body: &[u8]) -> Result<TherapistReferral> {
        let obj = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err(Error::new(ErrorCode::InvalidJson, "The body must be a JSON object.")),
        };
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let nameable = !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let field = if nameable { k.as_str() } else { "body" };
            return Err(Error::invalid(
                field,
                format!("{field} is not a field of this request (it takes {}).", FIELDS.join(", ")),
            ));
        }
        let reference = required(text(&obj, "therapist_reference", REFERENCE_MAX_CHARS, false)?, "therapist_reference")?;
        let therapist_name = required(text(&obj, "therapist_name", THERAPIST_MAX_CHARS, false)?, "therapist_name")?;
        let therapist_organization = text(&obj, "therapist_organization", THERAPIST_MAX_CHARS, false)?;
        let reason = required(text(&obj, "reason", REASON_MAX_CHARS, true)?, "reason")?;
        let organization_id = match obj.get("organization_id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => return Err(Error::invalid("organization_id", "organization_id must be an integer id.")),
        };
        let date_of_birth = match text(&obj, "date_of_birth", 10, false)? {
            None => None,
            Some(d) => Some(
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| Error::invalid("date_of_birth", "date_of_birth must be a date (YYYY-MM-DD)."))?,
            ),
        };
        let patient = IntakeInput {
            name: text(&obj, "name", 400, false)?,
            email: text(&obj, "email", 400, false)?,
            phone: text(&obj, "phone", 100, false)?,
            national_id: text(&obj, "national_id", 100, false)?,
            date_of_birth,
            organization_id,
            lead_person_id: None,
        };
        Ok(TherapistReferral { reference, therapist_name, therapist_organization, reason, patient })
    }
}

/// Receives a therapist's referral sent by `partner`: registers the patient at the partner's
/// clinic through [`intake::register_then`] (entry point `therapist_referral`) and files the
/// referral, awaiting screening, in the same transaction, which it commits. The referral's body
/// as kept (encrypted) holds the therapist and the reason, not the patient's contact details.
/// Idempotent on (partner, therapist reference): a replay, concurrent or not, writes nothing and
/// returns the referral's receipt as it stands. The clinic (`organization_id`) must be the
/// partner's own (`forbidden` otherwise).
pub async fn receive_from_therapist(
    mut tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    partner: &Partner,
    referral: &TherapistReferral,
    default_phone_country: &str,
) -> Result<Intake> {
    tx.require(Capability::ReceiveReferral)?;
    tx.require(Capability::RegisterPatient)?;
    if tx.clinic().is_some_and(|mine| mine != partner.clinic_id) {
        return Err(Error::forbidden("You can only file referrals of your own clinic's partners."));
    }
    let org = referral
        .patient
        .organization_id
        .ok_or_else(|| Error::field(ErrorCode::OrganizationIdRequired, "organization_id", "An organization_id is required."))?;
    if org != i64::from(partner.clinic_id) {
        return Err(Error::forbidden("A partner refers patients only to its own clinic."));
    }
    // Concurrent deliveries of one referral wait here for each other.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("digimed:referral:{}:reference:{}", partner.id, referral.reference),
    )
    .execute(tx.conn())
    .await?;
    if let Some(receipt) = find_receipt_by_reference(&mut tx, partner.id, &referral.reference).await? {
        tx.commit().await?;
        return Ok(Intake::Replayed(receipt));
    }
    let raw = serde_json::json!({
        "source": "therapist",
        "therapist_reference": referral.reference,
        "therapist_name": referral.therapist_name,
        "therapist_organization": referral.therapist_organization,
        "reason": referral.reason,
    })
    .to_string();
    let (_, receipt) = intake::register_then(
        tx,
        vault,
        accounts,
        EntryPoint::TherapistReferral,
        &referral.patient,
        default_phone_country,
        async |tx: &mut ClinicTx, registered: &Registered| {
            let filed = Filed { journal_guid: Uuid::new_v4(), source_reference: Some(&referral.reference) };
            file(tx, vault, partner, registered.patient_person_id, registered.person_created, filed, None, None, &raw).await
        },
    )
    .await?;
    tracing::info!(partner_id = partner.id, referral_id = receipt.referral_id, "therapist referral received");
    Ok(Intake::Created(receipt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn a_complete_body_parses() {
        let r = TherapistReferral::parse(&body(serde_json::json!({
            "therapist_reference": " T-1 ", "therapist_name": "Kari", "reason": "Sleep\nproblems",
            "organization_id": 3, "name": "Ola", "phone": "+4791234567", "date_of_birth": "1990-02-03"
        })))
        .unwrap();
        assert_eq!(r.reference, "T-1");
        assert_eq!(r.patient.organization_id, Some(3));
        assert_eq!(r.patient.date_of_birth, NaiveDate::from_ymd_opt(1990, 2, 3));
    }

    #[test]
    fn errors_name_their_field() {
        let base = serde_json::json!({"therapist_reference": "T-1", "therapist_name": "Kari", "reason": "r"});
        let cases = [
            ("therapist_reference", serde_json::json!(null)),
            ("therapist_name", serde_json::json!("")),
            ("reason", serde_json::json!(5)),
            ("organization_id", serde_json::json!("3")),
            ("date_of_birth", serde_json::json!("03.02.1990")),
            ("therapist_reference", serde_json::json!("x".repeat(REFERENCE_MAX_CHARS + 1))),
        ];
        for (field, value) in cases {
            let mut v = base.clone();
            v[field] = value;
            assert_eq!(TherapistReferral::parse(&body(v)).unwrap_err().field.as_deref(), Some(field));
        }
        let mut v = base.clone();
        v["patient_phone"] = serde_json::json!("1");
        assert_eq!(TherapistReferral::parse(&body(v)).unwrap_err().field.as_deref(), Some("patient_phone"));
    }
}
