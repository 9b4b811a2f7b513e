//! Editing a patient's portable profile (`docs/patients.md`): support agents and admins of a
//! clinic the profile is visible to, and the doctors who treat the patient there. Every field is
//! parsed into a domain type first; the first bad one is refused by name and nothing is written.
//! The database's row trigger records the change in the audit log (the emergency contact's phone
//! only as `[redacted]`).

use chrono::Local;
use digimed_domain::{
    check_insurance_entries, BloodType, DateOfBirth, FieldError, InsuranceEntry, PersonName, Phone, ProfileList, ProfileListKind,
};
use serde::{Deserialize, Serialize};

use super::card::{visible, InsuranceEntryFields};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, Result};
use crate::keys::Vault;
use crate::preferences::Language;

/// The changes to a profile. A field left out (`None`) keeps its value; an empty text or list
/// clears it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProfileEdit {
    /// `YYYY-MM-DD`, not in the future and not before 1900.
    pub date_of_birth: Option<String>,
    /// `A+`, `A-`, `B+`, `B-`, `AB+`, `AB-`, `O+` or `O-`.
    pub blood_type: Option<String>,
    pub allergies: Option<Vec<String>>,
    pub chronic_conditions: Option<Vec<String>>,
    pub insurance_entries: Option<Vec<InsuranceEntryFields>>,
    pub emergency_contact_name: Option<String>,
    /// A phone number; without a country code the clinic's default country is assumed.
    pub emergency_contact_phone: Option<String>,
}

/// What an edit changed: the fields, by their input names (empty when nothing changed, and then
/// nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProfileSaved {
    pub person_id: i32,
    pub changed: Vec<String>,
}

/// An edit, every field parsed: `Some(None)` clears a field, `None` keeps it.
struct Parsed {
    date_of_birth: Option<Option<DateOfBirth>>,
    blood_type: Option<Option<BloodType>>,
    allergies: Option<ProfileList>,
    chronic_conditions: Option<ProfileList>,
    insurance_entries: Option<Vec<InsuranceEntry>>,
    emergency_contact_name: Option<Option<PersonName>>,
    emergency_contact_phone: Option<Option<Phone>>,
}

/// `None` for a field left out; `Some(None)` for an empty (cleared) one; else `parse` of the text.
fn optional<T, E>(input: &Option<String>, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<Option<Option<T>>, E> {
    match input.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(text) => parse(text).map(|v| Some(Some(v))),
    }
}

fn refused<E: FieldError>(field: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::refused(field, e.code(), e)
}

fn parse(edit: &ProfileEdit, default_country: &str) -> Result<Parsed> {
    let today = Local::now().date_naive();
    let list = |kind: ProfileListKind, items: &Option<Vec<String>>| -> Result<Option<ProfileList>> {
        items.as_ref().map(|i| ProfileList::parse(kind, i).map_err(refused(kind.field()))).transpose()
    };
    let date_of_birth = optional(&edit.date_of_birth, |t| DateOfBirth::parse(t, today)).map_err(refused("date_of_birth"))?;
    let blood_type = optional(&edit.blood_type, BloodType::parse).map_err(refused("blood_type"))?;
    let allergies = list(ProfileListKind::Allergies, &edit.allergies)?;
    let chronic_conditions = list(ProfileListKind::ChronicConditions, &edit.chronic_conditions)?;
    let insurance_entries = match &edit.insurance_entries {
        None => None,
        Some(entries) => {
            let parsed = entries
                .iter()
                .enumerate()
                .map(|(i, e)| InsuranceEntry::parse(&e.insurer, &e.policy_number, i + 1))
                .collect::<Result<Vec<_>, _>>()
                .map_err(refused("insurance_entries"))?;
            check_insurance_entries(&parsed).map_err(refused("insurance_entries"))?;
            Some(parsed)
        }
    };
    let emergency_contact_name =
        optional(&edit.emergency_contact_name, PersonName::parse).map_err(refused("emergency_contact_name"))?;
    let emergency_contact_phone = optional(&edit.emergency_contact_phone, |t| Phone::parse(t, default_country))
        .map_err(refused("emergency_contact_phone"))?;
    Ok(Parsed {
        date_of_birth,
        blood_type,
        allergies,
        chronic_conditions,
        insurance_entries,
        emergency_contact_name,
        emergency_contact_phone,
    })
}

