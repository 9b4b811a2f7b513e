//! The consultation queue (seed 001): secretaries screen, assign and cancel; doctors pick, start
//! and complete. Every operation is one transaction on the signed-in staff member's own
//! connection, so the database (privileges, row-level security, the state-transition trigger)
//! enforces the same rules as this code. Every change is announced with `NOTIFY digimed_queue`
//! (a trigger); [`QueueWatcher`] turns those into typed events and re-reads after a lost
//! connection.
//!
//! `WAITING_TIME = starts_at - created_at` and `TREATMENT_DURATION = ends_at - starts_at` are
//! computed only in [`waiting_time`] and [`treatment_duration`].

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::session::{AppRole, StaffSession};

/// The NOTIFY channel of queue changes.
pub const CHANNEL: &str = "digimed_queue";

/// Seed 001's consultation states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
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

// ---------------------------------------------------------------------------------------------
// Reading.

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
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i32,
    state: String,
    patient_person_id: i32,
    organization_id: i32,
    partner_id: Option<i32>,
    referral_id: Option<i32>,
    follow_up_of: Option<i32>,
    category: String,
    assigned_doctor_id: Option<i32>,
    primary_channel: String,
    enabled_channels: Vec<String>,
    created_at: DateTime<Utc>,
    deadline_at: Option<DateTime<Utc>>,
    assigned_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    #[sqlx(default)]
    patient_name: Option<String>,
    #[sqlx(default)]
    partner_name: Option<String>,
    #[sqlx(default)]
    doctor_name: Option<String>,
}

fn seconds(d: Duration) -> i32 {
    d.num_seconds().clamp(0, i32::MAX as i64) as i32
}

impl Row {
    fn into_consultation(self, now: DateTime<Utc>) -> Result<Consultation> {
        let state = ConsultationState::parse(&self.state)?;
        Ok(Consultation {
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
        })
    }
}

/// The consultation columns every statement here returns (alias `c`).
const COLUMNS: &str = "c.id, c.state, c.patient_person_id, c.organization_id, c.partner_id, c.referral_id,
    c.follow_up_of, c.category, c.assigned_doctor_id, c.primary_channel, c.enabled_channels, c.created_at,
    c.deadline_at, c.assigned_at, c.starts_at, c.ends_at, c.cancelled_at, c.cancel_reason";

/// Columns plus the names a list shows (row-level security applies).
fn select_named() -> String {
    format!(
        "SELECT {COLUMNS}, pp.name AS patient_name, pa.name AS partner_name, s.name AS doctor_name
           FROM consultations c
           LEFT JOIN patient_persons pp ON pp.id = c.patient_person_id
           LEFT JOIN partners pa ON pa.id = c.partner_id
           LEFT JOIN staff s ON s.id = c.assigned_doctor_id"
    )
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

/// Open consultations of the signed-in staff member's clinic.
pub async fn list(pool: &PgPool, filter: &QueueFilter) -> Result<Vec<Consultation>> {
    if let Some(s) = filter.states.iter().find(|s| !s.is_open()) {
        return Err(Error::field(
            ErrorCode::InvalidInput,
            "states",
            format!("The queue shows open consultations only, not {} ones.", s.label()),
        ));
    }
    let states: Vec<&str> = if filter.states.is_empty() {
        ConsultationState::OPEN.iter().map(|s| s.as_str()).collect()
    } else {
        filter.states.iter().map(|s| s.as_str()).collect()
    };
    let sort = match filter.sort {
        QueueSort::WaitingLongest => "waiting_longest",
        QueueSort::WaitingShortest => "waiting_shortest",
        QueueSort::Deadline => "deadline",
    };
    // `queue_list` applies the clinic's row-level rule to the whole set (see its migration).
    let rows: Vec<Row> = sqlx::query_as("SELECT * FROM queue_list($1, $2, $3, $4, $5, $6, $7)")
        .bind(&states)
        .bind(filter.assigned_doctor_id)
        .bind(filter.unassigned_only)
        .bind(filter.partner_id)
        .bind(sort)
        .bind(filter.limit.unwrap_or(50).clamp(1, 500))
        .bind(filter.offset.unwrap_or(0).max(0))
        .fetch_all(pool)
        .await?;
    let now = Utc::now();
    rows.into_iter().map(|r| r.into_consultation(now)).collect()
}

/// One consultation the signed-in staff member may see.
pub async fn get(pool: &PgPool, id: i32) -> Result<Consultation> {
    let row: Option<Row> = sqlx::query_as(&format!("{} WHERE c.id = $1", select_named()))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.ok_or_else(|| Error::not_found("The consultation"))?.into_consultation(Utc::now())
}

/// A patient's consultations at the signed-in staff member's clinic, newest first (the doctor's
/// view of the patient's history).
pub async fn history(pool: &PgPool, patient_person_id: i32) -> Result<Vec<Consultation>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{} WHERE c.patient_person_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT 500",
        select_named()
    ))
    .bind(patient_person_id)
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    rows.into_iter().map(|r| r.into_consultation(now)).collect()
}

