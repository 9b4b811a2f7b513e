//! Meeting rooms for consultations: one room per consultation, made by a meeting service when the
//! doctor starts it, and join links for the doctor (moderator) and the patient (participant).
//!
//! The service sits behind [`MeetingProvider`]; the queue only asks this module for a room and
//! its links, so another service (Whereby, Daily, ...) is one more implementation of the trait.
//! [`Meetings::from_env`] chooses the service: self-hosted Jitsi Meet with JWT authentication
//! ([`jitsi`]) when `DIGIMED_JITSI_*` is set, the demo service ([`demo`]) when nothing is, and a
//! [`Meetings`] that refuses to start consultations, naming the variable, when the settings are
//! incomplete or malformed (never a quiet fall-back to demo links). See `docs/meetings.md`.

pub mod demo;
pub mod jitsi;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::queue::{Consultation, ConsultationState};

pub use demo::DemoProvider;
pub use jitsi::{JitsiConfig, JitsiProvider};

/// How long join links stay valid after the consultation's deadline (or, without a deadline or
/// when started after it, after its start). A meeting service checks the expiry when someone
/// joins; a meeting already under way is not cut off.
pub const LINK_VALIDITY: Duration = Duration::hours(6);

/// The keyring entry (service `digimed-console`) that may hold the Jitsi secret.
pub const KEYRING_JITSI_SECRET: &str = "jitsi-secret";

/// A consultation's room at a meeting service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The service that made it ([`MeetingProvider::kind`]).
    pub provider: String,
    /// The service's name of the room: URL-safe, at least 128 random bits.
    pub name: String,
}

/// What someone may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingRole {
    /// The doctor: runs the meeting (admits, mutes, ends).
    Moderator,
    /// The patient.
    Participant,
}

/// How a link enters the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Video,
    /// The room's own text chat, entered with camera and microphone off.
    Chat,
}

/// Who a join link is for.
#[derive(Debug, Clone)]
pub struct Participant {
    /// The name the room shows.
    pub display_name: String,
    pub role: MeetingRole,
}

/// A meeting service. Implementations make rooms and sign join links; which consultation gets
/// which room, and who gets which link, is decided here in the core.
pub trait MeetingProvider: fmt::Debug + Send + Sync {
    /// The stable name stored with each room it makes (`jitsi`, `demo`).
    fn kind(&self) -> &'static str;

    /// True when its links lead to no real meeting: the console labels them as demo links.
    fn is_demo(&self) -> bool;

    /// Where its rooms are, for the start-up line (never a secret).
    fn describe(&self) -> String;

    /// Makes the room of one consultation. Called once per consultation; the room is stored and
    /// used for every later link.
    fn room_for(&self, consultation_id: i32) -> BoxFuture<'_, Result<Room>>;

    /// A link that lets `who` into `room` through `channel`, valid until `expires`.
    fn join_link(&self, room: &Room, who: &Participant, channel: Channel, expires: DateTime<Utc>) -> Result<String>;
}

/// The meeting service this installation uses, as configured.
#[derive(Debug, Clone)]
pub struct Meetings {
    configured: std::result::Result<Arc<dyn MeetingProvider>, Error>,
    /// Rooms made by the demo service stay demo rooms after a real service is configured.
    demo: Arc<DemoProvider>,
}

/// What the console shows about the meeting service.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeetingStatus {
    /// The configured service (`jitsi`, `demo`), or `None` when its settings are wrong.
    pub provider: Option<String>,
    /// True when links are demo links (no meeting service is set up).
    pub demo: bool,
    /// What is wrong with the settings, naming the variable; consultations cannot be started
    /// while it is set.
    pub problem: Option<Error>,
}

/// The join links of a consultation's room: the doctor's (moderator) and the patient's
/// (participant), for video and for chat.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeetingLinks {
    pub doctor_video_url: String,
    pub doctor_chat_url: String,
    pub patient_video_url: String,
    pub patient_chat_url: String,
    /// True for links of the demo service, which lead to no meeting.
    pub demo: bool,
    /// When the patient's links stop letting them in.
    pub patient_links_expire_at: DateTime<Utc>,
}

impl Meetings {
    /// The demo service only (nothing configured).
    pub fn demo() -> Meetings {
        Meetings { configured: Ok(Arc::new(DemoProvider)), demo: Arc::new(DemoProvider) }
    }

    /// A given service (a clinic's own implementation, or a test's).
    pub fn with_provider(provider: Arc<dyn MeetingProvider>) -> Meetings {
        Meetings { configured: Ok(provider), demo: Arc::new(DemoProvider) }
    }

    /// Self-hosted Jitsi Meet with JWT authentication.
    pub fn jitsi(config: JitsiConfig) -> Meetings {
        Meetings::with_provider(Arc::new(JitsiProvider::new(config)))
    }

