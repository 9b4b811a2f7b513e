//! The patient card: what the acting staff member's clinic knows of one patient, as their role
//! may see it (`docs/patients.md`). Every face reads it through [`card`].
//!
//! - Name, e-mail, entry point, origin, consultations, forms and messages: every staff member of a clinic the
//!   person is a patient of.
//! - Contact details (date of birth, phone, national id, emergency contact): where the portable
//!   profile is visible to the clinic (first registered there, or shared by consent). The
//!   ciphertexts come only from the database's `patient_contact_as`, which records the read in the
//!   audit log in the same transaction; the national id is masked to its last five digits unless
//!   the caller asks for the whole of it, which is recorded too.
//! - The health profile (blood type, allergies, chronic conditions, insurance entries): support
//!   agents, admins and the doctors who treat the patient, where the profile is visible.
//! - Doctors open the cards of the patients they treat only.

use chrono::{DateTime, NaiveDate, Utc};
use digimed_domain::NationalId;
use serde::{Deserialize, Serialize};

use super::EntryPoint;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, Result};
use crate::forms::{self, Form};
use crate::keys::Vault;
use crate::messages::{self, PatientMessage};
use crate::preferences::Language;
use crate::queue::Consultation;
use crate::session::AppRole;

/// Why a part of the card is not shown. The card never shows a withheld part as empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// The person's portable profile is not shared with this clinic: they were first registered
    /// elsewhere and have not signed this clinic's profile-sharing consent.
    NotShared,
    /// The staff member's role does not see this part (the health profile, for secretaries).
    NotForRole,
}

/// How the person is reached, where the profile is visible. `None` means nothing is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactDetails {
    pub date_of_birth: Option<NaiveDate>,
    /// E.164, e.g. `+4791234567`.
    pub phone: Option<String>,
    /// `******12345` (the last five digits), or all eleven when `national_id_revealed`.
    pub national_id: Option<String>,
    pub national_id_revealed: bool,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<String>,
}

/// An insurance entry of the profile: the insurer and the policy number (digits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InsuranceEntryFields {
    pub insurer: String,
    pub policy_number: String,
}

/// The health part of the portable profile. Empty lists mean none are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthProfile {
    pub blood_type: Option<String>,
    pub allergies: Vec<String>,
    pub chronic_conditions: Vec<String>,
    pub insurance_entries: Vec<InsuranceEntryFields>,
}

/// A consultation of the patient at the clinic, whether its result is filed (never the result
/// itself), and whether the reader may open it (`results::read`, audited, reads it).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CardConsultation {
    pub consultation: Consultation,
    pub result_filed: bool,
    pub result_readable: bool,
}

/// One patient, as the acting staff member may see them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PatientCard {
    /// The person (`patient_persons.id`).
    pub person_id: i32,
    /// The person's link to the staff member's clinic (`patients.id`), which forms belong to.
    pub patient_id: i32,
    pub name: String,
    /// `active`, or `draft` for a person saved from an inbound fax and not yet checked.
    pub status: String,
    /// The e-mail address of the person's account, when they have one.
    pub email: Option<String>,
    pub entry_point: EntryPoint,
    /// Whether the person was first registered at this clinic (the profile is theirs to see).
    pub profile_origin: bool,
    /// Whether the person has shared their profile with this clinic by consent.
    pub profile_shared: bool,
    /// The referral partner the person came from, if any.
    pub source_partner: Option<String>,
    /// When the person became a patient of this clinic.
    pub registered_at: DateTime<Utc>,
    pub contact: Option<ContactDetails>,
    pub contact_withheld: Option<Withheld>,
    pub profile: Option<HealthProfile>,
    pub profile_withheld: Option<Withheld>,
    /// Whether the acting staff member may edit the profile.
    pub may_edit_profile: bool,
    /// The language the clinic writes to the patient in: messages and the public pages.
    pub language: Language,
    /// Whether the acting staff member may change that language.
    pub may_set_language: bool,
    /// Newest first.
    pub consultations: Vec<CardConsultation>,
    /// Oldest first, with their consents.
    pub forms: Vec<Form>,
    /// The messages sent (or not) to the patient, newest first: kind, channel, state, provider's
    /// id or reason; never the recipient or the text (`docs/messages.md`).
    pub messages: Vec<PatientMessage>,
}

