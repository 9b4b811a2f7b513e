//! Patient onboarding (`docs/onboarding.md`), once, for every face: the console's walk-in form, the
//! `digimed onboard` command and `POST /v1/patients/onboard`. Also regular creation
//! (`POST /v1/patients`: link an existing person to the caller's organization) and the duplicate
//! check a support agent runs before creating a person.
//!
//! Everything is written in one transaction acting as the calling staff member, so the
//! database's grants and row-level security apply. The only step outside the database is the
//! Clerk account: when Clerk created it and the transaction then fails, the account is deleted
//! again, so no orphan account is left.

use chrono::{DateTime, NaiveDate, Utc};
use digimed_domain::{Email, NationalId, PersonName, Phone};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::accounts::Accounts;
use crate::automation::{self, RequiredForm};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::drafts::{self, DraftKind};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{index_kind, Vault};
use crate::outbox;
use crate::patients::{create_person, EntryPoint, NewPerson, PersonStatus};

/// The onboarding request as received. Every field is optional here so that a
/// missing one gets its own error code rather than a generic parse error.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OnboardInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organization_id: Option<i64>,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct OnboardRequest {
    pub name: PersonName,
    pub email: Email,
    pub phone: Phone,
    pub organization_id: i32,
}

/// Checks the request in the contract's order: name, e-mail, phone, organization. The phone is
/// normalised to E.164 (numbers without a country code get `default_phone_country`).
pub fn validate(input: &OnboardInput, default_phone_country: &str) -> Result<OnboardRequest> {
    let name = PersonName::parse(input.name.as_deref().unwrap_or("")).map_err(|e| Error::refused("name", e.code(), e))?;
    let email = Email::parse(input.email.as_deref().unwrap_or("")).map_err(|e| Error::refused("email", e.code(), e))?;
    let phone = Phone::parse(input.phone.as_deref().unwrap_or(""), default_phone_country)
        .map_err(|e| Error::refused("phone", e.code(), e))?;
    let organization_id = match input.organization_id {
        None => {
            return Err(Error::field(ErrorCode::OrganizationIdRequired, "organization_id", "An organization_id is required."))
        }
        Some(id) => i32::try_from(id)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Error::field(ErrorCode::InvalidInput, "organization_id", "The organization_id is not a valid id."))?,
    };
    Ok(OnboardRequest { name, email, phone, organization_id })
}

/// The org-patient link as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PatientLink {
    pub id: i32,
    pub patient_person_id: i32,
    pub profile_shared: bool,
    pub organization_id: i32,
    #[serde(serialize_with = "seconds")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "seconds")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub updated_at: DateTime<Utc>,
}

/// The portable profile, as far as the caller's organization may see it: the name always, the
/// rest only where the profile is visible (origin organization, or profile sharing signed).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PersonView {
    pub id: i32,
    pub user_id: Option<i32>,
    pub name: String,
    #[serde(flatten)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Profile {
    pub date_of_birth: Option<NaiveDate>,
    pub blood_type: Option<String>,
    pub allergies: Vec<String>,
    pub chronic_conditions: Vec<String>,
    /// Free-form insurance details as the patient app stores them (not shown by the console).
    #[cfg_attr(feature = "specta", specta(skip))]
    pub insurance_entries: serde_json::Value,
}

/// The onboarding response's `data`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Onboarded {
    pub user_id: i32,
    pub patient_person_id: i32,
    pub patient: PatientLink,
    pub person: PersonView,
    pub user_created: bool,
    pub organization_added: bool,
    pub required_forms: Vec<RequiredForm>,
}