// ---------------------------------------------------------------------------------------------
// Changing.

fn require_role(me: &StaffSession, roles: &[AppRole], doing: &str) -> Result<()> {
    if roles.contains(&me.role) {
        Ok(())
    } else {
        Err(Error::forbidden(format!("Your role ({}) cannot {doing}.", me.role.as_str().replace('_', " "))))
    }
}

/// Explains why a statement aimed at consultation `id` changed nothing: it does not exist (for
/// this staff member), belongs to another doctor, or is in a state that does not allow `doing`.
async fn explain_miss(conn: &mut PgConnection, me: &StaffSession, id: i32, doing: &str) -> Error {
    let row: std::result::Result<Option<(String, Option<i32>)>, sqlx::Error> =
        sqlx::query_as("SELECT state, assigned_doctor_id FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await;
    match row {
        Err(e) => e.into(),
        Ok(None) => Error::not_found("The consultation"),
        Ok(Some((state, doctor))) => {
            let label = state.replace('_', " ");
            if me.role == AppRole::Doctor && doctor.is_some_and(|d| d != me.staff_id) {
                Error::new(
                    ErrorCode::Forbidden,
                    format!("The consultation is {label} with another doctor; you cannot {doing} it."),
                )
            } else {
                Error::new(ErrorCode::InvalidStateTransition, format!("The consultation is {label}; it cannot be {doing}."))
                    .with_details(serde_json::json!({ "state": state }))
            }
        }
    }
}

async fn fetch_one_changed(
    conn: &mut PgConnection,
    me: &StaffSession,
    id: i32,
    doing: &str,
    query: sqlx::query::QueryAs<'_, sqlx::Postgres, Row, sqlx::postgres::PgArguments>,
) -> Result<Consultation> {
    match query.fetch_optional(&mut *conn).await? {
        Some(row) => row.into_consultation(Utc::now()),
        None => Err(explain_miss(conn, me, id, doing).await),
    }
}

/// A doctor takes the oldest unassigned consultation of their clinic. Many doctors may pick at
/// once: each consultation goes to exactly one of them (`FOR UPDATE SKIP LOCKED`). `None` when
/// nothing is waiting.
pub async fn pick_next(pool: &PgPool, me: &StaffSession) -> Result<Option<Consultation>> {
    require_role(me, &[AppRole::Doctor], "pick consultations")?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $1, assigned_at = now()
          WHERE c.id = (SELECT id FROM consultations
                         WHERE state = 'ready_for_pickup' AND assigned_doctor_id IS NULL
                           AND organization_id = current_staff_org()
                         ORDER BY created_at, id LIMIT 1
                         FOR UPDATE SKIP LOCKED)
          RETURNING {COLUMNS}"
    ))
    .bind(me.staff_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| r.into_consultation(Utc::now())).transpose()
}

/// A doctor takes one particular consultation; refused when another doctor was first.
pub async fn pick(pool: &PgPool, me: &StaffSession, id: i32) -> Result<Consultation> {
    require_role(me, &[AppRole::Doctor], "pick consultations")?;
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now()
          WHERE c.id = $1 AND c.state = 'ready_for_pickup' AND c.assigned_doctor_id IS NULL
          RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(&mut tx, me, id, "picked", sqlx::query_as(&sql).bind(id).bind(me.staff_id)).await?;
    tx.commit().await?;
    Ok(c)
}

