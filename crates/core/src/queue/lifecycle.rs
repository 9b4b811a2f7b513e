//! A consultation's way through the queue: a doctor picks it (or a secretary assigns it), the
//! doctor starts it and completes it; a secretary may return it to the queue or cancel it. Each
//! step is one statement whose `WHERE` says which state it leaves; when it matches nothing,
//! [`explain_miss`] says why.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Consultation, ConsultationState};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::meetings::Meetings;
use crate::messages::MessageKind;
use crate::session::AppRole;

/// Explains why a statement aimed at consultation `id` changed nothing: it does not exist (for
/// this actor), belongs to another doctor, or is in a state that does not allow `doing`.
async fn explain_miss(tx: &mut ClinicTx, id: i32, doing: &str) -> Error {
    let me = tx.staff().ok().map(|s| (s.role, s.staff_id));
    let row =
        sqlx::query!(r#"SELECT state AS "state: ConsultationState", assigned_doctor_id FROM consultations WHERE id = $1"#, id)
            .fetch_optional(tx.conn())
            .await;
    match row {
        Err(e) => e.into(),
        Ok(None) => Error::not_found("The consultation"),
        Ok(Some(r)) => {
            let label = r.state.label();
            match me {
                Some((AppRole::Doctor, mine)) if r.assigned_doctor_id.is_some_and(|d| d != mine) => Error::new(
                    ErrorCode::Forbidden,
                    format!("The consultation is {label} with another doctor; you cannot {doing} it."),
                ),
                _ => Error::new(ErrorCode::InvalidStateTransition, format!("The consultation is {label}; it cannot be {doing}."))
                    .with_details(serde_json::json!({ "state": r.state.as_str() })),
            }
        }
    }
}

/// The consultation a statement changed (read back as lists show it), or why it changed none.
async fn changed(tx: &mut ClinicTx, id: i32, doing: &str, changed: Option<i32>) -> Result<Consultation> {
    match changed {
        Some(id) => super::listing::read_one(tx, id).await,
        None => Err(explain_miss(tx, id, doing).await),
    }
}

/// A doctor takes the oldest unassigned consultation of their clinic. Many doctors may pick at
/// once: each consultation goes to exactly one of them (`FOR UPDATE SKIP LOCKED`). `None` when
/// nothing is waiting.
pub async fn pick_next(tx: &mut ClinicTx) -> Result<Option<Consultation>> {
    tx.require(Capability::PickConsultation)?;
    let me = tx.staff()?.clone();
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $1, assigned_at = now()
            WHERE c.id = (SELECT id FROM consultations
                           WHERE state = 'ready_for_pickup' AND assigned_doctor_id IS NULL AND organization_id = $2
                           ORDER BY created_at, id LIMIT 1
                           FOR UPDATE SKIP LOCKED)
            RETURNING c.id",
        me.staff_id,
        me.organization_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    match changed_id {
        Some(id) => super::listing::read_one(tx, id).await.map(Some),
        None => Ok(None),
    }
}

/// A doctor takes one particular consultation; refused when another doctor was first.
pub async fn pick(tx: &mut ClinicTx, id: i32) -> Result<Consultation> {
    tx.require(Capability::PickConsultation)?;
    let doctor = tx.staff()?.staff_id;
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now()
            WHERE c.id = $1 AND c.state = 'ready_for_pickup' AND c.assigned_doctor_id IS NULL
            RETURNING c.id",
        id,
        doctor,
    )
    .fetch_optional(tx.conn())
    .await?;
    changed(tx, id, "picked", changed_id).await
}

/// Refuses, naming the field, a doctor who is not an active doctor of the actor's clinic.
pub(crate) async fn ensure_doctor_of_clinic(tx: &mut ClinicTx, doctor_id: i32) -> Result<()> {
    let clinic = tx.clinic();
    let ok = sqlx::query_scalar!(r#"SELECT is_doctor_in_org($1, $2) AS "ok!""#, doctor_id, clinic).fetch_one(tx.conn()).await?;
    if ok {
        Ok(())
    } else {
        Err(Error::field(ErrorCode::InvalidInput, "doctor_id", "That is not an active doctor of this clinic."))
    }
}

/// A secretary (or admin) assigns, or reassigns, a consultation to a doctor of the clinic.
pub async fn assign(tx: &mut ClinicTx, id: i32, doctor_id: i32) -> Result<Consultation> {
    tx.require(Capability::AssignConsultation)?;
    ensure_doctor_of_clinic(tx, doctor_id).await?;
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now()
            WHERE c.id = $1
            RETURNING c.id",
        id,
        doctor_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    changed(tx, id, "assigned", changed_id).await
}

/// A secretary (or admin) returns an assigned consultation to the queue.
pub async fn release(tx: &mut ClinicTx, id: i32) -> Result<Consultation> {
    tx.require(Capability::ReturnToQueue)?;
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'ready_for_pickup', assigned_doctor_id = NULL, assigned_at = NULL
            WHERE c.id = $1
            RETURNING c.id",
        id,
    )
    .fetch_optional(tx.conn())
    .await?;
    changed(tx, id, "returned to the queue", changed_id).await
}

