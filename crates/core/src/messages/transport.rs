//! How messages leave the clinic: e-mail through an SMTP server (`DIGIMED_SMTP_URL`,
//! `DIGIMED_MAIL_FROM`) and SMS through Twilio's Messages API (`DIGIMED_SMS_*`). Each sender
//! says whether a message was accepted (with the provider's id), should be tried again later, or
//! was refused for good; its reasons never contain a secret, an address or the message's text.

use std::time::Duration;

use digimed_crypto::Secret;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use super::MessageChannel;
use crate::public_links::{self, PublicUrl};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the server or provider; its id for the message.
    Sent { provider_id: String },
    /// Not accepted this time; try again later.
    Retry { reason: String },
    /// Refused for good.
    Failed { reason: String },
}

/// How long one SMTP conversation or SMS request may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// E-mail as configured.
#[derive(Clone)]
pub enum EmailSetup {
    /// `DIGIMED_SMTP_URL` is not set: e-mails are kept, not sent.
    NotConfigured,
    /// The settings cannot be used; the reason names the variable, never its value.
    Invalid(String),
    Ready(Box<Mailer>),
}

/// SMS as configured.
#[derive(Clone)]
pub enum SmsSetup {
    NotConfigured,
    Invalid(String),
    Ready(Twilio),
}

/// Everything the delivery worker needs from the environment.
#[derive(Clone)]
pub struct DeliveryConfig {
    /// `DIGIMED_PUBLIC_URL`, without a trailing slash: where the review, forms and preferences
    /// pages are served.
    pub public_url: Result<PublicUrl, String>,
    pub email: EmailSetup,
    pub sms: SmsSetup,
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryConfig([redacted])")
    }
}

