//! The outbox worker: fans each outbox event out to the active webhook subscriptions of its
//! organization and delivers it, signed with the Standard Webhooks scheme (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). A delivery is retried
//! with exponential back-off until the receiver answers 2xx or the attempts run out; the event
//! id stays the same on every attempt so receivers can de-duplicate. Delivery state is kept in
//! `webhook_deliveries`, which admins can read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use digimed_core::keys::Vault;
use digimed_core::webhook_signature;
use digimed_core::Result;
use sqlx::PgPool;
use uuid::Uuid;

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
    Some(webhook_signature::sign(&key, msg_id, timestamp, body.as_bytes()))
}

pub struct Worker {
    pool: PgPool,
    vault: Vault,
    http: reqwest::Client,
    opts: WorkerOptions,
}

type DueRow = (i64, i32, Uuid, String, serde_json::Value, DateTime<Utc>, i32, String, Vec<u8>);

impl Worker {
    pub fn new(pool: PgPool, vault: Vault, opts: WorkerOptions) -> Worker {
        let http = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("digimed-webhooks")
            .build()
            .expect("the webhook HTTP client builds");
        Worker { pool, vault, http, opts }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.tick().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(code = e.code.as_str(), "webhook worker pass failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.opts.poll_interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// One pass: chain waiting audit rows, fan out new events, then attempt due deliveries. Returns deliveries attempted.
    pub async fn tick(&self) -> Result<usize> {
        digimed_core::audit::seal_pending(&self.pool).await?;
        self.fan_out().await?;
        self.deliver_due().await
    }

    async fn fan_out(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let events: Vec<(i64, Option<i32>, String)> = sqlx::query_as(
            "SELECT id, organization_id, event_type FROM outbox WHERE dispatched_at IS NULL
              ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (id, org, event_type) in &events {
            sqlx::query(
                "INSERT INTO webhook_deliveries (outbox_id, subscription_id)
                 SELECT $1, s.id FROM webhook_subscriptions s
                  WHERE s.active AND s.organization_id = $2
                    AND (cardinality(s.event_types) = 0 OR $3 = ANY (s.event_types))
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(org)
            .bind(event_type)
            .execute(&mut *tx)
            .await?;
        }
        if !events.is_empty() {
            let ids: Vec<i64> = events.iter().map(|e| e.0).collect();
            sqlx::query("UPDATE outbox SET dispatched_at = now() WHERE id = ANY ($1)").bind(&ids).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliver_due(&self) -> Result<usize> {
        // Claim due deliveries with a lease, so several workers never send the same one at once
        // and no transaction stays open during an HTTP request.
        let lease = (self.opts.request_timeout * 3).as_secs_f64();
        let due: Vec<DueRow> = sqlx::query_as(
            "WITH claimed AS (
                 UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
                  WHERE d.id IN (SELECT id FROM webhook_deliveries
                                  WHERE status = 'pending' AND next_attempt_at <= now()
                                  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                 RETURNING d.id, d.attempts, d.outbox_id, d.subscription_id)
             SELECT c.id, c.attempts, o.event_id, o.event_type, o.payload, o.created_at, s.id, s.url, s.secret_encrypted
               FROM claimed c JOIN outbox o ON o.id = c.outbox_id JOIN webhook_subscriptions s ON s.id = c.subscription_id",
        )
        .bind(self.opts.batch)
        .bind(lease)
        .fetch_all(&self.pool)
        .await?;
        let n = due.len();
        for (delivery_id, attempts, event_id, event_type, payload, created_at, sub_id, url, secret_ct) in due {
            let outcome = match self.vault.decrypt("webhook_subscriptions", "secret_encrypted", sub_id as i64, &secret_ct) {
                Ok(secret) => self.send(&url, &secret, event_id, &event_type, &payload, created_at).await,
                Err(_) => Err((None, "the subscription's secret could not be decrypted".to_string())),
            };
            self.record(delivery_id, attempts + 1, outcome).await?;
        }
        Ok(n)
    }

    async fn send(
        &self,
        url: &str,
        secret: &str,
        event_id: Uuid,
        event_type: &str,
        payload: &serde_json::Value,
        created_at: DateTime<Utc>,
    ) -> std::result::Result<u16, (Option<u16>, String)> {
        let body = serde_json::json!({
            "type": event_type,
            "timestamp": created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": payload,
        })
        .to_string();
        let msg_id = event_id.to_string();
        let ts = Utc::now().timestamp();
        let signature = sign(secret, &msg_id, ts, &body).ok_or((None, "the subscription's secret is not valid".to_string()))?;
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| (None, if e.is_timeout() { "timed out".to_string() } else { "connection failed".to_string() }))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            Ok(status)
        } else {
            Err((Some(status), format!("receiver answered HTTP {status}")))
        }
    }

    async fn record(
        &self,
        delivery_id: i64,
        attempts: i32,
        outcome: std::result::Result<u16, (Option<u16>, String)>,
    ) -> Result<()> {
        match outcome {
            Ok(status) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, last_status = $3,
                            last_error = NULL, delivered_at = now() WHERE id = $1",
                )
                .bind(delivery_id)
                .bind(attempts)
                .bind(status as i32)
                .execute(&self.pool)
                .await?;
            }
            Err((status, error)) => {
                let backoff = self
                    .opts
                    .base_backoff
                    .saturating_mul(1u32 << (attempts - 1).clamp(0, 20) as u32)
                    .min(self.opts.max_backoff);
                let give_up = attempts >= self.opts.max_attempts;
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4,
                            status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = now() + make_interval(secs => $6) WHERE id = $1",
                )
                .bind(delivery_id)
                .bind(attempts)
                .bind(status.map(|s| s as i32))
                .bind(error)
                .bind(give_up)
                .bind(backoff.as_secs_f64())
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_reference_signature() {
        // The example from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
