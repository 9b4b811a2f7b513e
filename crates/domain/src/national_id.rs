//! Norwegian national identity numbers (fødselsnummer and D-number), kept out of logs.

use std::collections::HashSet;
use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A Norwegian national identity number: 11 digits `DDMMYY III K1 K2` with valid mod-11 check
/// digits and a real birth date (century from the individual number `III`).
///
/// D-numbers add 4 to the first day digit. Synthetic test numbers add 40 (test environments)
/// or 80 (synthetic population register data) to the month; they are accepted only when the
/// caller allows them. Neither `Debug` nor `Display` shows the number and there is no
/// `Serialize`/`Deserialize`: read it with [`NationalId::expose`] and serialise it explicitly
/// with [`NationalId::serialize_exposed`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId {
    digits: String,
    kind: NationalIdKind,
    birth_date: NaiveDate,
}

/// Which kind of number a [`NationalId`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NationalIdKind {
    /// An ordinary fødselsnummer.
    BirthNumber,
    /// A D-number, given to people not (yet) in the population register.
    DNumber,
    /// A synthetic test number (month + 40 or + 80).
    Synthetic,
}

/// Why a national identity number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdError {
    #[error("a national identity number is required")]
    Required,
    #[error("not a valid national identity number: {0}")]
    Invalid(NationalIdProblem),
    #[error("synthetic (test) national identity numbers are not allowed here")]
    SyntheticNotAllowed,
}

/// What exactly is wrong with an invalid number (all map to `invalid_national_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdProblem {
    #[error("it must be exactly 11 digits")]
    Format,
    #[error("the check digits do not match")]
    CheckDigits,
    #[error("it does not contain a valid birth date")]
    Date,
}

impl NationalIdError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "national_id_required",
            Self::Invalid(_) => "invalid_national_id",
            Self::SyntheticNotAllowed => "synthetic_national_id_not_allowed",
        }
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "national_id"
    }
}
crate::field_error!(NationalIdError);

const K1_WEIGHTS: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// The mod-11 check digit for `digits` under `weights`, or `None` when the remainder is 1
/// (no digit possible).
fn check_digit(digits: &[u32], weights: &[u32]) -> Option<u32> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// The full birth year for a two-digit year and individual number, per the register's rules.
fn century_year(yy: u32, individual: u32) -> Option<i32> {
    let century = match (individual, yy) {
        (0..=499, _) => 1900,
        (500..=749, 54..=99) => 1800,
        (500..=999, 0..=39) => 2000,
        (900..=999, 40..=99) => 1900,
        _ => return None,
    };
    Some(century + yy as i32)
}

fn two(d: &[u32]) -> u32 {
    d[0] * 10 + d[1]
}