fn seconds<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Checks that the actor may add patients to `organization_id` with `capability` (staff only to
/// their own clinic), and that it is a clinic. The same statement takes the transaction's
/// advisory lock on `lock_key`, so that requests about the same person take turns. Used by every
/// way a patient is added (onboarding, linking, the entry points).
pub(crate) async fn ensure_may_add_patients(
    tx: &mut ClinicTx,
    capability: Capability,
    organization_id: i32,
    lock_key: &str,
) -> Result<()> {
    tx.require(capability)?;
    if tx.clinic().is_some_and(|mine| mine != organization_id) {
        return Err(Error::forbidden("You can only add patients to your own organization."));
    }
    let org_exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1 AND kind = 'clinic') AS "exists!"
             FROM (SELECT pg_advisory_xact_lock(hashtextextended($2, 0))) AS locked"#,
        organization_id,
        lock_key,
    )
    .fetch_one(tx.conn())
    .await?;
    if !org_exists {
        return Err(Error::field(ErrorCode::NotFound, "organization_id", "There is no clinic with this organization_id."));
    }
    Ok(())
}

/// Onboards a patient (`docs/onboarding.md`, steps 1–8) and returns the response's `data`.
/// Takes the transaction and commits it: an account this call created in the directory (Clerk)
/// is deleted again if the transaction does not commit.
pub async fn onboard(
    tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    input: &OnboardInput,
    entry_point: EntryPoint,
    default_phone_country: &str,
) -> Result<Onboarded> {
    onboard_as(tx, Capability::OnboardPatient, vault, accounts, input, entry_point, default_phone_country).await
}

/// [`onboard`], for an actor who has `capability` (the entry points register patients with
/// [`Capability::RegisterPatient`], which the service has too).
pub(crate) async fn onboard_as(
    tx: ClinicTx,
    capability: Capability,
    vault: &Vault,
    accounts: &Accounts,
    input: &OnboardInput,
    entry_point: EntryPoint,
    default_phone_country: &str,
) -> Result<Onboarded> {
    onboard_then(tx, capability, vault, accounts, input, entry_point, None, default_phone_country, async |_, _| Ok(()))
        .await
        .map(|(done, ())| done)
}

/// [`onboard_as`], then `then` in the same transaction before it commits (an entry point that
/// files more than the patient, such as a therapist's referral): if `then` fails, nothing of the
/// onboarding is kept either.
///
/// With `lead`, the person is that lead of the organization (a cold-call caller without an
/// account, `docs/leads.md`): no person is created; the lead gets the account, their link's entry
/// point becomes `entry_point`, and the forms and event follow as for anyone onboarded.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn onboard_then<T>(
    mut tx: ClinicTx,
    capability: Capability,
    vault: &Vault,
    accounts: &Accounts,
    input: &OnboardInput,
    entry_point: EntryPoint,
    lead: Option<i32>,
    default_phone_country: &str,
    then: impl AsyncFnOnce(&mut ClinicTx, &Onboarded) -> Result<T>,
) -> Result<(Onboarded, T)> {
    tx.require(capability)?;
    let req = validate(input, default_phone_country)?;
    // Set only when this call created an account in the directory: undone if we fail, and also
    // if the caller goes away (the future is dropped) before the transaction committed.
    let mut pending = PendingAccount { accounts: accounts.clone(), pool: tx.pool().clone(), id: None };
    let mut outcome = onboard_in(&mut tx, capability, vault, accounts, &req, entry_point, lead, &mut pending.id).await;
    // The staff member's own half-filled form is done with once the patient is onboarded from
    // the console (an API call onboards someone else; converting a lead is not that form).
    if outcome.is_ok() && !tx.through_service() && lead.is_none() {
        if let Err(e) = drafts::discard_own(&mut tx, DraftKind::Onboarding, 0).await {
            outcome = Err(e);
        }
    }
    let outcome = match outcome {
        Ok(done) => match then(&mut tx, &done).await {
            Ok(more) => Ok((done, more)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok(done) => tx.commit().await.map(|_| done),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    };
    let created = pending.id.take();
    if outcome.is_err() {
        if let Some(id) = created {
            compensate(accounts, &id).await;
        }
    }
    outcome.map_err(|e| conflict_on_race(e, &req))
}

/// An account created in the directory whose onboarding has not finished. If it is dropped
/// while still holding the id (the onboarding future was cancelled), it checks, a moment later,
/// whether the transaction committed after all, and deletes the account if not.
struct PendingAccount {
    accounts: Accounts,
    pool: PgPool,
    id: Option<String>,
}

impl Drop for PendingAccount {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                directory = self.accounts.kind(),
                "an onboarding was abandoned after creating an account; remove it by hand"
            );
            return;
        };
        let (accounts, pool) = (self.accounts.clone(), self.pool.clone());
        runtime.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let kept = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users WHERE clerk_user_id = $1) AS "kept!""#, id)
                .fetch_one(&pool)
                .await;
            match kept {
                Ok(true) => {}
                Ok(false) => compensate(&accounts, &id).await,
                Err(_) => tracing::error!(
                    directory = accounts.kind(),
                    "an onboarding was abandoned after creating an account and the database could not be asked; check it by hand"
                ),
            }
        });
    }
}