/// What the clinic may see of a person, read through `patient_profiles` (row-level security and
/// the view's own rules) with the person's link to the clinic.
pub(super) struct Visible {
    pub name: String,
    pub status: String,
    pub email: Option<String>,
    pub patient_id: i32,
    pub entry_point: EntryPoint,
    pub profile_origin: bool,
    pub profile_shared: bool,
    pub source_partner: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub profile_visible: bool,
    pub health_visible: bool,
    pub date_of_birth: Option<NaiveDate>,
    pub blood_type: Option<String>,
    pub allergies: Option<Vec<String>>,
    pub chronic_conditions: Option<Vec<String>>,
    pub insurance_entries: Option<serde_json::Value>,
    pub emergency_contact_name: Option<String>,
    pub language: String,
}

/// The person as the acting staff member's clinic sees them; `not_found` when they are not its
/// patient (or do not exist), and a refusal for a doctor who does not treat them.
pub(super) async fn visible(tx: &mut ClinicTx, person_id: i32) -> Result<Visible> {
    let staff = tx.staff()?.clone();
    let row = sqlx::query_as!(
        Visible,
        r#"SELECT pp.name AS "name!", pp.status AS "status!", u.email AS "email?", p.id AS patient_id,
                  p.entry_point AS "entry_point: EntryPoint", p.profile_origin, p.profile_shared,
                  sp.name AS "source_partner?", p.created_at AS registered_at,
                  pp.profile_visible AS "profile_visible!", pp.health_visible AS "health_visible!",
                  pp.date_of_birth, pp.blood_type, pp.allergies, pp.chronic_conditions, pp.insurance_entries,
                  pp.emergency_contact_name, src.language
             FROM patient_profiles pp
             JOIN patients p ON p.patient_person_id = pp.id AND p.organization_id = $2
             JOIN patient_persons src ON src.id = pp.id
             LEFT JOIN users u ON u.id = pp.user_id
             LEFT JOIN partners sp ON sp.id = src.source_partner_id
            WHERE pp.id = $1"#,
        person_id,
        staff.organization_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The patient"))?;
    if staff.role == AppRole::Doctor {
        let treats = sqlx::query_scalar!(r#"SELECT treats_patient($1, $2) AS "treats!""#, staff.staff_id, person_id)
            .fetch_one(tx.conn())
            .await?;
        if !treats {
            return Err(Error::forbidden(
                "Doctors open the cards of the patients they treat; you are not the doctor of any consultation of this patient.",
            ));
        }
    }
    Ok(row)
}

impl Visible {
    /// Why the health profile is not shown, when it is not.
    pub(super) fn health_withheld(&self) -> Option<Withheld> {
        match (self.health_visible, self.profile_visible) {
            (true, _) => None,
            (false, false) => Some(Withheld::NotShared),
            (false, true) => Some(Withheld::NotForRole),
        }
    }

    pub(super) fn health_profile(&self) -> Result<Option<HealthProfile>> {
        if !self.health_visible {
            return Ok(None);
        }
        Ok(Some(HealthProfile {
            blood_type: self.blood_type.clone(),
            allergies: self.allergies.clone().unwrap_or_default(),
            chronic_conditions: self.chronic_conditions.clone().unwrap_or_default(),
            insurance_entries: insurance_entries(self.insurance_entries.clone())?,
        }))
    }
}

/// The stored insurance entries (`[{"insurer", "policy_number"}]`).
pub(super) fn insurance_entries(stored: Option<serde_json::Value>) -> Result<Vec<InsuranceEntryFields>> {
    match stored {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v).map_err(|_| {
            tracing::error!("insurance entries stored in an unexpected shape");
            Error::internal("The patient's insurance entries are stored in an unexpected shape.")
        }),
    }
}

/// The card of person `person_id` at the acting staff member's clinic. The phone, national id and
/// emergency contact's phone are decrypted only through the audited `patient_contact_as`; with
/// `reveal_national_id` the whole national id is shown (and the audit entry says so), otherwise its
/// last five digits.
pub async fn card(tx: &mut ClinicTx, vault: &Vault, person_id: i32, reveal_national_id: bool) -> Result<PatientCard> {
    tx.require(Capability::ReadPatientCard)?;
    let v = visible(tx, person_id).await?;
    let (contact, contact_withheld) = if v.profile_visible {
        (Some(contact_details(tx, vault, person_id, &v, reveal_national_id).await?), None)
    } else {
        (None, Some(Withheld::NotShared))
    };
    let consultations = crate::results::history(tx, person_id).await?;
    let ids: Vec<i32> = consultations.iter().map(|h| h.consultation.id).collect();
    let filed = sqlx::query!(
        r#"SELECT id AS "id!", consultation_result_filed(id, current_user::text) AS "filed!" FROM unnest($1::int[]) AS id"#,
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    let consultations = consultations
        .into_iter()
        .map(|h| CardConsultation {
            result_filed: filed.iter().any(|f| f.id == h.consultation.id && f.filed),
            result_readable: h.result_readable,
            consultation: h.consultation,
        })
        .collect();
    let forms = forms::list_for_patient(tx, v.patient_id).await?;
    let messages =
        messages::list(tx, messages::MessageFilter { patient_person_id: Some(person_id), consultation_id: None }).await?;
    let may_edit_profile = v.profile_visible && Capability::EditPatientProfile.allows(tx.actor());
    let may_set_language = Capability::SetMessageLanguage.allows(tx.actor());
    Ok(PatientCard {
        language: Language::parse(&v.language).unwrap_or(Language::Nb),
        may_set_language,
        person_id,
        patient_id: v.patient_id,
        profile: v.health_profile()?,
        profile_withheld: v.health_withheld(),
        name: v.name,
        status: v.status,
        email: v.email,
        entry_point: v.entry_point,
        profile_origin: v.profile_origin,
        profile_shared: v.profile_shared,
        source_partner: v.source_partner,
        registered_at: v.registered_at,
        contact,
        contact_withheld,
        may_edit_profile,
        consultations,
        forms,
        messages,
    })
}

/// The contact details, the encrypted ones read through `patient_contact_as` (which records the
/// read) and decrypted here.
async fn contact_details(
    tx: &mut ClinicTx,
    vault: &Vault,
    person_id: i32,
    v: &Visible,
    reveal_national_id: bool,
) -> Result<ContactDetails> {
    let secrets = sqlx::query!(
        r#"SELECT phone_encrypted, national_id_encrypted, emergency_contact_phone_encrypted
             FROM patient_contact_as($1, current_user::text, $2)"#,
        person_id,
        reveal_national_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    let row = i64::from(person_id);
    let open = |column: &str, ct: Option<Vec<u8>>| ct.map(|c| vault.decrypt("patient_persons", column, row, &c)).transpose();
    let (phone, national_id, emergency_phone) = match secrets {
        Some(s) => (
            open("phone_encrypted", s.phone_encrypted)?,
            open("national_id_encrypted", s.national_id_encrypted)?,
            open("emergency_contact_phone_encrypted", s.emergency_contact_phone_encrypted)?,
        ),
        None => (None, None, None),
    };
    let national_id_revealed = reveal_national_id && national_id.is_some();
    Ok(ContactDetails {
        date_of_birth: v.date_of_birth,
        phone,
        national_id: national_id.map(|n| if reveal_national_id { n } else { masked(&n) }),
        national_id_revealed,
        emergency_contact_name: v.emergency_contact_name.clone(),
        emergency_contact_phone: emergency_phone,
    })
}

/// The last five digits of a stored national id (see [`NationalId::masked`]).
fn masked(stored: &str) -> String {
    match NationalId::parse(stored, true) {
        Ok(n) => n.masked(),
        Err(_) => {
            let chars: Vec<char> = stored.chars().collect();
            let shown = chars.len().saturating_sub(5);
            chars.iter().enumerate().map(|(i, c)| if i < shown { '*' } else { *c }).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_national_id_is_masked_to_its_last_five_digits() {
        let born = NaiveDate::from_ymd_opt(1980, 2, 3).unwrap();
        let n = (100..200).find_map(|i| NationalId::synthetic(born, i)).unwrap();
        let shown = masked(n.expose());
        assert_eq!(shown, format!("******{}", &n.expose()[6..]));
        assert_eq!(masked("1234567"), "**34567");
    }
}
