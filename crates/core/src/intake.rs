//! Every way a patient enters the clinic (`docs/entry-points.md`) other than the onboarding form and API
//! (`onboarding`) and partner referrals (`referrals`): a draft from an inbound referral fax and
//! its completion, therapist referrals, the patient app, booking requests from the app and the
//! web, and cold calls. Each one creates people only through `patients::create_person`, which
//! always issues the communication-preference token, and records its entry point on the
//! org-patient link.

use chrono::NaiveDate;
use digimed_domain::{NationalId, PersonName, Phone};
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{index_kind, Vault};
use crate::onboarding::{self, ensure_may_add_patients, OnboardInput};
use crate::patients::{create_person, link_patient, EntryPoint, NewPerson, PersonStatus};

/// What an entry point knows of the person.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IntakeInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub organization_id: Option<i64>,
    /// A lead of the organization to onboard (`docs/leads.md`), rather than a new person: only
    /// with the entry point `concierge_cold_call` and an e-mail address.
    #[serde(skip)]
    pub lead_person_id: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub patient_person_id: i32,
    pub patient_id: i32,
    pub user_id: Option<i32>,
    /// False when the person was already known (by national id or e-mail) and only linked.
    pub person_created: bool,
    pub entry_point: EntryPoint,
}

struct Parsed {
    name: PersonName,
    phone: Option<Phone>,
    national_id: Option<NationalId>,
    date_of_birth: Option<NaiveDate>,
    organization_id: i32,
}

fn parse(input: &IntakeInput, country: &str, draft: bool) -> Result<Parsed> {
    let name = PersonName::parse(input.name.as_deref().unwrap_or("")).map_err(|e| Error::refused("name", e.code(), e))?;
    let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(Phone::parse(p, country).map_err(|e| Error::refused("phone", e.code(), e))?),
        None => None,
    };
    let national_id = match input.national_id.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(NationalId::parse(n, false).map_err(|e| Error::refused("national_id", e.code(), e))?),
        None => None,
    };
    if !draft && phone.is_none() && national_id.is_none() {
        return Err(Error::field(ErrorCode::PhoneRequired, "phone", "A phone number or a national id is required."));
    }
    let organization_id =
        input.organization_id.and_then(|id| i32::try_from(id).ok()).filter(|id| *id > 0).ok_or_else(|| {
            Error::field(ErrorCode::OrganizationIdRequired, "organization_id", "An organization_id is required.")
        })?;
    Ok(Parsed { name, phone, national_id, date_of_birth: input.date_of_birth, organization_id })
}

/// Registers a patient arriving through a therapist referral, the patient app, a booking
/// request (app or web) or a cold call. With an e-mail address the person gets an account and
/// the full onboarding runs (with this entry point); without one, the person is
/// created (or, known by national id, linked) with the phone number or national id given.
pub async fn register(
    tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    entry_point: EntryPoint,
    input: &IntakeInput,
    default_phone_country: &str,
) -> Result<Registered> {
    register_then(tx, vault, accounts, entry_point, input, default_phone_country, async |_, _| Ok(()))
        .await
        .map(|(registered, ())| registered)
}

