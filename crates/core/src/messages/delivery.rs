//! Delivering queued messages, by the worker of `digimed serve` (the service's own login).
//!
//! Each pass claims due messages with a lease (`FOR UPDATE SKIP LOCKED`, then `next_attempt_at`
//! moved past the lease), so two workers never hold the same message, and no transaction stays
//! open while a server is talked to. A message's recipient and text are written once, encrypted,
//! the first time it is claimed, and every attempt sends exactly that, under the message's
//! idempotency key (the e-mail's Message-ID, Twilio's idempotency token). Only a queued message
//! is marked sent, and a sent one never changes again (the database refuses it).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::templates;
use super::transport::{DeliveryConfig, EmailSetup, Outcome, SmsSetup, SEND_TIMEOUT};
use super::{MessageChannel, MessageKind};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, Result};
use crate::keys::Vault;
use crate::public_links::PublicUrl;

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct DueMessage {
    pub id: i32,
    pub idempotency_key: Uuid,
    pub patient_person_id: i32,
    pub consultation_id: Option<i32>,
    pub kind: MessageKind,
    pub channel: MessageChannel,
    pub language: String,
    pub link_url: Option<String>,
    /// Attempts made before this one.
    pub attempts: i32,
    pub recipient_encrypted: Option<Vec<u8>>,
    pub body_encrypted: Option<Vec<u8>>,
}

/// Claims up to `batch` due messages for `lease_seconds`.
pub async fn claim_due(tx: &mut ClinicTx, batch: i64, lease_seconds: f64) -> Result<Vec<DueMessage>> {
    tx.require(Capability::DeliverEvents)?;
    Ok(sqlx::query_as!(
        DueMessage,
        r#"UPDATE patient_messages m SET next_attempt_at = now() + make_interval(secs => $2)
            WHERE m.id IN (SELECT id FROM patient_messages
                            WHERE state = 'queued' AND next_attempt_at <= now()
                            ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING m.id, m.idempotency_key, m.patient_person_id, m.consultation_id, m.kind AS "kind: MessageKind",
                  m.channel AS "channel!: MessageChannel", m.language, m.link_url, m.attempts,
                  m.recipient_encrypted, m.body_encrypted"#,
        batch,
        lease_seconds,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// A message's recipient and text, as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepared {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Why a message could not be written (the patient has no address any more, a link is missing):
/// it fails with this reason.
#[derive(Debug)]
pub struct Unpreparable(pub String);

/// The recipient and text of `m`: decrypted when written before; otherwise found, rendered in the
/// patient's language, and stored encrypted.
pub async fn prepare(
    tx: &mut ClinicTx,
    vault: &Vault,
    public_url: &PublicUrl,
    m: &DueMessage,
) -> Result<std::result::Result<Prepared, Unpreparable>> {
    tx.require(Capability::DeliverEvents)?;
    let row_id = i64::from(m.id);
    if let (Some(r), Some(b)) = (&m.recipient_encrypted, &m.body_encrypted) {
        let recipient = vault.decrypt("patient_messages", "recipient_encrypted", row_id, r)?;
        let text = vault.decrypt("patient_messages", "body_encrypted", row_id, b)?;
        let (subject, body): (String, String) =
            serde_json::from_str(&text).map_err(|_| Error::internal("A stored message could not be read."))?;
        return Ok(Ok(Prepared { recipient, subject, body }));
    }
    let p = sqlx::query!(
        r#"SELECT u.email AS "email?", pp.phone_encrypted, t.token AS "preference_token?",
                  (SELECT r.token FROM consultation_reviews r WHERE r.consultation_id = $2) AS review_token
             FROM patient_persons pp
             LEFT JOIN users u ON u.id = pp.user_id
             LEFT JOIN communication_preference_tokens t ON t.patient_person_id = pp.id
            WHERE pp.id = $1"#,
        m.patient_person_id,
        m.consultation_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The patient"))?;
    let recipient = match m.channel {
        MessageChannel::Email => p.email,
        MessageChannel::Sms => match &p.phone_encrypted {
            Some(ct) => Some(vault.decrypt("patient_persons", "phone_encrypted", i64::from(m.patient_person_id), ct)?),
            None => None,
        },
    };
    let Some(recipient) = recipient else {
        return Ok(Err(Unpreparable(match m.channel {
            MessageChannel::Email => "The patient has no e-mail address on file.".into(),
            MessageChannel::Sms => "The patient has no phone number on file.".into(),
        })));
    };
    let Some(token) = p.preference_token else {
        return Ok(Err(Unpreparable("The patient has no communication-preference token.".into())));
    };
    let link = match m.kind {
        MessageKind::JoinLink => match &m.link_url {
            Some(l) => Some(l.clone()),
            None => return Ok(Err(Unpreparable("The message has no join link.".into()))),
        },
        MessageKind::ThankYou => match p.review_token {
            Some(r) => Some(public_url.review(&r)),
            None => return Ok(Err(Unpreparable("The consultation has no review link.".into()))),
        },
        MessageKind::FormsInvitation => Some(public_url.forms(&token)),
        MessageKind::Cancellation | MessageKind::Welcome => None,
    };
    let r = templates::render(m.kind, &m.language, link.as_deref(), &public_url.preferences(&token));
    let text = serde_json::to_string(&(&r.subject, &r.body)).map_err(|e| Error::internal(e.to_string()))?;
    sqlx::query!(
        "UPDATE patient_messages SET recipient_encrypted = $2, body_encrypted = $3
          WHERE id = $1 AND state = 'queued' AND recipient_encrypted IS NULL",
        m.id,
        vault.encrypt("patient_messages", "recipient_encrypted", row_id, &recipient)?,
        vault.encrypt("patient_messages", "body_encrypted", row_id, &text)?,
    )
    .execute(tx.conn())
    .await?;
    Ok(Ok(Prepared { recipient, subject: r.subject, body: r.body }))
}

/// What to record after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Sent {
        provider_id: String,
    },
    /// Try again after `after`; the reason shows meanwhile. `counts`: whether it was an attempt
    /// (a message held back by missing settings was not).
    Retry {
        reason: String,
        after: Duration,
        counts: bool,
    },
    Failed {
        reason: String,
    },
}

/// Records an attempt's outcome; only a message still queued changes.
pub async fn record(tx: &mut ClinicTx, id: i32, r: &Record) -> Result<()> {
    tx.require(Capability::DeliverEvents)?;
    match r {
        Record::Sent { provider_id } => {
            sqlx::query!(
                "UPDATE patient_messages SET state = 'sent', provider_id = $2, sent_at = now(), reason = NULL,
                        attempts = attempts + 1
                  WHERE id = $1 AND state = 'queued'",
                id,
                provider_id,
            )
            .execute(tx.conn())
            .await?;
        }
        Record::Retry { reason, after, counts } => {
            sqlx::query!(
                "UPDATE patient_messages SET reason = $2, next_attempt_at = now() + make_interval(secs => $3),
                        attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END
                  WHERE id = $1 AND state = 'queued'",
                id,
                reason,
                after.as_secs_f64(),
                counts,
            )
            .execute(tx.conn())
            .await?;
        }
        Record::Failed { reason } => {
            sqlx::query!(
                "UPDATE patient_messages SET state = 'failed', reason = $2, attempts = attempts + 1
                  WHERE id = $1 AND state = 'queued'",
                id,
                reason,
            )
            .execute(tx.conn())
            .await?;
        }
    }
    Ok(())
}

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    pub batch: i64,
    /// Attempts before a message fails for good.
    pub max_attempts: i32,
    /// First retry delay; doubled per attempt, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a message held back by missing settings waits before it is looked at again.
    pub held_wait: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            batch: 20,
            max_attempts: 8,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            held_wait: Duration::from_secs(60),
        }
    }
}