async fn compensate(accounts: &Accounts, id: &str) {
    match accounts.delete(id).await {
        Ok(()) => tracing::info!(directory = accounts.kind(), "account created for a failed onboarding was deleted again"),
        Err(_) => tracing::error!(
            directory = accounts.kind(),
            "an account created for a failed onboarding could not be deleted; remove it by hand"
        ),
    }
}

fn already_exists(req: &OnboardRequest, existing_patient_id: Option<i32>) -> Error {
    Error::new(ErrorCode::PatientAlreadyExists, "Patient with this email already exists in this organization").with_details(
        serde_json::json!({
            "email": req.email.as_str(),
            "organization_id": req.organization_id,
            "existing_patient_id": existing_patient_id,
        }),
    )
}

/// A unique violation on the org-patient link means another request linked the same person at
/// the same moment: report it as the conflict it is, in the words of the onboarding contract.
fn conflict_on_race(e: Error, req: &OnboardRequest) -> Error {
    if e.code == ErrorCode::PatientAlreadyExists && e.details.is_none() {
        already_exists(req, None)
    } else {
        e
    }
}

#[allow(clippy::too_many_arguments)]
async fn onboard_in(
    tx: &mut ClinicTx,
    capability: Capability,
    vault: &Vault,
    accounts: &Accounts,
    req: &OnboardRequest,
    entry_point: EntryPoint,
    lead: Option<i32>,
    created_account: &mut Option<String>,
) -> Result<Onboarded> {
    let org = req.organization_id;
    // Onboardings of one e-mail address take turns; different addresses do not wait.
    ensure_may_add_patients(tx, capability, org, &format!("digimed.onboard:{}", req.email.as_str())).await?;
    let existing = sqlx::query!(
        r#"SELECT user_id AS "user_id!", patient_person_id, person_name, existing_patient_id
             FROM onboarding_lookup($1, $2)"#,
        req.email.as_str(),
        org,
    )
    .fetch_optional(tx.conn())
    .await?;

    // Everything is read and decided before the first write, so the writing part is short.
    let (user, person) = match existing {
        Some(e) if e.patient_person_id.is_some() && e.existing_patient_id.is_some() => {
            return Err(already_exists(req, e.existing_patient_id));
        }
        // A lead is a person of their own: an address whose account is another person's is refused.
        Some(e) if lead.is_some() && e.patient_person_id.is_some() => {
            return Err(Error::field(
                ErrorCode::AlreadyExists,
                "email",
                "This e-mail address belongs to another patient's account; the lead needs an address of their own.",
            ));
        }
        Some(e) => (Ok(e.user_id), e.patient_person_id.map(|id| (id, e.person_name.unwrap_or_default()))),
        None => {
            let found = accounts.find(req.email.as_str()).await?;
            let (external_id, created) = match found {
                Some(id) => (Some(id), false),
                None => {
                    let id = accounts.create(req.email.as_str(), &req.name).await?;
                    if let Some(id) = &id {
                        *created_account = Some(id.clone());
                    }
                    (id, true)
                }
            };
            (Err((external_id, created)), None)
        }
    };
    if let Some(lead) = lead {
        return convert_lead_in(tx, req, lead, entry_point, user, accounts).await;
    }
    let person_is_new = person.is_none();
    let plan = automation::plan_patient_onboarded(tx, org, person_is_new).await?;

    let (user_id, user_created) = insert_user(tx, req, user, accounts).await?;

    let person = match person {
        // Known at another organization: this one sees the name until profile sharing is signed.
        Some((id, name)) => PersonView { id, user_id: Some(user_id), name, profile: None },
        None => {
            let id = create_person(
                tx,
                vault,
                NewPerson {
                    name: &req.name,
                    user_id: Some(user_id),
                    date_of_birth: None,
                    national_id: None,
                    phone: Some(&req.phone),
                    status: PersonStatus::Active,
                    source_partner_id: None,
                },
            )
            .await?;
            // The organization where a person is first registered sees the whole (new, empty) profile.
            PersonView {
                id,
                user_id: Some(user_id),
                name: req.name.as_str().to_string(),
                profile: Some(Profile {
                    date_of_birth: None,
                    blood_type: None,
                    allergies: Vec::new(),
                    chronic_conditions: Vec::new(),
                    insurance_entries: serde_json::json!([]),
                }),
            }
        }
    };

    let (patient, organization_added) =
        insert_link_and_membership(tx, person.id, Some(user_id), org, entry_point, person_is_new).await?;
    let required_forms = automation::create_forms(tx, &plan, patient.id).await?;
    record_and_announce(tx, &patient, user_id, user_created, plan.welcome_email).await?;
    automation::queue_messages(tx, &plan, &required_forms, patient.patient_person_id, org).await?;
    Ok(Onboarded { user_id, patient_person_id: person.id, patient, person, user_created, organization_added, required_forms })
}

