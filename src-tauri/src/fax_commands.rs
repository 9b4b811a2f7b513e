//! The fax inbox (`docs/fax-inbox.md`): the faxes waiting, reading one (recorded in the audit
//! log), completing its draft into a patient, discarding it with a reason. Thin adapters over
//! `digimed_core::faxes`.

use digimed_core::config::Config;
use digimed_core::faxes::{self, FaxCompletion, FaxDocument, InboxFax};
use digimed_core::Error;
use tauri::State;

use crate::state::ConsoleState;

/// The faxes of the staff member's clinic waiting in the inbox, newest first.
#[tauri::command]
#[specta::specta]
pub async fn fax_inbox(state: State<'_, ConsoleState>) -> Result<Vec<InboxFax>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| faxes::inbox(tx, &vault).await).await
}

/// One fax with its PDF (the read is recorded).
#[tauri::command]
#[specta::specta]
pub async fn fax_open(state: State<'_, ConsoleState>, fax_id: i32) -> Result<FaxDocument, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| faxes::open(tx, &vault, fax_id).await).await
}

/// Completes the fax's draft into a patient with what was read on the fax.
#[tauri::command]
#[specta::specta]
pub async fn fax_complete(state: State<'_, ConsoleState>, fax_id: i32, input: FaxCompletion) -> Result<(), Error> {
    let vault = state.vault().await?;
    let country = Config::from_env()?.default_phone_country;
    state.act(async |tx| faxes::complete(tx, &vault, fax_id, &input, &country).await).await
}

/// Discards the fax's draft, with the reason.
#[tauri::command]
#[specta::specta]
pub async fn fax_discard(state: State<'_, ConsoleState>, fax_id: i32, reason: String) -> Result<(), Error> {
    state.act(async |tx| faxes::discard(tx, fax_id, &reason).await).await
}
