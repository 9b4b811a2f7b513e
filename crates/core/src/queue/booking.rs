//! Booking consultations: a secretary, support agent or admin books one for a patient of the
//! clinic, a doctor or secretary books a follow-up of an earlier one, and [`create`] writes every
//! booking, also those of referrals (`referrals::book`).

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

/// A booking a secretary, support agent or admin creates for a patient of the clinic (a walk-in,
/// a follow-up arranged by phone). Referrals are booked from the screening list instead
/// (`referrals::book`).
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

/// The channels of a booking: the enabled ones and the primary one among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Channels {
    pub enabled: Vec<String>,
    pub primary: String,
}

impl Default for Channels {
    /// Video and chat, video first.
    fn default() -> Self {
        Channels { enabled: vec!["video".into(), "chat".into()], primary: "video".into() }
    }
}

impl Channels {
    /// `video`, `chat`, `phone` (empty: video and chat), and a primary channel among them (default
    /// the first); each refusal names its field.
    pub(crate) fn parse(enabled: &[String], primary: Option<&str>) -> Result<Channels> {
        let mut channels: Vec<String> = Vec::new();
        for c in enabled.iter().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()) {
            if !["video", "chat", "phone"].contains(&c.as_str()) {
                return Err(Error::field(ErrorCode::InvalidInput, "enabled_channels", "Channels are video, chat and phone."));
            }
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        if channels.is_empty() {
            return Ok(match primary.map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()) {
                None => Channels::default(),
                Some(p) if Channels::default().enabled.contains(&p) => Channels { primary: p, ..Channels::default() },
                Some(_) => return Err(primary_not_enabled()),
            });
        }
        let primary = primary.map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).unwrap_or_else(|| channels[0].clone());
        if !channels.contains(&primary) {
            return Err(primary_not_enabled());
        }
        Ok(Channels { enabled: channels, primary })
    }
}

fn primary_not_enabled() -> Error {
    Error::field(ErrorCode::InvalidInput, "primary_channel", "The primary channel must be one of the enabled ones.")
}

/// The partner paying for a booking: its id, its organization (the order's customer) and its
/// contractual time to start, in working days.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Payer {
    pub partner_id: i32,
    pub organization_id: i32,
    pub deadline_working_days: i32,
}

/// What a booked consultation is made of.
pub(crate) struct Slot<'a> {
    pub patient_person_id: i32,
    pub clinic_id: i32,
    pub payer: Option<Payer>,
    /// The referral it books; the database then gives it the referral's deadline.
    pub referral_id: Option<i32>,
    pub doctor_id: Option<i32>,
    pub channels: &'a Channels,
}

/// Creates a booked consultation (assigned when a doctor is given, otherwise ready for pickup)
/// and, when a partner pays, its order and line item: the one place a booking is written, for a
/// direct booking, a referral booked after screening and one booked on arrival. Returns its id.
pub(crate) async fn create(tx: &mut ClinicTx, s: Slot<'_>) -> Result<i32> {
    let id = sqlx::query_scalar!(
        r#"INSERT INTO consultations AS c (patient_person_id, organization_id, partner_id, referral_id, category, state,
                                          assigned_doctor_id, assigned_at, enabled_channels, primary_channel, deadline_at)
           VALUES ($1, $2, $3, $4, CASE WHEN $3::int IS NULL THEN 'direct' ELSE 'insurance' END,
                   CASE WHEN $5::int IS NULL THEN 'ready_for_pickup' ELSE 'pending_sp' END, $5,
                   CASE WHEN $5::int IS NULL THEN NULL ELSE now() END, $6, $7,
                   CASE WHEN $8::int IS NULL THEN NULL ELSE add_working_days(now(), $8) END)
           RETURNING c.id"#,
        s.patient_person_id,
        s.clinic_id,
        s.payer.map(|p| p.partner_id),
        s.referral_id,
        s.doctor_id,
        &s.channels.enabled,
        s.channels.primary,
        // A referral's consultation takes the referral's deadline (the database sets it).
        s.payer.filter(|_| s.referral_id.is_none()).map(|p| p.deadline_working_days),
    )
    .fetch_one(tx.conn())
    .await?;
    if let Some(p) = s.payer {
        crate::orders::open_for_consultation(tx, s.clinic_id, p.organization_id, s.patient_person_id, id).await?;
    }
    Ok(id)
}

/// A secretary, support agent or admin books a consultation for a patient of the clinic: in the
/// queue, or assigned to a doctor; an insurance booking gets the partner's deadline (counted from
/// now), order and line item.
pub async fn book(tx: &mut ClinicTx, b: &NewBooking) -> Result<Consultation> {
    tx.require(Capability::BookConsultation)?;
    let clinic = tx.staff()?.organization_id;
    let channels = Channels::parse(&b.enabled_channels, b.primary_channel.as_deref())?;
    if !crate::patients::is_patient_of(tx, b.patient_person_id, clinic).await? {
        return Err(Error::field(ErrorCode::NotFound, "patient_person_id", "This person is not a patient of your clinic."));
    }
    let payer = match b.partner_id {
        None => None,
        Some(pid) => Some(
            sqlx::query_as!(
                Payer,
                r#"SELECT id AS partner_id, organization_id, deadline_working_days FROM partners WHERE id = $1 AND clinic_id = $2"#,
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
    let id = create(
        tx,
        Slot {
            patient_person_id: b.patient_person_id,
            clinic_id: clinic,
            payer,
            referral_id: None,
            doctor_id: b.doctor_id,
            channels: &channels,
        },
    )
    .await?;
    super::listing::read_one(tx, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn channels_default_to_video_and_chat_and_name_the_field_they_refuse() {
        assert_eq!(Channels::parse(&[], None).unwrap(), Channels::default());
        assert_eq!(Channels::parse(&[], Some("chat")).unwrap().primary, "chat");
        let c = Channels::parse(&names(&[" Phone", "chat", "phone"]), None).unwrap();
        assert_eq!((c.enabled, c.primary.as_str()), (names(&["phone", "chat"]), "phone"));
        assert_eq!(Channels::parse(&names(&["fax"]), None).unwrap_err().field.as_deref(), Some("enabled_channels"));
        assert_eq!(Channels::parse(&names(&["chat"]), Some("video")).unwrap_err().field.as_deref(), Some("primary_channel"));
        assert_eq!(Channels::parse(&[], Some("phone")).unwrap_err().field.as_deref(), Some("primary_channel"));
    }
}