/// [`register`], then `then` with the registered patient in the same transaction before it
/// commits: what an entry point files besides the patient (a therapist's referral, the record
/// of a call) is kept together with the patient or not at all.
#[allow(clippy::too_many_arguments)]
pub async fn register_then<T>(
    mut tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    entry_point: EntryPoint,
    input: &IntakeInput,
    default_phone_country: &str,
    then: impl AsyncFnOnce(&mut ClinicTx, &Registered) -> Result<T>,
) -> Result<(Registered, T)> {
    use EntryPoint::*;
    tx.require(Capability::RegisterPatient)?;
    if !matches!(
        entry_point,
        TherapistReferral | PatientApp | BookingRequestApp | BookingRequestWeb | ColdCall | ConciergeColdCall
    ) {
        return Err(Error::invalid("entry_point", "This entry point has its own intake path."));
    }
    let has_email = input.email.as_deref().is_some_and(|e| !e.trim().is_empty());
    if input.lead_person_id.is_some() && entry_point != ConciergeColdCall {
        return Err(Error::invalid("entry_point", "Only the concierge converts a lead."));
    }
    if input.lead_person_id.is_some() && !has_email {
        return Err(Error::field(
            ErrorCode::EmailRequired,
            "email",
            "Converting a lead gives them an account: an e-mail address is required.",
        ));
    }
    if input.email.as_deref().is_some_and(|e| !e.trim().is_empty()) {
        let (done, more) = onboarding::onboard_then(
            tx,
            Capability::RegisterPatient,
            vault,
            accounts,
            &OnboardInput {
                name: input.name.clone(),
                email: input.email.clone(),
                phone: input.phone.clone(),
                organization_id: input.organization_id,
            },
            entry_point,
            input.lead_person_id,
            default_phone_country,
            async move |tx: &mut ClinicTx, done: &onboarding::Onboarded| then(tx, &onboarded(done, entry_point)).await,
        )
        .await?;
        return Ok((onboarded(&done, entry_point), more));
    }
    let p = parse(input, default_phone_country, false)?;
    let nid_index = p.national_id.as_ref().map(|n| vault.blind_index(index_kind::NATIONAL_ID, n.as_str()));
    let lock_key = match &nid_index {
        Some(ix) => format!("digimed.person.nid:{}", hex::encode(ix)),
        None => format!("digimed.person.new:{}", uuid::Uuid::new_v4()),
    };
    ensure_may_add_patients(&mut tx, Capability::RegisterPatient, p.organization_id, &lock_key).await?;
    let known = match &nid_index {
        Some(ix) => sqlx::query!(
            r#"SELECT m.patient_person_id AS "person_id!", l.user_id, l.existing_patient_id
                 FROM patient_match_candidates($1, NULL, NULL, NULL, NULL) m,
                      LATERAL person_for_linking(m.patient_person_id, $2) l"#,
            ix,
            p.organization_id,
        )
        .fetch_optional(tx.conn())
        .await?
        .map(|k| (k.person_id, k.user_id, k.existing_patient_id)),
        None => None,
    };
    let registered = match known {
        Some((person_id, _, Some(existing))) => {
            return Err(Error::new(ErrorCode::PatientAlreadyExists, "This person is already a patient of this organization")
                .with_details(serde_json::json!({"organization_id": p.organization_id, "existing_patient_id": existing, "patient_person_id": person_id})));
        }
        Some((person_id, user_id, None)) => {
            let patient_id = link_patient(&mut tx, person_id, p.organization_id, entry_point, false).await?;
            Registered { patient_person_id: person_id, patient_id, user_id, person_created: false, entry_point }
        }
        None => {
            let person_id = create_person(
                &mut tx,
                vault,
                NewPerson {
                    name: &p.name,
                    user_id: None,
                    date_of_birth: p.date_of_birth,
                    national_id: p.national_id.as_ref(),
                    phone: p.phone.as_ref(),
                    status: PersonStatus::Active,
                    source_partner_id: None,
                },
            )
            .await?;
            let patient_id = link_patient(&mut tx, person_id, p.organization_id, entry_point, true).await?;
            Registered { patient_person_id: person_id, patient_id, user_id: None, person_created: true, entry_point }
        }
    };
    let more = then(&mut tx, &registered).await?;
    tx.commit().await?;
    Ok((registered, more))
}

/// The patient an onboarding with an entry point registered.
fn onboarded(done: &onboarding::Onboarded, entry_point: EntryPoint) -> Registered {
    Registered {
        patient_person_id: done.patient_person_id,
        patient_id: done.patient.id,
        user_id: Some(done.user_id),
        person_created: done.person.profile.is_some(),
        entry_point,
    }
}