impl NationalId {
    /// Parses a number (surrounding whitespace and inner spaces are ignored). Synthetic test
    /// numbers are refused unless `allow_synthetic` is true.
    pub fn parse(input: &str, allow_synthetic: bool) -> Result<Self, NationalIdError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(NationalIdError::Required);
        }
        let invalid = NationalIdError::Invalid;
        let d: Vec<u32> = compact.chars().map_while(|c| c.to_digit(10)).collect();
        if d.len() != 11 || compact.len() != 11 {
            return Err(invalid(NationalIdProblem::Format));
        }
        let k1 = check_digit(&d[..9], &K1_WEIGHTS);
        let k2 = check_digit(&d[..10], &K2_WEIGHTS);
        if k1 != Some(d[9]) || k2 != Some(d[10]) {
            return Err(invalid(NationalIdProblem::CheckDigits));
        }

        let (mut day, mut month) = (two(&d[0..2]), two(&d[2..4]));
        let mut kind = NationalIdKind::BirthNumber;
        if day > 40 {
            day -= 40;
            kind = NationalIdKind::DNumber;
        }
        if month > 80 {
            month -= 80;
            kind = NationalIdKind::Synthetic;
        } else if month > 40 {
            month -= 40;
            kind = NationalIdKind::Synthetic;
        }
        let individual = d[6] * 100 + d[7] * 10 + d[8];
        let birth_date = century_year(two(&d[4..6]), individual)
            .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
            .ok_or(invalid(NationalIdProblem::Date))?;

        if kind == NationalIdKind::Synthetic && !allow_synthetic {
            return Err(NationalIdError::SyntheticNotAllowed);
        }
        Ok(Self { digits: compact, kind, birth_date })
    }

    /// The 11 digits. Named so that every use stands out in review.
    pub fn expose(&self) -> &str {
        &self.digits
    }

    /// The 11 digits (same as [`NationalId::expose`]).
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// Serialises the digits as a string; opt in per field with
    /// `#[serde(serialize_with = "NationalId::serialize_exposed")]`.
    pub fn serialize_exposed<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }

    /// The number as staff see it until they ask for the whole of it: the last five digits
    /// (the individual number and the check digits), the birth date hidden: `******12345`.
    pub fn masked(&self) -> String {
        format!("{}{}", "*".repeat(MASKED_DIGITS), &self.digits[MASKED_DIGITS..])
    }

    /// Birth number, D-number or synthetic.
    pub fn kind(&self) -> NationalIdKind {
        self.kind
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Age in whole years on `date` (0 before the birth date).
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.birth_date).unwrap_or(0)
    }

    /// Whether the person is under 18 on `date`.
    pub fn is_minor_on(&self, date: NaiveDate) -> bool {
        self.age_on(date) < 18
    }

    /// **For test fixtures and demo data only, never for production records.** Builds the
    /// synthetic number (month + 80) for `birth_date` and `individual` (0..=999), so fixtures
    /// never hold a real person's number.
    ///
    /// Returns `None` when the individual number does not fit the birth year's century range
    /// (1854–1899: 500–749; 1900–1999: 0–499, or 900–999 from 1940; 2000–2039: 500–999) or
    /// when it yields no valid check digit (remainder 1).
    pub fn synthetic(birth_date: NaiveDate, individual: u16) -> Option<NationalId> {
        let individual = u32::from(individual);
        let year = u32::try_from(birth_date.year()).ok()?;
        if century_year(year % 100, individual) != Some(birth_date.year()) {
            return None;
        }
        let mut d: Vec<u32> = [birth_date.day(), birth_date.month() + 80, year % 100]
            .into_iter()
            .flat_map(|n| [n / 10, n % 10])
            .chain([individual / 100, individual / 10 % 10, individual % 10])
            .collect();
        d.push(check_digit(&d, &K1_WEIGHTS)?);
        d.push(check_digit(&d, &K2_WEIGHTS)?);
        let text: String = d.iter().map(|n| char::from_digit(*n, 10).expect("digit")).collect();
        NationalId::parse(&text, true).ok()
    }

    /// **For test fixtures and demo data only.** An endless, deterministic (per `seed`) sequence
    /// of distinct synthetic numbers with birth dates between 1930 and 2019.
    pub fn synthetic_sequence(seed: u64) -> impl Iterator<Item = NationalId> {
        let first = NaiveDate::from_ymd_opt(1930, 1, 1).expect("valid date");
        let days = (NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date") - first).num_days();
        let mut state = seed;
        let mut seen = HashSet::new();
        std::iter::from_fn(move || loop {
            let r = splitmix64(&mut state);
            let date = first + chrono::Days::new(r % days as u64);
            let span = (r >> 32) % 500;
            let individual = if date.year() >= 2000 { 500 + span } else { span };
            if let Some(id) = NationalId::synthetic(date, individual as u16) {
                if seen.insert(id.digits.clone()) {
                    return Some(id);
                }
            }
        })
    }
}

