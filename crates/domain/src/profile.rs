//! The fields of a patient's portable profile that staff edit: blood type, date of birth, the
//! lists of allergies and chronic conditions, and insurance entries.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;

/// A blood type of the ABO and RhD systems: `A+`, `A-`, `B+`, `B-`, `AB+`, `AB-`, `O+`, `O-`.
///
/// Parsing ignores case and spaces, accepts `0` for `O` (as it is often written in Norway) and the
/// words `pos`/`positive`/`neg`/`negative` for the sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BloodType {
    APos,
    ANeg,
    BPos,
    BNeg,
    AbPos,
    AbNeg,
    OPos,
    ONeg,
}

/// Why a blood type was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BloodTypeError {
    #[error("the blood type is not one of A+, A-, B+, B-, AB+, AB-, O+ and O-")]
    Unknown,
}

impl BloodTypeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "invalid_blood_type"
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "blood_type"
    }
}
crate::field_error!(BloodTypeError);

impl BloodType {
    pub const ALL: [BloodType; 8] = [
        BloodType::APos,
        BloodType::ANeg,
        BloodType::BPos,
        BloodType::BNeg,
        BloodType::AbPos,
        BloodType::AbNeg,
        BloodType::OPos,
        BloodType::ONeg,
    ];

    /// Parses a blood type as typed by a person.
    pub fn parse(input: &str) -> Result<Self, BloodTypeError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let (group, sign) = if let Some(g) = compact.strip_suffix("POSITIVE").or_else(|| compact.strip_suffix("POS")) {
            (g, '+')
        } else if let Some(g) = compact.strip_suffix("NEGATIVE").or_else(|| compact.strip_suffix("NEG")) {
            (g, '-')
        } else if let Some(g) = compact.strip_suffix('+') {
            (g, '+')
        } else if let Some(g) = compact.strip_suffix(['-', '\u{2212}', '\u{2013}']) {
            (g, '-')
        } else {
            return Err(BloodTypeError::Unknown);
        };
        let group = if group == "0" { "O" } else { group };
        let text = format!("{group}{sign}");
        BloodType::ALL.into_iter().find(|b| b.as_str() == text).ok_or(BloodTypeError::Unknown)
    }

    /// The standard notation, e.g. `AB+`.
    pub fn as_str(self) -> &'static str {
        match self {
            BloodType::APos => "A+",
            BloodType::ANeg => "A-",
            BloodType::BPos => "B+",
            BloodType::BNeg => "B-",
            BloodType::AbPos => "AB+",
            BloodType::AbNeg => "AB-",
            BloodType::OPos => "O+",
            BloodType::ONeg => "O-",
        }
    }
}

impl fmt::Display for BloodType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for BloodType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The earliest date of birth accepted.
pub const EARLIEST_BIRTH: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};

/// A date of birth: an ISO date (`YYYY-MM-DD`), not after today and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateOfBirth(NaiveDate);

/// Why a date of birth was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateOfBirthError {
    #[error("the date of birth is not a date written as YYYY-MM-DD")]
    NotADate,
    #[error("the date of birth is in the future")]
    InTheFuture,
    #[error("the date of birth is before 1900")]
    TooEarly,
}

impl DateOfBirthError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "invalid_date_of_birth"
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "date_of_birth"
    }
}
crate::field_error!(DateOfBirthError);

impl DateOfBirth {
    /// Parses an ISO date typed by a person, as of `today`.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, DateOfBirthError> {
        let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| DateOfBirthError::NotADate)?;
        Self::new(date, today)
    }

    /// Checks a date as of `today`.
    pub fn new(date: NaiveDate, today: NaiveDate) -> Result<Self, DateOfBirthError> {
        if date > today {
            Err(DateOfBirthError::InTheFuture)
        } else if date < EARLIEST_BIRTH {
            Err(DateOfBirthError::TooEarly)
        } else {
            Ok(Self(date))
        }
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// Which list of the profile a [`ProfileList`] is: each names its own field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileListKind {
    Allergies,
    ChronicConditions,
}