/// The user the onboarding found (`Ok`), or a new one for the account in the directory (`Err`:
/// its external id, and whether this onboarding created it). Answers the id and whether the
/// account is new.
async fn insert_user(
    tx: &mut ClinicTx,
    req: &OnboardRequest,
    user: std::result::Result<i32, (Option<String>, bool)>,
    accounts: &Accounts,
) -> Result<(i32, bool)> {
    match user {
        Ok(id) => Ok((id, false)),
        Err((external_id, created)) => {
            // The id is drawn in the statement and answered from there: a staff member may not
            // read the new row back (it belongs to no organization of theirs until the link
            // below), so the insert itself returns nothing.
            let user_id = sqlx::query_scalar!(
                r#"WITH drawn AS (SELECT nextval(pg_get_serial_sequence('users', 'id'))::int AS id),
                        inserted AS (INSERT INTO users (id, email, username, role, clerk_user_id, account_directory)
                                     SELECT id, $1, $1, 'patient', $2, $3 FROM drawn)
                   SELECT id AS "id!" FROM drawn"#,
                req.email.as_str(),
                external_id,
                accounts.kind(),
            )
            .fetch_one(tx.conn())
            .await?;
            Ok((user_id, created))
        }
    }
}

/// Onboards a lead of the organization (`docs/leads.md`): the person gets the account, the link
/// the cold call made becomes the patient's link with `entry_point` (the database allows only
/// `cold_call` → `concierge_cold_call`, and only once the person has an account), the account
/// joins the organization, and the forms, audit entry and event follow as for any onboarding. A
/// person who has an account already, or no such link, is no lead: nothing is written.
async fn convert_lead_in(
    tx: &mut ClinicTx,
    req: &OnboardRequest,
    lead: i32,
    entry_point: EntryPoint,
    user: std::result::Result<i32, (Option<String>, bool)>,
    accounts: &Accounts,
) -> Result<Onboarded> {
    let org = req.organization_id;
    let link = sqlx::query!(
        r#"SELECT p.id, p.profile_origin, pp.user_id
             FROM patients p JOIN patient_persons pp ON pp.id = p.patient_person_id
            WHERE p.patient_person_id = $1 AND p.organization_id = $2 AND p.entry_point = 'cold_call'
              FOR UPDATE OF p"#,
        lead,
        org,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "patient_person_id", "There is no lead with this id at this clinic."))?;
    if link.user_id.is_some() {
        return Err(Error::new(ErrorCode::PatientAlreadyExists, "This lead has been converted already.").with_details(
            serde_json::json!({"patient_person_id": lead, "organization_id": org, "existing_patient_id": link.id}),
        ));
    }
    let plan = automation::plan_patient_onboarded(tx, org, link.profile_origin).await?;
    let (user_id, user_created) = insert_user(tx, req, user, accounts).await?;
    let taken = sqlx::query!(
        "UPDATE patient_persons SET user_id = $2, updated_at = now() WHERE id = $1 AND user_id IS NULL",
        lead,
        user_id
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    if taken != 1 {
        return Err(Error::new(ErrorCode::PatientAlreadyExists, "This lead has been converted already."));
    }
    let row = sqlx::query!(
        r#"WITH p AS (UPDATE patients SET entry_point = $3, updated_at = now()
                       WHERE id = $1 RETURNING id, profile_shared, created_at, updated_at),
                uo AS (INSERT INTO user_organizations (user_id, organization_id) VALUES ($4, $2)
                       ON CONFLICT DO NOTHING RETURNING 1)
           SELECT p.id, p.profile_shared, p.created_at, p.updated_at, EXISTS (SELECT 1 FROM uo) AS "added!" FROM p"#,
        link.id,
        org,
        entry_point as EntryPoint,
        user_id,
    )
    .fetch_one(tx.conn())
    .await?;
    let patient = PatientLink {
        id: row.id,
        patient_person_id: lead,
        profile_shared: row.profile_shared,
        organization_id: org,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    let required_forms = automation::create_forms(tx, &plan, patient.id).await?;
    record_and_announce(tx, &patient, user_id, user_created, plan.welcome_email).await?;
    automation::queue_messages(tx, &plan, &required_forms, patient.patient_person_id, org).await?;
    // The person was there before: the answer names them and creates no profile.
    let name = sqlx::query_scalar!("SELECT name FROM patient_persons WHERE id = $1", lead).fetch_one(tx.conn()).await?;
    Ok(Onboarded {
        user_id,
        patient_person_id: lead,
        patient,
        person: PersonView { id: lead, user_id: Some(user_id), name, profile: None },
        user_created,
        organization_added: row.added,
        required_forms,
    })
}

