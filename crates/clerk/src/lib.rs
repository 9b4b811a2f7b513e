//! A client for the part of Clerk's Backend API the clinic uses: find a user by e-mail address,
//! create one, delete one (to undo a creation whose database transaction failed).
//!
//! Every request has a timeout; 429 and 5xx answers, timeouts and lost connections are retried
//! with exponential back-off (honouring `Retry-After`) within a bounded total time. The secret key
//! is held in a [`Secret`] and only ever written into the `Authorization` header. Clerk's error
//! bodies (`{"errors":[{"message","long_message","code"}]}`) are parsed, and only their codes and
//! the HTTP status are logged: never the key, never an e-mail address.
//!
//! [`session`] verifies the session tokens Clerk issues to signed-in patients (RS256, against the
//! instance's key set from the Backend API or its PEM public key).

use std::time::{Duration, Instant};

pub mod session;
pub use session::{SessionClaims, SessionError, SessionKeys, SessionPolicy, SessionVerifier};

use digimed_crypto::Secret;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

/// How hard to try before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Longest single wait (also caps `Retry-After`).
    pub max_delay: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Total time an operation may take, retries included.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            total_budget: Duration::from_secs(12),
        }
    }
}

/// What went wrong talking to Clerk. Messages never contain the key or personal data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClerkError {
    /// Clerk answered with an error status (after retries, for retryable ones).
    #[error("Clerk answered HTTP {status}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api { status: u16, code: Option<String>, message: Option<String> },
    /// No answer in time.
    #[error("Clerk did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("Clerk could not be reached")]
    Unreachable,
    /// Clerk answered, but not with the JSON its documentation describes.
    #[error("Clerk's answer could not be understood")]
    Malformed,
    /// The client could not be built (bad URL or TLS set-up).
    #[error("the Clerk client is misconfigured: {0}")]
    Config(String),
}

impl ClerkError {
    fn retryable(&self) -> bool {
        match self {
            ClerkError::Api { status, .. } => *status == 429 || *status >= 500,
            ClerkError::Timeout | ClerkError::Unreachable => true,
            ClerkError::Malformed | ClerkError::Config(_) => false,
        }
    }
}

/// A Clerk user, as much of it as the clinic needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkUser {
    pub id: String,
}