impl ProfileListKind {
    /// The input field, e.g. `allergies`.
    pub fn field(self) -> &'static str {
        match self {
            ProfileListKind::Allergies => "allergies",
            ProfileListKind::ChronicConditions => "chronic_conditions",
        }
    }

    /// One item, in words: "allergy".
    fn item(self) -> &'static str {
        match self {
            ProfileListKind::Allergies => "allergy",
            ProfileListKind::ChronicConditions => "chronic condition",
        }
    }
}

/// Longest item of a profile list, in characters.
pub const MAX_ITEM_CHARS: usize = 100;
/// Most items of a profile list.
pub const MAX_ITEMS: usize = 50;

/// A list of the profile (allergies, chronic conditions): each item trimmed, inner whitespace
/// collapsed, 1..=100 characters without control characters, no item twice (ignoring case), at
/// most 50 items. The order is kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileList {
    kind: ProfileListKind,
    items: Vec<String>,
}

/// Why a profile list was refused. Items are counted from 1; the item's text is never repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProfileListError {
    #[error("{} {index} is empty", capitalised(kind.item()))]
    Empty { kind: ProfileListKind, index: usize },
    #[error("{} {index} is longer than {MAX_ITEM_CHARS} characters", capitalised(kind.item()))]
    TooLong { kind: ProfileListKind, index: usize },
    #[error("{} {index} contains control characters", capitalised(kind.item()))]
    Invalid { kind: ProfileListKind, index: usize },
    #[error("{} {index} is listed twice", capitalised(kind.item()))]
    Duplicate { kind: ProfileListKind, index: usize },
    #[error("at most {MAX_ITEMS} items may be listed")]
    TooMany { kind: ProfileListKind },
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl ProfileListError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "invalid_profile_list"
    }

    /// The input field this error is about: the list's own.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Empty { kind, .. }
            | Self::TooLong { kind, .. }
            | Self::Invalid { kind, .. }
            | Self::Duplicate { kind, .. }
            | Self::TooMany { kind } => kind.field(),
        }
    }
}
crate::field_error!(ProfileListError);

/// One line of text as typed: trimmed, inner whitespace collapsed; `None` when it holds control
/// characters.
fn one_line(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed.chars().any(char::is_control) {
        return None;
    }
    Some(trimmed.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl ProfileList {
    /// Parses the items of list `kind` as typed by a person. An empty list is a valid (empty) list.
    pub fn parse<S: AsRef<str>>(kind: ProfileListKind, items: &[S]) -> Result<Self, ProfileListError> {
        if items.len() > MAX_ITEMS {
            return Err(ProfileListError::TooMany { kind });
        }
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let index = i + 1;
            let text = one_line(item.as_ref()).ok_or(ProfileListError::Invalid { kind, index })?;
            if text.is_empty() {
                return Err(ProfileListError::Empty { kind, index });
            }
            if text.chars().count() > MAX_ITEM_CHARS {
                return Err(ProfileListError::TooLong { kind, index });
            }
            if !seen.insert(text.to_lowercase()) {
                return Err(ProfileListError::Duplicate { kind, index });
            }
            out.push(text);
        }
        Ok(Self { kind, items: out })
    }

    pub fn kind(&self) -> ProfileListKind {
        self.kind
    }

    pub fn items(&self) -> &[String] {
        &self.items
    }

    pub fn into_items(self) -> Vec<String> {
        self.items
    }
}

/// Longest insurer name, in characters.
pub const MAX_INSURER_CHARS: usize = 100;
/// Most digits of a policy number.
pub const MAX_POLICY_DIGITS: usize = 18;
/// Most insurance entries of a profile.
pub const MAX_INSURANCE_ENTRIES: usize = 10;

/// An insurance entry: the insurer's name (1..=100 characters, one line) and the policy number
/// (1..=18 digits; spaces are dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct InsuranceEntry {
    insurer: String,
    policy_number: String,
}