/// The org-patient link and, for a person with an account, the user's organization membership,
/// in one statement. `organization_added` is true when the membership is new.
async fn insert_link_and_membership(
    tx: &mut ClinicTx,
    person_id: i32,
    user_id: Option<i32>,
    org: i32,
    entry_point: EntryPoint,
    profile_origin: bool,
) -> Result<(PatientLink, bool)> {
    let row = sqlx::query!(
        r#"WITH p AS (INSERT INTO patients (patient_person_id, organization_id, entry_point, profile_origin)
                      VALUES ($1, $2, $3, $4) RETURNING id, profile_shared, created_at, updated_at),
                uo AS (INSERT INTO user_organizations (user_id, organization_id)
                       SELECT $5, $2 WHERE $5::int IS NOT NULL
                       ON CONFLICT DO NOTHING RETURNING 1)
           SELECT p.id, p.profile_shared, p.created_at, p.updated_at, EXISTS (SELECT 1 FROM uo) AS "added!" FROM p"#,
        person_id,
        org,
        entry_point as EntryPoint,
        profile_origin,
        user_id,
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((
        PatientLink {
            id: row.id,
            patient_person_id: person_id,
            profile_shared: row.profile_shared,
            organization_id: org,
            created_at: row.created_at,
            updated_at: row.updated_at,
        },
        row.added,
    ))
}

