//! The console's side of the public pages (docs/public-pages.md): the ratings patients gave
//! (admins), and issuing a patient a new preference link (support agents, admins). Thin adapters
//! over the core.

use digimed_core::preferences;
use digimed_core::reviews::{self, ReviewSummary};
use digimed_core::Error;
use tauri::State;

use crate::state::ConsoleState;

/// Patients' ratings per doctor and per partner, and the newest comments (admins).
#[tauri::command]
#[specta::specta]
pub async fn reviews_summary(state: State<'_, ConsoleState>) -> Result<ReviewSummary, Error> {
    state.act(async |tx| reviews::summary(tx).await).await
}

/// Issues the patient a new communication-preference token; the old preferences link stops
/// working. The new token is not shown: it reaches the patient only in the clinic's messages.
#[tauri::command]
#[specta::specta]
pub async fn preference_token_rotate(state: State<'_, ConsoleState>, person_id: i32) -> Result<(), Error> {
    state.act(async |tx| preferences::rotate_token(tx, person_id).await).await
}
