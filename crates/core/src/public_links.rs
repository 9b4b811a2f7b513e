//! Links to the public pages of `digimed serve` (`docs/public-pages.md`), built on
//! `DIGIMED_PUBLIC_URL`: the address at which patients reach the service (e.g.
//! `https://pasient.klinikk.example`). Every part that sends a patient a link builds it here.

use crate::error::{Error, ErrorCode, Result};

/// The environment variable naming the public base address.
pub const ENV: &str = "DIGIMED_PUBLIC_URL";

/// The base address of the public pages: `http` or `https`, a host, optionally a port and a path
/// prefix; no query, fragment or user. Kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(value: &str) -> Result<PublicUrl> {
        let refuse = || {
            Error::field(
                ErrorCode::Configuration,
                ENV,
                "DIGIMED_PUBLIC_URL must be an http(s) address such as https://pasient.klinikk.example, without a query.",
            )
        };
        let url = value.trim().trim_end_matches('/');
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(refuse)?;
        let host = rest.split('/').next().unwrap_or("");
        let ok_chars = url.bytes().all(|b| b.is_ascii_graphic()) && !url.contains(['?', '#', '@', '"', '<', '>', '\\']);
        if host.is_empty() || !ok_chars {
            return Err(refuse());
        }
        Ok(PublicUrl(url.to_string()))
    }

    /// `DIGIMED_PUBLIC_URL`, when set (a malformed one is an error naming it).
    pub fn from_env() -> Result<Option<PublicUrl>> {
        match std::env::var(ENV).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => PublicUrl::parse(&v).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The review page of a consultation's review token.
    pub fn review(&self, token: &str) -> String {
        format!("{}/review/{token}", self.0)
    }

    /// The consent-forms page of a person's communication-preference token.
    pub fn forms(&self, token: &str) -> String {
        format!("{}/forms/{token}", self.0)
    }

    /// The preferences page of a person's communication-preference token.
    pub fn preferences(&self, token: &str) -> String {
        format!("{}/preferences/{token}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_parse_and_build_links() {
        let u = PublicUrl::parse("https://pasient.klinikk.example/").unwrap();
        assert_eq!(u.review("abc"), "https://pasient.klinikk.example/review/abc");
        assert_eq!(u.preferences("abc"), "https://pasient.klinikk.example/preferences/abc");
        assert_eq!(u.forms("abc"), "https://pasient.klinikk.example/forms/abc");
        assert_eq!(PublicUrl::parse("http://127.0.0.1:8080/digimed").unwrap().as_str(), "http://127.0.0.1:8080/digimed");
        for bad in ["", "pasient.klinikk.example", "ftp://x", "https://", "https://x?y=1", "https://u@x", "https://a b"] {
            let e = PublicUrl::parse(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(ENV), "{bad}");
        }
    }
}
