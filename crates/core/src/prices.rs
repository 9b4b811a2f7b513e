//! Deal prices (see `docs/prices.md`): what a partner pays for a consultation of each category,
//! set by an administrator of the clinic that serves the partner. The order of a booking takes
//! the price in force when it is opened ([`crate::orders`]); changing a price never reprices a
//! booked consultation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use digimed_domain::Amount;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};

/// The consultation categories a deal prices (`consultations.category`).
pub const CATEGORIES: [&str; 2] = ["insurance", "direct"];

/// The currency of a price when none is named.
pub const DEFAULT_CURRENCY: &str = "NOK";

/// A consultation category as typed: `insurance` or `direct`.
pub fn parse_category(input: &str) -> Result<&'static str> {
    let wanted = input.trim().to_ascii_lowercase();
    CATEGORIES
        .iter()
        .find(|c| **c == wanted)
        .copied()
        .ok_or_else(|| Error::invalid("category", "The category is insurance or direct."))
}

/// A currency code as typed (`nok`, ` NOK `): three letters, upper-cased; none is NOK.
pub fn parse_currency(input: Option<&str>) -> Result<String> {
    let code = input.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(DEFAULT_CURRENCY).to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(Error::invalid("currency", "A currency is three letters, e.g. NOK."))
    }
}

/// An amount as typed, for `field`; each refusal says why.
pub fn parse_amount(field: &str, input: &str) -> Result<Amount> {
    Amount::parse(input).map_err(|e| Error::refused(field, e.code(), e))
}

/// A partner's price for one category, and who set it when.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DealPrice {
    pub partner_id: i32,
    /// `insurance` or `direct`.
    pub category: String,
    /// Exact, two decimals (a string in JSON: `"650.00"`).
    pub unit_price: Decimal,
    pub currency: String,
    /// The name of the staff member who set it (their login when they are not staff).
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// A partner of the clinic and its deal prices; a category without one is missing from `prices`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerDeal {
    pub partner_id: i32,
    pub partner: String,
    pub prices: Vec<DealPrice>,
}

/// The partners of the acting staff member's clinic (every partner for the owner), each with its
/// deal prices, by name.
pub async fn list(tx: &mut ClinicTx) -> Result<Vec<PartnerDeal>> {
    tx.require(Capability::ReadBilling)?;
    let clinic = tx.clinic();
    let partners = sqlx::query!("SELECT id, name FROM partners WHERE $1::int IS NULL OR clinic_id = $1 ORDER BY name", clinic)
        .fetch_all(tx.conn())
        .await?;
    let mut by_partner: BTreeMap<i32, Vec<DealPrice>> = BTreeMap::new();
    for price in read(tx, None).await? {
        by_partner.entry(price.partner_id).or_default().push(price);
    }
    Ok(partners
        .into_iter()
        .map(|p| PartnerDeal { prices: by_partner.remove(&p.id).unwrap_or_default(), partner_id: p.id, partner: p.name })
        .collect())
}

async fn read(tx: &mut ClinicTx, only: Option<(i32, &str)>) -> Result<Vec<DealPrice>> {
    Ok(sqlx::query_as!(
        DealPrice,
        r#"SELECT pp.partner_id, pp.category, pp.unit_price, pp.currency, coalesce(s.name, pp.set_by) AS "set_by!", pp.set_at
             FROM partner_prices pp
             LEFT JOIN staff s ON s.login_role = pp.set_by
            WHERE $1::int IS NULL OR (pp.partner_id = $1 AND pp.category = $2)
            ORDER BY pp.partner_id, array_position(ARRAY['insurance', 'direct'], pp.category)"#,
        only.map(|o| o.0),
        only.map(|o| o.1),
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|d| DealPrice { unit_price: crate::orders::two_decimals(d.unit_price), ..d })
    .collect())
}

/// Sets a partner's deal price for one category (administrators of the partner's clinic, and
/// the owner). Bookings made from now on are priced with it; booked ones keep their price.
pub async fn set(tx: &mut ClinicTx, partner_id: i32, category: &str, amount: &str, currency: Option<&str>) -> Result<DealPrice> {
    tx.require(Capability::ManagePrices)?;
    let category = parse_category(category)?;
    let amount = parse_amount("amount", amount)?;
    let currency = parse_currency(currency)?;
    let clinic = tx.clinic();
    let ours = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1 AND ($2::int IS NULL OR clinic_id = $2)) AS "ours!""#,
        partner_id,
        clinic,
    )
    .fetch_one(tx.conn())
    .await?;
    if !ours {
        return Err(Error::field(ErrorCode::NotFound, "partner", "That partner does not send referrals to your clinic."));
    }
    sqlx::query!(
        "INSERT INTO partner_prices (partner_id, category, unit_price, currency) VALUES ($1, $2, $3, $4)
         ON CONFLICT (partner_id, category) DO UPDATE SET unit_price = EXCLUDED.unit_price, currency = EXCLUDED.currency",
        partner_id,
        category,
        amount.value(),
        currency,
    )
    .execute(tx.conn())
    .await?;
    read(tx, Some((partner_id, category))).await?.pop().ok_or_else(|| Error::internal("The price was not saved."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_currencies_name_their_field() {
        assert_eq!(parse_category(" Insurance ").unwrap(), "insurance");
        assert_eq!(parse_category("direct").unwrap(), "direct");
        assert_eq!(parse_category("follow-up").unwrap_err().field.as_deref(), Some("category"));
        assert_eq!(parse_currency(None).unwrap(), "NOK");
        assert_eq!(parse_currency(Some(" eur ")).unwrap(), "EUR");
        assert_eq!(parse_currency(Some("")).unwrap(), "NOK");
        assert_eq!(parse_currency(Some("kroner")).unwrap_err().field.as_deref(), Some("currency"));
        assert_eq!(parse_currency(Some("N0K")).unwrap_err().field.as_deref(), Some("currency"));
        let e = parse_amount("amount", "-1").unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("amount")));
        assert_eq!(e.message, "An amount cannot be negative.");
    }
}