/// Cancels a consultation with a reason (secretary, admin, or the assigned doctor); the patient
/// is told (an outbox event).
pub async fn cancel(tx: &mut ClinicTx, id: i32, reason: &str) -> Result<Consultation> {
    tx.require(Capability::CancelConsultation)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "Give a reason for cancelling."));
    }
    if reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "The reason must be at most 500 characters of text."));
    }
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'cancelled', cancelled_at = now(), cancel_reason = $2
            WHERE c.id = $1
            RETURNING c.id",
        id,
        reason,
    )
    .fetch_optional(tx.conn())
    .await?;
    let c = changed(tx, id, "cancelled", changed_id).await?;
    crate::outbox::enqueue(
        tx,
        "consultation.cancelled",
        Some(c.organization_id),
        &serde_json::json!({"consultation_id": c.id, "patient_person_id": c.patient_person_id, "notify_patient": true}),
    )
    .await?;
    crate::messages::queue(tx, MessageKind::Cancellation, c.patient_person_id, c.organization_id, Some(c.id), None).await?;
    Ok(c)
}

/// A started consultation and the join links of its meeting room: the doctor's (moderator) and
/// the patient's (participant), for video and for chat. Messages to the patient take the
/// patient's links from here.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Started {
    pub consultation: Consultation,
    pub doctor_video_url: String,
    pub doctor_chat_url: String,
    pub patient_video_url: String,
    pub patient_chat_url: String,
    /// True when no meeting service is set up: the links are demo links and lead to no meeting.
    pub demo: bool,
    /// When the patient's links stop letting them in.
    pub patient_links_expire_at: DateTime<Utc>,
}

/// The assigned doctor starts the consultation: `starts_at` is set, its meeting room is made (one
/// per consultation, kept), and a message with the patient's link is queued. Refused, before
/// anything changes, while the meeting service's settings are wrong.
pub async fn start(tx: &mut ClinicTx, meetings: &Meetings, id: i32) -> Result<Started> {
    tx.require(Capability::StartConsultation)?;
    meetings.provider()?;
    let doctor = tx.staff()?.staff_id;
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'in_progress', starts_at = now()
            WHERE c.id = $1 AND c.assigned_doctor_id = $2 AND c.state <> 'in_progress'
            RETURNING c.id",
        id,
        doctor,
    )
    .fetch_optional(tx.conn())
    .await?;
    let c = changed(tx, id, "started", changed_id).await?;
    let links = crate::meetings::open_room(tx, meetings, &c).await?;
    crate::outbox::enqueue(
        tx,
        "consultation.started",
        Some(c.organization_id),
        &serde_json::json!({
            "consultation_id": c.id,
            "patient_person_id": c.patient_person_id,
            "doctor_id": doctor,
            "primary_channel": c.primary_channel,
            "video_join_url": links.patient_video_url,
            "chat_join_url": links.patient_chat_url,
            "demo": links.demo,
            "links_expire_at": links.patient_links_expire_at,
            "notify_patient": true,
        }),
    )
    .await?;
    // The patient's link (the primary channel's), in a message queued with the start.
    let patient_link = if c.primary_channel == "chat" { &links.patient_chat_url } else { &links.patient_video_url };
    crate::messages::queue(tx, MessageKind::JoinLink, c.patient_person_id, c.organization_id, Some(c.id), Some(patient_link))
        .await?;
    Ok(Started {
        consultation: c,
        doctor_video_url: links.doctor_video_url,
        doctor_chat_url: links.doctor_chat_url,
        patient_video_url: links.patient_video_url,
        patient_chat_url: links.patient_chat_url,
        demo: links.demo,
        patient_links_expire_at: links.patient_links_expire_at,
    })
}

/// The assigned doctor completes the consultation: `ends_at` is set and a message to the patient
/// is queued. The database refuses to complete a consultation without its result, so this is
/// part of `results::complete_with_result`, which files the result in the same transaction.
pub async fn complete(tx: &mut ClinicTx, id: i32) -> Result<Consultation> {
    tx.require(Capability::CompleteConsultation)?;
    let doctor = tx.staff()?.staff_id;
    let changed_id = sqlx::query_scalar!(
        "UPDATE consultations c SET state = 'completed', ends_at = now()
            WHERE c.id = $1 AND c.assigned_doctor_id = $2
            RETURNING c.id",
        id,
        doctor,
    )
    .fetch_optional(tx.conn())
    .await?;
    let c = changed(tx, id, "completed", changed_id).await?;
    crate::outbox::enqueue(
        tx,
        "consultation.completed",
        Some(c.organization_id),
        &serde_json::json!({
            "consultation_id": c.id,
            "patient_person_id": c.patient_person_id,
            "doctor_id": doctor,
            "waiting_seconds": c.waiting_seconds,
            "treatment_seconds": c.treatment_seconds,
            "notify_patient": true,
        }),
    )
    .await?;
    crate::messages::on_completed(tx, &c).await?;
    Ok(c)
}
