//! The Standard Webhooks signature scheme (see `docs/webhooks.md`), used both to check incoming
//! partner webhooks and to sign the outgoing ones the outbox worker delivers. Signing and
//! checking signatures are done by the scheme's own reference crate (`standardwebhooks`); this
//! module adds the project's secrets (`whsec_…` or a long plain secret), a check of the headers
//! that says which one is wrong, and matching a message against several partners' keys.
//!
//! A message is signed as `HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")`, sent as
//! `webhook-signature: v1,<base64>` (several space-separated entries are allowed, e.g. while a
//! secret rotates). A timestamp more than [`TOLERANCE_SECONDS`] away from the receiver's clock
//! is refused, which bounds replays.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use standardwebhooks::{Webhook, WebhookError};

use crate::error::{Error, ErrorCode};

/// How far (either way) a `webhook-timestamp` may be from now.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The HMAC key of a webhook secret. `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// Fewest key bytes accepted for a secret.
pub const MIN_KEY_BYTES: usize = 24;

impl SigningKey {
    /// Reads a secret as configured: `whsec_<base64>` or any other string of at least
    /// [`MIN_KEY_BYTES`] bytes.
    pub fn from_secret(secret: &str) -> Result<SigningKey, Error> {
        let secret = secret.trim();
        let key = match secret.strip_prefix("whsec_") {
            Some(b64) => B64
                .decode(b64)
                .map_err(|_| Error::field(ErrorCode::InvalidInput, "secret", "A whsec_ secret must be followed by base64."))?,
            None => secret.as_bytes().to_vec(),
        };
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::field(
                ErrorCode::InvalidInput,
                "secret",
                format!("The webhook secret is too short; use at least {MIN_KEY_BYTES} random bytes."),
            ));
        }
        Ok(SigningKey(key))
    }

    fn webhook(&self) -> Webhook {
        // Infallible for raw key bytes.
        Webhook::from_bytes(self.0.clone()).expect("a key of bytes is always accepted")
    }
}

/// The `webhook-signature` header value for a message: `v1,<base64 HMAC>`.
pub fn sign(key: &SigningKey, msg_id: &str, timestamp: i64, body: &str) -> String {
    // The scheme signs text; a `&str` body always is.
    key.webhook().sign(msg_id, timestamp, body.as_bytes()).expect("a UTF-8 body is always signed")
}

/// The three headers of a received message, as the transport found them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a signature was refused. Never says more than which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    MissingHeader(&'static str),
    InvalidTimestamp,
    TimestampOutOfTolerance,
    NoMatchingSignature,
}

impl SignatureError {
    pub fn message(self) -> String {
        match self {
            SignatureError::MissingHeader(h) => format!("The {h} header is missing."),
            SignatureError::InvalidTimestamp => "The webhook-timestamp header is not a Unix time in seconds.".into(),
            SignatureError::TimestampOutOfTolerance => {
                "The webhook-timestamp is more than 5 minutes away from the server's clock.".into()
            }
            SignatureError::NoMatchingSignature => "The webhook signature does not match.".into(),
        }
    }
}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Error {
        let field = match e {
            SignatureError::MissingHeader(h) => h,
            SignatureError::InvalidTimestamp | SignatureError::TimestampOutOfTolerance => HEADER_TIMESTAMP,
            SignatureError::NoMatchingSignature => HEADER_SIGNATURE,
        };
        Error::field(ErrorCode::Unauthorized, field, e.message())
    }
}

/// Checks the headers only (present, timestamp well-formed and within tolerance of `now`).
/// Returns the parsed timestamp.
pub fn check_headers(headers: &SignedHeaders<'_>, now_unix: i64) -> Result<i64, SignatureError> {
    let present = |v: Option<&str>, name: &'static str| match v.map(str::trim) {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err(SignatureError::MissingHeader(name)),
    };
    present(headers.id, HEADER_ID)?;
    present(headers.timestamp, HEADER_TIMESTAMP)?;
    present(headers.signature, HEADER_SIGNATURE)?;
    let ts_text = headers.timestamp.unwrap_or_default().trim();
    if !ts_text.bytes().all(|b| b.is_ascii_digit()) || ts_text.len() > 12 {
        return Err(SignatureError::InvalidTimestamp);
    }
    let ts: i64 = ts_text.parse().map_err(|_| SignatureError::InvalidTimestamp)?;
    if (now_unix - ts).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    Ok(ts)
}

