//! The fax inbox (`docs/fax-inbox.md`): a physician's referral fax, from the fax provider's
//! webhook to a support agent's decision. The clinic's fax provider (Telnyx Programmable Fax)
//! sends a `fax.received` event for every fax received, signed with the account's Ed25519 key;
//! the service downloads the fax's PDF from the event's `media_url` and [`receive`] keeps it,
//! encrypted, with a draft patient made through the one fax intake path
//! (`intake::save_fax_draft`, entry point `inbound_fax`). A fax is filed once by the provider's
//! fax id, however often it is sent. Support agents and admins see the faxes waiting
//! ([`inbox`]), read one ([`open`], recorded in the audit log like every decrypted read), and
//! complete its draft into a patient ([`complete`]) or discard it with a reason ([`discard`]).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use digimed_domain::Phone;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::intake::{self, IntakeInput};
use crate::keys::{index_kind, Vault};
use crate::onboarding::ensure_may_add_patients;

/// The header Telnyx puts its Ed25519 signature in (base64).
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// The header with the time Telnyx signed the delivery (seconds since the epoch).
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// How far a delivery's signing time may be from now, either way, in seconds.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;
/// The event of a fax received.
pub const FAX_RECEIVED: &str = "fax.received";
/// The largest fax PDF kept, in bytes.
pub const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;
/// The name a draft gets until a support agent has read the patient's name on the fax.
pub const PLACEHOLDER_NAME: &str = "Name not yet read from the fax";
/// The longest discard reason, in characters (the database holds the same bound).
pub const MAX_REASON_CHARS: usize = 500;

const TABLE: &str = "inbound_faxes";

/// The account's public key for webhook signatures, as Telnyx shows it (base64 of the 32-byte
/// Ed25519 key).
#[derive(Clone, Debug)]
pub struct TelnyxKey([u8; 32]);

impl TelnyxKey {
    /// The key as configured (`TELNYX_PUBLIC_KEY`); anything but base64 of 32 bytes is refused.
    pub fn new(key: &str) -> Result<TelnyxKey> {
        let refused = || {
            Error::field(
                ErrorCode::Configuration,
                "TELNYX_PUBLIC_KEY",
                "TELNYX_PUBLIC_KEY must be the account's public key for webhooks, base64 of 32 bytes.",
            )
        };
        let bytes = B64.decode(key.trim()).map_err(|_| refused())?;
        Ok(TelnyxKey(bytes.try_into().map_err(|_| refused())?))
    }

    /// Checks a delivery's signature: Ed25519 over `{timestamp}|{raw body}`, with a timestamp
    /// within [`TIMESTAMP_TOLERANCE_SECONDS`] of `now`. A missing, stale or wrong one is
    /// `unauthorized`, naming the header.
    pub fn verify(&self, signature: Option<&str>, timestamp: Option<&str>, body: &[u8], now: DateTime<Utc>) -> Result<()> {
        let refused = |header: &str, message: &str| Error::field(ErrorCode::Unauthorized, header, message);
        let timestamp = timestamp
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused(TIMESTAMP_HEADER, "The telnyx-timestamp header is missing."))?;
        let signed_at =
            timestamp.parse::<i64>().map_err(|_| refused(TIMESTAMP_HEADER, "The telnyx-timestamp header is not a time."))?;
        if (now.timestamp() - signed_at).abs() > TIMESTAMP_TOLERANCE_SECONDS {
            return Err(refused(TIMESTAMP_HEADER, "The delivery was signed too long ago (or ahead of time)."));
        }
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| refused(SIGNATURE_HEADER, "The telnyx-signature-ed25519 header is missing."))?;
        let signature = B64
            .decode(signature)
            .map_err(|_| refused(SIGNATURE_HEADER, "The telnyx-signature-ed25519 header does not match."))?;
        let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
        signed.extend_from_slice(timestamp.as_bytes());
        signed.push(b'|');
        signed.extend_from_slice(body);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.0)
            .verify(&signed, &signature)
            .map_err(|_| refused(SIGNATURE_HEADER, "The telnyx-signature-ed25519 header does not match."))
    }
}