/// A secretary (or admin) assigns, or reassigns, a consultation to a doctor of the clinic.
pub async fn assign(pool: &PgPool, me: &StaffSession, id: i32, doctor_id: i32) -> Result<Consultation> {
    require_role(me, &[AppRole::Secretary, AppRole::Admin], "assign consultations")?;
    let mut tx = pool.begin().await?;
    let is_doctor: Option<bool> = sqlx::query_scalar("SELECT is_doctor_in_org($1, current_staff_org())")
        .bind(doctor_id)
        .fetch_one(&mut *tx)
        .await?;
    if is_doctor != Some(true) {
        return Err(Error::field(ErrorCode::InvalidInput, "doctor_id", "That is not an active doctor of this clinic."));
    }
    let sql = format!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now()
          WHERE c.id = $1 RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(&mut tx, me, id, "assigned", sqlx::query_as(&sql).bind(id).bind(doctor_id)).await?;
    tx.commit().await?;
    Ok(c)
}

/// A secretary (or admin) returns an assigned consultation to the queue.
pub async fn release(pool: &PgPool, me: &StaffSession, id: i32) -> Result<Consultation> {
    require_role(me, &[AppRole::Secretary, AppRole::Admin], "return consultations to the queue")?;
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE consultations c SET state = 'ready_for_pickup', assigned_doctor_id = NULL, assigned_at = NULL
          WHERE c.id = $1 RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(&mut tx, me, id, "returned to the queue", sqlx::query_as(&sql).bind(id)).await?;
    tx.commit().await?;
    Ok(c)
}

/// Cancels a consultation with a reason (secretary, admin, or the assigned doctor).
pub async fn cancel(pool: &PgPool, me: &StaffSession, id: i32, reason: &str) -> Result<Consultation> {
    require_role(me, &[AppRole::Secretary, AppRole::Admin, AppRole::Doctor], "cancel consultations")?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "Give a reason for cancelling."));
    }
    if reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "The reason must be at most 500 characters of text."));
    }
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE consultations c SET state = 'cancelled', cancelled_at = now(), cancel_reason = $2
          WHERE c.id = $1 RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(&mut tx, me, id, "cancelled", sqlx::query_as(&sql).bind(id).bind(reason)).await?;
    crate::outbox::enqueue(
        &mut tx,
        "consultation.cancelled",
        Some(c.organization_id),
        &serde_json::json!({"consultation_id": c.id, "patient_person_id": c.patient_person_id, "notify_patient": true}),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

/// Where the video and chat rooms of a consultation are joined.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// Base URL of the meeting service, without a trailing slash.
    pub base_url: String,
}

impl MeetingConfig {
    /// `DIGIMED_MEETING_URL`, or the demo address.
    pub fn from_env() -> MeetingConfig {
        let base = std::env::var("DIGIMED_MEETING_URL")
            .ok()
            .filter(|v| v.starts_with("https://") || v.starts_with("http://"))
            .unwrap_or_else(|| "https://meet.digimed.test".to_string());
        MeetingConfig { base_url: base.trim_end_matches('/').to_string() }
    }
}

/// A started consultation and the links the patient was sent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Started {
    pub consultation: Consultation,
    pub video_join_url: String,
    pub chat_join_url: String,
}

