//! Drafts of unfinished work (a consultation result, the onboarding form), kept encrypted in the
//! clinic database so they survive a crash of the console or a lost connection. Thin adapters
//! over `digimed_core::drafts`; only the signed-in staff member's own drafts are reachable.

use chrono::{DateTime, Utc};
use digimed_core::drafts::{self, DraftInfo, DraftKind};
use digimed_core::Error;
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::state::ConsoleState;

/// Whatever the form holds, as the UI saved it (any JSON value).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(transparent)]
pub struct DraftPayload(#[specta(type = specta_typescript::Unknown)] pub serde_json::Value);

/// A draft offered back to the UI.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DraftContent {
    pub kind: DraftKind,
    pub subject_id: i32,
    pub payload: DraftPayload,
    pub updated_at: DateTime<Utc>,
}

/// Saves (or replaces) the draft of `kind` for `subject_id` (a consultation id; 0 for onboarding).
#[tauri::command]
#[specta::specta]
pub async fn draft_save(
    state: State<'_, ConsoleState>,
    kind: DraftKind,
    subject_id: i32,
    payload: DraftPayload,
) -> Result<DraftInfo, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| drafts::save_draft(tx, &vault, kind, subject_id, &payload.0).await).await
}

/// The draft of `kind` for `subject_id`, to offer back; `null` when there is none.
#[tauri::command]
#[specta::specta]
pub async fn draft_load(state: State<'_, ConsoleState>, kind: DraftKind, subject_id: i32) -> Result<Option<DraftContent>, Error> {
    let vault = state.vault().await?;
    Ok(state.act(async |tx| drafts::load_draft(tx, &vault, kind, subject_id).await).await?.map(|d| DraftContent {
        kind: d.kind,
        subject_id: d.subject_id,
        payload: DraftPayload(d.payload),
        updated_at: d.updated_at,
    }))
}

/// Every draft of the signed-in staff member, newest first, without their content.
#[tauri::command]
#[specta::specta]
pub async fn draft_list(state: State<'_, ConsoleState>) -> Result<Vec<DraftInfo>, Error> {
    state.act(async |tx| drafts::list_drafts(tx).await).await
}

/// Throws a draft away; `true` when there was one.
#[tauri::command]
#[specta::specta]
pub async fn draft_discard(state: State<'_, ConsoleState>, kind: DraftKind, subject_id: i32) -> Result<bool, Error> {
    state.act(async |tx| drafts::discard_draft(tx, kind, subject_id).await).await
}
