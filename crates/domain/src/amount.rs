//! An amount of money as a person types it: a price or a discount, exact to the øre.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// A non-negative amount with at most two decimals, no larger than the database's
/// `numeric(14, 2)` holds. Always kept and shown with two decimals (`1250.00`).
///
/// Typed amounts may group thousands with spaces (`1 250,00`) and use a decimal comma or point;
/// when both a comma and a point appear, the last one is the decimal separator and the other
/// groups thousands (`1,250.00`, `1.250,00`). More than two decimals are refused, so a lone
/// comma or point before three digits (`1,250`) is never guessed at.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Amount(Decimal);

/// Why an amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("an amount is required")]
    Required,
    #[error("write the amount in digits, e.g. 650.00")]
    InvalidFormat,
    #[error("an amount cannot be negative")]
    Negative,
    #[error("an amount has at most two decimals (øre)")]
    TooManyDecimals,
    #[error("the amount is too large")]
    TooLarge,
}

impl AmountError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "amount_required",
            Self::InvalidFormat => "invalid_amount",
            Self::Negative => "negative_amount",
            Self::TooManyDecimals => "amount_too_precise",
            Self::TooLarge => "amount_too_large",
        }
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "amount"
    }
}
crate::field_error!(AmountError);

impl Amount {
    /// The largest amount `numeric(14, 2)` holds: 999 999 999 999.99.
    pub const MAX: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2);
    pub const ZERO: Amount = Amount(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses an amount as typed by a person.
    pub fn parse(input: &str) -> Result<Self, AmountError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(AmountError::Required);
        }
        let (negative, digits) = match trimmed.strip_prefix(['-', '−']) {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed).trim_start()),
        };
        // Thousands grouped with spaces (a no-break space as Norwegian formatting writes it).
        let compact: String = digits.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        if compact.is_empty() || !compact.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
            return Err(AmountError::InvalidFormat);
        }
        let normal = match (compact.rfind('.'), compact.rfind(',')) {
            (Some(p), Some(c)) => {
                let (decimal, grouping) = if p > c { ('.', ',') } else { (',', '.') };
                let whole = &compact[..p.max(c)];
                if whole.contains(decimal) || !grouped(whole, grouping) {
                    return Err(AmountError::InvalidFormat);
                }
                format!("{}.{}", whole.replace(grouping, ""), &compact[p.max(c) + 1..])
            }
            (Some(s), None) | (None, Some(s)) => {
                if compact[s + 1..].contains(['.', ',']) || compact[..s].contains(['.', ',']) {
                    return Err(AmountError::InvalidFormat);
                }
                format!("{}.{}", &compact[..s], &compact[s + 1..])
            }
            (None, None) => compact,
        };
        let (whole, fraction) = normal.split_once('.').unwrap_or((&normal, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(AmountError::InvalidFormat);
        }
        if fraction.len() > 2 {
            return Err(AmountError::TooManyDecimals);
        }
        let mut value = Decimal::from_str(&format!("{}.{}", if whole.is_empty() { "0" } else { whole }, fraction))
            .map_err(|_| AmountError::TooLarge)?;
        if negative && !value.is_zero() {
            return Err(AmountError::Negative);
        }
        value.rescale(2);
        if value > Self::MAX {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(value.abs()))
    }

    /// An amount read back from the database (`numeric(14, 2)`); `None` when it is not one.
    pub fn from_decimal(value: Decimal) -> Option<Self> {
        let mut v = value;
        v.rescale(2);
        (v == value && value >= Decimal::ZERO && v <= Self::MAX).then_some(Amount(v))
    }

    /// The exact value, with two decimals.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

/// Whether `whole` is digits grouped in threes by `sep` (or not grouped at all).
fn grouped(whole: &str, sep: char) -> bool {
    if !whole.contains(sep) {
        return !whole.is_empty();
    }
    let mut groups = whole.split(sep);
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        Amount::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).to_string()
    }

    #[test]
    fn typed_amounts_parse_exactly() {
        assert_eq!(ok("650"), "650.00");
        assert_eq!(ok(" 650.5 "), "650.50");
        assert_eq!(ok("650,50"), "650.50");
        assert_eq!(ok("1 250,00"), "1250.00");
        assert_eq!(ok("1\u{a0}250,00"), "1250.00");
        assert_eq!(ok("1,250.00"), "1250.00");
        assert_eq!(ok("1.250,00"), "1250.00");
        assert_eq!(ok("0.10"), "0.10");
        assert_eq!(ok(".5"), "0.50");
        assert_eq!(ok("0"), "0.00");
        assert_eq!(ok("-0"), "0.00");
        assert_eq!(ok("999999999999.99"), "999999999999.99");
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(Amount::parse("  "), Err(AmountError::Required));
        assert_eq!(Amount::parse("-100"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("−0,01"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("10.001"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("1,250"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("650.000"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("1000000000000"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse("99999999999999999999999999999999"), Err(AmountError::TooLarge));
        for bad in ["abc", "650 kr", "1.2.3", "1,2,3", "12,34.5,6", ".", ",", "1e3", "0x10", "12,34.56"] {
            assert_eq!(Amount::parse(bad), Err(AmountError::InvalidFormat), "{bad:?}");
        }
        assert_eq!(AmountError::Negative.field(), "amount");
    }

    #[test]
    fn decimals_from_the_database() {
        assert_eq!(Amount::from_decimal(Decimal::new(65000, 2)).map(|a| a.to_string()).as_deref(), Some("650.00"));
        assert_eq!(Amount::from_decimal(Decimal::new(65, 0)).map(|a| a.to_string()).as_deref(), Some("65.00"));
        assert_eq!(Amount::from_decimal(Decimal::new(-1, 2)), None);
        assert_eq!(Amount::from_decimal(Decimal::new(1, 3)), None);
        assert_eq!(Amount::MAX.to_string(), "999999999999.99");
    }
}
