//! Outgoing events, written to `outbox` in the same transaction as the change they describe and
//! delivered later by the webhook worker (at least once, each with a stable event id).

use uuid::Uuid;

use crate::clinic_tx::ClinicTx;
use crate::error::Result;

/// Queues an event; returns its id (the `webhook-id` receivers de-duplicate on).
pub async fn enqueue(
    tx: &mut ClinicTx,
    event_type: &str,
    organization_id: Option<i32>,
    payload: &serde_json::Value,
) -> Result<Uuid> {
    let ids = enqueue_many(tx, organization_id, &[(event_type, payload.clone())]).await?;
    Ok(ids[0])
}

/// Queues several events of one organization in one statement, in order; returns their ids.
pub async fn enqueue_many(
    tx: &mut ClinicTx,
    organization_id: Option<i32>,
    events: &[(&str, serde_json::Value)],
) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::new_v4()).collect();
    let types: Vec<String> = events.iter().map(|(t, _)| t.to_string()).collect();
    let payloads: Vec<serde_json::Value> = events.iter().map(|(_, p)| p.clone()).collect();
    sqlx::query!(
        "INSERT INTO outbox (event_id, event_type, organization_id, payload)
         SELECT e.event_id, e.event_type, $4, e.payload
           FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(event_id, event_type, payload, n)
          ORDER BY e.n",
        &ids,
        &types,
        &payloads,
        organization_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// Delivery, by the service's worker (see `docs/webhooks.md`): each event is fanned out to the
// active subscriptions of its organization, and each delivery is claimed with a lease (so
// several workers never send the same one at once, and no transaction stays open during an HTTP
// request), sent, and recorded.

use chrono::{DateTime, Utc};

use crate::capability::Capability;

/// Fans the next undispatched events out to the subscriptions that want them; returns how many
/// events were dispatched.
pub async fn fan_out(tx: &mut ClinicTx) -> Result<usize> {
    tx.require(Capability::DeliverEvents)?;
    let events = sqlx::query!(
        "SELECT id, organization_id, event_type FROM outbox WHERE dispatched_at IS NULL
          ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED"
    )
    .fetch_all(tx.conn())
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let orgs: Vec<Option<i32>> = events.iter().map(|e| e.organization_id).collect();
    let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    sqlx::query!(
        "WITH e AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[]) AS e(id, org, event_type)),
              d AS (INSERT INTO webhook_deliveries (outbox_id, subscription_id)
                    SELECT e.id, s.id FROM e JOIN webhook_subscriptions s
                      ON s.active AND s.organization_id = e.org
                     AND (cardinality(s.event_types) = 0 OR e.event_type = ANY (s.event_types))
                    ON CONFLICT DO NOTHING)
         UPDATE outbox SET dispatched_at = now() WHERE id = ANY ($1)",
        &ids,
        &orgs as &[Option<i32>],
        &types,
    )
    .execute(tx.conn())
    .await?;
    Ok(events.len())
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    /// Attempts made before this one.
    pub attempts: i32,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub subscription_id: i32,
    pub url: String,
    pub secret_encrypted: Vec<u8>,
}

/// Claims up to `batch` due deliveries for `lease_seconds`: no other worker takes them meanwhile.
pub async fn claim_due(tx: &mut ClinicTx, batch: i64, lease_seconds: f64) -> Result<Vec<DueDelivery>> {
    tx.require(Capability::DeliverEvents)?;
    Ok(sqlx::query_as!(
        DueDelivery,
        r#"WITH claimed AS (
               UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
                WHERE d.id IN (SELECT id FROM webhook_deliveries
                                WHERE status = 'pending' AND next_attempt_at <= now()
                                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING d.id, d.attempts, d.outbox_id, d.subscription_id)
           SELECT c.id AS "id!", c.attempts AS "attempts!", o.event_id, o.event_type, o.payload, o.created_at,
                  s.id AS subscription_id, s.url, s.secret_encrypted
             FROM claimed c JOIN outbox o ON o.id = c.outbox_id JOIN webhook_subscriptions s ON s.id = c.subscription_id"#,
        batch,
        lease_seconds,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// How one attempt at a delivery went.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Not delivered: the receiver's status if it answered, and why.
    Failed { status: Option<u16>, reason: String },
}

/// Records an attempt: delivered, or failed and due again after `retry_after_seconds`, or given
/// up on (`give_up`).
pub async fn record_attempt(
    tx: &mut ClinicTx,
    delivery_id: i64,
    attempts: i32,
    attempt: &Attempt,
    retry_after_seconds: f64,
    give_up: bool,
) -> Result<()> {
    tx.require(Capability::DeliverEvents)?;
    match attempt {
        Attempt::Delivered { status } => {
            sqlx::query!(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, last_status = $3,
                        last_error = NULL, delivered_at = now() WHERE id = $1",
                delivery_id,
                attempts,
                i32::from(*status),
            )
            .execute(tx.conn())
            .await?;
        }
        Attempt::Failed { status, reason } => {
            sqlx::query!(
                "UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4,
                        status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END,
                        next_attempt_at = now() + make_interval(secs => $6) WHERE id = $1",
                delivery_id,
                attempts,
                status.map(i32::from),
                reason,
                give_up,
                retry_after_seconds,
            )
            .execute(tx.conn())
            .await?;
        }
    }
    Ok(())
}