/// The audit entry of the onboarding as the contract names it (row-level entries are written by
/// triggers), the `patient.onboarded` event with exactly the contract's fields, and the welcome
/// e-mail event when a rule asked for it.
async fn record_and_announce(
    tx: &mut ClinicTx,
    patient: &PatientLink,
    user_id: i32,
    user_created: bool,
    welcome_email: bool,
) -> Result<()> {
    sqlx::query!(
        "SELECT audit_append(current_user::text, 'CREATE', 'patient', $1, $2)",
        patient.id.to_string(),
        serde_json::json!({
            "patient_person_id": patient.patient_person_id,
            "organization_id": patient.organization_id,
            "user_id": user_id,
        }),
    )
    .fetch_one(tx.conn())
    .await?;
    let mut events = vec![(
        "patient.onboarded",
        serde_json::json!({
            "patient_id": patient.id,
            "patient_person_id": patient.patient_person_id,
            "user_id": user_id,
            "organization_id": patient.organization_id,
            "user_created": user_created,
        }),
    )];
    if welcome_email {
        events.push((automation::WELCOME_EMAIL_EVENT, automation::welcome_payload(patient.id, patient.organization_id)));
    }
    outbox::enqueue_many(tx, Some(patient.organization_id), &events).await?;
    Ok(())
}

/// The person as the actor's organization may see them (through `patient_profiles`).
pub async fn load_person(tx: &mut ClinicTx, person_id: i32) -> Result<PersonView> {
    let row = sqlx::query!(
        r#"SELECT id AS "id!", user_id, name AS "name!", profile_visible AS "visible!", date_of_birth, blood_type,
                  allergies, chronic_conditions, insurance_entries
             FROM patient_profiles WHERE id = $1"#,
        person_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The patient person"))?;
    Ok(PersonView {
        id: row.id,
        user_id: row.user_id,
        name: row.name,
        profile: row.visible.then(|| Profile {
            date_of_birth: row.date_of_birth,
            blood_type: row.blood_type,
            allergies: row.allergies.unwrap_or_default(),
            chronic_conditions: row.chronic_conditions.unwrap_or_default(),
            insurance_entries: row.insurance_entries.unwrap_or_else(|| serde_json::json!([])),
        }),
    })
}

/// Regular creation (`POST /v1/patients`): link an existing person to an organization.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LinkInput {
    pub patient_person_id: Option<i64>,
    /// Staff link into their own organization; may be omitted (the owner must name one).
    pub organization_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Linked {
    pub patient: PatientLink,
    pub person: PersonView,
    pub organization_added: bool,
    pub required_forms: Vec<RequiredForm>,
}

pub async fn link_existing(tx: &mut ClinicTx, input: &LinkInput, entry_point: EntryPoint) -> Result<Linked> {
    let person_id = input
        .patient_person_id
        .ok_or_else(|| Error::field(ErrorCode::PatientPersonIdRequired, "patient_person_id", "A patient_person_id is required."))
        .and_then(|id| {
            i32::try_from(id).ok().filter(|id| *id > 0).ok_or_else(|| {
                Error::field(ErrorCode::InvalidInput, "patient_person_id", "The patient_person_id is not a valid id.")
            })
        })?;
    let org = match input.organization_id {
        Some(id) => i32::try_from(id)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Error::field(ErrorCode::InvalidInput, "organization_id", "The organization_id is not a valid id."))?,
        None => tx.clinic().ok_or_else(|| {
            Error::field(ErrorCode::OrganizationIdRequired, "organization_id", "An organization_id is required.")
        })?,
    };
    ensure_may_add_patients(tx, Capability::OnboardPatient, org, &format!("digimed.person:{person_id}")).await?;
    let found = sqlx::query!(r#"SELECT user_id, existing_patient_id FROM person_for_linking($1, $2)"#, person_id, org,)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::field(ErrorCode::NotFound, "patient_person_id", "There is no patient person with this id."))?;
    if let Some(existing_patient_id) = found.existing_patient_id {
        return Err(Error::new(ErrorCode::PatientAlreadyExists, "This person is already a patient of this organization")
            .with_details(serde_json::json!({
                "patient_person_id": person_id,
                "organization_id": org,
                "existing_patient_id": existing_patient_id,
            })));
    }
    let plan = automation::plan_patient_onboarded(tx, org, false).await?;
    let (patient, organization_added) = insert_link_and_membership(tx, person_id, found.user_id, org, entry_point, false).await?;
    let required_forms = automation::create_forms(tx, &plan, patient.id).await?;
    if let Some(u) = found.user_id {
        record_and_announce(tx, &patient, u, false, plan.welcome_email).await?;
    }
    automation::queue_messages(tx, &plan, &required_forms, patient.patient_person_id, org).await?;
    let person = load_person(tx, person_id).await?;
    Ok(Linked { patient, person, organization_added, required_forms })
}

/// What a support agent knows before creating a person; any field may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MatchInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
}