/// The assigned doctor starts the consultation: `starts_at` is set, the video and chat rooms are
/// created with their join links, and a message with the link to the patient is queued.
pub async fn start(pool: &PgPool, me: &StaffSession, meeting: &MeetingConfig, id: i32) -> Result<Started> {
    require_role(me, &[AppRole::Doctor], "start consultations")?;
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE consultations c SET state = 'in_progress', starts_at = now()
          WHERE c.id = $1 AND c.assigned_doctor_id = $2 AND c.state <> 'in_progress'
          RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(&mut tx, me, id, "started", sqlx::query_as(&sql).bind(id).bind(me.staff_id)).await?;
    let video = format!("{}/video/{}", meeting.base_url, crate::patients::new_token());
    let chat = format!("{}/chat/{}", meeting.base_url, crate::patients::new_token());
    sqlx::query("INSERT INTO video_rooms (consultation_id, join_url) VALUES ($1, $2)")
        .bind(id)
        .bind(&video)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO chat_rooms (consultation_id, join_url) VALUES ($1, $2)")
        .bind(id)
        .bind(&chat)
        .execute(&mut *tx)
        .await?;
    crate::outbox::enqueue(
        &mut tx,
        "consultation.started",
        Some(c.organization_id),
        &serde_json::json!({
            "consultation_id": c.id,
            "patient_person_id": c.patient_person_id,
            "doctor_id": me.staff_id,
            "primary_channel": c.primary_channel,
            "video_join_url": video,
            "chat_join_url": chat,
            "notify_patient": true,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Started { consultation: c, video_join_url: video, chat_join_url: chat })
}

/// The assigned doctor completes the consultation, in the caller's transaction, so that filing
/// the consultation result and completing happen together: `ends_at` is set and a message to
/// the patient is queued.
pub async fn complete_in(conn: &mut PgConnection, me: &StaffSession, id: i32) -> Result<Consultation> {
    require_role(me, &[AppRole::Doctor], "complete consultations")?;
    let sql = format!(
        "UPDATE consultations c SET state = 'completed', ends_at = now()
          WHERE c.id = $1 AND c.assigned_doctor_id = $2 RETURNING {COLUMNS}"
    );
    let c = fetch_one_changed(conn, me, id, "completed", sqlx::query_as(&sql).bind(id).bind(me.staff_id)).await?;
    crate::outbox::enqueue(
        conn,
        "consultation.completed",
        Some(c.organization_id),
        &serde_json::json!({
            "consultation_id": c.id,
            "patient_person_id": c.patient_person_id,
            "doctor_id": me.staff_id,
            "waiting_seconds": c.waiting_seconds,
            "treatment_seconds": c.treatment_seconds,
            "notify_patient": true,
        }),
    )
    .await?;
    Ok(c)
}

/// [`complete_in`] in a transaction of its own. The database refuses to complete a consultation
/// without its result, so the console completes through `results::complete_with_result`, which
/// files the result and calls [`complete_in`] in one transaction.
pub async fn complete(pool: &PgPool, me: &StaffSession, id: i32) -> Result<Consultation> {
    let mut tx = pool.begin().await?;
    let c = complete_in(&mut tx, me, id).await?;
    tx.commit().await?;
    Ok(c)
}

/// A doctor (or secretary) books a follow-up consultation for the same patient. A doctor's
/// follow-up is assigned to them; a secretary's waits in the queue.
pub async fn book_follow_up(pool: &PgPool, me: &StaffSession, of_consultation: i32) -> Result<Consultation> {
    require_role(me, &[AppRole::Doctor, AppRole::Secretary, AppRole::Admin], "book follow-ups")?;
    let mut tx = pool.begin().await?;
    let doctor = (me.role == AppRole::Doctor).then_some(me.staff_id);
    let sql = format!(
        "INSERT INTO consultations AS c (patient_person_id, organization_id, partner_id, follow_up_of, category,
                                        state, assigned_doctor_id, assigned_at, enabled_channels, primary_channel)
         SELECT o.patient_person_id, o.organization_id, o.partner_id, o.id, o.category,
                CASE WHEN $2::int IS NULL THEN 'ready_for_pickup' ELSE 'pending_sp' END,
                $2, CASE WHEN $2::int IS NULL THEN NULL ELSE now() END, o.enabled_channels, o.primary_channel
           FROM consultations o WHERE o.id = $1
         RETURNING {COLUMNS}"
    );
    let row: Option<Row> = sqlx::query_as(&sql).bind(of_consultation).bind(doctor).fetch_optional(&mut *tx).await?;
    let c = row.ok_or_else(|| Error::not_found("The consultation"))?.into_consultation(Utc::now())?;
    tx.commit().await?;
    Ok(c)
}

/// A booking a secretary creates for a patient of the clinic (after screening, or directly).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewBooking {
    pub patient_person_id: i32,
    /// The paying partner, for an insurance booking; `None` for a direct one.
    pub partner_id: Option<i32>,
    /// `video`, `chat`, `phone`; empty means video and chat.
    #[serde(default)]
    pub enabled_channels: Vec<String>,
    /// One of the enabled channels; default the first.
    pub primary_channel: Option<String>,
    /// Assign a doctor of the clinic right away.
    pub doctor_id: Option<i32>,
}

