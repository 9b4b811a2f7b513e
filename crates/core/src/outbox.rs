//! Outgoing events, written to `outbox` in the same transaction as the change they describe and
//! delivered later by the webhook worker (at least once, each with a stable event id).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

/// Queues an event; returns its id (the `webhook-id` receivers de-duplicate on).
pub async fn enqueue(
    conn: &mut PgConnection,
    event_type: &str,
    organization_id: Option<i32>,
    payload: &serde_json::Value,
) -> Result<Uuid> {
    let event_id = Uuid::new_v4();
    sqlx::query("INSERT INTO outbox (event_id, event_type, organization_id, payload) VALUES ($1, $2, $3, $4)")
        .bind(event_id)
        .bind(event_type)
        .bind(organization_id)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(event_id)
}