/// A draft patient from an inbound referral fax: creates the draft person (with token) and the
/// link, or updates an existing draft.
pub async fn save_fax_draft(
    tx: &mut ClinicTx,
    vault: &Vault,
    draft_person_id: Option<i32>,
    input: &IntakeInput,
    default_phone_country: &str,
) -> Result<Registered> {
    let p = parse(input, default_phone_country, true)?;
    let lock_key = match draft_person_id {
        Some(id) => format!("digimed.person:{id}"),
        None => format!("digimed.person.new:{}", uuid::Uuid::new_v4()),
    };
    ensure_may_add_patients(tx, Capability::RegisterPatient, p.organization_id, &lock_key).await?;
    let registered = match draft_person_id {
        None => {
            let person_id = create_person(
                tx,
                vault,
                NewPerson {
                    name: &p.name,
                    user_id: None,
                    date_of_birth: p.date_of_birth,
                    national_id: p.national_id.as_ref(),
                    phone: p.phone.as_ref(),
                    status: PersonStatus::Draft,
                    source_partner_id: None,
                },
            )
            .await?;
            let patient_id = link_patient(tx, person_id, p.organization_id, EntryPoint::InboundFax, true).await?;
            Registered {
                patient_person_id: person_id,
                patient_id,
                user_id: None,
                person_created: true,
                entry_point: EntryPoint::InboundFax,
            }
        }
        Some(id) => {
            let row = i64::from(id);
            let updated = sqlx::query!(
                "UPDATE patient_persons SET name = $2, updated_at = now() WHERE id = $1 AND status = 'draft'",
                id,
                p.name.as_str(),
            )
            .execute(tx.conn())
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(Error::not_found("The draft patient"));
            }
            // Only the fields given are set, each on its own: staff may write profile columns they
            // cannot read, so no statement reads the old value.
            if let Some(dob) = p.date_of_birth.or_else(|| p.national_id.as_ref().map(|n| n.birth_date())) {
                sqlx::query!("UPDATE patient_persons SET date_of_birth = $2 WHERE id = $1", id, dob).execute(tx.conn()).await?;
            }
            if let Some(ph) = &p.phone {
                sqlx::query!(
                    "UPDATE patient_persons SET phone_encrypted = $2, phone_index = $3 WHERE id = $1",
                    id,
                    vault.encrypt("patient_persons", "phone_encrypted", row, ph.as_str())?,
                    vault.blind_index(index_kind::PHONE, ph.as_str()),
                )
                .execute(tx.conn())
                .await?;
            }
            if let Some(n) = &p.national_id {
                sqlx::query!(
                    "UPDATE patient_persons SET national_id_encrypted = $2, national_id_index = $3 WHERE id = $1",
                    id,
                    vault.encrypt("patient_persons", "national_id_encrypted", row, n.as_str())?,
                    vault.blind_index(index_kind::NATIONAL_ID, n.as_str()),
                )
                .execute(tx.conn())
                .await?;
            }
            let patient_id = sqlx::query_scalar!(
                "SELECT id FROM patients WHERE patient_person_id = $1 AND organization_id = $2",
                id,
                p.organization_id,
            )
            .fetch_one(tx.conn())
            .await?;
            Registered {
                patient_person_id: id,
                patient_id,
                user_id: None,
                person_created: false,
                entry_point: EntryPoint::InboundFax,
            }
        }
    };
    Ok(registered)
}

/// Completes a fax draft once it has been checked: the person becomes active (the database
/// requires a phone number or national id by then).
pub async fn complete_fax_draft(tx: &mut ClinicTx, person_id: i32) -> Result<()> {
    tx.require(Capability::RegisterPatient)?;
    let n = sqlx::query!(
        "UPDATE patient_persons SET status = 'active', updated_at = now() WHERE id = $1 AND status = 'draft'",
        person_id
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::not_found("The draft patient"));
    }
    Ok(())
}