/// A webhook delivery, parsed: a fax received, or another fax event (queued, sending, media
/// processing, ...), which the clinic does not act on.
#[derive(Debug, Clone)]
pub enum FaxEvent {
    Received(ReceivedFax),
    Other { event_type: String },
}

/// A `fax.received` event.
#[derive(Debug, Clone)]
pub struct ReceivedFax {
    /// The provider's id of the fax (`data.payload.fax_id`).
    pub fax_id: String,
    /// The sender's number as the provider gives it (checked when received).
    pub from: String,
    /// Where the provider keeps the fax's PDF.
    pub media_url: String,
    pub page_count: Option<i32>,
    /// When the provider received it (`data.occurred_at`).
    pub occurred_at: Option<DateTime<Utc>>,
}

impl FaxEvent {
    /// Parses the webhook's JSON body (`{"data": {"event_type", "id", "occurred_at", "payload":
    /// {...}}, "meta": {...}}`). Fields it does not use are ignored; an error names the field by
    /// its path.
    pub fn parse(body: &[u8]) -> Result<FaxEvent> {
        let root = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err(Error::new(ErrorCode::InvalidJson, "The body must be a JSON object.")),
        };
        let data = match root.get("data") {
            Some(Value::Object(d)) => d,
            _ => return Err(Error::invalid("data", "data (the event) must be an object.")),
        };
        let string = |obj: &serde_json::Map<String, Value>, path: &str, key: &str| -> Result<Option<String>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(_) => Err(Error::invalid(path, format!("{path} must be a string."))),
            }
        };
        let event_type = string(data, "data.event_type", "event_type")?
            .ok_or_else(|| Error::invalid("data.event_type", "data.event_type is required."))?;
        if event_type != FAX_RECEIVED {
            return Ok(FaxEvent::Other { event_type });
        }
        let occurred_at = match string(data, "data.occurred_at", "occurred_at")? {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| Error::invalid("data.occurred_at", "data.occurred_at must be a time (ISO 8601)."))?
                    .with_timezone(&Utc),
            ),
        };
        let payload = match data.get("payload") {
            Some(Value::Object(p)) => p,
            _ => return Err(Error::invalid("data.payload", "data.payload (the fax) must be an object.")),
        };
        let fax_id = string(payload, "data.payload.fax_id", "fax_id")?
            .ok_or_else(|| Error::invalid("data.payload.fax_id", "data.payload.fax_id is required."))?;
        if fax_id.chars().count() > 100 || fax_id.chars().any(char::is_control) {
            return Err(Error::invalid("data.payload.fax_id", "data.payload.fax_id is not a fax id."));
        }
        if let Some(direction) = string(payload, "data.payload.direction", "direction")? {
            if direction != "inbound" {
                return Err(Error::invalid("data.payload.direction", "A received fax is inbound."));
            }
        }
        let from = string(payload, "data.payload.from", "from")?
            .ok_or_else(|| Error::invalid("data.payload.from", "data.payload.from (the sender's number) is required."))?;
        let media_url = string(payload, "data.payload.media_url", "media_url")?
            .ok_or_else(|| Error::invalid("data.payload.media_url", "data.payload.media_url is required."))?;
        match url::Url::parse(&media_url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
            _ => return Err(Error::invalid("data.payload.media_url", "data.payload.media_url must be an http(s) address.")),
        }
        let page_count = match payload.get("page_count") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => {
                Some(n.as_i64().and_then(|n| i32::try_from(n).ok()).filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    Error::invalid("data.payload.page_count", "data.payload.page_count must be a number of pages.")
                })?)
            }
            Some(_) => {
                return Err(Error::invalid("data.payload.page_count", "data.payload.page_count must be a number of pages."))
            }
        };
        Ok(FaxEvent::Received(ReceivedFax { fax_id, from, media_url, page_count, occurred_at }))
    }
}

