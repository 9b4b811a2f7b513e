//! Verifying Clerk session tokens, the way Clerk's own SDKs do.
//!
//! A session token is an RS256 JSON Web Token that Clerk's Frontend API issues to a signed-in
//! user. It is checked against one of two kinds of key:
//!
//! - **the instance's JSON Web Key Set**, fetched from the Backend API (`GET {CLERK_API_URL}/jwks`
//!   with the secret key as bearer) and cached by key id (`kid`). A token naming a key id the
//!   cache does not hold makes the verifier fetch the set once more (Clerk rotated its keys), but
//!   at most once per [`SessionPolicy::min_refetch_interval`]; meanwhile such tokens are refused
//!   without a request.
//! - **the instance's PEM public key** (`CLERK_JWT_KEY`), for verification without the network.
//!
//! Then the claims: `exp` and `nbf` (with [`SessionPolicy::leeway`]), `iss` must be the
//! instance's issuer (its Frontend API URL), `sub` must name a user, and, when authorized parties
//! are configured, `azp` must be one of them. Tokens and keys are never logged; a refusal says
//! which check failed, never the token's contents.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use digimed_crypto::Secret;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Where the verification keys come from.
#[derive(Clone)]
pub enum SessionKeys {
    /// The Backend API's JWKS endpoint: `{api_url}/jwks`, with the secret key as bearer.
    Jwks { api_url: String, secret_key: Secret<String> },
    /// The instance's public key as PEM (`-----BEGIN PUBLIC KEY-----`): no network needed.
    Pem(String),
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionKeys::Jwks { api_url, .. } => f.debug_struct("Jwks").field("api_url", api_url).finish_non_exhaustive(),
            SessionKeys::Pem(_) => f.write_str("Pem"),
        }
    }
}

/// What a session token must satisfy, and how keys are fetched.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// The `iss` every token must carry: the instance's Frontend API URL.
    pub issuer: String,
    /// The origins allowed as `azp`; empty means `azp` is not checked.
    pub authorized_parties: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// An unknown key id fetches the key set again at most this often.
    pub min_refetch_interval: Duration,
    /// Timeout of one request for the key set.
    pub request_timeout: Duration,
}

impl SessionPolicy {
    /// Five seconds of leeway, a refetch at most every ten seconds, five-second requests.
    pub fn new(issuer: &str, authorized_parties: Vec<String>) -> SessionPolicy {
        SessionPolicy {
            issuer: issuer.trim().trim_end_matches('/').to_string(),
            authorized_parties,
            leeway: Duration::from_secs(5),
            min_refetch_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a token was refused. None of these carries the token or its claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session token is not a well-formed RS256 token")]
    Malformed,
    #[error("the session token has expired")]
    Expired,
    #[error("the session token is not valid yet")]
    NotYetValid,
    #[error("the session token was issued by another issuer")]
    WrongIssuer,
    #[error("the session token was issued for another application (azp)")]
    WrongParty,
    #[error("the session token names a key that is not the instance's")]
    UnknownKey,
    #[error("the session token's signature does not verify")]
    BadSignature,
    #[error("the session token lacks the claim {0}")]
    MissingClaim(&'static str),
    /// The key set could not be fetched: the caller may try again.
    #[error("Clerk's keys could not be fetched")]
    KeysUnavailable,
    /// The configured key cannot be used.
    #[error("the session-token key is misconfigured: {0}")]
    Config(String),
}

impl SessionError {
    /// Whether the caller's token is at fault (401), rather than the service (503/500).
    pub fn is_caller_fault(&self) -> bool {
        !matches!(self, SessionError::KeysUnavailable | SessionError::Config(_))
    }
}

/// The claims of a verified session token that the clinic uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SessionClaims {
    /// The Clerk user id.
    pub sub: String,
    /// The session id.
    #[serde(default)]
    pub sid: Option<String>,
    /// The origin the token was issued to.
    #[serde(default)]
    pub azp: Option<String>,
    pub exp: i64,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    kty: String,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    /// Whether the last fetch failed.
    failed: bool,
    fetches: u64,
}

enum Source {
    Jwks { http: reqwest::Client, url: String, secret_key: Secret<String>, cache: tokio::sync::Mutex<KeyCache> },
    Pem(DecodingKey),
}

/// Verifies session tokens. Cheap to clone; clones share the key cache.
#[derive(Clone)]
pub struct SessionVerifier {
    inner: Arc<(SessionPolicy, Source)>,
}

impl std::fmt::Debug for SessionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner.1 {
            Source::Jwks { url, .. } => format!("jwks {url}"),
            Source::Pem(_) => "pem".to_string(),
        };
        f.debug_struct("SessionVerifier").field("issuer", &self.inner.0.issuer).field("source", &source).finish_non_exhaustive()
    }
}

