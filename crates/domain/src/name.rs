//! A person's full name.

use std::fmt;

/// Longest accepted name, in characters.
const MAX_CHARS: usize = 200;

/// A person's full name: trimmed, inner whitespace collapsed to single spaces, 1..=200
/// characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PersonName(String);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name is required")]
    Required,
    #[error("the name is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("the name contains control characters")]
    Invalid,
}

impl NameError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "name_required",
            Self::TooLong => "name_too_long",
            Self::Invalid => "invalid_name",
        }
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "name"
    }
}
crate::field_error!(NameError);

impl PersonName {
    /// Parses a full name as typed by a person.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(NameError::Required);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::Invalid);
        }
        let name = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.chars().count() > MAX_CHARS {
            return Err(NameError::TooLong);
        }
        Ok(Self(name))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Splits into (first names, last name): the last word is the last name; a single word is
    /// a first name with an empty last name.
    pub fn split_first_last(&self) -> (String, String) {
        match self.0.rsplit_once(' ') {
            Some((first, last)) => (first.to_owned(), last.to_owned()),
            None => (self.0.clone(), String::new()),
        }
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
crate::serialize_as_str!(PersonName);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldError;

    #[test]
    fn trims_and_collapses_whitespace() {
        let name = PersonName::parse("  Kari   Anne  Nordmann ").unwrap();
        assert_eq!(name.as_str(), "Kari Anne Nordmann");
        assert_eq!(name.split_first_last(), ("Kari Anne".into(), "Nordmann".into()));
    }

    #[test]
    fn single_word_is_a_first_name() {
        let name = PersonName::parse("Cher").unwrap();
        assert_eq!(name.split_first_last(), ("Cher".into(), String::new()));
    }

    #[test]
    fn error_codes() {
        for (input, code) in [
            ("", "name_required"),
            (" \t ", "name_required"),
            ("Kari\u{0}Nordmann", "invalid_name"),
            ("Kari\nNordmann", "invalid_name"),
        ] {
            let err = PersonName::parse(input).unwrap_err();
            assert_eq!((err.code(), FieldError::field(&err)), (code, "name"), "{input:?}");
        }
        let long = "å".repeat(201);
        assert_eq!(PersonName::parse(&long).unwrap_err().code(), "name_too_long");
        assert!(PersonName::parse(&"å".repeat(200)).is_ok());
    }

    #[test]
    fn serializes_as_string() {
        let name = PersonName::parse("Ola Nordmann").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Ola Nordmann\"");
    }
}
