//! The consultation queue: secretaries book, assign and cancel (referrals are screened and booked
//! in `referrals`); doctors pick, start and complete (see `docs/consultations.md` for the states and times). Every operation runs in the
//! acting staff member's [`ClinicTx`](crate::ClinicTx), so the database (privileges, row-level
//! security, the state-transition trigger) enforces the same rules as this code. Every change is
//! announced with `NOTIFY digimed_queue` (a trigger); [`QueueWatcher`] turns those into typed
//! events and re-reads after a lost connection.
//!
//! `WAITING_TIME = starts_at - created_at` and `TREATMENT_DURATION = ends_at - starts_at` are
//! computed only in [`waiting_time`] and [`treatment_duration`].

pub(crate) mod booking;
mod lifecycle;
mod listing;
mod watch;

/// The screening entries behind a consultation (its referral's), for the doctor.
pub use crate::referrals::consultation_screenings as screenings;
pub use crate::referrals::{CallOutcome, ScreeningEntry};
pub use booking::{book, book_follow_up, NewBooking};
pub(crate) use lifecycle::ensure_doctor_of_clinic;
pub use lifecycle::{assign, cancel, complete, pick, pick_next, release, start, Started};
pub use listing::{get, history, list};
pub use watch::{QueueEvent, QueueEventKind, QueueWatcher, CHANNEL, RESYNC_MARGIN};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::patients::EntryPoint;

/// The consultation states (`consultation_states`), stored as their snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ConsultationState {
    ReadyForPickup,
    PendingSp,
    InProgress,
    Completed,
    Cancelled,
}

impl ConsultationState {
    pub const ALL: [ConsultationState; 5] = [
        ConsultationState::ReadyForPickup,
        ConsultationState::PendingSp,
        ConsultationState::InProgress,
        ConsultationState::Completed,
        ConsultationState::Cancelled,
    ];
    /// The states of a consultation that is still to be served: the queue shows these. The one
    /// place this is decided; the database and the console are told it.
    pub const OPEN: [ConsultationState; 3] =
        [ConsultationState::ReadyForPickup, ConsultationState::PendingSp, ConsultationState::InProgress];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationState::ReadyForPickup => "ready_for_pickup",
            ConsultationState::PendingSp => "pending_sp",
            ConsultationState::InProgress => "in_progress",
            ConsultationState::Completed => "completed",
            ConsultationState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ConsultationState> {
        ConsultationState::ALL.into_iter().find(|st| st.as_str() == s.trim()).ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidInput,
                "state",
                "Unknown state; use ready_for_pickup, pending_sp, in_progress, completed or cancelled.",
            )
        })
    }

    /// Words for a person, as the database's own refusals spell them.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }

    pub fn is_open(self) -> bool {
        ConsultationState::OPEN.contains(&self)
    }

    /// The open states as the database takes them.
    pub(crate) fn open_names() -> Vec<String> {
        ConsultationState::OPEN.iter().map(|s| s.as_str().to_string()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Times: the one place WAITING_TIME, TREATMENT_DURATION and the deadline status are computed.

/// WAITING_TIME = starts_at - created_at. While a consultation has not started, the time it has
/// waited so far (`now - created_at`).
pub fn waiting_time(created_at: DateTime<Utc>, starts_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Duration {
    (starts_at.unwrap_or(now) - created_at).max(Duration::zero())
}

/// TREATMENT_DURATION = ends_at - starts_at, once both are known.
pub fn treatment_duration(starts_at: Option<DateTime<Utc>>, ends_at: Option<DateTime<Utc>>) -> Option<Duration> {
    Some(ends_at? - starts_at?)
}

/// How close an unstarted consultation may come to its deadline before it is flagged as near.
pub const DEADLINE_NEAR: Duration = Duration::hours(4);

/// Whether the contractual deadline (to start the consultation) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// No contractual deadline (e.g. a follow-up).
    None,
    OnTrack,
    /// Not started and less than [`DEADLINE_NEAR`] left.
    Near,
    /// Not started in time (or still not started and past the deadline).
    Breached,
    /// Started within the deadline.
    Met,
}

pub fn deadline_status(
    deadline_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    state: ConsultationState,
    now: DateTime<Utc>,
) -> DeadlineStatus {
    let Some(deadline) = deadline_at else { return DeadlineStatus::None };
    match starts_at {
        Some(s) if s <= deadline => DeadlineStatus::Met,
        Some(_) => DeadlineStatus::Breached,
        None if state == ConsultationState::Cancelled => DeadlineStatus::None,
        None if now > deadline => DeadlineStatus::Breached,
        None if deadline - now <= DEADLINE_NEAR => DeadlineStatus::Near,
        None => DeadlineStatus::OnTrack,
    }
}

/// A consultation as the queue shows it. Times in seconds are whole seconds.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Consultation {
    pub id: i32,
    pub state: ConsultationState,
    pub patient_person_id: i32,
    pub organization_id: i32,
    pub partner_id: Option<i32>,
    pub referral_id: Option<i32>,
    pub follow_up_of: Option<i32>,
    pub category: String,
    pub assigned_doctor_id: Option<i32>,
    pub primary_channel: String,
    pub enabled_channels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// WAITING_TIME, so far if not started.
    pub waiting_seconds: i32,
    /// TREATMENT_DURATION, once completed.
    pub treatment_seconds: Option<i32>,
    pub deadline_status: DeadlineStatus,
    /// Shown in lists; not loaded by the state-changing operations.
    pub patient_name: Option<String>,
    pub partner_name: Option<String>,
    pub doctor_name: Option<String>,
    /// How the patient came to the clinic (their link's entry point); shown in lists.
    pub entry_point: Option<EntryPoint>,
}

/// A consultation as statements return it (names only where a list reads them).
pub(crate) struct ConsultationRow {
    pub id: i32,
    pub state: ConsultationState,
    pub patient_person_id: i32,
    pub organization_id: i32,
    pub partner_id: Option<i32>,
    pub referral_id: Option<i32>,
    pub follow_up_of: Option<i32>,
    pub category: String,
    pub assigned_doctor_id: Option<i32>,
    pub primary_channel: String,
    pub enabled_channels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub patient_name: Option<String>,
    pub partner_name: Option<String>,
    pub doctor_name: Option<String>,
    /// How the patient came to the clinic (their link's entry point); shown in lists.
    pub entry_point: Option<EntryPoint>,
}

fn seconds(d: Duration) -> i32 {
    d.num_seconds().clamp(0, i64::from(i32::MAX)) as i32
}

impl ConsultationRow {
    pub(crate) fn into_consultation(self, now: DateTime<Utc>) -> Consultation {
        let state = self.state;
        Consultation {
            waiting_seconds: seconds(waiting_time(self.created_at, self.starts_at, now)),
            treatment_seconds: treatment_duration(self.starts_at, self.ends_at).map(seconds),
            deadline_status: deadline_status(self.deadline_at, self.starts_at, state, now),
            id: self.id,
            state,
            patient_person_id: self.patient_person_id,
            organization_id: self.organization_id,
            partner_id: self.partner_id,
            referral_id: self.referral_id,
            follow_up_of: self.follow_up_of,
            category: self.category,
            assigned_doctor_id: self.assigned_doctor_id,
            primary_channel: self.primary_channel,
            enabled_channels: self.enabled_channels,
            created_at: self.created_at,
            deadline_at: self.deadline_at,
            assigned_at: self.assigned_at,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            cancelled_at: self.cancelled_at,
            cancel_reason: self.cancel_reason,
            patient_name: self.patient_name,
            partner_name: self.partner_name,
            doctor_name: self.doctor_name,
            entry_point: self.entry_point,
        }
    }
}

/// The order of a queue listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Longest waiting first (oldest first).
    #[default]
    WaitingLongest,
    WaitingShortest,
    /// Nearest deadline first; consultations without one last.
    Deadline,
}