/// A secretary (or admin) books a consultation for a patient of the clinic: in the queue, or
/// assigned to a doctor; an insurance booking gets the partner's deadline, order and line item.
pub async fn book(pool: &PgPool, me: &StaffSession, b: &NewBooking) -> Result<Consultation> {
    require_role(me, &[AppRole::Secretary, AppRole::Admin], "book consultations")?;
    let channels: Vec<String> = if b.enabled_channels.is_empty() {
        vec!["video".into(), "chat".into()]
    } else {
        b.enabled_channels.iter().map(|c| c.trim().to_lowercase()).collect()
    };
    if channels.iter().any(|c| !["video", "chat", "phone"].contains(&c.as_str())) {
        return Err(Error::field(ErrorCode::InvalidInput, "enabled_channels", "Channels are video, chat and phone."));
    }
    let primary = b.primary_channel.as_deref().map(|c| c.trim().to_lowercase()).unwrap_or_else(|| channels[0].clone());
    if !channels.contains(&primary) {
        return Err(Error::field(ErrorCode::InvalidInput, "primary_channel", "The primary channel must be one of the enabled ones."));
    }
    let mut tx = pool.begin().await?;
    let linked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM patients WHERE patient_person_id = $1 AND organization_id = current_staff_org())",
    )
    .bind(b.patient_person_id)
    .fetch_one(&mut *tx)
    .await?;
    if !linked {
        return Err(Error::field(ErrorCode::NotFound, "patient_person_id", "This person is not a patient of your clinic."));
    }
    let partner: Option<(i32, i32)> = match b.partner_id {
        None => None,
        Some(pid) => Some(
            sqlx::query_as("SELECT organization_id, deadline_working_days FROM partners WHERE id = $1 AND clinic_id = current_staff_org()")
                .bind(pid)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::field(ErrorCode::NotFound, "partner_id", "That partner does not send referrals to your clinic."))?,
        ),
    };
    if let Some(doctor) = b.doctor_id {
        let ok: Option<bool> = sqlx::query_scalar("SELECT is_doctor_in_org($1, current_staff_org())")
            .bind(doctor)
            .fetch_one(&mut *tx)
            .await?;
        if ok != Some(true) {
            return Err(Error::field(ErrorCode::InvalidInput, "doctor_id", "That is not an active doctor of this clinic."));
        }
    }
    let sql = format!(
        "INSERT INTO consultations AS c (patient_person_id, organization_id, partner_id, category, state, assigned_doctor_id,
                                        assigned_at, enabled_channels, primary_channel, deadline_at)
         VALUES ($1, current_staff_org(), $2, CASE WHEN $2::int IS NULL THEN 'direct' ELSE 'insurance' END,
                 CASE WHEN $3::int IS NULL THEN 'ready_for_pickup' ELSE 'pending_sp' END, $3,
                 CASE WHEN $3::int IS NULL THEN NULL ELSE now() END, $4, $5,
                 CASE WHEN $6::int IS NULL THEN NULL ELSE add_working_days(now(), $6) END)
         RETURNING {COLUMNS}"
    );
    let row: Row = sqlx::query_as(&sql)
        .bind(b.patient_person_id)
        .bind(b.partner_id)
        .bind(b.doctor_id)
        .bind(&channels)
        .bind(&primary)
        .bind(partner.map(|p| p.1))
        .fetch_one(&mut *tx)
        .await?;
    let c = row.into_consultation(Utc::now())?;
    if let Some((customer, _)) = partner {
        let order_id: i32 = sqlx::query_scalar(
            "INSERT INTO orders (clinic_id, customer_org_id, patient_person_id, consultation_id)
             VALUES (current_staff_org(), $1, $2, $3) RETURNING id",
        )
        .bind(customer)
        .bind(c.patient_person_id)
        .bind(c.id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO line_items (order_id, description, category, quantity, unit_price) VALUES ($1, 'Digimed consultation', 'insurance', 1, 0)",
        )
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(c)
}

/// A call attempt or note from screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Reached,
    NoAnswer,
    Voicemail,
    WrongNumber,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reached => "reached",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Voicemail => "voicemail",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }
}

/// A screening entry: a call attempt (with its outcome) or a note. Notes are stored encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScreeningEntry {
    pub id: i32,
    pub consultation_id: i32,
    pub staff_id: i32,
    pub call_outcome: Option<CallOutcome>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A secretary records a call attempt (`outcome`) or a note about a consultation. The first