/// Verifies a received message against one key: headers present, timestamp within
/// [`TOLERANCE_SECONDS`] of the clock, and at least one `v1` signature matching.
pub fn verify(key: &SigningKey, headers: &SignedHeaders<'_>, body: &[u8]) -> Result<(), SignatureError> {
    verify_any(std::slice::from_ref(key), headers, body).map(|_| ())
}

/// Like [`verify`], against several keys; returns the index of the key that matched.
pub fn verify_any(keys: &[SigningKey], headers: &SignedHeaders<'_>, body: &[u8]) -> Result<usize, SignatureError> {
    check_headers(headers, chrono::Utc::now().timestamp())?;
    let mut map = http::HeaderMap::new();
    for (name, value) in [(HEADER_ID, headers.id), (HEADER_TIMESTAMP, headers.timestamp), (HEADER_SIGNATURE, headers.signature)] {
        let value = value.unwrap_or_default().trim().parse().map_err(|_| SignatureError::MissingHeader(name))?;
        map.insert(name, value);
    }
    for (i, key) in keys.iter().enumerate() {
        match key.webhook().verify(body, &map) {
            Ok(()) => return Ok(i),
            Err(WebhookError::TimestampTooOldError | WebhookError::FutureTimestampError) => {
                return Err(SignatureError::TimestampOutOfTolerance)
            }
            Err(WebhookError::InvalidTimestamp) => return Err(SignatureError::InvalidTimestamp),
            Err(_) => {}
        }
    }
    Err(SignatureError::NoMatchingSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    #[test]
    fn matches_the_published_examples() {
        // The example of the Standard Webhooks specification.
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(&key(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // The example of the standard's reference libraries.
        let other = SigningKey::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = r#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&other, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn verifies_and_refuses() {
        let body = "{\"a\":1}";
        let now = chrono::Utc::now().timestamp();
        let sig = sign(&key(), "id1", now, body);
        let ts = now.to_string();
        let h = SignedHeaders { id: Some("id1"), timestamp: Some(&ts), signature: Some(&sig) };
        verify(&key(), &h, body.as_bytes()).unwrap();
        // Several entries, one valid.
        let many = format!("v1,AAAA v2,zzz {sig}");
        verify(&key(), &SignedHeaders { signature: Some(&many), ..h }, body.as_bytes()).unwrap();
        assert_eq!(verify(&key(), &h, b"{\"a\":2}"), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            verify(&key(), &SignedHeaders { id: Some("id2"), ..h }, body.as_bytes()),
            Err(SignatureError::NoMatchingSignature)
        );
        let other = SigningKey::from_secret("another-secret-of-enough-length").unwrap();
        assert_eq!(verify(&other, &h, body.as_bytes()), Err(SignatureError::NoMatchingSignature));
        // Out of tolerance either way, by a minute; a signature minutes old is still fine.
        for shift in [-(TOLERANCE_SECONDS + 60), TOLERANCE_SECONDS + 60] {
            let ts = (now + shift).to_string();
            let sig = sign(&key(), "id1", now + shift, body);
            let h = SignedHeaders { id: Some("id1"), timestamp: Some(&ts), signature: Some(&sig) };
            assert_eq!(verify(&key(), &h, body.as_bytes()), Err(SignatureError::TimestampOutOfTolerance), "{shift}");
        }
        let ts = (now - TOLERANCE_SECONDS + 60).to_string();
        let sig = sign(&key(), "id1", now - TOLERANCE_SECONDS + 60, body);
        verify(&key(), &SignedHeaders { id: Some("id1"), timestamp: Some(&ts), signature: Some(&sig) }, body.as_bytes()).unwrap();
        assert_eq!(
            verify(&key(), &SignedHeaders { signature: None, ..h }, body.as_bytes()),
            Err(SignatureError::MissingHeader(HEADER_SIGNATURE))
        );
        assert_eq!(
            verify(&key(), &SignedHeaders { timestamp: Some("12a"), ..h }, body.as_bytes()),
            Err(SignatureError::InvalidTimestamp)
        );
        // A body that is not text matches nothing.
        assert_eq!(verify(&key(), &h, &[0xff, 0xfe]), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(SigningKey::from_secret("short").is_err());
        assert!(SigningKey::from_secret("whsec_not base64!").is_err());
    }
}
