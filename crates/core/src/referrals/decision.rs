//! The decision on a screened referral: book it (its one consultation enters the doctors' queue,
//! or goes straight to a doctor) or decline it with a reason. A partner that books on arrival has
//! its referrals booked as they arrive ([`book_on_arrival`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Partner;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::queue::booking::{self, Channels, Payer, Slot};
use crate::queue::Consultation;

/// How a referral is booked: its channels and, optionally, the doctor who takes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BookingChoice {
    /// `video`, `chat`, `phone`; empty means video and chat.
    #[serde(default)]
    pub enabled_channels: Vec<String>,
    /// One of the enabled channels; default the first.
    pub primary_channel: Option<String>,
    /// A doctor of the clinic who takes it at once; none: it waits in the doctors' queue.
    pub doctor_id: Option<i32>,
}

/// A declined referral: who declined it and when (the reason is kept with the referral).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeclinedReferral {
    pub referral_id: i32,
    pub declined_at: DateTime<Utc>,
    pub declined_by_staff_id: i32,
}

/// What a referral's row says about its decision, read with the row locked, so that a booking and
/// a decline of one referral wait for each other.
struct Undecided {
    partner_id: i32,
    patient_person_id: i32,
    clinic_id: i32,
}

async fn lock_undecided(tx: &mut ClinicTx, referral_id: i32) -> Result<Undecided> {
    let row = sqlx::query!(
        r#"SELECT r.partner_id, r.patient_person_id, r.declined_at, p.clinic_id,
                  EXISTS (SELECT 1 FROM consultations c WHERE c.referral_id = r.id) AS "booked!"
             FROM referrals r JOIN partners p ON p.id = r.partner_id
            WHERE r.id = $1
              FOR UPDATE OF r"#,
        referral_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "referral_id", "The referral was not found."))?;
    if row.booked {
        return Err(Error::field(ErrorCode::AlreadyExists, "referral_id", "This referral is already booked."));
    }
    if row.declined_at.is_some() {
        return Err(Error::field(
            ErrorCode::InvalidStateTransition,
            "referral_id",
            "This referral was declined; it cannot be booked or declined again.",
        ));
    }
    Ok(Undecided { partner_id: row.partner_id, patient_person_id: row.patient_person_id, clinic_id: row.clinic_id })
}

/// Writes the booking of a referral (the consultation, its order and line item, and the event
/// `referral.booked`); returns the consultation's id.
async fn write_booking(
    tx: &mut ClinicTx,
    referral_id: i32,
    r: &Undecided,
    payer: Payer,
    doctor_id: Option<i32>,
    channels: &Channels,
) -> Result<i32> {
    let consultation_id = booking::create(
        tx,
        Slot {
            patient_person_id: r.patient_person_id,
            clinic_id: r.clinic_id,
            payer: Some(payer),
            referral_id: Some(referral_id),
            doctor_id,
            channels,
        },
    )
    .await?;
    crate::outbox::enqueue(
        tx,
        "referral.booked",
        Some(r.clinic_id),
        &serde_json::json!({
            "referral_id": referral_id,
            "consultation_id": consultation_id,
            "patient_person_id": r.patient_person_id,
            "partner_id": r.partner_id,
            "assigned": doctor_id.is_some(),
        }),
    )
    .await?;
    Ok(consultation_id)
}

/// A secretary (or admin) books a screened referral: its one consultation (category insurance,
/// the referral's partner and deadline, counted from its arrival) waits in the doctors' queue, or
/// is assigned at once to the doctor chosen; the partner's order and line item are opened. A
/// referral already booked or declined is refused, naming `referral_id`, and nothing is written.
pub async fn book(tx: &mut ClinicTx, referral_id: i32, choice: &BookingChoice) -> Result<Consultation> {
    tx.require(Capability::DecideReferral)?;
    let channels = Channels::parse(&choice.enabled_channels, choice.primary_channel.as_deref())?;
    if let Some(doctor) = choice.doctor_id {
        crate::queue::ensure_doctor_of_clinic(tx, doctor).await?;
    }
    let r = lock_undecided(tx, referral_id).await?;
    let payer = sqlx::query_as!(
        Payer,
        "SELECT id AS partner_id, organization_id, deadline_working_days FROM partners WHERE id = $1",
        r.partner_id
    )
    .fetch_one(tx.conn())
    .await?;
    let id = write_booking(tx, referral_id, &r, payer, choice.doctor_id, &channels).await?;
    tracing::info!(referral_id, consultation_id = id, "referral booked");
    crate::queue::get(tx, id).await
}

/// Books a referral of a partner that books on arrival, as it arrives: unassigned, video and chat.
/// Part of receiving it (whoever receives referrals may), so it checks no capability of its own.
pub(super) async fn book_on_arrival(
    tx: &mut ClinicTx,
    referral_id: i32,
    partner: &Partner,
    patient_person_id: i32,
) -> Result<i32> {
    let r = Undecided { partner_id: partner.id, patient_person_id, clinic_id: partner.clinic_id };
    let payer = Payer {
        partner_id: partner.id,
        organization_id: partner.organization_id,
        deadline_working_days: partner.deadline_working_days,
    };
    write_booking(tx, referral_id, &r, payer, None, &Channels::default()).await
}

/// A secretary (or admin) declines a referral: the patient needs no help from the clinic, or
/// cannot be reached. The reason is required (at most 500 characters); who declined it and when
/// are recorded by the database, and the change is audited. A referral already booked or
/// declined is refused, naming `referral_id`, and nothing is written.
pub async fn decline(tx: &mut ClinicTx, referral_id: i32, reason: &str) -> Result<DeclinedReferral> {
    tx.require(Capability::DecideReferral)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "Give a reason for declining the referral."));
    }
    if reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "The reason must be at most 500 characters of text."));
    }
    let r = match lock_undecided(tx, referral_id).await {
        Err(e) if e.code == ErrorCode::AlreadyExists => {
            return Err(Error::field(
                ErrorCode::InvalidStateTransition,
                "referral_id",
                "This referral is booked; cancel its consultation instead of declining it.",
            ))
        }
        other => other?,
    };
    let row = sqlx::query!(
        r#"UPDATE referrals SET decline_reason = $2, declined_at = now(), declined_by_staff_id = $3
            WHERE id = $1
        RETURNING declined_at AS "declined_at!", declined_by_staff_id AS "declined_by_staff_id!""#,
        referral_id,
        reason,
        tx.staff()?.staff_id,
    )
    .fetch_one(tx.conn())
    .await?;
    crate::outbox::enqueue(
        tx,
        "referral.declined",
        Some(r.clinic_id),
        &serde_json::json!({
            "referral_id": referral_id,
            "patient_person_id": r.patient_person_id,
            "partner_id": r.partner_id,
        }),
    )
    .await?;
    tracing::info!(referral_id, "referral declined");
    Ok(DeclinedReferral { referral_id, declined_at: row.declined_at, declined_by_staff_id: row.declined_by_staff_id })
}