/// screener of a referral becomes its supervisor.
pub async fn screen(
    pool: &PgPool,
    vault: &Vault,
    me: &StaffSession,
    id: i32,
    outcome: Option<CallOutcome>,
    note: Option<&str>,
) -> Result<ScreeningEntry> {
    require_role(me, &[AppRole::Secretary, AppRole::Admin], "screen consultations")?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if outcome.is_none() && note.is_none() {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "Record a call outcome or write a note."));
    }
    if note.is_some_and(|n| n.chars().count() > 5000) {
        return Err(Error::field(ErrorCode::InvalidInput, "note", "A note is at most 5000 characters."));
    }
    let mut tx = pool.begin().await?;
    let visible: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM consultations WHERE id = $1)")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if !visible {
        return Err(Error::not_found("The consultation"));
    }
    let sid: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('consultation_screenings', 'id'))::int")
        .fetch_one(&mut *tx)
        .await?;
    let created_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO consultation_screenings (id, consultation_id, staff_id, kind, call_outcome, note_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
    )
    .bind(sid)
    .bind(id)
    .bind(me.staff_id)
    .bind(if outcome.is_some() { "call_attempt" } else { "note" })
    .bind(outcome.map(|o| o.as_str()))
    .bind(note.map(|n| vault.encrypt("consultation_screenings", "note_encrypted", sid as i64, n)))
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE referrals SET supervisor_staff_id = $2
          WHERE id = (SELECT referral_id FROM consultations WHERE id = $1) AND supervisor_staff_id IS NULL",
    )
    .bind(id)
    .bind(me.staff_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ScreeningEntry {
        id: sid,
        consultation_id: id,
        staff_id: me.staff_id,
        call_outcome: outcome,
        note: note.map(str::to_string),
        created_at,
    })
}

