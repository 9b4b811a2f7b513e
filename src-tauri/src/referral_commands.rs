//! The screening commands: the referrals awaiting a decision, their call log, booking or declining
//! them; a direct booking of a known patient; and whether a partner books on arrival. Thin
//! adapters over the core.

use digimed_core::queue::{self, Consultation, NewBooking};
use digimed_core::referrals::{
    self, BookingChoice, CallOutcome, DeclinedReferral, PartnerOption, ReferralField, ReferralToScreen, ScreeningEntry,
};
use digimed_core::Error;
use tauri::State;

use crate::state::ConsoleState;

/// The referrals of the clinic awaiting a decision, the nearest deadline first.
#[tauri::command]
#[specta::specta]
pub async fn screening_list(state: State<'_, ConsoleState>) -> Result<Vec<ReferralToScreen>, Error> {
    state.act(async |tx| referrals::screening_list(tx).await).await
}

/// The referral's own fields as the partner sent them (without the national id and the phone).
#[tauri::command]
#[specta::specta]
pub async fn referral_fields(state: State<'_, ConsoleState>, referral_id: i32) -> Result<Vec<ReferralField>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| referrals::referral_fields(tx, &vault, referral_id).await).await
}

/// Records a call attempt (with its outcome) and/or a note about a referral.
#[tauri::command]
#[specta::specta]
pub async fn referral_screen(
    state: State<'_, ConsoleState>,
    referral_id: i32,
    outcome: Option<CallOutcome>,
    note: Option<String>,
) -> Result<ScreeningEntry, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| referrals::screen(tx, &vault, referral_id, outcome, note.as_deref()).await).await
}

/// The call log of a referral, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn referral_screenings(state: State<'_, ConsoleState>, referral_id: i32) -> Result<Vec<ScreeningEntry>, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| referrals::screenings(tx, &vault, referral_id).await).await
}

/// Books a screened referral: its consultation enters the doctors' queue, or goes to the doctor chosen.
#[tauri::command]
#[specta::specta]
pub async fn referral_book(
    state: State<'_, ConsoleState>,
    referral_id: i32,
    choice: BookingChoice,
) -> Result<Consultation, Error> {
    state.act(async |tx| referrals::book(tx, referral_id, &choice).await).await
}

/// Declines a referral, with a reason.
#[tauri::command]
#[specta::specta]
pub async fn referral_decline(
    state: State<'_, ConsoleState>,
    referral_id: i32,
    reason: String,
) -> Result<DeclinedReferral, Error> {
    state.act(async |tx| referrals::decline(tx, referral_id, &reason).await).await
}

/// Books a consultation for a known patient of the clinic (a walk-in, a follow-up).
#[tauri::command]
#[specta::specta]
pub async fn consultation_book(state: State<'_, ConsoleState>, booking: NewBooking) -> Result<Consultation, Error> {
    state.act(async |tx| queue::book(tx, &booking).await).await
}

/// Sets whether a partner's referrals are booked as they arrive (admins).
#[tauri::command]
#[specta::specta]
pub async fn partner_set_book_on_arrival(
    state: State<'_, ConsoleState>,
    partner_id: i32,
    on: bool,
) -> Result<PartnerOption, Error> {
    state.act(async |tx| referrals::set_book_on_arrival(tx, partner_id, on).await).await
}
