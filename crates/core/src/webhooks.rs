//! Webhook subscriptions (per organization) and their delivery state. Delivery itself is done
//! by the service's worker.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use digimed_crypto::Secret;
use rand::RngCore;
use serde::Serialize;
use sqlx::PgPool;

use crate::error::{Error, Result};
use crate::keys::Vault;

/// Adds a subscription and returns its id and signing secret (`whsec_…`, shown once; stored
/// encrypted).
pub async fn add_subscription(
    pool: &PgPool,
    vault: &Vault,
    organization_id: i32,
    url: &str,
    event_types: &[String],
) -> Result<(i32, Secret<String>)> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(Error::invalid("url", "The webhook URL must start with https:// (or http:// for local testing)."));
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let secret = Secret::new(format!("whsec_{}", B64.encode(key)));
    let mut tx = pool.begin().await?;
    let id: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('webhook_subscriptions', 'id'))::int")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO webhook_subscriptions (id, organization_id, url, secret_encrypted, event_types) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(organization_id)
    .bind(url)
    .bind(vault.encrypt("webhook_subscriptions", "secret_encrypted", id as i64, secret.expose()))
    .bind(event_types)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Delivery {
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub subscription_id: i32,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

type DeliveryRow = (i64, uuid::Uuid, String, i32, String, i32, Option<i32>, Option<String>, DateTime<Utc>, Option<DateTime<Utc>>);

/// The newest deliveries, newest first.
pub async fn deliveries(pool: &PgPool, limit: i64) -> Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT d.id, o.event_id, o.event_type, d.subscription_id, d.status, d.attempts, d.last_status, d.last_error,
                d.next_attempt_at, d.delivered_at
           FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
          ORDER BY d.id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, 1000))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, event_id, event_type, subscription_id, status, attempts, last_status, last_error, next_attempt_at, delivered_at)| {
            Delivery { id, event_id, event_type, subscription_id, status, attempts, last_status, last_error, next_attempt_at, delivered_at }
        })
        .collect())
}
