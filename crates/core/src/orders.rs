//! Orders and their line items (see `docs/prices.md`): the order of a booked consultation is
//! opened for its paying partner with one line item at the partner's deal price in force then;
//! an administrator gives a discount on it with a reason; the database keeps each order's total
//! (quantity × unit price less discount, summed) whenever a line item is written. Exact decimals
//! throughout, never floating point.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::queue::ConsultationState;

/// An amount read from the database, with its two decimals (a zero may arrive without them).
pub(crate) fn two_decimals(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

/// Recomputes an order's total from its line items and stores it; returns the new total. (The
/// database already does this whenever a line item is written; this reads it back.)
pub async fn recalculate(tx: &mut ClinicTx, order_id: i32) -> Result<Decimal> {
    Ok(sqlx::query_scalar!("UPDATE orders SET total = order_total(id) WHERE id = $1 RETURNING total", order_id)
        .fetch_one(tx.conn())
        .await?)
}

/// Opens the order of a booked consultation for its paying partner, with its one line item: a
/// consultation of the booking's category at the partner's deal price for that category in force
/// now, in the price's currency. Without a deal price the line item is opened at 0 and marked
/// `no_deal_price`, so the billing view and the insurer report say so. The one place an order is
/// created.
pub async fn open_for_consultation(
    tx: &mut ClinicTx,
    clinic_id: i32,
    customer_org_id: i32,
    patient_person_id: i32,
    consultation_id: i32,
) -> Result<i32> {
    let deal = sqlx::query!(
        r#"SELECT c.category AS "category!", pp.unit_price AS "unit_price?", pp.currency AS "currency?"
             FROM consultations c
             LEFT JOIN partners pa ON pa.organization_id = $2
             LEFT JOIN partner_prices pp ON pp.partner_id = pa.id AND pp.category = c.category
            WHERE c.id = $1"#,
        consultation_id,
        customer_org_id,
    )
    .fetch_one(tx.conn())
    .await?;
    // Two statements: the line item's row-level check looks the order up, which a statement
    // cannot see while the same statement inserts it.
    let order_id = sqlx::query_scalar!(
        "INSERT INTO orders (clinic_id, customer_org_id, patient_person_id, consultation_id, currency)
         VALUES ($1, $2, $3, $4, coalesce($5, 'NOK')) RETURNING id",
        clinic_id,
        customer_org_id,
        patient_person_id,
        consultation_id,
        deal.currency,
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "INSERT INTO line_items (order_id, description, category, quantity, unit_price, no_deal_price)
         VALUES ($1, 'Digimed consultation', $2, 1, $3, $4)",
        order_id,
        deal.category,
        deal.unit_price.unwrap_or(Decimal::ZERO),
        deal.unit_price.is_none(),
    )
    .execute(tx.conn())
    .await?;
    Ok(order_id)
}

/// One consultation as the billing view lists it: its price (quantity × unit price of its line
/// items), discount and the order's total as the database keeps it. A consultation without an
/// order (a follow-up) has no amounts.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BillingLine {
    pub consultation_id: i32,
    pub created_at: DateTime<Utc>,
    pub state: ConsultationState,
    pub category: String,
    /// The patient's name; none when the patient is not visible to the reader.
    pub patient: Option<String>,
    pub order_id: Option<i32>,
    pub price: Option<Decimal>,
    pub discount: Option<Decimal>,
    pub total: Option<Decimal>,
    pub currency: Option<String>,
    /// The line was opened when the partner had no deal price for the category (price 0).
    pub no_deal_price: bool,
    pub discount_reason: Option<String>,
    /// The name of the staff member who gave the discount (their login when not staff).
    pub discount_set_by: Option<String>,
    pub discount_set_at: Option<DateTime<Utc>>,
}

/// Prices, discounts and totals added up for one currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MoneySum {
    pub currency: String,
    /// How many consultations with an order went into the sum.
    pub consultations: u32,
    pub price: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
}

/// Adds prices, discounts and totals per currency, exactly (the billing view's and the insurer
/// report's sums).
#[derive(Debug, Default)]
pub struct MoneySums(BTreeMap<String, MoneySum>);

impl MoneySums {
    pub fn add(&mut self, currency: &str, price: Decimal, discount: Decimal, total: Decimal) {
        let sum = self.0.entry(currency.to_string()).or_insert_with(|| MoneySum {
            currency: currency.to_string(),
            consultations: 0,
            price: Decimal::ZERO,
            discount: Decimal::ZERO,
            total: Decimal::ZERO,
        });
        sum.consultations += 1;
        sum.price += price;
        sum.discount += discount;
        sum.total += total;
    }