/// Downloads a fax's PDF from the provider's `media_url`: an answer of 200 with a PDF of at most
/// [`MAX_PDF_BYTES`]. The provider unreachable or failing is `fax_media_unavailable` (retryable:
/// the provider delivers the event again); an answer that is not a PDF names `data.payload.media_url`.
pub async fn download_pdf(client: &reqwest::Client, media_url: &str) -> Result<Vec<u8>> {
    let unavailable =
        || Error::new(ErrorCode::FaxMediaUnavailable, "The fax's PDF could not be downloaded from the fax provider.").retryable();
    let mut resp = client.get(media_url).send().await.map_err(|_| unavailable())?;
    if !resp.status().is_success() {
        return Err(unavailable());
    }
    if resp.content_length().is_some_and(|n| n > MAX_PDF_BYTES as u64) {
        return Err(too_large());
    }
    let mut pdf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| unavailable())? {
        if pdf.len() + chunk.len() > MAX_PDF_BYTES {
            return Err(too_large());
        }
        pdf.extend_from_slice(&chunk);
    }
    check_pdf(&pdf)?;
    Ok(pdf)
}

fn too_large() -> Error {
    Error::invalid("data.payload.media_url", format!("The fax's PDF is larger than {} MiB.", MAX_PDF_BYTES / (1024 * 1024)))
}

/// A PDF (it starts with the `%PDF-` header) of at most [`MAX_PDF_BYTES`].
pub fn check_pdf(pdf: &[u8]) -> Result<()> {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(too_large());
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(Error::invalid("data.payload.media_url", "The fax's media is not a PDF."));
    }
    Ok(())
}

/// What became of a `fax.received` event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaxReceipt {
    pub fax_id: String,
    /// The fax's row in the inbox (`inbound_faxes.id`).
    pub inbox_id: i32,
    /// The draft patient made from it.
    pub patient_person_id: i32,
    /// False when the fax had been filed already, and nothing was written.
    #[serde(skip)]
    pub new: bool,
}

/// Files a fax received for the clinic `organization_id`: a draft patient (named
/// [`PLACEHOLDER_NAME`] until someone reads the fax) through `intake::save_fax_draft`, and the
/// fax with its PDF and the sender's number, encrypted. `pdf` fetches the PDF; it is called only
/// for a fax not filed yet. Everything in this transaction, which it commits. A fax id filed
/// already writes nothing and answers what was filed.
pub async fn receive(
    mut tx: ClinicTx,
    vault: &Vault,
    organization_id: i32,
    fax: &ReceivedFax,
    default_phone_country: &str,
    pdf: impl AsyncFnOnce() -> Result<Vec<u8>>,
) -> Result<FaxReceipt> {
    tx.require(Capability::ReceiveFaxes)?;
    let sender = Phone::parse(&fax.from, default_phone_country).map_err(|e| Error::refused("data.payload.from", e.code(), e))?;
    // Deliveries of one fax take turns here, and the clinic must be one.
    ensure_may_add_patients(&mut tx, Capability::RegisterPatient, organization_id, &format!("digimed:fax:{}", fax.fax_id))
        .await?;
    let filed = sqlx::query!("SELECT id, patient_person_id FROM inbound_faxes WHERE fax_id = $1", fax.fax_id)
        .fetch_optional(tx.conn())
        .await?;
    if let Some(f) = filed {
        tx.commit().await?;
        return Ok(FaxReceipt { fax_id: fax.fax_id.clone(), inbox_id: f.id, patient_person_id: f.patient_person_id, new: false });
    }
    let pdf = pdf().await?;
    check_pdf(&pdf)?;
    let draft = intake::save_fax_draft(
        &mut tx,
        vault,
        None,
        &IntakeInput {
            name: Some(PLACEHOLDER_NAME.to_string()),
            organization_id: Some(i64::from(organization_id)),
            ..IntakeInput::default()
        },
        default_phone_country,
    )
    .await?;
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('inbound_faxes', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let row = i64::from(id);
    sqlx::query!(
        "INSERT INTO inbound_faxes (id, fax_id, organization_id, patient_person_id, sender_phone_encrypted, sender_phone_index,
                                    page_count, pdf_encrypted, pdf_bytes, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))",
        id,
        fax.fax_id,
        organization_id,
        draft.patient_person_id,
        vault.encrypt(TABLE, "sender_phone_encrypted", row, sender.as_str())?,
        vault.blind_index(index_kind::PHONE, sender.as_str()),
        fax.page_count,
        vault.encrypt_bytes(TABLE, "pdf_encrypted", row, &pdf)?,
        i32::try_from(pdf.len()).map_err(|_| too_large())?,
        fax.occurred_at,
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(FaxReceipt { fax_id: fax.fax_id.clone(), inbox_id: id, patient_person_id: draft.patient_person_id, new: true })
}

