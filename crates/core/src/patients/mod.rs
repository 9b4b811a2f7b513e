//! Patient persons. The one way a patient person comes into being: every entry point (walk-in,
//! onboarding API, partner referral, inbound fax, therapist referral, booking requests, cold
//! calls) calls `create_person`, which always issues the communication-preference token; the
//! database refuses a person without one at commit. The patient card, as each role may see it
//! ([`card`]), and editing the portable profile ([`edit_profile`]); see `docs/patients.md`.

mod card;
mod profile;

pub use card::{card, CardConsultation, ContactDetails, HealthProfile, InsuranceEntryFields, PatientCard, Withheld};
pub use profile::{edit_profile, set_message_language, ProfileEdit, ProfileSaved};

use crate::clinic_tx::ClinicTx;
use crate::error::Result;
use crate::keys::{index_kind, Vault};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::NaiveDate;
use digimed_domain::{NationalId, PersonName, Phone};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// How a person came to the clinic (see `docs/entry-points.md`). Stored as its `as_str` code
/// (`entry_points.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EntryPoint {
    InboundFax,
    TherapistReferral,
    PatientApp,
    BookingRequestApp,
    BookingRequestWeb,
    ColdCall,
    ConciergeColdCall,
    WalkIn,
    OnboardingApi,
    PartnerReferral,
    ExistingPersonLink,
}

impl EntryPoint {
    pub const ALL: [EntryPoint; 11] = [
        EntryPoint::InboundFax,
        EntryPoint::TherapistReferral,
        EntryPoint::PatientApp,
        EntryPoint::BookingRequestApp,
        EntryPoint::BookingRequestWeb,
        EntryPoint::ColdCall,
        EntryPoint::ConciergeColdCall,
        EntryPoint::WalkIn,
        EntryPoint::OnboardingApi,
        EntryPoint::PartnerReferral,
        EntryPoint::ExistingPersonLink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryPoint::InboundFax => "inbound_fax",
            EntryPoint::TherapistReferral => "therapist_referral",
            EntryPoint::PatientApp => "patient_app",
            EntryPoint::BookingRequestApp => "booking_request_app",
            EntryPoint::BookingRequestWeb => "booking_request_web",
            EntryPoint::ColdCall => "cold_call",
            EntryPoint::ConciergeColdCall => "concierge_cold_call",
            EntryPoint::WalkIn => "walk_in",
            EntryPoint::OnboardingApi => "onboarding_api",
            EntryPoint::PartnerReferral => "partner_referral",
            EntryPoint::ExistingPersonLink => "existing_person_link",
        }
    }
}

/// Whether a person's record is complete or a draft (an inbound fax before it is checked), or a
/// draft discarded from the fax inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum PersonStatus {
    Draft,
    Active,
    Discarded,
}

/// What is known of a new person. Values are already parsed domain types.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    pub name: &'a PersonName,
    pub user_id: Option<i32>,
    pub date_of_birth: Option<NaiveDate>,
    pub national_id: Option<&'a NationalId>,
    pub phone: Option<&'a Phone>,
    pub status: PersonStatus,
    /// Set when the person came from a referral partner: no marketing.
    pub source_partner_id: Option<i32>,
}

/// Creates the patient person and their communication-preference token, in the caller's
/// transaction. Sensitive fields are encrypted and bound to the new row's id.
pub async fn create_person(tx: &mut ClinicTx, vault: &Vault, p: NewPerson<'_>) -> Result<i32> {
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('patient_persons', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let row = i64::from(id);
    let date_of_birth = p.date_of_birth.or_else(|| p.national_id.map(|n| n.birth_date()));
    let (nid_ct, nid_ix) = match p.national_id {
        Some(n) => (
            Some(vault.encrypt("patient_persons", "national_id_encrypted", row, n.as_str())?),
            Some(vault.blind_index(index_kind::NATIONAL_ID, n.as_str())),
        ),
        None => (None, None),
    };
    let (phone_ct, phone_ix) = match p.phone {
        Some(ph) => (
            Some(vault.encrypt("patient_persons", "phone_encrypted", row, ph.as_str())?),
            Some(vault.blind_index(index_kind::PHONE, ph.as_str())),
        ),
        None => (None, None),
    };
    // No RETURNING: a staff member may not read the new person back until they are linked to
    // the staff member's organization.
    sqlx::query!(
        "WITH person AS (
             INSERT INTO patient_persons (id, user_id, name, date_of_birth, national_id_encrypted, national_id_index,
                                          phone_encrypted, phone_index, status, source_partner_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10))
         INSERT INTO communication_preference_tokens (patient_person_id, token) VALUES ($1, $11)",
        id,
        p.user_id,
        p.name.as_str(),
        date_of_birth,
        nid_ct,
        nid_ix,
        phone_ct,
        phone_ix,
        p.status as PersonStatus,
        p.source_partner_id,
        new_token(),
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Links a person to an organization as its patient, recording how they came.
pub async fn link_patient(
    tx: &mut ClinicTx,
    person_id: i32,
    organization_id: i32,
    entry_point: EntryPoint,
    profile_origin: bool,
) -> Result<i32> {
    let id = sqlx::query_scalar!(
        "INSERT INTO patients (patient_person_id, organization_id, entry_point, profile_origin)
         VALUES ($1, $2, $3, $4) RETURNING id",
        person_id,
        organization_id,
        entry_point as EntryPoint,
        profile_origin,
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(id)
}

/// Whether a person is a patient of an organization.
pub async fn is_patient_of(tx: &mut ClinicTx, person_id: i32, organization_id: i32) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM patients WHERE patient_person_id = $1 AND organization_id = $2) AS "linked!""#,
        person_id,
        organization_id,
    )
    .fetch_one(tx.conn())
    .await?)
}

/// Links a person to an organization as its patient unless they are one already ([`link_patient`]).
pub async fn ensure_patient_of(
    tx: &mut ClinicTx,
    person_id: i32,
    organization_id: i32,
    entry_point: EntryPoint,
    profile_origin: bool,
) -> Result<()> {
    if !is_patient_of(tx, person_id, organization_id).await? {
        link_patient(tx, person_id, organization_id, entry_point, profile_origin).await?;
    }
    Ok(())
}

/// A random, URL-safe token of 256 bits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}
