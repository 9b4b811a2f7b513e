//! Self-hosted Jitsi Meet with JWT authentication (the `token` authentication of Jitsi's Prosody
//! plugins): every join link carries an HS256 token signed with the secret the server shares,
//! naming the room, the person and whether they moderate.

use chrono::{DateTime, Utc};
use digimed_crypto::Secret;
use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::{random_room_name, Channel, MeetingProvider, MeetingRole, Participant, Room};
use crate::error::{Error, ErrorCode, Result};

/// The variables that configure Jitsi.
pub const DOMAIN_VAR: &str = "DIGIMED_JITSI_DOMAIN";
pub const APP_ID_VAR: &str = "DIGIMED_JITSI_APP_ID";
pub const SECRET_VAR: &str = "DIGIMED_JITSI_SECRET";

/// The shortest secret accepted: HS256 keys should hold at least 256 bits.
pub const MIN_SECRET_LEN: usize = 32;

/// What the chat link adds to the room's address: the room's own chat, joined with camera and
/// microphone off (Jitsi Meet's URL overrides of its configuration).
pub const CHAT_FRAGMENT: &str = "#config.startWithAudioMuted=true&config.startWithVideoMuted=true";

/// A Jitsi Meet deployment. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct JitsiConfig {
    /// The host (and port, if not 443) the meetings are at, lowercase: `meet.clinic.example`.
    pub domain: String,
    /// The application id the server knows the clinic by: `iss` and `aud` of every token.
    pub app_id: String,
    pub secret: Secret<String>,
}

impl JitsiConfig {
    /// `None` when nothing is configured (the demo service is used); an error naming the variable
    /// when the settings are incomplete or malformed.
    pub fn from_settings(
        var: impl Fn(&str) -> Option<String>,
        keyring_secret: impl FnOnce() -> Option<Secret<String>>,
    ) -> Result<Option<JitsiConfig>> {
        let get = |k: &str| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (domain, app_id, env_secret) = (get(DOMAIN_VAR), get(APP_ID_VAR), var(SECRET_VAR).filter(|v| !v.trim().is_empty()));
        let Some(domain) = domain else {
            if app_id.is_some() || env_secret.is_some() {
                return Err(problem(
                    DOMAIN_VAR,
                    "DIGIMED_JITSI_DOMAIN is not set, but other DIGIMED_JITSI_ settings are; set it to the Jitsi Meet server's host name, e.g. meet.clinic.example.",
                ));
            }
            return Ok(None);
        };
        let domain = parse_domain(&domain)?;
        let app_id = app_id.ok_or_else(|| {
            problem(
                APP_ID_VAR,
                "DIGIMED_JITSI_APP_ID is not set; set it to the application id the Jitsi server's token authentication expects.",
            )
        })?;
        if app_id.len() > 200 || app_id.chars().any(|c| c.is_control()) {
            return Err(problem(APP_ID_VAR, "DIGIMED_JITSI_APP_ID must be a short application id without control characters."));
        }
        let secret = match env_secret {
            Some(s) => Secret::new(s),
            None => keyring_secret().filter(|s| !s.expose().trim().is_empty()).ok_or_else(|| {
                problem(
                    SECRET_VAR,
                    "DIGIMED_JITSI_SECRET is not set and the OS keyring holds no jitsi-secret; set the secret the Jitsi server's token authentication shares.",
                )
            })?,
        };
        if secret.expose().len() < MIN_SECRET_LEN {
            return Err(problem(SECRET_VAR, "DIGIMED_JITSI_SECRET is too short; use at least 32 characters."));
        }
        Ok(Some(JitsiConfig { domain, app_id, secret }))
    }
}

fn problem(var: &str, message: &str) -> Error {
    Error::field(ErrorCode::Configuration, var, message)
}

/// A host name with an optional port, lowercase, without a scheme or a path.
fn parse_domain(raw: &str) -> Result<String> {
    let malformed = || {
        problem(
            DOMAIN_VAR,
            "DIGIMED_JITSI_DOMAIN must be a host name such as meet.clinic.example (optionally with :port), without https:// or a path.",
        )
    };
    let domain = raw.to_ascii_lowercase();
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain.as_str(), None),
    };
    if let Some(p) = port {
        if !matches!(p.parse::<u16>(), Ok(n) if n > 0) || p.starts_with('0') {
            return Err(malformed());
        }
    }
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if labels_ok {
        Ok(domain)
    } else {
        Err(malformed())
    }
}

/// The claims of a Jitsi token: `iss` the application id, `aud` the application id, `sub` the
/// domain (rooms at `https://domain/ROOM`), `room` the room's name, `exp` the expiry, and
/// `context.user` the name shown and whether the person moderates. Jitsi reads every
/// `context.user` field as a string, so the flag is `"true"` or `"false"`.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    room: &'a str,
    exp: i64,
    context: Context<'a>,
}