/// Why an insurance entry (or the list of them) was refused. Entries are counted from 1; the
/// values are never repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InsuranceError {
    #[error("insurance entry {index} has no insurer")]
    InsurerRequired { index: usize },
    #[error("the insurer of insurance entry {index} is longer than {MAX_INSURER_CHARS} characters")]
    InsurerTooLong { index: usize },
    #[error("the insurer of insurance entry {index} contains control characters")]
    InsurerInvalid { index: usize },
    #[error("insurance entry {index} has no policy number")]
    PolicyRequired { index: usize },
    #[error("the policy number of insurance entry {index} must be digits only, at most {MAX_POLICY_DIGITS}")]
    PolicyInvalid { index: usize },
    #[error("insurance entry {index} is written as INSURER:POLICY_NUMBER")]
    NotAPair { index: usize },
    #[error("insurance entry {index} is listed twice")]
    Duplicate { index: usize },
    #[error("at most {MAX_INSURANCE_ENTRIES} insurance entries may be listed")]
    TooMany,
}

impl InsuranceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "invalid_insurance_entry"
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "insurance_entries"
    }
}
crate::field_error!(InsuranceError);

impl InsuranceEntry {
    /// Parses entry number `index` (from 1, for the error) from its two fields.
    pub fn parse(insurer: &str, policy_number: &str, index: usize) -> Result<Self, InsuranceError> {
        let insurer = one_line(insurer).ok_or(InsuranceError::InsurerInvalid { index })?;
        if insurer.is_empty() {
            return Err(InsuranceError::InsurerRequired { index });
        }
        if insurer.chars().count() > MAX_INSURER_CHARS {
            return Err(InsuranceError::InsurerTooLong { index });
        }
        let policy: String = policy_number.chars().filter(|c| !c.is_whitespace()).collect();
        if policy.is_empty() {
            return Err(InsuranceError::PolicyRequired { index });
        }
        if policy.len() > MAX_POLICY_DIGITS || !policy.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InsuranceError::PolicyInvalid { index });
        }
        Ok(Self { insurer, policy_number: policy })
    }

    /// Parses `INSURER:POLICY_NUMBER` (split at the last colon), as the command line takes it.
    pub fn parse_pair(input: &str, index: usize) -> Result<Self, InsuranceError> {
        let (insurer, policy) = input.rsplit_once(':').ok_or(InsuranceError::NotAPair { index })?;
        Self::parse(insurer, policy, index)
    }

    pub fn insurer(&self) -> &str {
        &self.insurer
    }

    pub fn policy_number(&self) -> &str {
        &self.policy_number
    }
}

