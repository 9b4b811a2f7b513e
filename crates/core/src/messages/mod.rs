//! Messages to patients (`docs/messages.md`): the join link, the cancellation notice, the
//! thank-you with the review link, the consent-forms invitation and the welcome e-mail.
//!
//! A message is queued in the transaction of the event that causes it ([`queue`]): its kind,
//! channel, language and state are decided there, from the patient's preferences and what the
//! clinic knows of them, and a message the rules forbid is recorded as suppressed with the reason.
//! The worker of `digimed serve` ([`delivery`]) writes its recipient and text (encrypted) and
//! sends it, at most once per message, through the configured e-mail server or SMS provider
//! ([`transport`]). Messages never carry clinical content.

pub mod delivery;
pub mod templates;
pub mod transport;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::session::AppRole;

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The link to join a consultation that has started.
    JoinLink,
    /// A consultation was cancelled.
    Cancellation,
    /// Thanks after a completed consultation, with the link to the review page.
    ThankYou,
    /// The consent forms to sign, with the link to them.
    FormsInvitation,
    /// The welcome e-mail of an onboarding rule (marketing).
    Welcome,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::JoinLink => "join_link",
            MessageKind::Cancellation => "cancellation",
            MessageKind::ThankYou => "thank_you",
            MessageKind::FormsInvitation => "forms_invitation",
            MessageKind::Welcome => "welcome",
        }
    }

    /// Service messages are part of the care the patient asked for; marketing is everything else.
    pub fn purpose(self) -> Purpose {
        match self {
            MessageKind::Welcome => Purpose::Marketing,
            _ => Purpose::Service,
        }
    }

    /// The channels this kind may use, the preferred first: a join link is wanted at once, so by
    /// SMS; the rest by e-mail; the welcome e-mail only by e-mail.
    pub fn channels(self) -> &'static [MessageChannel] {
        match self {
            MessageKind::JoinLink => &[MessageChannel::Sms, MessageChannel::Email],
            MessageKind::Welcome => &[MessageChannel::Email],
            _ => &[MessageChannel::Email, MessageChannel::Sms],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Service,
    Marketing,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Service => "service",
            Purpose::Marketing => "marketing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
}

impl MessageChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting to be sent; `reason` says what held back the last attempt, if anything did.
    Queued,
    /// Accepted by the e-mail server or SMS provider; `provider_id` is its id there.
    Sent,
    /// Not delivered, after the last retry or a permanent refusal; `reason` says why.
    Failed,
    /// Deliberately not sent (marketing to an opted-out or partner-referred patient, or no
    /// channel the patient allows); `reason` says why.
    Suppressed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Suppressed => "suppressed",
        }
    }
}

/// A message as staff see it: never its recipient or text.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PatientMessage {
    pub id: i32,
    pub patient_person_id: i32,
    pub consultation_id: Option<i32>,
    pub kind: MessageKind,
    pub purpose: Purpose,
    pub channel: Option<MessageChannel>,
    pub language: String,
    pub state: MessageState,
    pub reason: Option<String>,
    /// The SMS provider's message id, or the e-mail's Message-ID.
    pub provider_id: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What queueing needs to know of the patient (`patient_message_facts`), never their addresses.
#[derive(Debug, Clone)]
struct Facts {
    has_email: bool,
    has_phone: bool,
    email_allowed: bool,
    sms_allowed: bool,
    marketing_opt_out: bool,
    via_partner: bool,
    language: String,
}

/// The decision for one message: its channel, and whether it is suppressed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision {
    channel: Option<MessageChannel>,
    suppressed: Option<&'static str>,
}

impl Decision {
    fn state(&self) -> MessageState {
        if self.suppressed.is_some() {
            MessageState::Suppressed
        } else {
            MessageState::Queued
        }
    }
}

