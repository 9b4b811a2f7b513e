//! The support agent's leads: the list, the serviceability check and converting a lead into a
//! patient (`docs/leads.md`). Thin adapters over `digimed_core::leads`.

use digimed_core::accounts::Accounts;
use digimed_core::config::Config;
use digimed_core::leads::{self, Converted, Lead, LeadInput, Serviceability};
use digimed_core::{ClinicTx, Error};
use tauri::State;

use crate::state::ConsoleState;

/// The leads of the staff member's clinic (each phone read is audited, and shown masked).
#[tauri::command]
#[specta::specta]
pub async fn leads_list(state: State<'_, ConsoleState>) -> Result<Vec<Lead>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| leads::list_leads(tx, &vault).await).await
}

/// The serviceability check for a lead, criterion by criterion; writes nothing.
#[tauri::command]
#[specta::specta]
pub async fn lead_check(state: State<'_, ConsoleState>, input: LeadInput) -> Result<Serviceability, Error> {
    state.act(async |tx| leads::check_lead(tx, &input).await).await
}

/// Converts a lead into a patient of the staff member's clinic (in one transaction).
#[tauri::command]
#[specta::specta]
pub async fn lead_convert(state: State<'_, ConsoleState>, input: LeadInput) -> Result<Converted, Error> {
    let (pool, _) = state.require().await?;
    let vault = state.vault().await?;
    let config = Config::from_env()?;
    let accounts = Accounts::from_config(&config.accounts)?;
    let tx = ClinicTx::begin(&pool).await?;
    leads::convert_lead(tx, &vault, &accounts, &input, &config.default_phone_country).await
}
