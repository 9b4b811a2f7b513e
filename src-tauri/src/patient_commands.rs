//! The support agent's commands: onboarding a walk-in patient (with duplicate candidates first),
//! a patient's consent forms, paper signatures attested by staff, withdrawals, and the
//! consent-status view. Thin adapters over the core.

use digimed_core::accounts::Accounts;
use digimed_core::acting::Acting;
use digimed_core::config::Config;
use digimed_core::consents::{self, ConsentStatus, TimelineEntry};
use digimed_core::forms::{self, Consent, Form, FormText, SignedBy};
use digimed_core::onboarding::{self, MatchCandidate, MatchInput, OnboardInput, Onboarded};
use digimed_core::patients::EntryPoint;
use digimed_core::Error;
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
    let (pool, _) = state.require().await?;
    let vault = state.vault().await?;
    onboarding::match_candidates(&pool, &Acting::Direct, &vault, &input, &phone_country()?).await
}

/// Onboards a walk-in patient into the staff member's clinic (seed 002, in one transaction).
#[tauri::command]
#[specta::specta]
pub async fn onboard_walk_in(state: State<'_, ConsoleState>, input: WalkIn) -> Result<Onboarded, Error> {
    let (pool, me) = state.require().await?;
    let vault = state.vault().await?;
    let config = Config::from_env()?;
    let accounts = Accounts::from_config(&config.accounts)?;
    let request = OnboardInput {
        name: Some(input.name),
        email: Some(input.email),
        phone: Some(input.phone),
        organization_id: Some(me.organization_id as i64),
    };
    onboarding::onboard(&pool, &Acting::Direct, &vault, &accounts, &request, EntryPoint::WalkIn, &config.default_phone_country).await
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
    let (pool, _) = state.require().await?;
    forms::list_for_patient(&pool, &Acting::Direct, patient_id).await
}

/// The text of a form, with the hash a signature names.
#[tauri::command]
#[specta::specta]
pub async fn form_text(state: State<'_, ConsoleState>, form_id: i32) -> Result<FormText, Error> {
    let (pool, _) = state.require().await?;
    forms::text(&pool, &Acting::Direct, form_id).await
}

/// Records a paper signature of the text with this hash, attested by the signed-in staff member.
#[tauri::command]
#[specta::specta]
pub async fn form_attest_signature(state: State<'_, ConsoleState>, form_id: i32, template_sha256: String) -> Result<Form, Error> {
    let (pool, _) = state.require().await?;
    forms::sign(&pool, &Acting::Direct, form_id, SignedBy::StaffAttested, &template_sha256).await
}

/// Records that the patient declined a form.
#[tauri::command]
#[specta::specta]
pub async fn form_decline(state: State<'_, ConsoleState>, form_id: i32) -> Result<Form, Error> {
    let (pool, _) = state.require().await?;
    forms::decline(&pool, &Acting::Direct, form_id).await
}

/// Withdraws a consent, with the patient's reason.
#[tauri::command]
#[specta::specta]
pub async fn consent_withdraw(state: State<'_, ConsoleState>, consent_id: i32, reason: String) -> Result<Consent, Error> {
    let (pool, _) = state.require().await?;
    forms::withdraw(&pool, &Acting::Direct, consent_id, &reason).await
}

/// The consent-status view of the staff member's clinic.
#[tauri::command]
#[specta::specta]
pub async fn consent_status(state: State<'_, ConsoleState>) -> Result<ConsentStatus, Error> {
    let (pool, me) = state.require().await?;
    consents::status(&pool, &Acting::Direct, me.organization_id).await
}

/// A patient's forms and consents over time.
#[tauri::command]
#[specta::specta]
pub async fn consent_timeline(state: State<'_, ConsoleState>, patient_id: i32) -> Result<Vec<TimelineEntry>, Error> {
    let (pool, _) = state.require().await?;
    consents::timeline(&pool, &Acting::Direct, patient_id).await
}
