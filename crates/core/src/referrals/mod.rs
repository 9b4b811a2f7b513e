//! Partner referrals (see `docs/referrals.md`): a partner such as Pridok posts a signed JSON
//! referral; the clinic fetches or creates the patient and keeps the raw payload encrypted. The
//! referral then waits in the secretaries' screening list until it is booked (its consultation
//! enters the doctors' queue) or declined. [`receive`] is the one intake path, used by the webhook
//! route and by `digimed referral import`.

mod booking_request;
mod decision;
mod partners;
mod pridok;
mod screening;
mod therapist;

pub use booking_request::{request_booking, BookingRequest};
pub use decision::{book, decline, BookingChoice, DeclinedReferral};
pub use partners::{
    add_partner, authenticate, create_partner, generate_webhook_secret, list_partners, partner_by_name, set_book_on_arrival,
    CreatedPartner, NewPartner, Partner, PartnerInput, PartnerOption,
};
pub use pridok::PridokReferral;
pub use screening::{
    consultation_screenings, referral_fields, screen, screening_list, screenings, CallOutcome, ReferralField, ReferralToScreen,
    ScreeningEntry,
};
pub use therapist::{receive_from_therapist, TherapistReferral};

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{index_kind, Vault};
use crate::patients::{create_person, ensure_patient_of, EntryPoint, NewPerson, PersonStatus};

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// In the screening list: neither booked nor declined yet.
    AwaitingScreening,
    /// Its consultation was created (after screening, or on arrival).
    Booked,
    Declined,
}

/// The answer to a referral: for the first delivery and every replay, where it stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReferralReceipt {
    pub referral_id: i32,
    /// Its consultation, once booked.
    pub consultation_id: Option<i32>,
    pub patient_person_id: i32,
    pub status: ReferralStatus,
}

/// Whether a referral was new (HTTP 201) or a replay of one already received (HTTP 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    Created(ReferralReceipt),
    Replayed(ReferralReceipt),
}

impl Intake {
    pub fn receipt(&self) -> ReferralReceipt {
        match self {
            Intake::Created(r) | Intake::Replayed(r) => *r,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, Intake::Created(_))
    }
}