#[derive(Deserialize)]
struct UserBody {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The Backend API client. Cheap to clone.
#[derive(Clone)]
pub struct ClerkClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret<String>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for ClerkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// One answer, before it is interpreted.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl ClerkClient {
    /// `base_url` is e.g. `https://api.clerk.com/v1` (no trailing slash needed).
    pub fn new(base_url: &str, secret_key: Secret<String>, policy: RetryPolicy) -> Result<ClerkClient, ClerkError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(ClerkError::Config("CLERK_API_URL must start with https://".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(policy.request_timeout.min(Duration::from_secs(3)))
            .user_agent("digimed-console")
            .build()
            .map_err(|_| ClerkError::Config("the HTTP client could not be built".into()))?;
        Ok(ClerkClient { http, base_url, secret_key, policy })
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The user with this (lower-case) e-mail address, if Clerk has one.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<ClerkUser>, ClerkError> {
        let deadline = Instant::now() + self.policy.total_budget;
        self.find_within(email, deadline).await
    }

    async fn find_within(&self, email: &str, deadline: Instant) -> Result<Option<ClerkUser>, ClerkError> {
        let query = [("email_address", email), ("limit", "2")];
        let answer = self.with_retries("find_user", deadline, || self.send(Method::GET, "/users", &query, None)).await?;
        let users: Vec<UserBody> = serde_json::from_slice(&answer.body).map_err(|_| ClerkError::Malformed)?;
        Ok(users.into_iter().next().map(|u| ClerkUser { id: u.id }))
    }

    /// Creates a user with this e-mail address and name; Clerk sends the password set-up e-mail.
    /// A creation that may have reached Clerk before failing is not blindly repeated: the user is
    /// looked up by e-mail first and returned when it exists.
    pub async fn create_user(&self, email: &str, first_name: &str, last_name: &str) -> Result<ClerkUser, ClerkError> {
        let deadline = Instant::now() + self.policy.total_budget;
        let body = serde_json::json!({
            "email_address": [email],
            "first_name": first_name,
            "last_name": last_name,
            "skip_password_requirement": true,
        });
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (err, retry_after) = match self.send(Method::POST, "/users", &[], Some(&body)).await {
                Ok(a) if a.status.is_success() => {
                    let u: UserBody = serde_json::from_slice(&a.body).map_err(|_| ClerkError::Malformed)?;
                    return Ok(ClerkUser { id: u.id });
                }
                Ok(a) => api_error(&a),
                Err(e) => (e, None),
            };
            log_failure("create_user", attempt, &err);
            if !err.retryable() || attempt >= self.policy.max_attempts {
                return Err(err);
            }
            self.back_off(attempt, retry_after, deadline).await.ok_or(err.clone())?;
            // The failed attempt may have created the user (e.g. a 502 after Clerk committed).
            if !matches!(err, ClerkError::Api { status: 429, .. }) {
                if let Ok(Some(existing)) = self.find_within(email, deadline).await {
                    return Ok(existing);
                }
            }
        }
    }

    /// Deletes a user. A user that is already gone counts as deleted.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), ClerkError> {
        if user_id.is_empty() || !user_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ClerkError::Config("not a Clerk user id".into()));
        }
        let deadline = Instant::now() + self.policy.total_budget;
        let path = format!("/users/{user_id}");
        match self.with_retries("delete_user", deadline, || self.send(Method::DELETE, &path, &[], None)).await {
            Ok(_) => Ok(()),
            Err(ClerkError::Api { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Runs an idempotent request until it succeeds, fails for good, or time runs out.
    async fn with_retries<F, Fut>(&self, op: &'static str, deadline: Instant, mut f: F) -> Result<Answer, ClerkError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Answer, ClerkError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (err, retry_after) = match f().await {
                Ok(a) if a.status.is_success() => return Ok(a),
                Ok(a) => api_error(&a),
                Err(e) => (e, None),
            };
            log_failure(op, attempt, &err);
            if !err.retryable() || attempt >= self.policy.max_attempts {
                return Err(err);
            }
            self.back_off(attempt, retry_after, deadline).await.ok_or(err)?;
        }
    }

    /// Sleeps before the next attempt; `None` when the wait would pass the deadline.
    async fn back_off(&self, attempt: u32, retry_after: Option<Duration>, deadline: Instant) -> Option<()> {
        // Clerk asking for a longer pause than we are prepared to wait: give up now rather than
        // retry early against its wish.
        if retry_after.is_some_and(|r| r > self.policy.max_delay) {
            return None;
        }
        let exponential = self.policy.base_delay.saturating_mul(1u32 << (attempt - 1).min(16));
        let wait = retry_after.unwrap_or(exponential).min(self.policy.max_delay);
        let remaining = deadline.checked_duration_since(Instant::now())?;
        // Leave room for the request itself.
        if wait + self.policy.request_timeout.min(remaining / 2) > remaining {
            return None;
        }
        tokio::time::sleep(wait).await;
        Some(())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ClerkError> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base_url, path))
            .bearer_auth(self.secret_key.expose())
            .header("accept", "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(transport_error)?.to_vec();
        Ok(Answer { status, retry_after, body })
    }
}

fn transport_error(e: reqwest::Error) -> ClerkError {
    if e.is_timeout() {
        ClerkError::Timeout
    } else if e.is_decode() || e.is_body() {
        ClerkError::Malformed
    } else {
        ClerkError::Unreachable
    }
}

fn api_error(a: &Answer) -> (ClerkError, Option<Duration>) {
    let first = serde_json::from_slice::<ErrorBody>(&a.body).ok().and_then(|b| b.errors.into_iter().next());
    let (code, message) = match first {
        Some(item) => (item.code, item.message),
        None => (None, None),
    };
    (ClerkError::Api { status: a.status.as_u16(), code, message }, a.retry_after)
}

fn log_failure(op: &'static str, attempt: u32, err: &ClerkError) {
    match err {
        ClerkError::Api { status, code, .. } => {
            tracing::warn!(op, attempt, status, code = code.as_deref().unwrap_or(""), "Clerk request failed")
        }
        other => tracing::warn!(op, attempt, error = %other, "Clerk request failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let c = ClerkClient::new("https://api.clerk.com/v1/", Secret::new("sk_test_abc".into()), RetryPolicy::default()).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk_test"), "{shown}");
        assert!(shown.contains("https://api.clerk.com/v1"));
    }

    #[test]
    fn refuses_non_http_urls() {
        assert!(ClerkClient::new("ftp://x", Secret::new("k".into()), RetryPolicy::default()).is_err());
    }

    #[test]
    fn retryable_errors() {
        let api = |status| ClerkError::Api { status, code: None, message: None };
        assert!(api(429).retryable());
        assert!(api(503).retryable());
        assert!(!api(422).retryable());
        assert!(ClerkError::Timeout.retryable());
        assert!(!ClerkError::Malformed.retryable());
    }
}