/// The draft's name, unless it is still the placeholder (which the console words in its own
/// language).
fn read_name(name: String) -> Option<String> {
    (name != PLACEHOLDER_NAME).then_some(name)
}

/// A fax waiting in the inbox.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InboxFax {
    /// The fax's row (`inbound_faxes.id`).
    pub id: i32,
    /// The draft patient made from it.
    pub patient_person_id: i32,
    /// The draft's name as saved so far; none while nobody has read it from the fax.
    pub draft_name: Option<String>,
    /// The sender's number, all but its first and last digits hidden.
    pub sender: String,
    pub page_count: Option<i32>,
    pub received_at: DateTime<Utc>,
}

/// The faxes of the staff member's clinic waiting in the inbox, newest first. Each sender's
/// number is decrypted (to be masked) through the audited `inbound_fax_read_as`.
pub async fn inbox(tx: &mut ClinicTx, vault: &Vault) -> Result<Vec<InboxFax>> {
    tx.require(Capability::WorkFaxInbox)?;
    let rows = sqlx::query!(
        r#"SELECT f.id, f.patient_person_id, pp.name AS "name!", f.page_count, f.received_at, r.sender_phone_encrypted AS "sender!"
             FROM inbound_faxes f
             JOIN patient_persons pp ON pp.id = f.patient_person_id
             CROSS JOIN LATERAL inbound_fax_read_as(f.id, current_user::text, false) r
            WHERE f.state = 'waiting'
            ORDER BY f.received_at DESC, f.id DESC"#
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            let sender = vault.decrypt(TABLE, "sender_phone_encrypted", i64::from(r.id), &r.sender)?;
            Ok(InboxFax {
                id: r.id,
                patient_person_id: r.patient_person_id,
                draft_name: read_name(r.name),
                sender: masked_phone(&sender),
                page_count: r.page_count,
                received_at: r.received_at,
            })
        })
        .collect()
}

/// One fax, to read: its PDF (base64) and the sender's number, masked.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FaxDocument {
    pub id: i32,
    pub patient_person_id: i32,
    /// The draft's name as saved so far; none while nobody has read it from the fax.
    pub draft_name: Option<String>,
    pub sender: String,
    pub page_count: Option<i32>,
    pub received_at: DateTime<Utc>,
    /// `waiting`, `completed` or `discarded`.
    pub state: String,
    pub discard_reason: Option<String>,
    /// The PDF, base64.
    pub pdf_base64: String,
}

