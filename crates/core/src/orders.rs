//! Orders and their line items: the recalculator sums each line's quantity × unit price less its
//! discount, in exact decimals (never floating point), in the database.

use rust_decimal::Decimal;

use crate::clinic_tx::ClinicTx;
use crate::error::Result;

/// Recomputes an order's total from its line items and stores it; returns the new total.
pub async fn recalculate(tx: &mut ClinicTx, order_id: i32) -> Result<Decimal> {
    Ok(sqlx::query_scalar!("UPDATE orders SET total = order_total(id) WHERE id = $1 RETURNING total", order_id)
        .fetch_one(tx.conn())
        .await?)
}

/// Opens the order of a booked consultation for its paying partner, with its one line item (a
/// consultation of the booking's category); the price is set when the order is invoiced. The one
/// place an order is created.
pub(crate) async fn open_for_consultation(
    tx: &mut ClinicTx,
    clinic_id: i32,
    customer_org_id: i32,
    patient_person_id: i32,
    consultation_id: i32,
) -> Result<i32> {
    // Two statements: the line item's row-level check looks the order up, which a statement
    // cannot see while the same statement inserts it.
    let order_id = sqlx::query_scalar!(
        "INSERT INTO orders (clinic_id, customer_org_id, patient_person_id, consultation_id) VALUES ($1, $2, $3, $4) RETURNING id",
        clinic_id,
        customer_org_id,
        patient_person_id,
        consultation_id,
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "INSERT INTO line_items (order_id, description, category, quantity, unit_price) VALUES ($1, 'Digimed consultation', 'insurance', 1, 0)",
        order_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(order_id)
}
