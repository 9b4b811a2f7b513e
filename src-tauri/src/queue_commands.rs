//! The queue, consultation and result commands. Each one is a thin adapter: arguments in, one
//! core call with the signed-in staff member's pool and session, the core's typed error out.

use digimed_core::icpc2::{self, Icpc2Code};
use digimed_core::meetings::{self, MeetingLinks, MeetingStatus};
use digimed_core::queue::{self, Consultation, QueueEvent, QueueFilter, QueueWatcher, ScreeningEntry, Started};
use digimed_core::results::{self, Amendment, HistoryEntry, ResultInput, ResultVersion};
use digimed_core::session::AppRole;
use digimed_core::staff;
use digimed_core::Error;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_specta::Event;

use crate::state::{ConsoleState, LinkOpener};
use crate::timing::timed;

/// A change of the queue or the screening list, as the console's event. Carries ids and state
/// only, never patient data.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueueChanged(pub QueueEvent);

/// A doctor the secretary can assign a consultation to.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DoctorOption {
    pub id: i32,
    pub name: String,
}

/// Open consultations of the signed-in staff member's clinic.
#[tauri::command]
#[specta::specta]
pub async fn queue_list(state: State<'_, ConsoleState>, filter: QueueFilter) -> Result<Vec<Consultation>, Error> {
    timed("queue_list (database)", state.act(async |tx| queue::list(tx, &filter).await)).await
}

/// One consultation.
#[tauri::command]
#[specta::specta]
pub async fn consultation_get(state: State<'_, ConsoleState>, id: i32) -> Result<Consultation, Error> {
    state.act(async |tx| queue::get(tx, id).await).await
}

/// The doctor picks the oldest unassigned consultation; `null` when the queue is empty.
#[tauri::command]
#[specta::specta]
pub async fn pick_next(state: State<'_, ConsoleState>) -> Result<Option<Consultation>, Error> {
    state.act(async |tx| queue::pick_next(tx).await).await
}

/// The doctor picks a specific consultation.
#[tauri::command]
#[specta::specta]
pub async fn pick(state: State<'_, ConsoleState>, id: i32) -> Result<Consultation, Error> {
    state.act(async |tx| queue::pick(tx, id).await).await
}

/// Assigns or reassigns a consultation to a doctor.
#[tauri::command]
#[specta::specta]
pub async fn assign(state: State<'_, ConsoleState>, id: i32, doctor_id: i32) -> Result<Consultation, Error> {
    state.act(async |tx| queue::assign(tx, id, doctor_id).await).await
}

/// Cancels a consultation; the core checks the reason.
#[tauri::command]
#[specta::specta]
pub async fn cancel(state: State<'_, ConsoleState>, id: i32, reason: String) -> Result<Consultation, Error> {
    state.act(async |tx| queue::cancel(tx, id, &reason).await).await
}

/// The assigned doctor starts the consultation; returns the doctor's and the patient's join links.
#[tauri::command]
#[specta::specta]
pub async fn start(state: State<'_, ConsoleState>, id: i32) -> Result<Started, Error> {
    let meetings = state.meetings().await;
    state.act(async |tx| queue::start(tx, &meetings, id).await).await
}

/// Which meeting service is used, whether its links are demo links, and what is wrong with its
/// settings.
#[tauri::command]
#[specta::specta]
pub async fn meeting_status(state: State<'_, ConsoleState>) -> Result<MeetingStatus, Error> {
    Ok(state.meetings().await.status())
}

/// The join links of an in-progress consultation, again, for its assigned doctor.
#[tauri::command]
#[specta::specta]
pub async fn meeting_links(state: State<'_, ConsoleState>, id: i32) -> Result<MeetingLinks, Error> {
    let meetings = state.meetings().await;
    state.act(async |tx| meetings::links_for_doctor(tx, &meetings, id).await).await
}