    /// Settings that are wrong: starting a consultation is refused with `problem`.
    pub fn misconfigured(problem: Error) -> Meetings {
        Meetings { configured: Err(problem), demo: Arc::new(DemoProvider) }
    }

    /// Reads `DIGIMED_JITSI_DOMAIN`, `DIGIMED_JITSI_APP_ID` and `DIGIMED_JITSI_SECRET`; the
    /// secret may instead be kept in the OS keyring (service `digimed-console`, entry
    /// `jitsi-secret`), which is asked only when the domain is set and `DIGIMED_KEY_FILE` is not
    /// (a headless installation keeps its secrets in the environment).
    pub fn from_env() -> Meetings {
        let var = |k: &str| std::env::var(k).ok();
        let headless = var("DIGIMED_KEY_FILE").is_some_and(|v| !v.trim().is_empty());
        Meetings::from_settings(var, || {
            if headless {
                None
            } else {
                digimed_crypto::keyring_get(crate::config::KEYRING_SERVICE, KEYRING_JITSI_SECRET).ok().flatten()
            }
        })
    }

    /// As [`from_env`](Meetings::from_env), with the variables and the keyring given.
    pub fn from_settings(
        var: impl Fn(&str) -> Option<String>,
        keyring_secret: impl FnOnce() -> Option<digimed_crypto::Secret<String>>,
    ) -> Meetings {
        match JitsiConfig::from_settings(var, keyring_secret) {
            Ok(Some(config)) => Meetings::jitsi(config),
            Ok(None) => Meetings::demo(),
            Err(problem) => Meetings::misconfigured(problem),
        }
    }

    /// The configured service, or why there is none.
    pub fn provider(&self) -> Result<&Arc<dyn MeetingProvider>> {
        self.configured.as_ref().map_err(Clone::clone)
    }

    /// What the console shows about the meeting service.
    pub fn status(&self) -> MeetingStatus {
        match &self.configured {
            Ok(p) => MeetingStatus { provider: Some(p.kind().to_string()), demo: p.is_demo(), problem: None },
            Err(e) => MeetingStatus { provider: None, demo: false, problem: Some(e.clone()) },
        }
    }

    /// One line for the start of `digimed serve` and of the console: what the meeting service
    /// is, or what is wrong with its settings. Never contains the secret.
    pub fn startup_line(&self) -> String {
        match &self.configured {
            Ok(p) if p.is_demo() => {
                "meetings: no meeting service is set up (DIGIMED_JITSI_DOMAIN); consultations get demo links".to_string()
            }
            Ok(p) => format!("meetings: {}", p.describe()),
            Err(e) => format!("meetings: not configured correctly: {} Consultations cannot be started.", e.message),
        }
    }

    /// The service that made `room` (the demo service's rooms stay demo rooms).
    fn provider_of(&self, room: &Room) -> Result<&dyn MeetingProvider> {
        if room.provider == self.demo.kind() {
            return Ok(self.demo.as_ref());
        }
        let p = self.provider()?;
        if p.kind() == room.provider {
            Ok(p.as_ref())
        } else {
            Err(Error::new(
                ErrorCode::Configuration,
                format!(
                    "This consultation's room was made by the meeting service \"{}\", which is no longer configured.",
                    room.provider
                ),
            ))
        }
    }
}

/// When join links of a consultation expire: [`LINK_VALIDITY`] after its deadline, or after its
/// start when it has no deadline or started after it.
pub fn link_expiry(deadline_at: Option<DateTime<Utc>>, starts_at: DateTime<Utc>) -> DateTime<Utc> {
    deadline_at.map_or(starts_at, |d| d.max(starts_at)) + LINK_VALIDITY
}

/// The display name the patient's link gives: not the patient's name, since a join link travels
/// in messages, browser histories and web-server logs. The patient may change it in the room.
pub const PATIENT_DISPLAY_NAME: &str = "Patient";

/// Makes (or finds) the room of a consultation the actor has just started, and answers both
/// parties' links. Part of [`queue::start`](crate::queue::start), in its transaction.
pub(crate) async fn open_room(tx: &mut ClinicTx, meetings: &Meetings, c: &Consultation) -> Result<MeetingLinks> {
    let provider = meetings.provider()?.clone();
    let room = match stored_room(tx, c.id).await? {
        Some(room) => room,
        None => {
            let room = provider.room_for(c.id).await?;
            check_room_name(&room.name)?;
            sqlx::query!(
                "INSERT INTO meeting_rooms (consultation_id, provider, room_name) VALUES ($1, $2, $3)
                 ON CONFLICT (consultation_id) DO NOTHING",
                c.id,
                room.provider,
                room.name,
            )
            .execute(tx.conn())
            .await?;
            stored_room(tx, c.id).await?.ok_or_else(|| Error::internal("The meeting room was not kept."))?
        }
    };
    let starts_at = c.starts_at.ok_or_else(|| Error::internal("A started consultation has no start time."))?;
    let expires = link_expiry(c.deadline_at, starts_at);
    links(meetings, &room, &doctor_name(tx), expires, expires)
}