fn decide(kind: MessageKind, f: &Facts) -> Decision {
    let first = kind.channels().first().copied();
    if kind.purpose() == Purpose::Marketing {
        if f.via_partner {
            return Decision {
                channel: first,
                suppressed: Some("The patient came through an insurer partner: no marketing is sent to them."),
            };
        }
        if f.marketing_opt_out {
            return Decision { channel: first, suppressed: Some("The patient opted out of marketing.") };
        }
    }
    let allowed = |c: MessageChannel| match c {
        MessageChannel::Email => f.email_allowed,
        MessageChannel::Sms => f.sms_allowed,
    };
    let reachable = |c: MessageChannel| match c {
        MessageChannel::Email => f.has_email,
        MessageChannel::Sms => f.has_phone,
    };
    if let Some(c) = kind.channels().iter().copied().find(|c| allowed(*c) && reachable(*c)) {
        return Decision { channel: Some(c), suppressed: None };
    }
    let reason = if kind.channels().iter().any(|c| allowed(*c)) {
        match kind {
            MessageKind::Welcome => "The patient has no e-mail address on file.",
            _ => "The patient has no e-mail address or phone number on file for a channel they allow.",
        }
    } else {
        match kind {
            MessageKind::Welcome => "The patient does not allow e-mail.",
            _ => "The patient allows neither e-mail nor SMS.",
        }
    };
    Decision { channel: None, suppressed: Some(reason) }
}

/// Queues a message of `kind` to patient `person` of `organization`, in the caller's transaction
/// (the event's). `link` is the join link, for [`MessageKind::JoinLink`]; the other links are
/// found when the message is written. Returns the message as staff see it (queued, or suppressed
/// with the reason). Called by the operations that cause a message, which have checked their own
/// capability; the database lets staff queue messages only for their own clinic's patients.
pub async fn queue(
    tx: &mut ClinicTx,
    kind: MessageKind,
    person: i32,
    organization: i32,
    consultation: Option<i32>,
    link: Option<&str>,
) -> Result<PatientMessage> {
    let f = facts(tx, person).await?;
    let d = decide(kind, &f);
    let state = d.state();
    let id = sqlx::query_scalar!(
        "INSERT INTO patient_messages (organization_id, patient_person_id, consultation_id, kind, purpose, channel,
                                       language, link_url, state, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id",
        organization,
        person,
        consultation,
        kind as MessageKind,
        kind.purpose() as Purpose,
        d.channel as Option<MessageChannel>,
        f.language,
        link,
        state as MessageState,
        d.suppressed,
    )
    .fetch_one(tx.conn())
    .await?;
    tracing::debug!(message_id = id, kind = kind.as_str(), state = state.as_str(), "patient message queued");
    read_one(tx, id).await
}

/// Queues messages of `kinds` to patient `person` of `organization` at once (the patient's facts
/// read once, one insert), each decided as [`queue`] decides it, for an operation that does not
/// show them: an onboarding's welcome e-mail and forms invitation.
pub async fn queue_all(tx: &mut ClinicTx, kinds: &[MessageKind], person: i32, organization: i32) -> Result<()> {
    if kinds.is_empty() {
        return Ok(());
    }
    let f = facts(tx, person).await?;
    let decided: Vec<(MessageKind, Decision)> = kinds.iter().map(|k| (*k, decide(*k, &f))).collect();
    let kind: Vec<&str> = decided.iter().map(|(k, _)| k.as_str()).collect();
    let purpose: Vec<&str> = decided.iter().map(|(k, _)| k.purpose().as_str()).collect();
    let channel: Vec<Option<&str>> = decided.iter().map(|(_, d)| d.channel.map(MessageChannel::as_str)).collect();
    let state: Vec<&str> = decided.iter().map(|(_, d)| d.state().as_str()).collect();
    let reason: Vec<Option<&str>> = decided.iter().map(|(_, d)| d.suppressed).collect();
    sqlx::query!(
        "INSERT INTO patient_messages (organization_id, patient_person_id, kind, purpose, channel, language, state, reason)
         SELECT $1, $2, m.kind, m.purpose, m.channel, $3, m.state, m.reason
           FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                WITH ORDINALITY AS m(kind, purpose, channel, state, reason, n)
          ORDER BY m.n",
        organization,
        person,
        f.language,
        &kind as &[&str],
        &purpose as &[&str],
        &channel as &[Option<&str>],
        &state as &[&str],
        &reason as &[Option<&str>],
    )
    .execute(tx.conn())
    .await?;
    tracing::debug!(kinds = ?kind, states = ?state, "patient messages queued");
    Ok(())
}

