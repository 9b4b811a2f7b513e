//! Booking consultations: a secretary books one for a patient of the clinic (after screening a
//! referral, or directly), and a doctor or secretary books a follow-up of an earlier one.

use serde::{Deserialize, Serialize};

use super::lifecycle::ensure_doctor_of_clinic;
use super::Consultation;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::session::AppRole;

/// A doctor (or secretary) books a follow-up consultation for the same patient. A doctor's
/// follow-up is assigned to them, and a doctor books follow-ups only of their own consultations
/// (the doctor of a follow-up may read the earlier result); a secretary's waits in the queue.
pub async fn book_follow_up(tx: &mut ClinicTx, of_consultation: i32) -> Result<Consultation> {
    tx.require(Capability::BookFollowUp)?;
    let me = tx.staff()?;
    let doctor = (me.role == AppRole::Doctor).then_some(me.staff_id);
    if let Some(me) = doctor {
        let theirs = sqlx::query_scalar!("SELECT assigned_doctor_id FROM consultations WHERE id = $1", of_consultation)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| Error::not_found("The consultation"))?;
        if theirs != Some(me) {
            return Err(Error::forbidden(
                "You can book a follow-up only of your own consultations; a secretary can book one for a colleague's patient.",
            ));
        }
    }
    let row = sqlx::query_scalar!(
        r#"INSERT INTO consultations AS c (patient_person_id, organization_id, partner_id, follow_up_of, category,
                                          state, assigned_doctor_id, assigned_at, enabled_channels, primary_channel)
           SELECT o.patient_person_id, o.organization_id, o.partner_id, o.id, o.category,
                  CASE WHEN $2::int IS NULL THEN 'ready_for_pickup' ELSE 'pending_sp' END,
                  $2, CASE WHEN $2::int IS NULL THEN NULL ELSE now() END, o.enabled_channels, o.primary_channel
             FROM consultations o WHERE o.id = $1
           RETURNING c.id"#,
        of_consultation,
        doctor,
    )
    .fetch_optional(tx.conn())
    .await?;
    let id = row.ok_or_else(|| Error::not_found("The consultation"))?;
    super::listing::read_one(tx, id).await
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
pub async fn book(tx: &mut ClinicTx, b: &NewBooking) -> Result<Consultation> {
    tx.require(Capability::BookConsultation)?;
    let clinic = tx.staff()?.organization_id;
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
        return Err(Error::field(
            ErrorCode::InvalidInput,
            "primary_channel",
            "The primary channel must be one of the enabled ones.",
        ));
    }
    let linked = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM patients WHERE patient_person_id = $1 AND organization_id = $2) AS "linked!""#,
        b.patient_person_id,
        clinic,
    )
    .fetch_one(tx.conn())
    .await?;
    if !linked {
        return Err(Error::field(ErrorCode::NotFound, "patient_person_id", "This person is not a patient of your clinic."));
    }
    let partner = match b.partner_id {
        None => None,
        Some(pid) => Some(
            sqlx::query!(
                "SELECT organization_id, deadline_working_days FROM partners WHERE id = $1 AND clinic_id = $2",
                pid,
                clinic
            )
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| {
                Error::field(ErrorCode::NotFound, "partner_id", "That partner does not send referrals to your clinic.")
            })?,
        ),
    };
    if let Some(doctor) = b.doctor_id {
        ensure_doctor_of_clinic(tx, doctor).await?;
    }
    let row = sqlx::query_scalar!(
        r#"INSERT INTO consultations AS c (patient_person_id, organization_id, partner_id, category, state, assigned_doctor_id,
                                          assigned_at, enabled_channels, primary_channel, deadline_at)
           VALUES ($1, $2, $3, CASE WHEN $3::int IS NULL THEN 'direct' ELSE 'insurance' END,
                   CASE WHEN $4::int IS NULL THEN 'ready_for_pickup' ELSE 'pending_sp' END, $4,
                   CASE WHEN $4::int IS NULL THEN NULL ELSE now() END, $5, $6,
                   CASE WHEN $7::int IS NULL THEN NULL ELSE add_working_days(now(), $7) END)
           RETURNING c.id"#,
        b.patient_person_id,
        clinic,
        b.partner_id,
        b.doctor_id,
        &channels,
        primary,
        partner.as_ref().map(|p| p.deadline_working_days),
    )
    .fetch_one(tx.conn())
    .await?;
    let c = super::listing::read_one(tx, row).await?;
    if let Some(p) = partner {
        crate::orders::open_for_consultation(tx, clinic, p.organization_id, c.patient_person_id, c.id).await?;
    }
    Ok(c)
}