/// Opens the doctor's video link of an in-progress consultation in the system browser. The link
/// comes from the core (the page sends only the consultation), so the page never opens an
/// address of its own.
#[tauri::command]
#[specta::specta]
pub async fn meeting_join<R: Runtime>(app: AppHandle<R>, state: State<'_, ConsoleState>, id: i32) -> Result<(), Error> {
    let meetings = state.meetings().await;
    let links = state.act(async |tx| meetings::links_for_doctor(tx, &meetings, id).await).await?;
    let url = links.doctor_video_url;
    if !url.starts_with("https://") {
        return Err(Error::internal("The meeting link is not an https address."));
    }
    match state.link_opener() {
        LinkOpener::System => {
            use tauri_plugin_opener::OpenerExt;
            app.opener().open_url(url, None::<&str>).map_err(|_| Error::internal("The system browser could not be opened."))
        }
        LinkOpener::Record(opened) => {
            opened.lock().map_err(|_| Error::internal("The record of opened links is unusable."))?.push(url);
            Ok(())
        }
    }
}

/// The assigned doctor completes the consultation and files its result.
#[tauri::command]
#[specta::specta]
pub async fn complete_with_result(state: State<'_, ConsoleState>, id: i32, input: ResultInput) -> Result<Consultation, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| results::complete_with_result(tx, &vault, id, &input).await).await
}

/// The result versions of a consultation (each read is audited).
#[tauri::command]
#[specta::specta]
pub async fn result_read(state: State<'_, ConsoleState>, id: i32) -> Result<Vec<ResultVersion>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| results::read(tx, &vault, id).await).await
}

/// The author amends a result: a new version with the reason; answers the new version's number.
#[tauri::command]
#[specta::specta]
pub async fn result_amend(state: State<'_, ConsoleState>, id: i32, amendment: Amendment) -> Result<i32, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| results::amend(tx, &vault, id, &amendment).await).await
}

/// A patient's consultations at the clinic, newest first, each saying whether its result may be opened.
#[tauri::command]
#[specta::specta]
pub async fn consultation_history(state: State<'_, ConsoleState>, patient_person_id: i32) -> Result<Vec<HistoryEntry>, Error> {
    state.act(async |tx| results::history(tx, patient_person_id).await).await
}

/// Books a follow-up of a consultation for the same patient.
#[tauri::command]
#[specta::specta]
pub async fn book_follow_up(state: State<'_, ConsoleState>, id: i32) -> Result<Consultation, Error> {
    state.act(async |tx| queue::book_follow_up(tx, id).await).await
}

/// ICPC-2 codes matching what the doctor has typed so far.
#[tauri::command]
#[specta::specta]
pub async fn icpc2_search(state: State<'_, ConsoleState>, query: String) -> Result<Vec<Icpc2Code>, Error> {
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    state.act(async |tx| icpc2::search(tx, query.trim(), 12).await).await
}

/// The clinic's doctors, for the assign dialog and the doctor filter.
#[tauri::command]
#[specta::specta]
pub async fn doctors(state: State<'_, ConsoleState>) -> Result<Vec<DoctorOption>, Error> {
    Ok(timed("doctors (database)", state.act(async |tx| staff::list_staff(tx).await))
        .await?
        .into_iter()
        .filter(|s| s.role == AppRole::Doctor)
        .map(|s| DoctorOption { id: s.id, name: s.name })
        .collect())
}

/// The screening entries behind a consultation (its referral's call log), oldest first.
#[tauri::command]
#[specta::specta]
pub async fn screenings(state: State<'_, ConsoleState>, id: i32) -> Result<Vec<ScreeningEntry>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| queue::screenings(tx, &vault, id).await).await
}

/// Starts forwarding queue changes to the UI as `QueueChanged` events, until sign-out.
#[tauri::command]
#[specta::specta]
pub async fn watch_queue<R: Runtime>(app: AppHandle<R>, state: State<'_, ConsoleState>) -> Result<(), Error> {
    let (pool, _) = state.require().await?;
    let mut watcher = timed("watch_queue: listening (database)", QueueWatcher::connect(&pool)).await?;
    let task = tauri::async_runtime::spawn(async move {
        loop {
            match watcher.next().await {
                Ok(event) => {
                    if let Err(e) = QueueChanged(event).emit(&app) {
                        tracing::warn!(error = %e, "could not send a queue change to the window");
                    }
                }
                Err(e) => {
                    // The pool was closed (sign-out) or the watcher gave up; it reconnects itself
                    // otherwise, so an error here ends the task.
                    tracing::info!(code = e.code.as_str(), "queue watcher stopped");
                    break;
                }
            }
        }
    });
    state.set_watcher(task).await;
    Ok(())
}