/// Filters of a queue listing. By default: every open consultation of the signed-in staff
/// member's clinic, longest waiting first, 50 at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueFilter {
    /// Open states to show; empty means all open states.
    #[serde(default)]
    pub states: Vec<ConsultationState>,
    pub assigned_doctor_id: Option<i32>,
    #[serde(default)]
    pub unassigned_only: bool,
    pub partner_id: Option<i32>,
    #[serde(default)]
    pub sort: QueueSort,
    /// 1..=500; default 50.
    pub limit: Option<i32>,
    #[serde(default)]
    pub offset: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_and_treatment_times() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z").unwrap().with_timezone(&Utc);
        let s = t0 + Duration::minutes(90);
        let e = s + Duration::minutes(25);
        assert_eq!(waiting_time(t0, Some(s), t0 + Duration::days(3)), Duration::minutes(90));
        assert_eq!(waiting_time(t0, None, t0 + Duration::minutes(7)), Duration::minutes(7));
        assert_eq!(treatment_duration(Some(s), Some(e)), Some(Duration::minutes(25)));
        assert_eq!(treatment_duration(Some(s), None), None);
    }

    #[test]
    fn deadline_statuses() {
        let d = DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z").unwrap().with_timezone(&Utc);
        let open = ConsultationState::ReadyForPickup;
        assert_eq!(deadline_status(None, None, open, d), DeadlineStatus::None);
        assert_eq!(deadline_status(Some(d), None, open, d - Duration::hours(5)), DeadlineStatus::OnTrack);
        assert_eq!(deadline_status(Some(d), None, open, d - Duration::hours(3)), DeadlineStatus::Near);
        assert_eq!(deadline_status(Some(d), None, open, d + Duration::seconds(1)), DeadlineStatus::Breached);
        assert_eq!(deadline_status(Some(d), Some(d), ConsultationState::InProgress, d), DeadlineStatus::Met);
        assert_eq!(
            deadline_status(Some(d), Some(d + Duration::hours(1)), ConsultationState::Completed, d),
            DeadlineStatus::Breached
        );
    }
}
