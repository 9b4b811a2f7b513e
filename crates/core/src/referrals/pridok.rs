//! The referral a partner sends (see `docs/referrals.md`), parsed and checked field by field.

use chrono::{DateTime, Utc};
use digimed_domain::{Email, NationalId, NationalIdError, PersonName, Phone};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};

/// A partner referral, parsed and checked. Unknown fields are kept in `extra`.
#[derive(Debug, Clone)]
pub struct PridokReferral {
    pub journal_guid: Uuid,
    pub national_id: NationalId,
    pub format_id: Option<String>,
    pub message_timestamp: DateTime<Utc>,
    pub name: PersonName,
    pub email: Option<Email>,
    pub phone: Phone,
    pub extra: Map<String, Value>,
}

const KNOWN_FIELDS: &[&str] =
    &["JournalGuid", "PID", "FormatId", "MessageTimestamp", "Firstname", "Lastname", "Email", "PhoneNumber"];

impl PridokReferral {
    /// Parses and validates a referral body. Every invalid field is reported (in `details`); the
    /// error itself names the first, in the order of the contract. Messages never repeat the values.
    pub fn parse(body: &[u8], allow_synthetic: bool) -> Result<PridokReferral> {
        let obj = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err(Error::new(ErrorCode::InvalidJson, "The body must be a JSON object.")),
        };
        let mut errors: Vec<(ErrorCode, &'static str, String)> = Vec::new();
        // A present, non-null string field; `None` when absent or null.
        let text = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str| -> Option<String> {
            match obj.get(field) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    errors.push((ErrorCode::InvalidInput, field, format!("{field} must be a string.")));
                    None
                }
            }
        };
        let required = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str, code: ErrorCode| {
            errors.push((code, field, format!("{field} is required.")));
        };

        let guid = text(&mut errors, "JournalGuid");
        let journal_guid = match guid.as_deref().map(str::trim) {
            _ if errors.iter().any(|e| e.1 == "JournalGuid") => None,
            None | Some("") => {
                required(&mut errors, "JournalGuid", ErrorCode::InvalidInput);
                None
            }
            Some(g) => match Uuid::parse_str(g) {
                Ok(u) => Some(u),
                Err(_) => {
                    errors.push((ErrorCode::InvalidInput, "JournalGuid", "JournalGuid must be a UUID.".into()));
                    None
                }
            },
        };

        let pid = text(&mut errors, "PID");
        let national_id = match pid {
            _ if errors.iter().any(|e| e.1 == "PID") => None,
            None => {
                required(&mut errors, "PID", ErrorCode::NationalIdRequired);
                None
            }
            Some(p) => match NationalId::parse(&p, allow_synthetic) {
                Ok(n) => Some(n),
                Err(e) => {
                    let msg = match e {
                        NationalIdError::SyntheticNotAllowed => {
                            "PID is a synthetic test number, which this partner may not send.".to_string()
                        }
                        NationalIdError::Required => "PID is required.".to_string(),
                        NationalIdError::Invalid(why) => {
                            format!("PID is not a valid fødselsnummer or D-number: {why}.")
                        }
                    };
                    errors.push((ErrorCode::of_domain(e.code()), "PID", msg));
                    None
                }
            },
        };

        let format_id = text(&mut errors, "FormatId").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if format_id.as_ref().is_some_and(|f| f.chars().count() > 500) {
            errors.push((ErrorCode::InvalidInput, "FormatId", "FormatId is too long.".into()));
        }

        let ts = text(&mut errors, "MessageTimestamp");
        let message_timestamp = match ts.as_deref().map(str::trim) {
            None if errors.iter().any(|e| e.1 == "MessageTimestamp") => None,
            None | Some("") => {
                required(&mut errors, "MessageTimestamp", ErrorCode::InvalidInput);
                None
            }
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(d) => Some(d.with_timezone(&Utc)),
                Err(_) => {
                    errors.push((
                        ErrorCode::InvalidInput,
                        "MessageTimestamp",
                        "MessageTimestamp must be an RFC 3339 date and time with a zone.".into(),
                    ));
                    None
                }
            },
        };

        let name_part = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str| {
            let v = text(errors, field);
            match v {
                None if errors.iter().any(|e| e.1 == field) => None,
                None => {
                    required(errors, field, ErrorCode::NameRequired);
                    None
                }
                Some(s) => match PersonName::parse(&s) {
                    Ok(n) => Some(n),
                    Err(e) => {
                        errors.push((ErrorCode::of_domain(e.code()), field, format!("{field}: {e}.")));
                        None
                    }
                },
            }
        };
        let first = name_part(&mut errors, "Firstname");
        let last = name_part(&mut errors, "Lastname");
        let name = match (first, last) {
            (Some(f), Some(l)) => match PersonName::parse(&format!("{} {}", f.as_str(), l.as_str())) {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push((ErrorCode::NameTooLong, "Lastname", "Firstname and Lastname together are too long.".into()));
                    None
                }
            },
            _ => None,
        };

        let email = match text(&mut errors, "Email").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => match Email::parse(e) {
                Ok(e) => Some(e),
                Err(_) => {
                    errors.push((ErrorCode::InvalidEmailFormat, "Email", "Email is not a valid e-mail address.".into()));
                    None
                }
            },
        };

        let phone_text = text(&mut errors, "PhoneNumber");
        let phone = match phone_text.as_deref().map(str::trim) {
            None if errors.iter().any(|e| e.1 == "PhoneNumber") => None,
            None | Some("") => {
                required(&mut errors, "PhoneNumber", ErrorCode::PhoneRequired);
                None
            }
            Some(p) if !p.starts_with('+') => {
                errors.push((
                    ErrorCode::InvalidPhoneFormat,
                    "PhoneNumber",
                    "PhoneNumber must be in E.164 form (+ and country code).".into(),
                ));
                None
            }
            Some(p) => match Phone::parse(p, "47") {
                Ok(ph) => Some(ph),
                Err(_) => {
                    errors.push((
                        ErrorCode::InvalidPhoneFormat,
                        "PhoneNumber",
                        "PhoneNumber is not a valid phone number.".into(),
                    ));
                    None
                }
            },
        };

        if let Some((code, field, message)) = errors.first().cloned() {
            let all: Vec<Value> =
                errors.iter().map(|(c, f, m)| serde_json::json!({"field": f, "code": c.as_str(), "message": m})).collect();
            return Err(Error::field(code, field, message).with_details(serde_json::json!({ "fields": all })));
        }
        let extra: Map<String, Value> = obj.into_iter().filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str())).collect();
        Ok(PridokReferral {
            journal_guid: journal_guid.expect("checked"),
            national_id: national_id.expect("checked"),
            format_id,
            message_timestamp: message_timestamp.expect("checked"),
            name: name.expect("checked"),
            email,
            phone: phone.expect("checked"),
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_kept() {
        let nid = NationalId::synthetic(chrono::NaiveDate::from_ymd_opt(1969, 11, 13).unwrap(), 2).unwrap();
        let body = serde_json::json!({
            "JournalGuid": "240b54a7-8c2a-4c3c-80a4-0bc63e2c9493", "PID": nid.as_str(),
            "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
            "MessageTimestamp": "2022-11-08T22:51:10.1127156Z", "Firstname": "Line", "Lastname": "Danser",
            "PhoneNumber": "+4712345678", "Priority": 3
        });
        let r = PridokReferral::parse(body.to_string().as_bytes(), true).unwrap();
        assert_eq!(r.extra.get("Priority"), Some(&Value::from(3)));
        assert_eq!(r.name.as_str(), "Line Danser");
        assert!(r.email.is_none());
        let e = PridokReferral::parse(body.to_string().as_bytes(), false).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::SyntheticNationalIdNotAllowed, Some("PID")));
    }
}
