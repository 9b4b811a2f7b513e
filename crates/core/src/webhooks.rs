//! Webhook subscriptions (per organization) and their delivery state. Delivery itself is done
//! by the service's worker.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use digimed_crypto::Secret;
use rand::RngCore;
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, Result};
use crate::keys::Vault;

/// Adds a subscription and returns its id and signing secret (`whsec_…`, shown once; stored
/// encrypted).
pub async fn add_subscription(
    tx: &mut ClinicTx,
    vault: &Vault,
    organization_id: i32,
    url: &str,
    event_types: &[String],
) -> Result<(i32, Secret<String>)> {
    tx.require(Capability::ManageWebhooks)?;
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(Error::invalid("url", "The webhook URL must start with https:// (or http:// for local testing)."));
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let secret = Secret::new(format!("whsec_{}", B64.encode(key)));
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('webhook_subscriptions', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    sqlx::query!(
        "INSERT INTO webhook_subscriptions (id, organization_id, url, secret_encrypted, event_types) VALUES ($1, $2, $3, $4, $5)",
        id,
        organization_id,
        url,
        vault.encrypt("webhook_subscriptions", "secret_encrypted", i64::from(id), secret.expose())?,
        event_types,
    )
    .execute(tx.conn())
    .await?;
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

/// The newest deliveries, newest first.
pub async fn deliveries(tx: &mut ClinicTx, limit: i64) -> Result<Vec<Delivery>> {
    tx.require(Capability::ManageWebhooks)?;
    Ok(sqlx::query_as!(
        Delivery,
        "SELECT d.id, o.event_id, o.event_type, d.subscription_id, d.status, d.attempts, d.last_status, d.last_error,
                d.next_attempt_at, d.delivered_at
           FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
          ORDER BY d.id DESC LIMIT $1",
        limit.clamp(1, 1000),
    )
    .fetch_all(tx.conn())
    .await?)
}