/// Applies `edit` to the profile of person `person_id`, as the acting staff member. Refused for
/// a role that does not edit profiles, a doctor who does not treat the patient, and a profile not
/// visible to the clinic; a bad field is refused by name. Nothing is written when nothing changes.
pub async fn edit_profile(
    tx: &mut ClinicTx,
    vault: &Vault,
    person_id: i32,
    edit: &ProfileEdit,
    default_country: &str,
) -> Result<ProfileSaved> {
    tx.require(Capability::EditPatientProfile)?;
    let p = parse(edit, default_country)?;
    let before = visible(tx, person_id).await?;
    if !before.profile_visible {
        return Err(Error::forbidden(
            "This patient's profile is not shared with your clinic, so it is not edited here; it opens once the patient signs the clinic's profile-sharing consent.",
        ));
    }
    // Edits of one person take turns; what they change is read again once the row is held.
    let locked = sqlx::query_scalar!("SELECT id FROM patient_persons WHERE id = $1 FOR UPDATE", person_id)
        .fetch_optional(tx.conn())
        .await?;
    if locked.is_none() {
        return Err(Error::forbidden("The database refused this: your role may not edit this patient's profile."));
    }
    let now = visible(tx, person_id).await?;
    let current_entries = super::card::insurance_entries(now.insurance_entries.clone())?;

    let date_of_birth = p.date_of_birth.map_or(now.date_of_birth, |d| d.map(DateOfBirth::date));
    let blood_type = p.blood_type.map_or(now.blood_type.clone(), |b| b.map(|b| b.as_str().to_string()));
    let allergies = p.allergies.map_or(now.allergies.clone().unwrap_or_default(), ProfileList::into_items);
    let chronic_conditions =
        p.chronic_conditions.map_or(now.chronic_conditions.clone().unwrap_or_default(), ProfileList::into_items);
    let insurance_entries: Vec<InsuranceEntryFields> = match p.insurance_entries {
        None => current_entries.clone(),
        Some(entries) => entries
            .iter()
            .map(|e| InsuranceEntryFields { insurer: e.insurer().to_string(), policy_number: e.policy_number().to_string() })
            .collect(),
    };
    let emergency_contact_name =
        p.emergency_contact_name.map_or(now.emergency_contact_name.clone(), |n| n.map(|n| n.as_str().to_string()));

    let mut changed = Vec::new();
    let mut note = |field: &str, differs: bool| {
        if differs {
            changed.push(field.to_string());
        }
    };
    note("date_of_birth", date_of_birth != now.date_of_birth);
    note("blood_type", blood_type != now.blood_type);
    note("allergies", allergies != now.allergies.clone().unwrap_or_default());
    note("chronic_conditions", chronic_conditions != now.chronic_conditions.clone().unwrap_or_default());
    note("insurance_entries", insurance_entries != current_entries);
    note("emergency_contact_name", emergency_contact_name != now.emergency_contact_name);
    note("emergency_contact_phone", p.emergency_contact_phone.is_some());
    if changed.is_empty() {
        return Ok(ProfileSaved { person_id, changed });
    }

    let entries = serde_json::to_value(&insurance_entries).map_err(|e| Error::internal(e.to_string()))?;
    let updated = match &p.emergency_contact_phone {
        // The phone is written only when given: without its ciphertext (which staff do not read)
        // there is nothing to compare it with.
        Some(phone) => {
            let ct = phone
                .as_ref()
                .map(|ph| {
                    vault.encrypt("patient_persons", "emergency_contact_phone_encrypted", i64::from(person_id), ph.as_str())
                })
                .transpose()?;
            sqlx::query!(
                "UPDATE patient_persons
                    SET date_of_birth = $2, blood_type = $3, allergies = $4, chronic_conditions = $5, insurance_entries = $6,
                        emergency_contact_name = $7, emergency_contact_phone_encrypted = $8, updated_at = now()
                  WHERE id = $1",
                person_id,
                date_of_birth,
                blood_type,
                &allergies,
                &chronic_conditions,
                entries,
                emergency_contact_name,
                ct,
            )
            .execute(tx.conn())
            .await?
        }
        None => {
            sqlx::query!(
                "UPDATE patient_persons
                    SET date_of_birth = $2, blood_type = $3, allergies = $4, chronic_conditions = $5, insurance_entries = $6,
                        emergency_contact_name = $7, updated_at = now()
                  WHERE id = $1",
                person_id,
                date_of_birth,
                blood_type,
                &allergies,
                &chronic_conditions,
                entries,
                emergency_contact_name,
            )
            .execute(tx.conn())
            .await?
        }
    };
    if updated.rows_affected() != 1 {
        return Err(Error::forbidden("The database refused this: your role may not edit this patient's profile."));
    }
    Ok(ProfileSaved { person_id, changed })
}

/// Sets the language the clinic writes to the patient in (messages and the public pages), as the
/// patient asked: support agents and admins of a clinic the person is a patient of. Returns
/// whether it changed; nothing is written when it did not. The change is audited by the row
/// trigger.
pub async fn set_message_language(tx: &mut ClinicTx, person_id: i32, language: Language) -> Result<bool> {
    tx.require(Capability::SetMessageLanguage)?;
    visible(tx, person_id).await?;
    let changed =
        sqlx::query!("UPDATE patient_persons SET language = $2 WHERE id = $1 AND language <> $2", person_id, language.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
    Ok(changed == 1)
}