/// A likely duplicate: the person's id and name, and which facts matched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MatchCandidate {
    pub patient_person_id: i32,
    pub name: String,
    pub reasons: Vec<String>,
}

/// Looks for persons that are likely the same as the one about to be created: same national
/// id (blind index), same e-mail, same normalised phone (blind index), same name and date of
/// birth. Fields that do not parse are ignored rather than refused: this is a search.
pub async fn match_candidates(
    tx: &mut ClinicTx,
    vault: &Vault,
    input: &MatchInput,
    default_phone_country: &str,
) -> Result<Vec<MatchCandidate>> {
    tx.require(Capability::FindDuplicates)?;
    let email = input.email.as_deref().and_then(|e| Email::parse(e).ok());
    let phone = input.phone.as_deref().and_then(|p| Phone::parse(p, default_phone_country).ok());
    let nid = input.national_id.as_deref().and_then(|n| NationalId::parse(n, true).ok());
    let name = input.name.as_deref().and_then(|n| PersonName::parse(n).ok());
    let dob = input.date_of_birth.or_else(|| nid.as_ref().map(|n| n.birth_date()));
    if email.is_none() && phone.is_none() && nid.is_none() && (name.is_none() || dob.is_none()) {
        return Err(Error::invalid(
            "email",
            "Give at least an e-mail address, a phone number, a national id, or a name with a date of birth.",
        ));
    }
    Ok(sqlx::query_as!(
        MatchCandidate,
        r#"SELECT patient_person_id AS "patient_person_id!", name AS "name!", reasons AS "reasons!"
             FROM patient_match_candidates($1, $2, $3, $4, $5)"#,
        nid.as_ref().map(|n| vault.blind_index(index_kind::NATIONAL_ID, n.as_str())),
        email.as_ref().map(|e| e.as_str()),
        phone.as_ref().map(|p| vault.blind_index(index_kind::PHONE, p.as_str())),
        name.as_ref().map(|n| n.as_str()),
        dob,
    )
    .fetch_all(tx.conn())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str, phone: &str, org: Option<i64>) -> OnboardInput {
        OnboardInput { name: Some(name.into()), email: Some(email.into()), phone: Some(phone.into()), organization_id: org }
    }

    #[test]
    fn validation_codes_in_the_contracts_order() {
        let code = |i: OnboardInput| validate(&i, "47").unwrap_err().code.as_str();
        assert_eq!(code(OnboardInput::default()), "name_required");
        assert_eq!(code(input("A B", "", "", None)), "email_required");
        assert_eq!(code(input("A B", "nope", "", None)), "invalid_email_format");
        assert_eq!(code(input("A B", "a@example.com", " ", None)), "phone_required");
        assert_eq!(code(input("A B", "a@example.com", "12", None)), "invalid_phone_format");
        assert_eq!(code(input("A B", "a@example.com", "+31612345678", None)), "organization_id_required");
        assert_eq!(code(input("A B", "a@example.com", "+31612345678", Some(-1))), "invalid_input");
        let ok = validate(&input(" John  Doe ", "John@Example.com", "06-12345678", Some(1)), "31").unwrap();
        assert_eq!((ok.name.as_str(), ok.email.as_str(), ok.phone.as_str()), ("John Doe", "john@example.com", "+31612345678"));
    }

    #[test]
    fn validation_messages_do_not_echo_input() {
        let e = validate(&input("A B", "secret.person@nowhere", "1", Some(1)), "47").unwrap_err();
        assert!(!e.message.contains("secret.person"), "{}", e.message);
    }
}