impl SessionVerifier {
    pub fn new(keys: SessionKeys, policy: SessionPolicy) -> Result<SessionVerifier, SessionError> {
        if policy.issuer.is_empty() {
            return Err(SessionError::Config("CLERK_ISSUER must name the instance's issuer".into()));
        }
        let source = match keys {
            SessionKeys::Pem(pem) => Source::Pem(decoding_key_from_pem(&pem)?),
            SessionKeys::Jwks { api_url, secret_key } => {
                let base = api_url.trim().trim_end_matches('/').to_string();
                if !(base.starts_with("https://") || base.starts_with("http://")) {
                    return Err(SessionError::Config("CLERK_API_URL must start with https://".into()));
                }
                let http = reqwest::Client::builder()
                    .timeout(policy.request_timeout)
                    .user_agent("digimed-console")
                    .build()
                    .map_err(|_| SessionError::Config("the HTTP client could not be built".into()))?;
                Source::Jwks { http, url: format!("{base}/jwks"), secret_key, cache: Default::default() }
            }
        };
        Ok(SessionVerifier { inner: Arc::new((policy, source)) })
    }

    pub fn policy(&self) -> &SessionPolicy {
        &self.inner.0
    }

    /// How many times the key set was fetched (0 for a PEM key).
    pub async fn key_set_fetches(&self) -> u64 {
        match &self.inner.1 {
            Source::Jwks { cache, .. } => cache.lock().await.fetches,
            Source::Pem(_) => 0,
        }
    }

    /// Verifies a session token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<SessionClaims, SessionError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| SessionError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(SessionError::Malformed);
        }
        let (policy, source) = &*self.inner;
        let claims = match source {
            Source::Pem(key) => check(token, key, policy)?,
            Source::Jwks { .. } => {
                let kid = header.kid.ok_or(SessionError::UnknownKey)?;
                let key = self.key_for(&kid).await?;
                check(token, &key, policy)?
            }
        };
        if !policy.authorized_parties.is_empty() {
            match claims.azp.as_deref() {
                Some(azp) if policy.authorized_parties.iter().any(|p| p == azp) => {}
                _ => return Err(SessionError::WrongParty),
            }
        }
        if claims.sub.is_empty() {
            return Err(SessionError::MissingClaim("sub"));
        }
        Ok(claims)
    }

    /// The key with this id, fetching the key set when it is unknown (rate-limited).
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, SessionError> {
        let Source::Jwks { http, url, secret_key, cache } = &self.inner.1 else {
            return Err(SessionError::UnknownKey);
        };
        // Holding the lock while fetching: concurrent misses wait for one fetch.
        let mut cache = cache.lock().await;
        if let Some(k) = cache.keys.get(kid) {
            return Ok(k.clone());
        }
        let may_fetch = cache.fetched_at.is_none_or(|at| at.elapsed() >= self.inner.0.min_refetch_interval);
        if !may_fetch {
            return Err(if cache.failed { SessionError::KeysUnavailable } else { SessionError::UnknownKey });
        }
        let fetched = fetch_key_set(http, url, secret_key).await;
        cache.fetches += 1;
        cache.fetched_at = Some(Instant::now());
        cache.failed = fetched.is_err();
        match fetched {
            Ok(keys) => cache.keys = keys,
            Err(e) => {
                tracing::warn!(error = %e, "fetching Clerk's key set failed");
                return Err(e);
            }
        }
        cache.keys.get(kid).cloned().ok_or(SessionError::UnknownKey)
    }
}