/// Checks a whole list of insurance entries: at most 10, no entry twice (same insurer, ignoring
/// case, and same policy number).
pub fn check_insurance_entries(entries: &[InsuranceEntry]) -> Result<(), InsuranceError> {
    if entries.len() > MAX_INSURANCE_ENTRIES {
        return Err(InsuranceError::TooMany);
    }
    let mut seen = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if !seen.insert((e.insurer.to_lowercase(), e.policy_number.clone())) {
            return Err(InsuranceError::Duplicate { index: i + 1 });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldError;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn blood_types_as_people_write_them() {
        for (input, expect) in
            [("A+", "A+"), (" ab- ", "AB-"), ("0+", "O+"), ("o neg", "O-"), ("B positive", "B+"), ("AB\u{2212}", "AB-")]
        {
            assert_eq!(BloodType::parse(input).unwrap().as_str(), expect, "{input:?}");
        }
        for bad in ["", "C+", "A", "AB", "+", "A++", "AB0+", "A+-"] {
            let e = BloodType::parse(bad).unwrap_err();
            assert_eq!((e.code(), FieldError::field(&e)), ("invalid_blood_type", "blood_type"), "{bad:?}");
        }
        for b in BloodType::ALL {
            assert_eq!(BloodType::parse(b.as_str()), Ok(b));
        }
    }

    #[test]
    fn a_date_of_birth_is_not_in_the_future_nor_before_1900() {
        let today = day(2026, 12, 7);
        assert_eq!(DateOfBirth::parse(" 1980-02-03 ", today).unwrap().date(), day(1980, 2, 3));
        assert_eq!(DateOfBirth::parse("2026-12-07", today).unwrap().date(), today);
        assert_eq!(DateOfBirth::parse("1900-01-01", today).unwrap().date(), EARLIEST_BIRTH);
        assert_eq!(DateOfBirth::parse("2026-12-08", today), Err(DateOfBirthError::InTheFuture));
        assert_eq!(DateOfBirth::parse("1899-12-31", today), Err(DateOfBirthError::TooEarly));
        for bad in ["", "03.02.1980", "1980-02-30", "yesterday"] {
            let e = DateOfBirth::parse(bad, today).unwrap_err();
            assert_eq!(
                (e, e.code(), FieldError::field(&e)),
                (DateOfBirthError::NotADate, "invalid_date_of_birth", "date_of_birth")
            );
        }
    }

    #[test]
    fn profile_lists_are_trimmed_unique_and_bounded() {
        let list = ProfileList::parse(ProfileListKind::Allergies, &[" Penicillin ", "pollen   and  dust"]).unwrap();
        assert_eq!(list.items(), ["Penicillin", "pollen and dust"]);
        assert!(ProfileList::parse::<&str>(ProfileListKind::Allergies, &[]).unwrap().items().is_empty());

        let kind = ProfileListKind::ChronicConditions;
        let e = ProfileList::parse(kind, &["Asthma", "  "]).unwrap_err();
        assert_eq!((e, FieldError::field(&e)), (ProfileListError::Empty { kind, index: 2 }, "chronic_conditions"));
        assert_eq!(e.to_string(), "Chronic condition 2 is empty");
        assert_eq!(ProfileList::parse(kind, &["Asthma", "asthma"]), Err(ProfileListError::Duplicate { kind, index: 2 }));
        assert_eq!(ProfileList::parse(kind, &["x".repeat(101)]), Err(ProfileListError::TooLong { kind, index: 1 }));
        assert!(ProfileList::parse(kind, &["é".repeat(100)]).is_ok());
        assert_eq!(ProfileList::parse(kind, &["a\u{7}b"]), Err(ProfileListError::Invalid { kind, index: 1 }));
        let many: Vec<String> = (0..51).map(|i| format!("item {i}")).collect();
        assert_eq!(ProfileList::parse(kind, &many), Err(ProfileListError::TooMany { kind }));
        assert_eq!(ProfileList::parse(kind, &many[..50]).unwrap().items().len(), 50);
    }

    #[test]
    fn insurance_entries_have_an_insurer_and_a_digits_only_policy_number() {
        let e = InsuranceEntry::parse_pair(" Gjensidige Forsikring : 1234 5678", 1).unwrap();
        assert_eq!((e.insurer(), e.policy_number()), ("Gjensidige Forsikring", "12345678"));
        let e = InsuranceEntry::parse_pair("If: Skade:42", 1).unwrap();
        assert_eq!((e.insurer(), e.policy_number()), ("If: Skade", "42"));
        for (input, err) in [
            ("Gjensidige", InsuranceError::NotAPair { index: 3 }),
            (":123", InsuranceError::InsurerRequired { index: 3 }),
            ("Gjensidige:", InsuranceError::PolicyRequired { index: 3 }),
            ("Gjensidige:12AB", InsuranceError::PolicyInvalid { index: 3 }),
            ("Gjensidige:1234567890123456789", InsuranceError::PolicyInvalid { index: 3 }),
            ("Gjen\nsidige:1", InsuranceError::InsurerInvalid { index: 3 }),
        ] {
            let e = InsuranceEntry::parse_pair(input, 3).unwrap_err();
            assert_eq!(e, err, "{input:?}");
            assert_eq!(FieldError::field(&e), "insurance_entries");
        }
        let a = InsuranceEntry::parse("Tryg", "1", 1).unwrap();
        let b = InsuranceEntry::parse("tryg", "1", 2).unwrap();
        assert_eq!(check_insurance_entries(&[a.clone(), b]), Err(InsuranceError::Duplicate { index: 2 }));
        assert_eq!(check_insurance_entries(&vec![a; 11]), Err(InsuranceError::TooMany));
        assert!(check_insurance_entries(&[]).is_ok());
    }
}