/// The join links of an in-progress consultation's room, again, for its assigned doctor (the
/// workspace reopened, the console restarted). The patient's links are the ones made at the
/// start; the doctor's are valid for at least [`LINK_VALIDITY`] from now, so the doctor can
/// always rejoin a consultation still in progress.
pub async fn links_for_doctor(tx: &mut ClinicTx, meetings: &Meetings, consultation_id: i32) -> Result<MeetingLinks> {
    tx.require(Capability::StartConsultation)?;
    let me = tx.staff()?.staff_id;
    let row = sqlx::query!(
        r#"SELECT state AS "state: ConsultationState", assigned_doctor_id, starts_at, deadline_at
             FROM consultations WHERE id = $1"#,
        consultation_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The consultation"))?;
    if row.assigned_doctor_id != Some(me) {
        return Err(Error::forbidden("Only the doctor the consultation is assigned to joins its meeting."));
    }
    if row.state != ConsultationState::InProgress {
        return Err(Error::new(
            ErrorCode::InvalidStateTransition,
            format!("The consultation is {}; only a consultation in progress has a meeting to join.", row.state.label()),
        )
        .with_details(serde_json::json!({ "state": row.state.as_str() })));
    }
    let starts_at = row.starts_at.ok_or_else(|| Error::internal("A started consultation has no start time."))?;
    let room = stored_room(tx, consultation_id).await?.ok_or_else(|| Error::not_found("The consultation's meeting room"))?;
    let patient_expires = link_expiry(row.deadline_at, starts_at);
    let doctor_expires = patient_expires.max(Utc::now() + LINK_VALIDITY);
    links(meetings, &room, &doctor_name(tx), doctor_expires, patient_expires)
}

fn doctor_name(tx: &ClinicTx) -> String {
    tx.staff().map(|s| s.name.clone()).unwrap_or_else(|_| "Doctor".to_string())
}

fn links(
    meetings: &Meetings,
    room: &Room,
    doctor_name: &str,
    doctor_expires: DateTime<Utc>,
    patient_expires: DateTime<Utc>,
) -> Result<MeetingLinks> {
    let provider = meetings.provider_of(room)?;
    let doctor = Participant { display_name: doctor_name.to_string(), role: MeetingRole::Moderator };
    let patient = Participant { display_name: PATIENT_DISPLAY_NAME.to_string(), role: MeetingRole::Participant };
    Ok(MeetingLinks {
        doctor_video_url: provider.join_link(room, &doctor, Channel::Video, doctor_expires)?,
        doctor_chat_url: provider.join_link(room, &doctor, Channel::Chat, doctor_expires)?,
        patient_video_url: provider.join_link(room, &patient, Channel::Video, patient_expires)?,
        patient_chat_url: provider.join_link(room, &patient, Channel::Chat, patient_expires)?,
        demo: provider.is_demo(),
        patient_links_expire_at: patient_expires,
    })
}

async fn stored_room(tx: &mut ClinicTx, consultation_id: i32) -> Result<Option<Room>> {
    Ok(sqlx::query_as!(
        Room,
        r#"SELECT provider, room_name AS "name" FROM meeting_rooms WHERE consultation_id = $1"#,
        consultation_id
    )
    .fetch_optional(tx.conn())
    .await?)
}

/// A room name a provider made must be URL-safe and long enough to hold 128 random bits.
fn check_room_name(name: &str) -> Result<()> {
    let ok = (22..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::internal("The meeting service made a room name that is not URL-safe or too short."))
    }
}

/// A new room name: 128 random bits as 32 lowercase hexadecimal digits (URL-safe, and the same
/// whatever case a meeting service folds room names to).
pub fn random_room_name() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_expire_a_bounded_time_after_the_deadline_or_the_start() {
        let start: DateTime<Utc> = "2026-12-08T09:00:00Z".parse().unwrap();
        let deadline: DateTime<Utc> = "2026-12-10T15:00:00Z".parse().unwrap();
        assert_eq!(link_expiry(Some(deadline), start), deadline + LINK_VALIDITY);
        assert_eq!(link_expiry(None, start), start + LINK_VALIDITY);
        // Started after its deadline: the links still work for the bound after the start.
        assert_eq!(link_expiry(Some(start - Duration::days(1)), start), start + LINK_VALIDITY);
    }

    #[test]
    fn room_names_hold_128_random_bits_and_are_url_safe() {
        let a = random_room_name();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(a, random_room_name());
        assert!(check_room_name(&a).is_ok());
        assert!(check_room_name("short").is_err());
        assert!(check_room_name(&format!("{a}/../x")).is_err());
    }
}