    /// The sums by currency code, each amount with two decimals.
    pub fn into_sums(self) -> Vec<MoneySum> {
        self.0
            .into_values()
            .map(|s| MoneySum {
                price: two_decimals(s.price),
                discount: two_decimals(s.discount),
                total: two_decimals(s.total),
                ..s
            })
            .collect()
    }
}

/// A partner's consultations in a period with their amounts, and the sums.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Billing {
    pub partner_id: i32,
    pub partner: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lines: Vec<BillingLine>,
    /// One per currency of the orders listed (none when no consultation has an order).
    pub sums: Vec<MoneySum>,
}

/// Which consultations [`lines`] reads.
enum Which {
    Period { partner_id: i32, from: NaiveDate, to: NaiveDate },
    One(i32),
}

async fn lines(tx: &mut ClinicTx, which: Which) -> Result<Vec<BillingLine>> {
    let (partner, from, to, one) = match which {
        Which::Period { partner_id, from, to } => (Some(partner_id), Some(from), Some(to), None),
        Which::One(id) => (None, None, None, Some(id)),
    };
    Ok(sqlx::query_as!(
        BillingLine,
        r#"SELECT c.id AS consultation_id, c.created_at, c.state AS "state: ConsultationState", c.category,
                  pp.name AS "patient?", o.id AS "order_id?", m.price AS "price?", m.discount AS "discount?",
                  o.total AS "total?", o.currency AS "currency?", coalesce(m.no_deal_price, false) AS "no_deal_price!",
                  f.discount_reason AS "discount_reason?", coalesce(s.name, f.discount_set_by) AS "discount_set_by?",
                  f.discount_set_at AS "discount_set_at?"
             FROM consultations c
             LEFT JOIN patient_persons pp ON pp.id = c.patient_person_id
             LEFT JOIN orders o ON o.consultation_id = c.id
             LEFT JOIN LATERAL (
                   SELECT sum(li.quantity * li.unit_price)::numeric(14, 2) AS price,
                          sum(li.discount)::numeric(14, 2) AS discount, bool_or(li.no_deal_price) AS no_deal_price
                     FROM line_items li WHERE li.order_id = o.id GROUP BY li.order_id) m ON true
             LEFT JOIN LATERAL (
                   SELECT li.discount_reason, li.discount_set_by, li.discount_set_at
                     FROM line_items li WHERE li.order_id = o.id ORDER BY li.id LIMIT 1) f ON true
             LEFT JOIN staff s ON s.login_role = f.discount_set_by
            WHERE ($1::int IS NULL OR c.partner_id = $1)
              AND ($2::date IS NULL OR c.created_at >= $2::date::timestamp AT TIME ZONE 'Europe/Oslo')
              AND ($3::date IS NULL OR c.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'Europe/Oslo')
              AND ($4::int IS NULL OR c.id = $4)
            ORDER BY c.created_at, c.id"#,
        partner,
        from,
        to,
        one,
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|l| BillingLine {
        price: l.price.map(two_decimals),
        discount: l.discount.map(two_decimals),
        total: l.total.map(two_decimals),
        ..l
    })
    .collect())
}

/// The consultations of a partner created in a period (Norwegian local dates, both included, as
/// the insurer report counts them), with price, discount and total, and their sums.
pub async fn billing(tx: &mut ClinicTx, partner_id: i32, from: &str, to: &str) -> Result<Billing> {
    tx.require(Capability::ReadBilling)?;
    let (from, to) = crate::report::parse_period(from, to)?;
    let clinic = tx.clinic();
    let Some(partner) = sqlx::query_scalar!(
        "SELECT name FROM partners WHERE id = $1 AND ($2::int IS NULL OR clinic_id = $2)",
        partner_id,
        clinic
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(Error::field(ErrorCode::NotFound, "partner", "That partner does not send referrals to your clinic."));
    };
    let lines = lines(tx, Which::Period { partner_id, from, to }).await?;
    let mut sums = MoneySums::default();
    for l in &lines {
        if let (Some(currency), Some(price), Some(discount), Some(total)) = (&l.currency, l.price, l.discount, l.total) {
            sums.add(currency, price, discount, total);
        }
    }
    Ok(Billing { partner_id, partner, from, to, lines, sums: sums.into_sums() })
}

/// The longest reason a discount may give.
pub const MAX_REASON_CHARS: usize = 500;