/// The screening entries of a consultation, oldest first, notes decrypted.
pub async fn screenings(pool: &PgPool, vault: &Vault, id: i32) -> Result<Vec<ScreeningEntry>> {
    type ScreeningRow = (i32, i32, Option<String>, Option<Vec<u8>>, DateTime<Utc>);
    let rows: Vec<ScreeningRow> = sqlx::query_as(
        "SELECT id, staff_id, call_outcome, note_encrypted, created_at FROM consultation_screenings
          WHERE consultation_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(sid, staff_id, outcome, note, created_at)| {
            Ok(ScreeningEntry {
                id: sid,
                consultation_id: id,
                staff_id,
                call_outcome: outcome.and_then(|o| {
                    [CallOutcome::Reached, CallOutcome::NoAnswer, CallOutcome::Voicemail, CallOutcome::WrongNumber]
                        .into_iter()
                        .find(|c| c.as_str() == o)
                }),
                note: note
                    .map(|ct| vault.decrypt("consultation_screenings", "note_encrypted", sid as i64, &ct))
                    .transpose()?,
                created_at,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Live updates.

/// What happened to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    Insert,
    Update,
    Screening,
    /// Re-read after the notification connection was lost: the consultation's current state,
    /// which may repeat one already delivered.
    Resync,
}

/// A queue change. Carries ids and state only, never patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueEvent {
    pub kind: QueueEventKind,
    pub consultation_id: i32,
    pub organization_id: Option<i32>,
    pub state: Option<ConsultationState>,
    pub assigned_doctor_id: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// How far back a re-read after a lost connection reaches before the newest change seen, to
/// cover transactions that committed later than they changed a row.
pub const RESYNC_MARGIN: Duration = Duration::minutes(2);

/// Typed queue events from `LISTEN digimed_queue`, for one clinic (the signed-in staff member's)
/// or, for the owner, all. After a lost connection it reconnects (with back-off) and re-reads
/// every consultation changed since shortly before the newest change it had delivered, so no
/// change is missed; those come as [`QueueEventKind::Resync`] events.
pub struct QueueWatcher {
    pool: PgPool,
    listener: Option<PgListener>,
    organization_id: Option<i32>,
    last_seen: DateTime<Utc>,
    pending: VecDeque<QueueEvent>,
    reconnects: u32,
}

impl QueueWatcher {
    pub async fn connect(pool: &PgPool) -> Result<QueueWatcher> {
        let (org, now): (Option<i32>, DateTime<Utc>) =
            sqlx::query_as("SELECT current_staff_org(), now()").fetch_one(pool).await?;
        let mut w = QueueWatcher {
            pool: pool.clone(),
            listener: None,
            organization_id: org,
            last_seen: now,
            pending: VecDeque::new(),
            reconnects: 0,
        };
        w.listener = Some(Self::listen(pool).await?);
        Ok(w)
    }

    async fn listen(pool: &PgPool) -> Result<PgListener> {
        let mut l = PgListener::connect_with(pool).await?;
        l.listen(CHANNEL).await?;
        Ok(l)
    }

    /// How many times the connection was re-established.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// The backend process id of the listening connection (for operations and tests).
    pub async fn backend_pid(&mut self) -> Result<i32> {
        let l = self.listener.as_mut().ok_or_else(|| Error::internal("not listening"))?;
        Ok(sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(l).await?)
    }

    fn accept(&mut self, e: QueueEvent) -> Option<QueueEvent> {
        if let Some(at) = e.updated_at {
            self.last_seen = self.last_seen.max(at);
        }
        match (self.organization_id, e.organization_id) {
            (Some(mine), Some(theirs)) if mine != theirs => None,
            _ => Some(e),
        }
    }

    /// Re-establishes the listener, then re-reads what changed meanwhile.
    async fn recover(&mut self) -> Result<()> {
        self.listener = None;
        let mut delay = StdDuration::from_millis(100);
        let listener = loop {
            if self.pool.is_closed() {
                return Err(Error::new(ErrorCode::DatabaseUnavailable, "The connection pool was closed."));
            }
            match Self::listen(&self.pool).await {
                Ok(l) => break l,
                Err(e) if e.retryable || e.code == ErrorCode::DatabaseUnavailable => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(StdDuration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        };
        self.listener = Some(listener);
        self.reconnects += 1;
        let since = self.last_seen - RESYNC_MARGIN;
        type ChangedRow = (i32, i32, String, Option<i32>, DateTime<Utc>);
        let rows: Vec<ChangedRow> = sqlx::query_as(
            "SELECT id, organization_id, state, assigned_doctor_id, updated_at FROM consultations
              WHERE updated_at >= $1 ORDER BY updated_at, id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        for (id, org, state, doctor, updated_at) in rows {
            let e = QueueEvent {
                kind: QueueEventKind::Resync,
                consultation_id: id,
                organization_id: Some(org),
                state: ConsultationState::parse(&state).ok(),
                assigned_doctor_id: doctor,
                updated_at: Some(updated_at),
            };
            if let Some(e) = self.accept(e) {
                self.pending.push_back(e);
            }
        }
        Ok(())
    }

    /// The next queue event; waits for one.
    pub async fn next(&mut self) -> Result<QueueEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            let received = match self.listener.as_mut() {
                Some(l) => l.try_recv().await,
                None => Ok(None),
            };
            match received {
                Ok(Some(n)) => {
                    #[derive(Deserialize)]
                    struct Payload {
                        kind: String,
                        consultation_id: i32,
                        organization_id: Option<i32>,
                        state: Option<String>,
                        assigned_doctor_id: Option<i32>,
                        updated_at: Option<DateTime<Utc>>,
                    }
                    let Ok(p) = serde_json::from_str::<Payload>(n.payload()) else {
                        tracing::warn!("ignoring a malformed queue notification");
                        continue;
                    };
                    let kind = match p.kind.as_str() {
                        "insert" => QueueEventKind::Insert,
                        "screening" => QueueEventKind::Screening,
                        _ => QueueEventKind::Update,
                    };
                    let e = QueueEvent {
                        kind,
                        consultation_id: p.consultation_id,
                        organization_id: p.organization_id,
                        state: p.state.as_deref().and_then(|s| ConsultationState::parse(s).ok()),
                        assigned_doctor_id: p.assigned_doctor_id,
                        updated_at: p.updated_at,
                    };
                    if let Some(e) = self.accept(e) {
                        return Ok(e);
                    }
                }
                // The connection was lost (or never re-established): start over and re-read.
                Ok(None) | Err(_) => {
                    tracing::info!("queue notifications interrupted; reconnecting");
                    self.recover().await?;
                }
            }
        }
    }
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