/// Opens fax `id` of the staff member's clinic: the PDF and the sender's number are read through
/// `inbound_fax_read_as`, which records the read in the audit log.
pub async fn open(tx: &mut ClinicTx, vault: &Vault, id: i32) -> Result<FaxDocument> {
    tx.require(Capability::WorkFaxInbox)?;
    let r = sqlx::query!(
        r#"SELECT f.id, f.patient_person_id, pp.name AS "name!", f.page_count, f.received_at, f.state, f.discard_reason,
                  r.sender_phone_encrypted AS "sender!", r.pdf_encrypted AS "pdf!"
             FROM inbound_faxes f
             JOIN patient_persons pp ON pp.id = f.patient_person_id
             CROSS JOIN LATERAL inbound_fax_read_as(f.id, current_user::text, true) r
            WHERE f.id = $1"#,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The fax"))?;
    let row = i64::from(r.id);
    let sender = vault.decrypt(TABLE, "sender_phone_encrypted", row, &r.sender)?;
    let pdf = vault.decrypt_bytes(TABLE, "pdf_encrypted", row, &r.pdf)?;
    Ok(FaxDocument {
        id: r.id,
        patient_person_id: r.patient_person_id,
        draft_name: read_name(r.name),
        sender: masked_phone(&sender),
        page_count: r.page_count,
        received_at: r.received_at,
        state: r.state,
        discard_reason: r.discard_reason,
        pdf_base64: B64.encode(pdf),
    })
}

/// What a support agent reads on the fax to complete its draft.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FaxCompletion {
    pub name: String,
    pub phone: Option<String>,
    pub national_id: Option<String>,
}