/// Gives (or changes, or with 0 takes back) the discount on a consultation's line item, with the
/// reason; the database records who and when, recomputes the order's total and audits the change.
/// Administrators of the consultation's clinic, and the owner. Refused without writing anything:
/// a negative amount or one above the price (`amount`), no reason (`reason`), a consultation
/// without an order in the actor's clinic (`consultation_id`).
pub async fn set_discount(tx: &mut ClinicTx, consultation_id: i32, amount: &str, reason: &str) -> Result<BillingLine> {
    tx.require(Capability::SetDiscounts)?;
    let amount = crate::prices::parse_amount("amount", amount)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "Write why the discount is given."));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::invalid("reason", format!("Keep the reason to {MAX_REASON_CHARS} characters.")));
    }
    let Some(line) = sqlx::query!(
        r#"SELECT li.id, (li.quantity * li.unit_price)::numeric(14, 2) AS "price!", li.no_deal_price
             FROM orders o JOIN line_items li ON li.order_id = o.id
            WHERE o.consultation_id = $1
            ORDER BY li.id LIMIT 1
              FOR UPDATE OF li"#,
        consultation_id,
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(Error::field(ErrorCode::NotFound, "consultation_id", "Your clinic has no order for this consultation."));
    };
    if amount.value() > line.price {
        return Err(Error::invalid(
            "amount",
            if line.no_deal_price {
                "This consultation was booked without a deal price; there is no price to discount."
            } else {
                "A discount cannot be larger than the price of the consultation."
            },
        ));
    }
    sqlx::query!("UPDATE line_items SET discount = $2, discount_reason = $3 WHERE id = $1", line.id, amount.value(), reason)
        .execute(tx.conn())
        .await?;
    lines(tx, Which::One(consultation_id)).await?.pop().ok_or_else(|| Error::not_found("The consultation"))
}

/// One line item of an order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LineItem {
    pub id: i32,
    pub description: String,
    pub category: String,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub no_deal_price: bool,
    pub discount_reason: Option<String>,
    pub discount_set_by: Option<String>,
    pub discount_set_at: Option<DateTime<Utc>>,
}

/// A consultation's order with its line items and total.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Order {
    pub id: i32,
    pub consultation_id: i32,
    /// The paying partner's name.
    pub partner: Option<String>,
    pub currency: String,
    pub total: Decimal,
    pub created_at: DateTime<Utc>,
    pub line_items: Vec<LineItem>,
}

/// The order of a consultation (secretaries and administrators of its clinic, and the owner).
pub async fn show(tx: &mut ClinicTx, consultation_id: i32) -> Result<Order> {
    tx.require(Capability::ReadBilling)?;
    let Some(o) = sqlx::query!(
        r#"SELECT o.id, o.currency, o.total, o.created_at, pa.name AS "partner?"
             FROM orders o LEFT JOIN partners pa ON pa.organization_id = o.customer_org_id
            WHERE o.consultation_id = $1"#,
        consultation_id,
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(Error::field(ErrorCode::NotFound, "consultation_id", "Your clinic has no order for this consultation."));
    };
    let line_items = sqlx::query_as!(
        LineItem,
        r#"SELECT li.id, li.description, li.category, li.quantity, li.unit_price, li.discount, li.no_deal_price,
                  li.discount_reason, coalesce(s.name, li.discount_set_by) AS discount_set_by, li.discount_set_at
             FROM line_items li LEFT JOIN staff s ON s.login_role = li.discount_set_by
            WHERE li.order_id = $1 ORDER BY li.id"#,
        o.id,
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|li| LineItem { unit_price: two_decimals(li.unit_price), discount: two_decimals(li.discount), ..li })
    .collect();
    Ok(Order {
        id: o.id,
        consultation_id,
        partner: o.partner,
        currency: o.currency,
        total: two_decimals(o.total),
        created_at: o.created_at,
        line_items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_and_per_currency() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut sums = MoneySums::default();
        for _ in 0..10 {
            sums.add("NOK", d("0.10"), d("0.00"), d("0.10"));
        }
        sums.add("NOK", d("650.00"), d("100.00"), d("550.00"));
        sums.add("EUR", d("55"), d("0"), d("55"));
        let got = sums.into_sums();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].currency.as_str(), got[0].consultations, got[0].total.to_string()), ("EUR", 1, "55.00".into()));
        assert_eq!(got[1].price.to_string(), "651.00");
        assert_eq!(got[1].discount.to_string(), "100.00");
        assert_eq!(got[1].total.to_string(), "551.00", "ten times 0.10 is exactly 1.00");
    }
}
