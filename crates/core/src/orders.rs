//! Orders and their line items: the recalculator sums each line's quantity × unit price less its
//! discount, in exact decimals (never floating point), in the database.

use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::error::Result;

/// Recomputes an order's total from its line items and stores it; returns the new total.
pub async fn recalculate(conn: &mut PgConnection, order_id: i32) -> Result<Decimal> {
    let total: Decimal = sqlx::query_scalar("UPDATE orders SET total = order_total(id) WHERE id = $1 RETURNING total")
        .bind(order_id)
        .fetch_one(conn)
        .await?;
    Ok(total)
}