fn check(token: &str, key: &DecodingKey, policy: &SessionPolicy) -> Result<SessionClaims, SessionError> {
    let mut v = Validation::new(Algorithm::RS256);
    v.leeway = policy.leeway.as_secs();
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = false;
    v.set_issuer(&[policy.issuer.as_str()]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    match jsonwebtoken::decode::<SessionClaims>(token, key, &v) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => SessionError::Expired,
            ErrorKind::ImmatureSignature => SessionError::NotYetValid,
            ErrorKind::InvalidIssuer => SessionError::WrongIssuer,
            ErrorKind::InvalidSignature => SessionError::BadSignature,
            ErrorKind::MissingRequiredClaim(c) => SessionError::MissingClaim(match c.as_str() {
                "exp" => "exp",
                "nbf" => "nbf",
                "iss" => "iss",
                _ => "sub",
            }),
            _ => SessionError::Malformed,
        }),
    }
}

fn decoding_key_from_pem(pem: &str) -> Result<DecodingKey, SessionError> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    // Environment variables often carry the PEM with literal `\n`.
    let pem = pem.trim().replace("\\n", "\n");
    let key = rsa::RsaPublicKey::from_public_key_pem(&pem)
        .map_err(|_| SessionError::Config("CLERK_JWT_KEY is not an RSA public key in PEM form".into()))?;
    Ok(DecodingKey::from_rsa_raw_components(&key.n().to_bytes_be(), &key.e().to_bytes_be()))
}

async fn fetch_key_set(
    http: &reqwest::Client,
    url: &str,
    secret_key: &Secret<String>,
) -> Result<HashMap<String, DecodingKey>, SessionError> {
    let resp = http
        .get(url)
        .bearer_auth(secret_key.expose())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|_| SessionError::KeysUnavailable)?;
    if !resp.status().is_success() {
        tracing::warn!(status = resp.status().as_u16(), "Clerk's key set answered with an error");
        return Err(SessionError::KeysUnavailable);
    }
    let set: JwkSet = resp.json().await.map_err(|_| SessionError::KeysUnavailable)?;
    let mut keys = HashMap::new();
    for k in set.keys {
        if let (Some(kid), "RSA", Some(n), Some(e)) = (k.kid, k.kty.as_str(), k.n, k.e) {
            if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
                keys.insert(kid, key);
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let v = SessionVerifier::new(
            SessionKeys::Jwks { api_url: "https://api.clerk.com/v1".into(), secret_key: Secret::new("sk_test_abc".into()) },
            SessionPolicy::new("https://clerk.example.test", vec![]),
        )
        .unwrap();
        let shown = format!("{v:?}");
        assert!(!shown.contains("sk_test"), "{shown}");
    }

    #[test]
    fn refuses_a_missing_issuer_and_a_bad_pem() {
        let keys = SessionKeys::Pem("not a key".into());
        assert!(matches!(SessionVerifier::new(keys.clone(), SessionPolicy::new(" ", vec![])), Err(SessionError::Config(_))));
        assert!(matches!(
            SessionVerifier::new(keys, SessionPolicy::new("https://clerk.example.test", vec![])),
            Err(SessionError::Config(_))
        ));
    }

    #[tokio::test]
    async fn refuses_what_is_not_a_token() {
        let v = SessionVerifier::new(
            SessionKeys::Jwks { api_url: "http://127.0.0.1:9".into(), secret_key: Secret::new("k".into()) },
            SessionPolicy::new("https://clerk.example.test", vec![]),
        )
        .unwrap();
        assert_eq!(v.verify("dgm_abc").await, Err(SessionError::Malformed));
        // An HS256 token is refused before any key is fetched.
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "user_1"}),
            &jsonwebtoken::EncodingKey::from_secret(b"x"),
        )
        .unwrap();
        assert_eq!(v.verify(&hs).await, Err(SessionError::Malformed));
        assert_eq!(v.key_set_fetches().await, 0);
    }
}
