//! A patient's contact preferences, kept with their communication-preference token
//! (`docs/public-pages.md`): which channels the clinic may use for service messages (e-mail, SMS;
//! at least one), and whether they opted out of marketing. The patient changes them on the public
//! preferences page, reached by the token; support agents and admins issue a new token when a link
//! must stop working ([`rotate_token`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::patients::new_token;

/// The language the clinic writes to a patient in (`patient_persons.language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Norwegian bokmål, the default.
    Nb,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nb => "nb",
            Language::En => "en",
        }
    }

    /// `nb` or `en`; anything else is none of them.
    pub fn parse(code: &str) -> Option<Language> {
        match code {
            "nb" => Some(Language::Nb),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// Whether `token` could be a token the clinic issued (URL-safe base64 of at least 128 bits, and
/// not absurdly long), so that anything else is refused without a database look-up.
pub fn plausible_token(token: &str) -> bool {
    (22..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the preferences page shows: the choices as they stand, in the patient's language. Nothing
/// that identifies the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// The patient person, for the audit trail of the change (never shown on the page).
    pub person_id: i32,
    pub language: Language,
    pub email_allowed: bool,
    pub sms_allowed: bool,
    pub marketing_opt_out: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The patient's choice on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferenceChoice {
    pub email_allowed: bool,
    pub sms_allowed: bool,
    pub marketing_opt_out: bool,
}

impl PreferenceChoice {
    /// Parses the page's answer: the channels ticked, and `marketing` `yes` (send me news and
    /// offers) or `no`. At least one channel must stay allowed (field `channels`).
    pub fn parse(email: bool, sms: bool, marketing: Option<&str>) -> Result<PreferenceChoice> {
        if !email && !sms {
            return Err(Error::invalid(
                "channels",
                "Choose e-mail, SMS or both: the clinic needs one way to send links and notices about consultations.",
            ));
        }
        let marketing_opt_out = match marketing.map(str::trim) {
            Some("yes") => false,
            Some("no") => true,
            _ => return Err(Error::invalid("marketing", "Choose whether you want news and offers (yes or no).")),
        };
        Ok(PreferenceChoice { email_allowed: email, sms_allowed: sms, marketing_opt_out })
    }
}

/// The preferences behind `token`, or `None` when no person has that token (nothing says whether
/// another token exists).
pub async fn find(tx: &mut ClinicTx, token: &str) -> Result<Option<Preferences>> {
    tx.require(Capability::ChangeContactPreferences)?;
    if !plausible_token(token) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT t.patient_person_id, p.language, t.email_allowed, t.sms_allowed, t.marketing_opt_out, t.updated_at
             FROM communication_preference_tokens t
             JOIN patient_persons p ON p.id = t.patient_person_id
            WHERE t.token = $1"#,
        token
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Preferences {
        person_id: r.patient_person_id,
        language: Language::parse(&r.language).unwrap_or(Language::Nb),
        email_allowed: r.email_allowed,
        sms_allowed: r.sms_allowed,
        marketing_opt_out: r.marketing_opt_out,
        updated_at: r.updated_at,
    }))
}

/// Records the patient's choice for the holder of `token`. Nothing is written when nothing
/// changed; a change is audited by the table's trigger, in the name of whoever acts (the service,
/// acting for the link's holder). `not_found` when the token is no longer any person's.
pub async fn save(tx: &mut ClinicTx, token: &str, choice: PreferenceChoice) -> Result<Preferences> {
    tx.require(Capability::ChangeContactPreferences)?;
    let Some(current) = find(tx, token).await? else {
        return Err(Error::not_found("This preference link"));
    };
    let unchanged = current.email_allowed == choice.email_allowed
        && current.sms_allowed == choice.sms_allowed
        && current.marketing_opt_out == choice.marketing_opt_out;
    if unchanged {
        return Ok(current);
    }
    let updated_at = sqlx::query_scalar!(
        r#"UPDATE communication_preference_tokens
              SET email_allowed = $2, sms_allowed = $3, marketing_opt_out = $4, updated_at = now()
            WHERE token = $1
        RETURNING updated_at AS "updated_at!""#,
        token,
        choice.email_allowed,
        choice.sms_allowed,
        choice.marketing_opt_out,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("This preference link"))?;
    tracing::info!(person_id = current.person_id, "contact preferences changed through the preference link");
    Ok(Preferences {
        email_allowed: choice.email_allowed,
        sms_allowed: choice.sms_allowed,
        marketing_opt_out: choice.marketing_opt_out,
        updated_at: Some(updated_at),
        ..current
    })
}

/// Issues the patient person a new preference token (256 random bits); the old link stops working
/// at once. The audit log records it as the change of `rotated_at` (tokens are redacted there). For support agents and admins of a clinic the person is a patient of (the database's
/// policy `rotate` decides which persons), and the owner. The new token is not returned: it
/// reaches the patient only in the messages the clinic sends them.
pub async fn rotate_token(tx: &mut ClinicTx, person_id: i32) -> Result<()> {
    tx.require(Capability::RotatePreferenceLink)?;
    let rotated = sqlx::query!(
        "UPDATE communication_preference_tokens SET token = $2, rotated_at = now() WHERE patient_person_id = $1",
        person_id,
        new_token(),
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    if rotated == 0 {
        return Err(Error::field(ErrorCode::NotFound, "person_id", "This patient was not found."));
    }
    tracing::info!(person_id, "preference token rotated");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_keeps_one_channel() {
        let none = PreferenceChoice::parse(false, false, Some("yes")).unwrap_err();
        assert_eq!(none.field.as_deref(), Some("channels"));
        let sms = PreferenceChoice::parse(false, true, Some("no")).unwrap();
        assert_eq!(sms, PreferenceChoice { email_allowed: false, sms_allowed: true, marketing_opt_out: true });
        assert_eq!(PreferenceChoice::parse(true, false, Some("maybe")).unwrap_err().field.as_deref(), Some("marketing"));
        assert_eq!(PreferenceChoice::parse(true, false, None).unwrap_err().field.as_deref(), Some("marketing"));
    }

    #[test]
    fn only_plausible_tokens_are_looked_up() {
        assert!(plausible_token(&new_token()));
        assert!(!plausible_token("short"));
        assert!(!plausible_token("has spaces and is long enough to pass the length"));
        assert!(!plausible_token(&"a".repeat(129)));
    }
}