/// Receives one referral from `partner`: validates the body (nothing is written when a field is
/// invalid), then fetches or creates the person by national id, links them to the partner's
/// clinic, stores the raw payload encrypted with its contractual deadline (counted from now), and
/// queues an outbox event. The referral then awaits screening; only a partner that books on
/// arrival has its consultation (ready for pickup), order and line item created at once.
/// Idempotent on (partner, JournalGuid): a replay, concurrent or not, writes nothing and returns
/// the referral's receipt as it stands.
pub async fn receive(tx: &mut ClinicTx, vault: &Vault, partner: &Partner, body: &[u8]) -> Result<Intake> {
    tx.require(Capability::ReceiveReferral)?;
    if tx.clinic().is_some_and(|mine| mine != partner.clinic_id) {
        return Err(Error::forbidden("You can only import referrals of your own clinic's partners."));
    }
    let referral = PridokReferral::parse(body, partner.is_test_partner)?;
    let raw = std::str::from_utf8(body).map_err(|_| Error::new(ErrorCode::InvalidJson, "The body must be UTF-8 JSON."))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A savepoint, so that losing a race (below) undoes only this attempt.
        sqlx::query!("SAVEPOINT referral_intake").execute(tx.conn()).await?;
        match receive_once(tx, vault, partner, &referral, raw).await {
            Ok(intake) => {
                sqlx::query!("RELEASE SAVEPOINT referral_intake").execute(tx.conn()).await?;
                if intake.is_new() {
                    tracing::info!(partner_id = partner.id, referral_id = intake.receipt().referral_id, "referral received");
                }
                return Ok(intake);
            }
            // A person created at the same moment by another path (unique national id index):
            // try again, and find them this time.
            Err(e) if e.code == ErrorCode::AlreadyExists && attempt < 3 => {
                sqlx::query!("ROLLBACK TO SAVEPOINT referral_intake").execute(tx.conn()).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn receive_once(tx: &mut ClinicTx, vault: &Vault, partner: &Partner, r: &PridokReferral, raw: &str) -> Result<Intake> {
    // Concurrent deliveries of one referral wait here for each other.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("digimed:referral:{}:{}", partner.id, r.journal_guid),
    )
    .execute(tx.conn())
    .await?;
    if let Some(receipt) = find_receipt(tx, partner.id, r.journal_guid).await? {
        return Ok(Intake::Replayed(receipt));
    }

    let nid_index = vault.blind_index(index_kind::NATIONAL_ID, r.national_id.as_str());
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", format!("digimed:person:{}", hex::encode(&nid_index)),)
        .execute(tx.conn())
        .await?;
    let existing = sqlx::query_scalar!("SELECT person_id_by_national_id_index($1)", nid_index).fetch_one(tx.conn()).await?;
    let (person_id, new_person) = match existing {
        Some(id) => (id, false),
        None => {
            let id = create_person(
                tx,
                vault,
                NewPerson {
                    name: &r.name,
                    user_id: None,
                    date_of_birth: None,
                    national_id: Some(&r.national_id),
                    phone: Some(&r.phone),
                    status: PersonStatus::Active,
                    source_partner_id: Some(partner.id),
                },
            )
            .await?;
            (id, true)
        }
    };
    ensure_patient_of(tx, person_id, partner.clinic_id, EntryPoint::PartnerReferral, new_person).await?;

    let filed = Filed { journal_guid: r.journal_guid, source_reference: None };
    let receipt =
        file(tx, vault, partner, person_id, new_person, filed, r.format_id.as_deref(), Some(r.message_timestamp), raw).await?;
    Ok(Intake::Created(receipt))
}

/// Files a referral of `partner` for a person already linked to its clinic: the raw payload
/// encrypted, its deadline (the database counts the partner's working days from now), the
/// consultation at once for a partner that books on arrival, and the event `referral.received`.
/// The one way a referral is written, for partners' and therapists' referrals and patients'
/// booking requests.
#[allow(clippy::too_many_arguments)]
async fn file(
    tx: &mut ClinicTx,
    vault: &Vault,
    partner: &Partner,
    person_id: i32,
    new_person: bool,
    filed: Filed<'_>,
    format_id: Option<&str>,
    message_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    raw: &str,
) -> Result<ReferralReceipt> {
    let referral_id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('referrals', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    sqlx::query!(
        "INSERT INTO referrals (id, partner_id, journal_guid, patient_person_id, format_id, message_timestamp, payload_encrypted,
                                source_reference)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        referral_id,
        partner.id,
        filed.journal_guid,
        person_id,
        format_id,
        message_timestamp,
        vault.encrypt("referrals", "payload_encrypted", i64::from(referral_id), raw)?,
        filed.source_reference,
    )
    .execute(tx.conn())
    .await?;

    let consultation_id =
        if partner.book_on_arrival { Some(decision::book_on_arrival(tx, referral_id, partner, person_id).await?) } else { None };
    let receipt = ReferralReceipt {
        referral_id,
        consultation_id,
        patient_person_id: person_id,
        status: if consultation_id.is_some() { ReferralStatus::Booked } else { ReferralStatus::AwaitingScreening },
    };
    crate::outbox::enqueue(
        tx,
        "referral.received",
        Some(partner.clinic_id),
        &serde_json::json!({
            "referral_id": referral_id,
            "consultation_id": consultation_id,
            "status": receipt.status,
            "patient_person_id": person_id,
            "partner_id": partner.id,
            "patient_created": new_person,
        }),
    )
    .await?;
    Ok(receipt)
}

/// How the sender names a referral: the journal's id (a UUID), and for a therapist's referral
/// also the therapist's own reference, the one the referral is found by again.
#[derive(Debug, Clone, Copy)]
struct Filed<'a> {
    journal_guid: Uuid,
    source_reference: Option<&'a str>,
}

async fn find_receipt(tx: &mut ClinicTx, partner_id: i32, guid: Uuid) -> Result<Option<ReferralReceipt>> {
    find_receipt_where(tx, partner_id, Some(guid), None).await
}

async fn find_receipt_by_reference(tx: &mut ClinicTx, partner_id: i32, reference: &str) -> Result<Option<ReferralReceipt>> {
    find_receipt_where(tx, partner_id, None, Some(reference)).await
}

async fn find_receipt_where(
    tx: &mut ClinicTx,
    partner_id: i32,
    guid: Option<Uuid>,
    reference: Option<&str>,
) -> Result<Option<ReferralReceipt>> {
    let row = sqlx::query!(
        r#"SELECT r.id, c.id AS "consultation_id?", r.patient_person_id, r.declined_at IS NOT NULL AS "declined!"
             FROM referrals r LEFT JOIN consultations c ON c.referral_id = r.id
            WHERE r.partner_id = $1 AND (r.journal_guid = $2 OR r.source_reference = $3)"#,
        partner_id,
        guid,
        reference,
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| ReferralReceipt {
        referral_id: r.id,
        consultation_id: r.consultation_id,
        patient_person_id: r.patient_person_id,
        status: match (r.consultation_id, r.declined) {
            (Some(_), _) => ReferralStatus::Booked,
            (None, true) => ReferralStatus::Declined,
            (None, false) => ReferralStatus::AwaitingScreening,
        },
    }))
}

/// Decrypts the stored raw payload of a referral (for the screening secretary; the screening
/// panel shows it through [`referral_fields`]).
pub async fn raw_payload(tx: &mut ClinicTx, vault: &Vault, referral_id: i32) -> Result<Value> {
    tx.require(Capability::ReadReferralPayload)?;
    let ct = sqlx::query_scalar!("SELECT payload_encrypted FROM referrals WHERE id = $1", referral_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("The referral"))?;
    let text = vault.decrypt("referrals", "payload_encrypted", i64::from(referral_id), &ct)?;
    serde_json::from_str(&text).map_err(|_| Error::internal("The stored referral payload is not JSON."))
}