/// Completes fax `id`'s draft into a patient: the name, phone number and national id read on the
/// fax are saved (`intake::save_fax_draft`), the person becomes active
/// (`intake::complete_fax_draft`; a phone number or a national id is required) and the fax leaves
/// the inbox, in the staff member's name.
pub async fn complete(
    tx: &mut ClinicTx,
    vault: &Vault,
    id: i32,
    input: &FaxCompletion,
    default_phone_country: &str,
) -> Result<()> {
    tx.require(Capability::WorkFaxInbox)?;
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&input.phone) && blank(&input.national_id) {
        return Err(Error::field(
            ErrorCode::PhoneRequired,
            "phone",
            "A phone number or a national id is required to make the draft a patient.",
        ));
    }
    let fax = waiting(tx, id).await?;
    intake::save_fax_draft(
        tx,
        vault,
        Some(fax.patient_person_id),
        &IntakeInput {
            name: Some(input.name.clone()),
            phone: input.phone.clone(),
            national_id: input.national_id.clone(),
            organization_id: Some(i64::from(fax.organization_id)),
            ..IntakeInput::default()
        },
        default_phone_country,
    )
    .await?;
    intake::complete_fax_draft(tx, fax.patient_person_id).await?;
    sqlx::query!(
        "UPDATE inbound_faxes SET state = 'completed', decided_at = now(), decided_by = current_staff_id() WHERE id = $1",
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Discards fax `id`'s draft, with the reason (kept with the fax, which stays stored): the draft
/// person is discarded and the fax leaves the inbox, in the staff member's name.
pub async fn discard(tx: &mut ClinicTx, id: i32, reason: &str) -> Result<()> {
    tx.require(Capability::WorkFaxInbox)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "Write why the fax is discarded."));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::invalid("reason", format!("Keep the reason within {MAX_REASON_CHARS} characters.")));
    }
    let fax = waiting(tx, id).await?;
    sqlx::query!("UPDATE patient_persons SET status = 'discarded', updated_at = now() WHERE id = $1", fax.patient_person_id)
        .execute(tx.conn())
        .await?;
    sqlx::query!(
        "UPDATE inbound_faxes SET state = 'discarded', discard_reason = $2, decided_at = now(), decided_by = current_staff_id()
          WHERE id = $1",
        id,
        reason,
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

struct Waiting {
    organization_id: i32,
    patient_person_id: i32,
}

/// Fax `id` of the staff member's clinic, locked, still waiting in the inbox.
async fn waiting(tx: &mut ClinicTx, id: i32) -> Result<Waiting> {
    let f = sqlx::query!("SELECT organization_id, patient_person_id, state FROM inbound_faxes WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("The fax"))?;
    if f.state != "waiting" {
        return Err(Error::new(ErrorCode::InvalidStateTransition, "This fax has left the inbox already."));
    }
    Ok(Waiting { organization_id: f.organization_id, patient_person_id: f.patient_person_id })
}

/// A phone number with all but its first three and last three characters hidden.
pub fn masked_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 6 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head} {} {tail}", "•".repeat(chars.len() - 6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;

    fn pair() -> ring::signature::Ed25519KeyPair {
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_signature_is_ed25519_over_the_timestamp_a_bar_and_the_body() {
        let pair = pair();
        let key = TelnyxKey::new(&B64.encode(pair.public_key().as_ref())).unwrap();
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"data":{}}"#;
        let sig = B64.encode(pair.sign(&[ts.as_bytes(), b"|", body].concat()).as_ref());
        assert!(key.verify(Some(&sig), Some(&ts), body, now).is_ok());
        assert_eq!(key.verify(Some(&sig), Some(&ts), b"{}", now).unwrap_err().field.as_deref(), Some(SIGNATURE_HEADER));
        assert!(key.verify(None, Some(&ts), body, now).is_err());
        assert_eq!(key.verify(Some(&sig), None, body, now).unwrap_err().field.as_deref(), Some(TIMESTAMP_HEADER));
        let later = now + chrono::Duration::seconds(TIMESTAMP_TOLERANCE_SECONDS + 1);
        assert_eq!(key.verify(Some(&sig), Some(&ts), body, later).unwrap_err().field.as_deref(), Some(TIMESTAMP_HEADER));
        assert!(TelnyxKey::new("not a key").is_err());
        assert!(TelnyxKey::new(&B64.encode([1u8; 31])).is_err());
    }

    #[test]
    fn a_received_fax_parses_and_errors_name_their_field() {
        let body = br#"{"data":{"event_type":"fax.received","id":"e1","occurred_at":"2026-12-01T10:00:00Z","record_type":"event",
            "payload":{"fax_id":"f-1","direction":"inbound","from":"+4722334455","to":"+4721000000",
            "media_url":"https://example.org/f.pdf","page_count":2,"status":"received"}},"meta":{"attempt":1}}"#;
        let FaxEvent::Received(f) = FaxEvent::parse(body).unwrap() else { panic!("a fax received") };
        assert_eq!((f.fax_id.as_str(), f.from.as_str(), f.page_count), ("f-1", "+4722334455", Some(2)));
        assert!(matches!(
            FaxEvent::parse(br#"{"data":{"event_type":"fax.media.processing.started","payload":{}}}"#).unwrap(),
            FaxEvent::Other { .. }
        ));
        for (body, field) in [
            (&br#"{"meta":{}}"#[..], "data"),
            (br#"{"data":{"payload":{}}}"#, "data.event_type"),
            (br#"{"data":{"event_type":"fax.received"}}"#, "data.payload"),
            (br#"{"data":{"event_type":"fax.received","payload":{"from":"+4722334455","media_url":"https://e.org/f"}}}"#, "data.payload.fax_id"),
            (br#"{"data":{"event_type":"fax.received","payload":{"fax_id":"f","media_url":"https://e.org/f"}}}"#, "data.payload.from"),
            (br#"{"data":{"event_type":"fax.received","payload":{"fax_id":"f","from":"+4722334455"}}}"#, "data.payload.media_url"),
            (br#"{"data":{"event_type":"fax.received","payload":{"fax_id":"f","from":"+4722334455","media_url":"file:///etc/passwd"}}}"#, "data.payload.media_url"),
            (br#"{"data":{"event_type":"fax.received","payload":{"fax_id":"f","from":"+4722334455","media_url":"https://e.org/f","page_count":"2"}}}"#, "data.payload.page_count"),
        ] {
            assert_eq!(FaxEvent::parse(body).unwrap_err().field.as_deref(), Some(field), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn only_a_pdf_is_kept_and_numbers_are_masked() {
        assert!(check_pdf(b"%PDF-1.4\n...").is_ok());
        assert_eq!(check_pdf(b"<html>").unwrap_err().field.as_deref(), Some("data.payload.media_url"));
        assert_eq!(masked_phone("+4722334455"), "+47 ••••• 455");
        assert_eq!(masked_phone("+4712"), "•••••");
    }
}
