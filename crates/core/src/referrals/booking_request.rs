//! A booking request the patient sends from the patient app, signed in as themselves
//! (`docs/patient-api.md`): a referral of the partner the clinic registered for its patient app,
//! filed the way partners' referrals are, so it waits in the secretaries' screening list with
//! the partner's deadline and is booked or declined like any other. Refused while the patient
//! has unsigned blocking forms, naming them; idempotent on the request id the app chooses.

use serde::Serialize;
use uuid::Uuid;

use super::{file, find_receipt, partner_by_name, Intake};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::patients::{ensure_patient_of, EntryPoint};

/// Longest message a patient may add to a booking request, in characters.
pub const MESSAGE_MAX_CHARS: usize = 1000;

/// A parsed booking request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRequest {
    /// Chosen by the app, once per request; a replay with the same id changes nothing.
    pub request_id: Uuid,
    /// What the patient wants to tell the screening secretary (kept encrypted with the referral).
    pub message: Option<String>,
}

impl BookingRequest {
    /// Parses the request's fields; an error names the field.
    pub fn parse(request_id: Option<&str>, message: Option<&str>) -> Result<BookingRequest> {
        let raw = request_id
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("request_id", "A request_id (a UUID the app chooses once per request) is required."))?;
        let request_id = Uuid::parse_str(raw).map_err(|_| Error::invalid("request_id", "request_id must be a UUID."))?;
        let message = message.map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
        if let Some(m) = &message {
            if m.chars().count() > MESSAGE_MAX_CHARS {
                return Err(Error::invalid("message", format!("The message may have at most {MESSAGE_MAX_CHARS} characters.")));
            }
            if m.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                return Err(Error::invalid("message", "The message contains control characters."));
            }
        }
        Ok(BookingRequest { request_id, message })
    }
}

/// A blocking form the patient has not signed yet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnsignedForm {
    pub form_id: i32,
    pub title: String,
}

/// Files the signed-in patient's booking request as a referral of the partner named
/// `partner_name` (the clinic's patient app partner). A replay of a request id returns the first
/// receipt and writes nothing. Refused with `forms_unsigned` (details `forms`: every unsigned
/// blocking form) while the patient has any; nothing is written then.
pub async fn request_booking(
    tx: &mut ClinicTx,
    vault: &Vault,
    partner_name: Option<&str>,
    request: &BookingRequest,
) -> Result<Intake> {
    tx.require(Capability::RequestBooking)?;
    let person_id = tx.patient_person()?;
    let partner_name = partner_name.map(str::trim).filter(|n| !n.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorCode::Configuration,
            "This service takes no booking requests: DIGIMED_BOOKING_PARTNER does not name the clinic's patient app partner.",
        )
    })?;
    let partner = partner_by_name(tx, partner_name)
        .await
        .map_err(|_| Error::new(ErrorCode::Configuration, "DIGIMED_BOOKING_PARTNER names no partner of this clinic database."))?;
    // Concurrent deliveries of one request wait here for each other.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("digimed:referral:{}:{}", partner.id, request.request_id),
    )
    .execute(tx.conn())
    .await?;
    if let Some(receipt) = find_receipt(tx, partner.id, request.request_id).await? {
        if receipt.patient_person_id != person_id {
            return Err(Error::invalid("request_id", "This request_id was used already; choose a new one."));
        }
        return Ok(Intake::Replayed(receipt));
    }
    let unsigned = sqlx::query_as!(
        UnsignedForm,
        "SELECT f.id AS form_id, t.title
           FROM forms f
           JOIN form_templates t ON t.id = f.template_id
           JOIN patients p ON p.id = f.patient_id
          WHERE p.patient_person_id = $1 AND f.blocking AND f.status = 'pending'
          ORDER BY f.id",
        person_id,
    )
    .fetch_all(tx.conn())
    .await?;
    if !unsigned.is_empty() {
        let titles: Vec<&str> = unsigned.iter().map(|f| f.title.as_str()).collect();
        return Err(Error::new(
            ErrorCode::FormsUnsigned,
            format!("Sign these forms before asking for a consultation: {}.", titles.join(", ")),
        )
        .with_details(serde_json::json!({ "forms": unsigned })));
    }
    ensure_patient_of(tx, person_id, partner.clinic_id, EntryPoint::BookingRequestApp, false).await?;
    let raw = serde_json::json!({
        "source": "patient_app",
        "request_id": request.request_id,
        "message": request.message,
    })
    .to_string();
    let filed = super::Filed { journal_guid: request.request_id, source_reference: None };
    let receipt = file(tx, vault, &partner, person_id, false, filed, None, None, &raw).await?;
    tracing::info!(partner_id = partner.id, referral_id = receipt.referral_id, "booking request received");
    Ok(Intake::Created(receipt))
}
