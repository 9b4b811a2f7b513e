//! The patient app, signed in as the patient (see `docs/patient-api.md`): which person a Clerk
//! account is, the patient's own consultations, and registering the patient of a new app account
//! (Clerk's `user.created`). The patient's consent forms are in
//! [`crate::forms`] (`list_own`, and `text`, `sign`, `decline`, `withdraw` acting for the
//! patient).
//!
//! The service acts for a patient with [`Acting::Patient`](crate::clinic_tx::Acting::Patient):
//! as its own login, with the database narrowed to the person's own rows (migration
//! `*_patient_acting.sql`), so neither the core nor a query can reach another patient's records.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::accounts::Accounts;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::intake::{self, IntakeInput};
use crate::keys::Vault;
use crate::patients::EntryPoint;

/// The person (`patient_persons.id`) whose login account is this Clerk user, if any. The service
/// asks this, as itself, when a session token has verified.
pub async fn person_for_clerk_user(tx: &mut ClinicTx, clerk_user_id: &str) -> Result<Option<i32>> {
    tx.require(Capability::AuthenticateCallers)?;
    Ok(sqlx::query_scalar!(
        "SELECT pp.id FROM users u JOIN patient_persons pp ON pp.user_id = u.id
          WHERE u.clerk_user_id = $1 AND u.account_directory = 'clerk'
          ORDER BY pp.id LIMIT 1",
        clerk_user_id,
    )
    .fetch_optional(tx.conn())
    .await?)
}

/// One of the patient's consultations as the patient app shows it: where it stands and its
/// times, never its clinical result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnConsultation {
    pub consultation_id: i32,
    pub organization_id: i32,
    /// `ready_for_pickup`, `pending_sp`, `in_progress`, `completed`, `cancelled`, ...
    pub state: String,
    pub category: String,
    pub primary_channel: String,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The consultations of the patient signed in to the patient app, newest first.
