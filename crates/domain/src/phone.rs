//! A phone number, normalised to E.164.

use std::fmt;

/// A phone number in E.164 form: `+`, then 8..=15 digits, the first not `0`.
///
/// Parsing strips spaces, dashes, dots and parentheses (and an international "(0)" trunk
/// marker), turns a leading `00` into `+`, and gives a number without `+` the default
/// country code after dropping a single national trunk `0`. Norwegian (+47) numbers must have
/// exactly 8 national digits and Dutch (+31) ones exactly 9.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Phone(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a phone number is required")]
    Required,
    #[error("the phone number is not valid")]
    InvalidFormat,
}

impl PhoneError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "phone_required",
            Self::InvalidFormat => "invalid_phone_format",
        }
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "phone"
    }
}
crate::field_error!(PhoneError);

/// Countries whose national significant number has one fixed length: (country code, digits).
const FIXED_LENGTHS: &[(&str, usize)] = &[("47", 8), ("31", 9)];

impl Phone {
    /// Parses a phone number; `default_country_code` (digits, e.g. `"47"`, a leading `+` is
    /// allowed) is used for numbers written without an international prefix.
    pub fn parse(input: &str, default_country_code: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Required);
        }
        let compact: String =
            trimmed.replace("(0)", "").chars().filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'))).collect();
        let number = if let Some(rest) = compact.strip_prefix("00") {
            format!("+{rest}")
        } else if compact.starts_with('+') {
            compact
        } else {
            let national = compact.strip_prefix('0').unwrap_or(&compact);
            let country = default_country_code.trim().trim_start_matches('+');
            format!("+{country}{national}")
        };
        let digits = &number[1..];
        let well_formed =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        let fixed_length_ok =
            FIXED_LENGTHS.iter().all(|(country, len)| digits.strip_prefix(country).is_none_or(|national| national.len() == *len));
        if well_formed && fixed_length_ok {
            Ok(Self(number))
        } else {
            Err(PhoneError::InvalidFormat)
        }
    }

    /// The number in E.164 form, e.g. `+4791234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
crate::serialize_as_str!(Phone);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(input: &str, country: &str) -> String {
        Phone::parse(input, country).unwrap().as_str().to_owned()
    }

    #[test]
    fn normalises_to_e164() {
        assert_eq!(e164("912 34 567", "47"), "+4791234567");
        assert_eq!(e164("+47 912-34-567", "47"), "+4791234567");
        assert_eq!(e164("0047 (912) 34.567", "31"), "+4791234567");
        assert_eq!(e164("+31612345678", "47"), "+31612345678");
        assert_eq!(e164("06-12345678", "31"), "+31612345678");
        assert_eq!(e164("+31 (0)6 1234 5678", "47"), "+31612345678");
        assert_eq!(e164("612345678", "+31"), "+31612345678");
        assert_eq!(e164("+44 20 7946 0958", "47"), "+442079460958");
        let phone = Phone::parse("91234567", "47").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+4791234567\"");
    }

    #[test]
    fn error_codes() {
        assert_eq!(Phone::parse(" ", "47").unwrap_err().code(), "phone_required");
        for bad in [
            "9123456",           // Norway: 7 digits
            "912345678",         // Norway: 9 digits
            "+3161234567",       // Netherlands: 8 digits
            "+316123456789",     // Netherlands: 10 digits
            "+0123456789",       // country code may not start with 0
            "+1234567",          // too short
            "+1234567890123456", // too long
            "91a34567",
            "+47 912 34 567 ext 2",
            "++4791234567",
            "47+91234567",
        ] {
            let err = Phone::parse(bad, "47").unwrap_err();
            assert_eq!((err.code(), err.field()), ("invalid_phone_format", "phone"), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(input in any::<String>(), country in "[0-9]{0,3}") {
            if let Ok(phone) = Phone::parse(&input, &country) {
                prop_assert_eq!(Phone::parse(phone.as_str(), &country), Ok(phone));
            }
        }

        #[test]
        fn idempotent_on_plausible_numbers(
            input in "[+0]{0,2}[0-9 ().-]{6,20}", country in "(47|31|46|1)"
        ) {
            if let Ok(phone) = Phone::parse(&input, &country) {
                prop_assert_eq!(Phone::parse(phone.as_str(), "99"), Ok(phone));
            }
        }
    }
}
