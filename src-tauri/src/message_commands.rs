//! The messages to patients: their states (the patient card, the doctor's workspace, the queue's
//! warnings) and resending a join link. Thin adapters over `digimed_core::messages`.

use digimed_core::messages::{self, JoinLinkWarning, MessageFilter, PatientMessage};
use digimed_core::Error;
use tauri::State;

use crate::state::ConsoleState;

/// The messages of a patient (person id) or of a consultation, newest first; never their
/// recipient or text.
#[tauri::command]
#[specta::specta]
pub async fn messages_list(
    state: State<'_, ConsoleState>,
    patient_person_id: Option<i32>,
    consultation_id: Option<i32>,
) -> Result<Vec<PatientMessage>, Error> {
    let filter = MessageFilter { patient_person_id, consultation_id };
    state.act(async |tx| messages::list(tx, filter).await).await
}

/// Queues the join link of a consultation in progress again, as a new message.
#[tauri::command]
#[specta::specta]
pub async fn message_resend_join_link(state: State<'_, ConsoleState>, consultation_id: i32) -> Result<PatientMessage, Error> {
    state.act(async |tx| messages::resend_join_link(tx, consultation_id).await).await
}

/// The consultations among `consultation_ids` whose latest join link failed or was suppressed.
#[tauri::command]
#[specta::specta]
pub async fn join_link_warnings(
    state: State<'_, ConsoleState>,
    consultation_ids: Vec<i32>,
) -> Result<Vec<JoinLinkWarning>, Error> {
    state.act(async |tx| messages::join_link_warnings(tx, &consultation_ids).await).await
}