/// The lease of a claimed message: longer than any one attempt can take.
pub fn lease() -> Duration {
    SEND_TIMEOUT * 3
}

/// One pass: claims the due messages and attempts each. Returns how many were claimed.
pub async fn deliver_due(pool: &PgPool, vault: &Vault, config: &DeliveryConfig, opts: &DeliveryOptions) -> Result<usize> {
    let mut tx = ClinicTx::begin(pool).await?;
    let due = claim_due(&mut tx, opts.batch, lease().as_secs_f64()).await?;
    tx.commit().await?;
    let n = due.len();
    for m in due {
        let outcome = attempt(pool, vault, config, opts, &m).await?;
        let mut tx = ClinicTx::begin(pool).await?;
        record(&mut tx, m.id, &outcome).await?;
        tx.commit().await?;
        tracing::info!(
            message_id = m.id,
            kind = m.kind.as_str(),
            channel = m.channel.as_str(),
            outcome = match &outcome {
                Record::Sent { .. } => "sent",
                Record::Retry { .. } => "retry",
                Record::Failed { .. } => "failed",
            },
            "patient message attempt"
        );
    }
    Ok(n)
}

async fn attempt(
    pool: &PgPool,
    vault: &Vault,
    config: &DeliveryConfig,
    opts: &DeliveryOptions,
    m: &DueMessage,
) -> Result<Record> {
    let held = config.held(m.channel);
    if let Some((reason, true)) = held {
        return Ok(Record::Failed { reason });
    }
    // Written even when nothing is configured, so that what would be sent is kept (encrypted).
    let prepared = if let Ok(public_url) = &config.public_url {
        let mut tx = ClinicTx::begin(pool).await?;
        let p = prepare(&mut tx, vault, public_url, m).await?;
        tx.commit().await?;
        match p {
            Ok(p) => Some(p),
            Err(Unpreparable(reason)) => return Ok(Record::Failed { reason }),
        }
    } else {
        None
    };
    if let Some((reason, _)) = held {
        return Ok(Record::Retry { reason, after: opts.held_wait, counts: false });
    }
    let Some(p) = prepared else {
        return Ok(Record::Retry { reason: "Not sent.".into(), after: opts.held_wait, counts: false });
    };
    let outcome = match (m.channel, &config.email, &config.sms) {
        (MessageChannel::Email, EmailSetup::Ready(mailer), _) => {
            mailer.send(m.idempotency_key, &p.recipient, &p.subject, &p.body).await
        }
        (MessageChannel::Sms, _, SmsSetup::Ready(twilio)) => twilio.send(m.idempotency_key, &p.recipient, &p.body).await,
        _ => return Ok(Record::Retry { reason: "Not sent.".into(), after: opts.held_wait, counts: false }),
    };
    let attempts = m.attempts + 1;
    Ok(match outcome {
        Outcome::Sent { provider_id } => Record::Sent { provider_id },
        Outcome::Failed { reason } => Record::Failed { reason },
        Outcome::Retry { reason } if attempts >= opts.max_attempts => {
            Record::Failed { reason: format!("{reason} Gave up after {attempts} attempts.") }
        }
        Outcome::Retry { reason } => {
            let after = opts.base_backoff.saturating_mul(1u32 << (attempts - 1).clamp(0, 20) as u32).min(opts.max_backoff);
            Record::Retry { reason, after, counts: true }
        }
    })
}