pub async fn own_consultations(tx: &mut ClinicTx) -> Result<Vec<OwnConsultation>> {
    tx.require(Capability::ReadOwnConsultations)?;
    let person_id = tx.patient_person()?;
    Ok(sqlx::query_as!(
        OwnConsultation,
        "SELECT id AS consultation_id, organization_id, state, category, primary_channel, created_at, deadline_at,
                starts_at, ends_at, cancelled_at
           FROM consultations WHERE patient_person_id = $1 ORDER BY created_at DESC, id DESC",
        person_id,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// What Clerk's `user.created` event says of a new patient app account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkUserCreated {
    pub clerk_user_id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

impl ClerkUserCreated {
    /// Reads Clerk's event body (`{"type", "data": {"id", "first_name", "last_name",
    /// "email_addresses": [{"id", "email_address"}], "primary_email_address_id",
    /// "phone_numbers": [{"id", "phone_number"}], "primary_phone_number_id"}}`). `Ok(None)` for
    /// another event type; an error names the field (`data.id`, `data.email_addresses`, ...).
    pub fn parse(body: &[u8]) -> Result<Option<ClerkUserCreated>> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| Error::new(ErrorCode::InvalidJson, "The body is not valid JSON."))?;
        let kind = v.get("type").and_then(|t| t.as_str()).ok_or_else(|| Error::invalid("type", "type must be a string."))?;
        if kind != "user.created" {
            return Ok(None);
        }
        let data = v.get("data").filter(|d| d.is_object()).ok_or_else(|| Error::invalid("data", "data must be an object."))?;
        let text = |field: &str| data.get(field).and_then(|x| x.as_str()).map(str::trim).filter(|s| !s.is_empty());
        let clerk_user_id = text("id")
            .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .ok_or_else(|| Error::invalid("data.id", "data.id must be a Clerk user id."))?
            .to_string();
        let primary = |list: &str, primary_field: &str, value: &str| -> Result<Option<String>> {
            let entries = match data.get(list) {
                None | Some(serde_json::Value::Null) => return Ok(None),
                Some(serde_json::Value::Array(a)) => a,
                Some(_) => return Err(Error::invalid(&format!("data.{list}"), format!("data.{list} must be a list."))),
            };
            let wanted = text(primary_field);
            let chosen = entries
                .iter()
                .find(|e| wanted.is_some() && e.get("id").and_then(|i| i.as_str()) == wanted)
                .or_else(|| entries.first());
            Ok(chosen.and_then(|e| e.get(value)).and_then(|x| x.as_str()).map(str::to_string))
        };
        let email = primary("email_addresses", "primary_email_address_id", "email_address")?.ok_or_else(|| {
            Error::invalid("data.email_addresses", "data.email_addresses must hold the account's e-mail address.")
        })?;
        let phone = primary("phone_numbers", "primary_phone_number_id", "phone_number")?;
        let name = [text("first_name"), text("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(Error::invalid("data.first_name", "data.first_name or data.last_name must name the patient."));
        }
        Ok(Some(ClerkUserCreated { clerk_user_id, name, email, phone }))
    }
}

/// The person a patient app account is, after Clerk's `user.created`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppAccount {
    pub patient_person_id: i32,
    pub clerk_user_id: String,
    /// False when the account was known already (a replay, or a patient onboarded earlier).
    pub created: bool,
}

/// Registers the patient of a new patient app account (Clerk's `user.created`) through the one
/// intake path ([`crate::intake::register`], entry point `patient_app`): account link, person with
/// its communication-preference token, link to the clinic of the patient app's partner
/// (`booking_partner`), forms and event, in one transaction. An account already linked to a person
/// changes nothing (replays are answered with the person).
pub async fn account_created(
    mut tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    booking_partner: Option<&str>,
    user: &ClerkUserCreated,
    default_phone_country: &str,
) -> Result<AppAccount> {
    tx.require(Capability::RegisterPatient)?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", format!("digimed:clerk-user:{}", user.clerk_user_id),)
        .execute(tx.conn())
        .await?;
    if let Some(person) = person_for_clerk_user(&mut tx, &user.clerk_user_id).await? {
        tx.commit().await?;
        return Ok(AppAccount { patient_person_id: person, clerk_user_id: user.clerk_user_id.clone(), created: false });
    }
    let partner_name = booking_partner.map(str::trim).filter(|n| !n.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorCode::Configuration,
            "DIGIMED_BOOKING_PARTNER does not name the patient app's partner, whose clinic new app patients join.",
        )
    })?;
    let partner = crate::referrals::partner_by_name(&mut tx, partner_name)
        .await
        .map_err(|_| Error::new(ErrorCode::Configuration, "DIGIMED_BOOKING_PARTNER names no partner of this clinic database."))?;
    // Onboarding finds the account by its e-mail address: it must be this very account, or the
    // person would be linked to another one (or a second account made).
    if !matches!(accounts, Accounts::Clerk(_)) {
        return Err(Error::new(
            ErrorCode::Configuration,
            "Clerk's webhooks need CLERK_SECRET_KEY: accounts are kept locally here.",
        ));
    }
    match accounts.find(&user.email).await? {
        Some(found) if found == user.clerk_user_id => {}
        Some(_) => {
            return Err(Error::field(
                ErrorCode::AlreadyExists,
                "data.email_addresses",
                "The account's e-mail address belongs to another Clerk account; nothing was saved.",
            ))
        }
        None => {
            return Err(Error::new(
                ErrorCode::ClerkApiError,
                "Clerk does not list the account's e-mail address yet; nothing was saved, try again.",
            )
            .retryable())
        }
    }
    let input = IntakeInput {
        name: Some(user.name.clone()),
        email: Some(user.email.clone()),
        phone: user.phone.clone(),
        national_id: None,
        date_of_birth: None,
        organization_id: Some(i64::from(partner.clinic_id)),
        lead_person_id: None,
    };
    let registered = intake::register(tx, vault, accounts, EntryPoint::PatientApp, &input, default_phone_country).await.map_err(
        |e| match e.field.as_deref() {
            // Name the field as Clerk's event does.
            Some("phone") => Error { field: Some("data.phone_numbers".into()), ..e },
            Some("email") => Error { field: Some("data.email_addresses".into()), ..e },
            Some("name") => Error { field: Some("data.first_name".into()), ..e },
            _ => e,
        },
    )?;
    Ok(AppAccount { patient_person_id: registered.patient_person_id, clerk_user_id: user.clerk_user_id.clone(), created: true })
}