fn var(k: &str) -> Option<String> {
    std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl DeliveryConfig {
    /// Reads `DIGIMED_PUBLIC_URL`, `DIGIMED_SMTP_URL`, `DIGIMED_MAIL_FROM`,
    /// `DIGIMED_SMS_ACCOUNT_SID`, `DIGIMED_SMS_AUTH_TOKEN`, `DIGIMED_SMS_FROM` and
    /// `DIGIMED_SMS_API_URL`. Never fails: what cannot be used is recorded with the reason.
    pub fn from_env() -> DeliveryConfig {
        let public_url = match PublicUrl::from_env() {
            Ok(Some(u)) => Ok(u),
            Ok(None) => Err(format!("{} is not set, so the messages' links cannot be written", public_links::ENV)),
            Err(e) => Err(e.message.trim_end_matches('.').to_string()),
        };
        let email = match var("DIGIMED_SMTP_URL") {
            None => EmailSetup::NotConfigured,
            Some(url) => match Mailer::new(&url, var("DIGIMED_MAIL_FROM").as_deref()) {
                Ok(m) => EmailSetup::Ready(Box::new(m)),
                Err(reason) => EmailSetup::Invalid(reason),
            },
        };
        let sid = var("DIGIMED_SMS_ACCOUNT_SID");
        let token = var("DIGIMED_SMS_AUTH_TOKEN");
        let from = var("DIGIMED_SMS_FROM");
        let sms = match (sid, token, from) {
            (None, None, None) => SmsSetup::NotConfigured,
            (Some(sid), Some(token), Some(from)) => {
                match Twilio::new(var("DIGIMED_SMS_API_URL").as_deref().unwrap_or(TWILIO_API_URL), &sid, token, &from) {
                    Ok(t) => SmsSetup::Ready(t),
                    Err(reason) => SmsSetup::Invalid(reason),
                }
            }
            _ => SmsSetup::Invalid(
                "SMS needs all of DIGIMED_SMS_ACCOUNT_SID, DIGIMED_SMS_AUTH_TOKEN and DIGIMED_SMS_FROM".to_string(),
            ),
        };
        DeliveryConfig { public_url, email, sms }
    }

    /// Why messages on `channel` are not sent now, or `None` when they can be: the reason a
    /// queued message shows, and whether it is final (settings that cannot be used fail the
    /// message; settings left out keep it queued).
    pub fn held(&self, channel: MessageChannel) -> Option<(String, bool)> {
        if let Err(reason) = &self.public_url {
            return Some((format!("Not sent: {reason}."), false));
        }
        match channel {
            MessageChannel::Email => match &self.email {
                EmailSetup::NotConfigured => {
                    Some(("Not sent: e-mail is not configured (DIGIMED_SMTP_URL is not set).".to_string(), false))
                }
                EmailSetup::Invalid(r) => Some((format!("Not sent: {r}."), true)),
                EmailSetup::Ready(_) => None,
            },
            MessageChannel::Sms => match &self.sms {
                SmsSetup::NotConfigured => {
                    Some(("Not sent: SMS is not configured (DIGIMED_SMS_ACCOUNT_SID is not set).".to_string(), false))
                }
                SmsSetup::Invalid(r) => Some((format!("Not sent: {r}."), true)),
                SmsSetup::Ready(_) => None,
            },
        }
    }

    /// One line per channel for the start of `digimed serve`, saying plainly what will be sent.
    pub fn notices(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Err(r) = &self.public_url {
            lines.push(format!("messages: {r}; no message to patients is sent."));
        }
        lines.push(match &self.email {
            EmailSetup::NotConfigured => {
                "messages: e-mail is not configured (DIGIMED_SMTP_URL): e-mails to patients are kept queued, none is sent."
                    .to_string()
            }
            EmailSetup::Invalid(r) => format!("messages: {r}; e-mails to patients fail and are not sent."),
            EmailSetup::Ready(m) => format!("messages: e-mail is sent through {} as {}.", m.server, m.from),
        });
        lines.push(match &self.sms {
            SmsSetup::NotConfigured => {
                "messages: SMS is not configured (DIGIMED_SMS_*): text messages to patients are kept queued, none is sent."
                    .to_string()
            }
            SmsSetup::Invalid(r) => format!("messages: {r}; text messages to patients fail and are not sent."),
            SmsSetup::Ready(t) => format!("messages: SMS is sent through Twilio ({}).", t.api_url),
        });
        lines
    }
}

/// An SMTP server to send through.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Host and port, for messages (never the credentials).
    pub server: String,
    /// The domain of the Message-IDs.
    domain: String,
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || host.trim_matches(['[', ']']).parse::<std::net::Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl Mailer {
    /// `smtps://[user:password@]host[:465]` (TLS from the start) or
    /// `smtp://[user:password@]host[:587]` (STARTTLS required; on a loopback address, used when
    /// the server offers it). The reason of a refusal names the variable, never its value.
    pub fn new(url: &str, from: Option<&str>) -> Result<Mailer, String> {
        let malformed = || {
            "DIGIMED_SMTP_URL is malformed (expected smtp://user:password@host:587 or smtps://user:password@host:465)".to_string()
        };
        let u = url::Url::parse(url).map_err(|_| malformed())?;
        let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(malformed)?.to_string();
        let builder = match u.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(|_| malformed())?.port(u.port().unwrap_or(465)),
            "smtp" if is_loopback(&host) => {
                let tls = TlsParameters::new(host.clone()).map_err(|_| malformed())?;
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
                    .tls(Tls::Opportunistic(tls))
                    .port(u.port().unwrap_or(587))
            }
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .map_err(|_| malformed())?
                .port(u.port().unwrap_or(587)),
            _ => return Err(malformed()),
        };
        let builder = if u.username().is_empty() {
            builder
        } else {
            let user = percent_decode(u.username()).ok_or_else(malformed)?;
            let password = percent_decode(u.password().unwrap_or("")).ok_or_else(malformed)?;
            builder.credentials(Credentials::new(user, password))
        };
        let from: Mailbox = from
            .ok_or_else(|| "DIGIMED_MAIL_FROM is not set (the sender address of e-mails)".to_string())?
            .parse()
            .map_err(|_| "DIGIMED_MAIL_FROM is not an e-mail address".to_string())?;
        let domain = from.email.domain().to_string();
        let port = u.port().unwrap_or(if u.scheme() == "smtps" { 465 } else { 587 });
        Ok(Mailer { transport: builder.timeout(Some(SEND_TIMEOUT)).build(), from, server: format!("{host}:{port}"), domain })
    }

    /// Whether the server answers (for the line at start); the reason when it does not.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(format!("the mail server {} cannot be reached", self.server)),
        }
    }

    /// The Message-ID of the message with idempotency key `key`.
    pub fn message_id(&self, key: Uuid) -> String {
        format!("<{key}@{}>", self.domain)
    }

    pub async fn send(&self, key: Uuid, to: &str, subject: &str, body: &str) -> Outcome {
        let Ok(to) = to.parse::<Mailbox>() else {
            return Outcome::Failed { reason: "The patient's e-mail address cannot be used.".to_string() };
        };
        let id = self.message_id(key);
        let message = match Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
        {
            Ok(m) => m,
            Err(_) => return Outcome::Failed { reason: "The e-mail could not be written.".to_string() },
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent { provider_id: id },
            Err(e) if e.is_permanent() => Outcome::Failed {
                reason: format!(
                    "The mail server refused the message ({}).",
                    e.status().map(|c| c.to_string()).unwrap_or_else(|| "permanent error".into())
                ),
            },
            Err(e) if e.is_transient() => Outcome::Retry {
                reason: format!(
                    "The mail server did not accept the message now ({}).",
                    e.status().map(|c| c.to_string()).unwrap_or_else(|| "temporary error".into())
                ),
            },
            Err(e) if e.is_timeout() => {
                Outcome::Retry { reason: format!("The mail server {} did not answer in time.", self.server) }
            }
            Err(e) if e.is_tls() => {
                Outcome::Retry { reason: format!("No secure connection to the mail server {} could be made.", self.server) }
            }
            Err(_) => Outcome::Retry { reason: format!("The mail server {} cannot be reached.", self.server) },
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Twilio's API, unless `DIGIMED_SMS_API_URL` points elsewhere.
pub const TWILIO_API_URL: &str = "https://api.twilio.com";

/// Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic
/// authentication (the account SID and auth token) and the form fields `To`, `From` and `Body`;
/// the answer's `sid` is the message's id. The idempotency key goes in the
/// `I-Twilio-Idempotency-Token` header, so a repeated request is not sent again.
#[derive(Clone)]
pub struct Twilio {
    http: reqwest::Client,
    pub api_url: String,
    account_sid: String,
    auth_token: std::sync::Arc<Secret<String>>,
    from: String,
}

impl Twilio {
    pub fn new(api_url: &str, account_sid: &str, auth_token: String, from: &str) -> Result<Twilio, String> {
        let api_url = api_url.trim_end_matches('/').to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) || url::Url::parse(&api_url).is_err() {
            return Err("DIGIMED_SMS_API_URL is not an http(s) address".to_string());
        }
        if account_sid.is_empty() || !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("DIGIMED_SMS_ACCOUNT_SID is not an account SID".to_string());
        }
        if digimed_domain::Phone::parse(from, "47").is_err() && !from.starts_with("MG") {
            return Err("DIGIMED_SMS_FROM is neither a phone number in E.164 form nor a messaging service SID".to_string());
        }
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("digimed-messages")
            .build()
            .map_err(|_| "the HTTP client for SMS could not be built".to_string())?;
        Ok(Twilio {
            http,
            api_url,
            account_sid: account_sid.to_string(),
            auth_token: std::sync::Arc::new(Secret::new(auth_token)),
            from: from.to_string(),
        })
    }

    pub async fn send(&self, key: Uuid, to: &str, body: &str) -> Outcome {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.api_url, self.account_sid);
        let from_field = if self.from.starts_with("MG") { "MessagingServiceSid" } else { "From" };
        let answer = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .header("I-Twilio-Idempotency-Token", key.to_string())
            .form(&[("To", to), (from_field, self.from.as_str()), ("Body", body)])
            .send()
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) if e.is_timeout() => return Outcome::Retry { reason: "The SMS provider did not answer in time.".into() },
            Err(_) => return Outcome::Retry { reason: "The SMS provider cannot be reached.".into() },
        };
        let status = answer.status();
        let json: serde_json::Value = answer.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return match json.get("sid").and_then(|s| s.as_str()) {
                Some(sid) if !sid.is_empty() => Outcome::Sent { provider_id: sid.to_string() },
                _ => Outcome::Retry { reason: "The SMS provider's answer had no message id.".into() },
            };
        }
        let code = json.get("code").and_then(|c| c.as_i64()).map(|c| format!(", error {c}")).unwrap_or_default();
        match status.as_u16() {
            429 | 500..=599 => {
                Outcome::Retry { reason: format!("The SMS provider did not accept the message now (HTTP {}{code}).", status.as_u16()) }
            }
            401 | 403 => Outcome::Failed {
                reason: format!(
                    "The SMS provider refused the account's credentials (HTTP {}{code}); check DIGIMED_SMS_ACCOUNT_SID and DIGIMED_SMS_AUTH_TOKEN.",
                    status.as_u16()
                ),
            },
            s => Outcome::Failed { reason: format!("The SMS provider refused the message (HTTP {s}{code}).") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_read_and_their_secrets_never_shown() {
        let m = Mailer::new("smtp://clinic%40x:s3cr%3At@127.0.0.1:2525", Some("Digimed <post@digimed.test>")).unwrap();
        assert_eq!(m.server, "127.0.0.1:2525");
        assert_eq!(m.message_id(Uuid::nil()), "<00000000-0000-0000-0000-000000000000@digimed.test>");
        let m = Mailer::new("smtps://u:p@mail.example.test", Some("post@digimed.test")).unwrap();
        assert_eq!(m.server, "mail.example.test:465");
        for bad in ["smtp//u:hunter2@host", "http://u:hunter2@host", "smtp://u:hunter2@", "hunter2"] {
            let e = Mailer::new(bad, Some("post@digimed.test")).err().unwrap();
            assert!(e.starts_with("DIGIMED_SMTP_URL is malformed"), "{e}");
            assert!(!e.contains("hunter2"));
        }
        assert!(Mailer::new("smtp://127.0.0.1:25", None).err().unwrap().contains("DIGIMED_MAIL_FROM"));
    }

    #[test]
    fn twilio_settings_are_checked() {
        assert!(Twilio::new("ftp://x", "AC1", "t".into(), "+4791234567").is_err());
        assert!(Twilio::new("https://api.twilio.com", "AC/..", "t".into(), "+4791234567").is_err());
        assert!(Twilio::new("https://api.twilio.com", "AC1", "t".into(), "+4791234567").is_ok());
    }
}
