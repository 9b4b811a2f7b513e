//! The support agent's commands: onboarding a walk-in patient (with duplicate candidates first),
//! a patient's consent forms, paper signatures attested by staff, withdrawals, and the
//! consent-status view; and every role's patient card, with editing the profile. Thin adapters
//! over the core.

use digimed_core::accounts::Accounts;
use digimed_core::config::Config;
use digimed_core::consents::{self, ConsentStatus, TimelineEntry};
use digimed_core::forms::{self, Consent, Form, FormText, SignedBy};
use digimed_core::onboarding::{self, MatchCandidate, MatchInput, OnboardInput, Onboarded};
use digimed_core::patients::{self, EntryPoint, PatientCard, ProfileEdit, ProfileSaved};
use digimed_core::preferences::Language;
use digimed_core::{ClinicTx, Error};
use serde::Deserialize;
use tauri::State;

use crate::state::ConsoleState;

/// What the support agent types for a walk-in patient.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct WalkIn {
    pub name: String,
    pub email: String,
    pub phone: String,
}

fn phone_country() -> Result<String, Error> {
    Ok(Config::from_env()?.default_phone_country)
}

/// Persons already known who are likely the one about to be onboarded.
#[tauri::command]
#[specta::specta]
pub async fn match_candidates(state: State<'_, ConsoleState>, input: MatchInput) -> Result<Vec<MatchCandidate>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| onboarding::match_candidates(tx, &vault, &input, &phone_country()?).await).await
}

/// Onboards a walk-in patient into the staff member's clinic (in one transaction).
#[tauri::command]
#[specta::specta]
pub async fn onboard_walk_in(state: State<'_, ConsoleState>, input: WalkIn) -> Result<Onboarded, Error> {
    let (pool, me) = state.require().await?;
    let vault = state.vault().await?;
    let config = Config::from_env()?;
    let tx = ClinicTx::begin(&pool).await?;
    let accounts = Accounts::from_config(&config.accounts)?;
    let request = OnboardInput {
        name: Some(input.name),
        email: Some(input.email),
        phone: Some(input.phone),
        organization_id: Some(me.organization_id as i64),
    };
    onboarding::onboard(tx, &vault, &accounts, &request, EntryPoint::WalkIn, &config.default_phone_country).await
}

/// Whether patient accounts go to Clerk or to the local account directory (shown in the UI).
#[tauri::command]
#[specta::specta]
pub async fn account_directory() -> Result<String, Error> {
    let config = Config::from_env()?;
    Ok(Accounts::from_config(&config.accounts)?.kind().to_string())
}

/// A patient's forms (the org-patient link id).
#[tauri::command]
#[specta::specta]
pub async fn patient_forms(state: State<'_, ConsoleState>, patient_id: i32) -> Result<Vec<Form>, Error> {
    state.act(async |tx| forms::list_for_patient(tx, patient_id).await).await
}

/// The text of a form, with the hash a signature names.
#[tauri::command]
#[specta::specta]
pub async fn form_text(state: State<'_, ConsoleState>, form_id: i32) -> Result<FormText, Error> {
    state.act(async |tx| forms::text(tx, form_id).await).await
}

/// Records a paper signature of the text with this hash, attested by the signed-in staff member.
#[tauri::command]
#[specta::specta]
pub async fn form_attest_signature(state: State<'_, ConsoleState>, form_id: i32, template_sha256: String) -> Result<Form, Error> {
    state.act(async |tx| forms::sign(tx, form_id, SignedBy::StaffAttested, &template_sha256).await).await
}

/// Records that the patient declined a form.
#[tauri::command]
#[specta::specta]
pub async fn form_decline(state: State<'_, ConsoleState>, form_id: i32) -> Result<Form, Error> {
    state.act(async |tx| forms::decline(tx, form_id).await).await
}

/// Withdraws a consent, with the patient's reason.
#[tauri::command]
#[specta::specta]
pub async fn consent_withdraw(state: State<'_, ConsoleState>, consent_id: i32, reason: String) -> Result<Consent, Error> {
    state.act(async |tx| forms::withdraw(tx, consent_id, &reason).await).await
}

/// The consent-status view of the staff member's clinic.
#[tauri::command]
#[specta::specta]
pub async fn consent_status(state: State<'_, ConsoleState>) -> Result<ConsentStatus, Error> {
    let clinic = state.require().await?.1.organization_id;
    state.act(async |tx| consents::status(tx, clinic).await).await
}

/// A patient's forms and consents over time.
#[tauri::command]
#[specta::specta]
pub async fn consent_timeline(state: State<'_, ConsoleState>, patient_id: i32) -> Result<Vec<TimelineEntry>, Error> {
    state.act(async |tx| consents::timeline(tx, patient_id).await).await
}

/// The card of a patient of the staff member's clinic (the person id), as their role may see it;
/// with `reveal_national_id` the whole national id (the read is recorded either way).
#[tauri::command]
#[specta::specta]
pub async fn patient_card(
    state: State<'_, ConsoleState>,
    person_id: i32,
    reveal_national_id: bool,
) -> Result<PatientCard, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| patients::card(tx, &vault, person_id, reveal_national_id).await).await
}

/// Sets the language the clinic writes to the patient in; `true` when it changed.
#[tauri::command]
#[specta::specta]
pub async fn patient_set_message_language(
    state: State<'_, ConsoleState>,
    person_id: i32,
    language: Language,
) -> Result<bool, Error> {
    state.act(async |tx| patients::set_message_language(tx, person_id, language).await).await
}

/// Edits a patient's profile (fields left out keep their value).
#[tauri::command]
#[specta::specta]
pub async fn patient_profile_edit(
    state: State<'_, ConsoleState>,
    person_id: i32,
    edit: ProfileEdit,
) -> Result<ProfileSaved, Error> {
    let vault = state.vault().await?;
    let country = phone_country()?;
    state.act(async |tx| patients::edit_profile(tx, &vault, person_id, &edit, &country).await).await
}