/// A small, well-mixed deterministic generator (SplitMix64) for fixture sequences.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many leading digits [`NationalId::masked`] hides: the birth date and one more.
const MASKED_DIGITS: usize = 6;

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NationalId(***********)")
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Builds a number from its first nine digits by appending the check digits.
    fn with_check_digits(first9: &str) -> Option<String> {
        let mut d: Vec<u32> = first9.chars().map(|c| c.to_digit(10).unwrap()).collect();
        d.push(check_digit(&d, &K1_WEIGHTS)?);
        d.push(check_digit(&d, &K2_WEIGHTS)?);
        Some(d.iter().map(|n| char::from_digit(*n, 10).unwrap()).collect())
    }

    /// The first individual number from `start` that gives valid check digits.
    fn valid(prefix6: &str, start: u32) -> String {
        (start..start + 50).find_map(|i| with_check_digits(&format!("{prefix6}{i:03}"))).unwrap()
    }

    #[test]
    fn known_check_digits() {
        // 15 May 1972, individual number 123: k1 = 11 - 137 % 11 = 6, k2 = 11 - 130 % 11 = 2.
        assert_eq!(with_check_digits("150572123").as_deref(), Some("15057212362"));
        let id = NationalId::parse("15057212362", false).unwrap();
        assert_eq!(id.kind(), NationalIdKind::BirthNumber);
        assert_eq!(id.birth_date(), date(1972, 5, 15));
        assert_eq!(id.expose(), "15057212362");
        assert_eq!(id.as_str(), "15057212362");
        assert_eq!(NationalId::parse(" 150572 12362 ", false).unwrap(), id);
        assert_eq!(id.masked(), "******12362");
    }

    #[test]
    fn centuries_follow_the_individual_number() {
        let cases = [
            ("010199", 0, date(1999, 1, 1)),
            ("010160", 900, date(1960, 1, 1)),
            ("010160", 500, date(1860, 1, 1)),
            ("010110", 500, date(2010, 1, 1)),
            ("010139", 950, date(2039, 1, 1)),
            ("010110", 100, date(1910, 1, 1)),
        ];
        for (prefix, start, expected) in cases {
            let number = valid(prefix, start);
            let id = NationalId::parse(&number, false).unwrap();
            assert_eq!(id.birth_date(), expected, "{prefix} {start}");
        }
        // 750–899 with year 40–99 and 500–749 with year 40–53 have no century.
        for (prefix, start) in [("010160", 750), ("010145", 500)] {
            let err = NationalId::parse(&valid(prefix, start), false).unwrap_err();
            assert_eq!(err, NationalIdError::Invalid(NationalIdProblem::Date));
        }
    }

    #[test]
    fn d_numbers() {
        let id = NationalId::parse(&valid("410185", 100), false).unwrap();
        assert_eq!(id.kind(), NationalIdKind::DNumber);
        assert_eq!(id.birth_date(), date(1985, 1, 1));
    }

    #[test]
    fn synthetic_numbers_need_permission() {
        for prefix in ["014185", "018185", "418185"] {
            let number = valid(prefix, 100);
            let err = NationalId::parse(&number, false).unwrap_err();
            assert_eq!(err.code(), "synthetic_national_id_not_allowed");
            let id = NationalId::parse(&number, true).unwrap();
            assert_eq!(id.kind(), NationalIdKind::Synthetic);
            assert_eq!(id.birth_date(), date(1985, 1, 1));
        }
    }

    #[test]
    fn error_codes() {
        let err = NationalId::parse("  ", false).unwrap_err();
        assert_eq!((err.code(), err.field()), ("national_id_required", "national_id"));
        for (bad, problem) in [
            ("1505721231", NationalIdProblem::Format),
            ("150572123170", NationalIdProblem::Format),
            ("15057212a62", NationalIdProblem::Format),
            ("１5057212362", NationalIdProblem::Format),
            ("15057212363", NationalIdProblem::CheckDigits),
            ("15057212372", NationalIdProblem::CheckDigits),
        ] {
            let err = NationalId::parse(bad, true).unwrap_err();
            assert_eq!(err, NationalIdError::Invalid(problem), "{bad}");
            assert_eq!(err.code(), "invalid_national_id");
        }
        for bad_date in ["300290", "310490", "001390", "000190", "290201"] {
            let err = NationalId::parse(&valid(bad_date, 100), true).unwrap_err();
            assert_eq!(err, NationalIdError::Invalid(NationalIdProblem::Date), "{bad_date}");
        }
        assert!(NationalId::parse(&valid("290200", 600), false).is_ok(), "2000 is a leap year");
    }

    #[test]
    fn never_printed() {
        let id = NationalId::parse("15057212362", false).unwrap();
        assert_eq!(format!("{id:?}"), "NationalId(***********)");
        assert!(!format!("{id} {id:#?} {:?}", Some(&id)).contains("12362"));
        let err = NationalId::parse("15057212363", false).unwrap_err();
        assert!(!err.to_string().contains("1505"));
    }

    #[test]
    fn explicit_serialisation() {
        #[derive(serde::Serialize)]
        struct Row {
            #[serde(serialize_with = "NationalId::serialize_exposed")]
            pid: NationalId,
        }
        let pid = NationalId::parse("15057212362", false).unwrap();
        assert_eq!(serde_json::to_string(&Row { pid }).unwrap(), r#"{"pid":"15057212362"}"#);
    }

    #[test]
    fn ages() {
        let id = NationalId::parse(&valid("290208", 500), false).unwrap();
        assert_eq!(id.birth_date(), date(2008, 2, 29));
        assert_eq!(id.age_on(date(2026, 2, 28)), 17);
        assert!(id.is_minor_on(date(2026, 2, 28)));
        assert_eq!(id.age_on(date(2026, 3, 1)), 18);
        assert!(!id.is_minor_on(date(2026, 3, 1)));
        assert_eq!(id.age_on(date(2000, 1, 1)), 0);
    }

    #[test]
    fn synthetic_generator() {
        assert_eq!(NationalId::synthetic(date(1985, 1, 1), 600), None, "wrong century range");
        assert_eq!(NationalId::synthetic(date(1985, 1, 1), 1000), None);
        assert_eq!(NationalId::synthetic(date(2050, 1, 1), 600), None);
        let made: Vec<_> = (0..500).filter_map(|i| NationalId::synthetic(date(1985, 7, 3), i)).collect();
        assert!(made.len() > 300 && made.len() < 500, "some individual numbers give remainder 1");
        assert!(made.iter().all(|id| &id.expose()[2..4] == "87"));

        let ids: Vec<_> = NationalId::synthetic_sequence(7).take(500).collect();
        let again: Vec<_> = NationalId::synthetic_sequence(7).take(500).collect();
        assert_eq!(ids, again, "deterministic per seed");
        assert_eq!(ids.iter().map(|id| id.expose()).collect::<HashSet<_>>().len(), 500);
        assert!(ids.iter().all(|id| id.kind() == NationalIdKind::Synthetic));
    }

    fn any_synthetic() -> impl Strategy<Value = NationalId> {
        (0u64..(100 * 366), 0u16..1000).prop_filter_map("no such number", |(days, individual)| {
            NationalId::synthetic(date(1920, 1, 1) + chrono::Days::new(days), individual)
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in any::<String>(), allow in any::<bool>()) {
            let _ = NationalId::parse(&input, allow);
        }

        #[test]
        fn parse_never_panics_on_digits(input in "[0-9 ]{0,14}", allow in any::<bool>()) {
            let _ = NationalId::parse(&input, allow);
        }

        #[test]
        fn synthetic_values_reparse_only_when_allowed(id in any_synthetic()) {
            prop_assert_eq!(NationalId::parse(id.expose(), true), Ok(id.clone()));
            prop_assert_eq!(
                NationalId::parse(id.expose(), false),
                Err(NationalIdError::SyntheticNotAllowed)
            );
        }

        #[test]
        fn any_single_digit_change_is_detected(
            id in any_synthetic(), position in 0usize..11, delta in 1u32..10
        ) {
            let mut digits: Vec<u32> = id.expose().chars().map(|c| c.to_digit(10).unwrap()).collect();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|n| char::from_digit(*n, 10).unwrap()).collect();
            prop_assert!(NationalId::parse(&changed, true).is_err());
        }
    }
}
