//! An e-mail address, lower-cased for storage and look-up.

use std::fmt;

/// An e-mail address: trimmed, lower-cased, plain ASCII `local@domain.tld`.
///
/// The check is deliberately practical rather than the full RFC 5322 grammar: one `@`, a local
/// part of 1..=64 characters from the usual unquoted set (no leading, trailing or doubled
/// dots), a domain of dot-separated labels of `[a-z0-9-]` (not starting or ending with `-`)
/// with an alphabetic top-level label of at least two letters, and at most 254 characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Email(String);

/// Why an e-mail address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an e-mail address is required")]
    Required,
    #[error("the e-mail address is not valid")]
    InvalidFormat,
}

impl EmailError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "email_required",
            Self::InvalidFormat => "invalid_email_format",
        }
    }

    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        "email"
    }
}
crate::field_error!(EmailError);

const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

impl Email {
    /// Parses an e-mail address as typed by a person.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Required);
        }
        let address = trimmed.to_ascii_lowercase();
        if address.len() > MAX_LEN || !address.is_ascii() {
            return Err(EmailError::InvalidFormat);
        }
        let (local, domain) = address.split_once('@').ok_or(EmailError::InvalidFormat)?;
        if valid_local(local) && valid_domain(domain) {
            Ok(Self(address))
        } else {
            Err(EmailError::InvalidFormat)
        }
    }

    /// The normalised (lower-case) address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~.-";
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && local.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || SPECIALS.contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels[labels.len() - 1];
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_lowercase())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
crate::serialize_as_str!(Email);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_lowercases() {
        let email = Email::parse("  Kari.Nordmann+clinic@Example.NO ").unwrap();
        assert_eq!(email.as_str(), "kari.nordmann+clinic@example.no");
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"kari.nordmann+clinic@example.no\"");
        assert!(Email::parse("a@sub-domain.example.health").is_ok());
    }

    #[test]
    fn error_codes() {
        assert_eq!(Email::parse("   ").unwrap_err().code(), "email_required");
        for bad in [
            "kari",
            "kari@",
            "@example.no",
            "kari@@example.no",
            "ka@ri@example.no",
            "kari nordmann@example.no",
            "kari@example",
            "kari@example.n",
            "kari@example.n0",
            "kari@-example.no",
            "kari@example-.no",
            "kari@exa_mple.no",
            "kari@example..no",
            ".kari@example.no",
            "kari.@example.no",
            "ka..ri@example.no",
            "kåri@example.no",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!((err.code(), err.field()), ("invalid_email_format", "email"), "{bad}");
        }
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.no")).is_ok());
        assert!(Email::parse(&format!("a{local64}@example.no")).is_err());
        let domain = format!("{}.no", vec!["b".repeat(60); 4].join("."));
        let at_limit = format!("{}@{domain}", "a".repeat(MAX_LEN - 1 - domain.len()));
        assert_eq!(at_limit.len(), MAX_LEN);
        assert!(Email::parse(&at_limit).is_ok());
        assert!(Email::parse(&format!("a{at_limit}")).is_err());
    }

    #[test]
    fn message_does_not_echo_input() {
        let err = Email::parse("secret.patient@nowhere").unwrap_err();
        assert!(!err.to_string().contains("secret.patient"));
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(input in any::<String>()) {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email));
            }
        }

        #[test]
        fn idempotent_on_plausible_addresses(
            input in "[ ]?[A-Za-z0-9._+-]{1,12}@[A-Za-z0-9-]{1,10}(\\.[A-Za-z]{1,4}){1,2}[ ]?"
        ) {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email));
            }
        }
    }
}