#[derive(Debug, Serialize)]
struct Context<'a> {
    user: User<'a>,
}

#[derive(Debug, Serialize)]
struct User<'a> {
    name: &'a str,
    moderator: &'static str,
}

/// Jitsi Meet as a [`MeetingProvider`].
#[derive(Debug)]
pub struct JitsiProvider {
    config: JitsiConfig,
}

impl JitsiProvider {
    pub fn new(config: JitsiConfig) -> JitsiProvider {
        JitsiProvider { config }
    }

    fn token(&self, room: &str, who: &Participant, expires: DateTime<Utc>) -> Result<String> {
        // The token is the host name's (`sub`); a port is not part of it.
        let host = self.config.domain.split(':').next().unwrap_or(&self.config.domain);
        let claims = Claims {
            iss: &self.config.app_id,
            aud: &self.config.app_id,
            sub: host,
            room,
            exp: expires.timestamp(),
            context: Context {
                user: User {
                    name: &who.display_name,
                    moderator: if who.role == MeetingRole::Moderator { "true" } else { "false" },
                },
            },
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.config.secret.expose().as_bytes()),
        )
        .map_err(|_| Error::internal("A meeting token could not be signed."))
    }
}

impl MeetingProvider for JitsiProvider {
    fn kind(&self) -> &'static str {
        "jitsi"
    }

    fn is_demo(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        format!("Jitsi Meet at https://{} (application id {})", self.config.domain, self.config.app_id)
    }

    fn room_for(&self, _consultation_id: i32) -> BoxFuture<'_, Result<Room>> {
        // Jitsi makes a room when its first member joins; its name is the only secret-free
        // part, and the token names it, so a room is a fresh random name.
        Box::pin(async move { Ok(Room { provider: self.kind().to_string(), name: random_room_name() }) })
    }

    fn join_link(&self, room: &Room, who: &Participant, channel: Channel, expires: DateTime<Utc>) -> Result<String> {
        let token = self.token(&room.name, who, expires)?;
        let base = format!("https://{}/{}?jwt={}", self.config.domain, room.name, token);
        Ok(match channel {
            Channel::Video => base,
            Channel::Chat => format!("{base}{CHAT_FRAGMENT}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const SECRET: &str = "a-secret-of-more-than-thirty-two-characters";

    #[test]
    fn nothing_configured_is_no_jitsi() {
        assert!(JitsiConfig::from_settings(settings(&[]), || None).unwrap().is_none());
    }

    #[test]
    fn each_missing_or_malformed_setting_is_named() {
        let field = |pairs: &[(&str, &str)], keyring: Option<&str>| {
            let e = JitsiConfig::from_settings(settings(pairs), || keyring.map(Secret::from)).unwrap_err();
            assert_eq!(e.code, ErrorCode::Configuration);
            assert!(!e.message.contains(SECRET));
            e.field.unwrap()
        };
        assert_eq!(field(&[(DOMAIN_VAR, "meet.clinic.example"), (APP_ID_VAR, "digimed")], None), SECRET_VAR);
        assert_eq!(field(&[(DOMAIN_VAR, "meet.clinic.example"), (SECRET_VAR, SECRET)], None), APP_ID_VAR);
        assert_eq!(field(&[(APP_ID_VAR, "digimed"), (SECRET_VAR, SECRET)], None), DOMAIN_VAR);
        for bad in
            ["https://meet.clinic.example", "meet.clinic.example/room", "meet..example", "-x.example", "meet.example:0", "a b"]
        {
            assert_eq!(field(&[(DOMAIN_VAR, bad), (APP_ID_VAR, "digimed"), (SECRET_VAR, SECRET)], None), DOMAIN_VAR, "{bad}");
        }
        assert_eq!(
            field(&[(DOMAIN_VAR, "meet.clinic.example"), (APP_ID_VAR, "digimed"), (SECRET_VAR, "short")], None),
            SECRET_VAR
        );
    }

    #[test]
    fn the_secret_may_come_from_the_keyring_and_never_shows() {
        let c =
            JitsiConfig::from_settings(settings(&[(DOMAIN_VAR, "Meet.Clinic.Example:8443"), (APP_ID_VAR, "digimed")]), || {
                Some(Secret::from(SECRET))
            })
            .unwrap()
            .unwrap();
        assert_eq!(c.domain, "meet.clinic.example:8443");
        assert!(!format!("{c:?}").contains(SECRET));
        let p = JitsiProvider::new(c);
        assert!(!format!("{p:?}").contains(SECRET));
        assert!(!p.describe().contains(SECRET));
    }
}