/// What decides a message to `person`: the contact details on file, what the patient allows, how
/// they came, their language.
async fn facts(tx: &mut ClinicTx, person: i32) -> Result<Facts> {
    sqlx::query!(
        r#"SELECT has_email AS "has_email!", has_phone AS "has_phone!", email_allowed AS "email_allowed!",
                  sms_allowed AS "sms_allowed!", marketing_opt_out AS "marketing_opt_out!",
                  via_partner AS "via_partner!", language AS "language!"
             FROM patient_message_facts($1)"#,
        person,
    )
    .fetch_optional(tx.conn())
    .await?
    .map(|r| Facts {
        has_email: r.has_email,
        has_phone: r.has_phone,
        email_allowed: r.email_allowed,
        sms_allowed: r.sms_allowed,
        marketing_opt_out: r.marketing_opt_out,
        via_partner: r.via_partner,
        language: r.language,
    })
    .ok_or_else(|| Error::not_found("The patient"))
}

async fn read_one(tx: &mut ClinicTx, id: i32) -> Result<PatientMessage> {
    sqlx::query_as!(
        PatientMessage,
        r#"SELECT id, patient_person_id, consultation_id, kind AS "kind: MessageKind", purpose AS "purpose: Purpose",
                  channel AS "channel: MessageChannel", language, state AS "state: MessageState", reason, provider_id,
                  attempts, created_at, updated_at, sent_at
             FROM patient_messages WHERE id = $1"#,
        id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The message"))
}

/// Which messages to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageFilter {
    pub patient_person_id: Option<i32>,
    pub consultation_id: Option<i32>,
}

