//! The outbox worker: fans each outbox event out to the active webhook subscriptions of its
//! organization and delivers it, signed with the Standard Webhooks scheme (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). A delivery is retried
//! with exponential back-off until the receiver answers 2xx or the attempts run out; the event
//! id stays the same on every attempt so receivers can de-duplicate. Delivery state is kept in
//! `webhook_deliveries`, which admins can read.

use std::time::Duration;

use chrono::Utc;
use digimed_core::keys::Vault;
use digimed_core::outbox::{self, Attempt, DueDelivery};
use digimed_core::webhook_signature;
use digimed_core::{ClinicTx, Result};
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    pub max_attempts: i32,
    /// First retry delay; doubled per attempt, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub batch: i64,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            max_attempts: 12,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            batch: 20,
        }
    }
}

/// Signs a payload the Standard Webhooks way (`v1,<base64 HMAC-SHA256>`). `secret` is a
/// `whsec_…` secret as stored for the subscription.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = webhook_signature::SigningKey::from_secret(secret).ok()?;
    Some(webhook_signature::sign(&key, msg_id, timestamp, body))
}

pub struct Worker {
    pool: PgPool,
    vault: Vault,
    http: reqwest::Client,
    opts: WorkerOptions,
}

impl Worker {
    pub fn new(pool: PgPool, vault: Vault, opts: WorkerOptions) -> Worker {
        let vault = vault.contact_only();
        let http = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("digimed-webhooks")
            .build()
            .expect("the webhook HTTP client builds");
        Worker { pool, vault, http, opts }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        crate::run_passes(self.opts.poll_interval, stop, "webhook worker pass failed", || self.tick()).await
    }

    /// One pass: chain waiting audit rows, fan out new events, then attempt due deliveries.
    /// Returns deliveries attempted.
    pub async fn tick(&self) -> Result<usize> {
        let mut tx = ClinicTx::begin(&self.pool).await?;
        digimed_core::audit::seal_pending(&mut tx).await?;
        outbox::fan_out(&mut tx).await?;
        tx.commit().await?;
        self.deliver_due().await
    }

    async fn deliver_due(&self) -> Result<usize> {
        let lease = (self.opts.request_timeout * 3).as_secs_f64();
        let mut tx = ClinicTx::begin(&self.pool).await?;
        let due = outbox::claim_due(&mut tx, self.opts.batch, lease).await?;
        tx.commit().await?;
        let n = due.len();
        for d in due {
            let attempt = match self.vault.decrypt(
                "webhook_subscriptions",
                "secret_encrypted",
                i64::from(d.subscription_id),
                &d.secret_encrypted,
            ) {
                Ok(secret) => self.send(&d, &secret).await,
                Err(_) => {
                    Attempt::Failed { status: None, reason: "the subscription's secret could not be decrypted".to_string() }
                }
            };
            let attempts = d.attempts + 1;
            let backoff =
                self.opts.base_backoff.saturating_mul(1u32 << (attempts - 1).clamp(0, 20) as u32).min(self.opts.max_backoff);
            let mut tx = ClinicTx::begin(&self.pool).await?;
            outbox::record_attempt(&mut tx, d.id, attempts, &attempt, backoff.as_secs_f64(), attempts >= self.opts.max_attempts)
                .await?;
            tx.commit().await?;
        }
        Ok(n)
    }

    async fn send(&self, d: &DueDelivery, secret: &str) -> Attempt {
        let body = serde_json::json!({
            "type": d.event_type,
            "timestamp": d.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": d.payload,
        })
        .to_string();
        let msg_id = d.event_id.to_string();
        let ts = Utc::now().timestamp();
        let Some(signature) = sign(secret, &msg_id, ts, &body) else {
            return Attempt::Failed { status: None, reason: "the subscription's secret is not valid".to_string() };
        };
        let sent = self
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Attempt::Delivered { status: resp.status().as_u16() },
            Ok(resp) => {
                let status = resp.status().as_u16();
                Attempt::Failed { status: Some(status), reason: format!("receiver answered HTTP {status}") }
            }
            Err(e) => Attempt::Failed {
                status: None,
                reason: if e.is_timeout() { "timed out".to_string() } else { "connection failed".to_string() },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_reference_signature() {
        // The example from the Standard Webhooks specification.
        let sig =
            sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#)
                .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