/// The messages of a patient or a consultation (or, with neither, the latest 200 of the clinic),
/// newest first.
pub async fn list(tx: &mut ClinicTx, filter: MessageFilter) -> Result<Vec<PatientMessage>> {
    tx.require(Capability::ReadMessages)?;
    for (field, v) in [("patient", filter.patient_person_id), ("consultation", filter.consultation_id)] {
        if v.is_some_and(|v| v <= 0) {
            return Err(Error::field(ErrorCode::InvalidInput, field, "Give the id of a record (a positive number)."));
        }
    }
    Ok(sqlx::query_as!(
        PatientMessage,
        r#"SELECT id, patient_person_id, consultation_id, kind AS "kind: MessageKind", purpose AS "purpose: Purpose",
                  channel AS "channel: MessageChannel", language, state AS "state: MessageState", reason, provider_id,
                  attempts, created_at, updated_at, sent_at
             FROM patient_messages
            WHERE ($1::int IS NULL OR patient_person_id = $1) AND ($2::int IS NULL OR consultation_id = $2)
            ORDER BY created_at DESC, id DESC
            LIMIT 200"#,
        filter.patient_person_id,
        filter.consultation_id,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Queues the join link of a started consultation anew, as a new message (the doctor of the
/// consultation, a secretary or an admin). The link is the one sent when it started.
pub async fn resend_join_link(tx: &mut ClinicTx, consultation_id: i32) -> Result<PatientMessage> {
    tx.require(Capability::ResendJoinLink)?;
    if consultation_id <= 0 {
        return Err(Error::field(ErrorCode::InvalidInput, "consultation", "Give the id of a consultation."));
    }
    let c = sqlx::query!(
        r#"SELECT c.state, c.organization_id, c.patient_person_id, c.assigned_doctor_id,
                  (SELECT m.link_url FROM patient_messages m
                    WHERE m.consultation_id = c.id AND m.kind = 'join_link' AND m.link_url IS NOT NULL
                    ORDER BY m.id LIMIT 1) AS link
             FROM consultations c WHERE c.id = $1"#,
        consultation_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The consultation"))?;
    if let Ok(me) = tx.staff() {
        if me.role == AppRole::Doctor && c.assigned_doctor_id != Some(me.staff_id) {
            return Err(Error::forbidden("Only the doctor of this consultation, a secretary or an admin may resend its link."));
        }
    }
    if c.state != "in_progress" {
        return Err(Error::new(
            ErrorCode::InvalidStateTransition,
            "The join link is sent while the consultation is in progress; this one is not.",
        )
        .with_details(serde_json::json!({ "state": c.state })));
    }
    let Some(link) = c.link else {
        return Err(Error::not_found("The consultation's join link"));
    };
    queue(tx, MessageKind::JoinLink, c.patient_person_id, c.organization_id, Some(consultation_id), Some(&link)).await
}

/// A consultation whose latest join link did not reach the patient (failed or suppressed), for
/// the queue's warning.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JoinLinkWarning {
    pub consultation_id: i32,
    pub state: MessageState,
    pub reason: Option<String>,
}

/// The warnings among `consultation_ids`: those whose latest join-link message failed or was
/// suppressed.
pub async fn join_link_warnings(tx: &mut ClinicTx, consultation_ids: &[i32]) -> Result<Vec<JoinLinkWarning>> {
    tx.require(Capability::ReadMessages)?;
    Ok(sqlx::query_as!(
        JoinLinkWarning,
        r#"SELECT consultation_id AS "consultation_id!", state AS "state!: MessageState", reason
             FROM (SELECT DISTINCT ON (consultation_id) consultation_id, state, reason
                     FROM patient_messages
                    WHERE consultation_id = ANY ($1) AND kind = 'join_link'
                    ORDER BY consultation_id, id DESC) latest
            WHERE state IN ('failed', 'suppressed')
            ORDER BY consultation_id"#,
        consultation_ids,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Creates the review of a completed consultation (its token reaches the patient in the
/// thank-you message) and queues the thank-you, in the completion's transaction.
pub(crate) async fn on_completed(tx: &mut ClinicTx, consultation: &crate::queue::Consultation) -> Result<()> {
    let token = crate::patients::new_token();
    sqlx::query!(
        "INSERT INTO consultation_reviews (consultation_id, token) VALUES ($1, $2) ON CONFLICT (consultation_id) DO NOTHING",
        consultation.id,
        token,
    )
    .execute(tx.conn())
    .await?;
    queue(tx, MessageKind::ThankYou, consultation.patient_person_id, consultation.organization_id, Some(consultation.id), None)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            has_email: true,
            has_phone: true,
            email_allowed: true,
            sms_allowed: true,
            marketing_opt_out: false,
            via_partner: false,
            language: "nb".into(),
        }
    }

    #[test]
    fn join_links_go_by_sms_first_and_fall_back_to_email() {
        assert_eq!(decide(MessageKind::JoinLink, &facts()).channel, Some(MessageChannel::Sms));
        let f = Facts { sms_allowed: false, ..facts() };
        assert_eq!(decide(MessageKind::JoinLink, &f), Decision { channel: Some(MessageChannel::Email), suppressed: None });
        let f = Facts { has_phone: false, ..facts() };
        assert_eq!(decide(MessageKind::JoinLink, &f).channel, Some(MessageChannel::Email));
    }

    #[test]
    fn marketing_is_suppressed_for_partner_patients_and_opt_outs_but_service_is_not() {
        let partner = Facts { via_partner: true, ..facts() };
        assert!(decide(MessageKind::Welcome, &partner).suppressed.unwrap().contains("insurer partner"));
        assert_eq!(decide(MessageKind::ThankYou, &partner).suppressed, None);
        let out = Facts { marketing_opt_out: true, ..facts() };
        assert!(decide(MessageKind::Welcome, &out).suppressed.unwrap().contains("opted out"));
        assert_eq!(decide(MessageKind::Cancellation, &out), Decision { channel: Some(MessageChannel::Email), suppressed: None });
    }

    #[test]
    fn no_allowed_channel_suppresses_with_the_reason() {
        let none = Facts { email_allowed: false, sms_allowed: false, ..facts() };
        assert_eq!(decide(MessageKind::JoinLink, &none).suppressed, Some("The patient allows neither e-mail nor SMS."));
        let no_mail = Facts { email_allowed: false, ..facts() };
        assert_eq!(decide(MessageKind::Welcome, &no_mail).suppressed, Some("The patient does not allow e-mail."));
        assert_eq!(decide(MessageKind::ThankYou, &no_mail).channel, Some(MessageChannel::Sms));
    }
}
