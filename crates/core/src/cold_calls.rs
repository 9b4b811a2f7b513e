//! A new patient calls the clinic (`docs/entry-points.md`, entry point `cold_call`). The clinic's
//! call tracking (CallRail) reports every call once it has ended, signed with the company's
//! signing key. Each call is recorded once, by the tracker's call id, with the caller's number
//! kept only as its blind index. A call of [`LEAD_MIN_SECONDS`] or more makes the caller a lead:
//! the person with that phone number (found by its blind index) is linked to the clinic, or, when
//! nobody has it, registered through the one intake path (`intake::register`). A shorter call
//! names nobody. A call reported again changes nothing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use digimed_domain::{PersonName, Phone};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha1::Sha1;

use crate::accounts::Accounts;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::intake::{self, IntakeInput, Registered};
use crate::keys::{index_kind, Vault};
use crate::onboarding::ensure_may_add_patients;
use crate::patients::{link_patient, EntryPoint};

/// The shortest call, in seconds, that makes its caller a lead (the database holds the same
/// bound, `tracked_calls_lead_needs_a_conversation`).
pub const LEAD_MIN_SECONDS: i32 = 60;

/// The header CallRail signs its webhooks in.
pub const SIGNATURE_HEADER: &str = "signature";

/// The name a lead gets when the call tracking knows no usable name for the caller.
pub const UNKNOWN_CALLER: &str = "Unknown caller";

/// The company's webhook signing key, as CallRail shows it. `Debug` never shows it.
#[derive(Clone)]
pub struct CallRailKey(Vec<u8>);

impl std::fmt::Debug for CallRailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallRailKey([redacted])")
    }
}

impl CallRailKey {
    /// The key as configured; blank is refused.
    pub fn new(key: &str) -> Result<CallRailKey> {
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::field(ErrorCode::Configuration, "CALLRAIL_SIGNING_KEY", "CALLRAIL_SIGNING_KEY is blank."));
        }
        Ok(CallRailKey(key.as_bytes().to_vec()))
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha1> {
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(body);
        mac
    }

    /// The `Signature` header CallRail sends with `body`: base64 of HMAC-SHA1 of the raw body.
    pub fn sign(&self, body: &[u8]) -> String {
        B64.encode(self.mac(body).finalize().into_bytes())
    }

    /// Checks the `Signature` header of a request against its raw body, in constant time.
    /// A missing or wrong signature is `unauthorized`, naming the header.
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> Result<()> {
        let refused = |message: &str| Error::field(ErrorCode::Unauthorized, "Signature", message);
        let signature =
            signature.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| refused("The Signature header is missing."))?;
        let given = B64.decode(signature).map_err(|_| refused("The Signature header does not match."))?;
        self.mac(body).verify_slice(&given).map_err(|_| refused("The Signature header does not match."))
    }
}

/// A call as the post-call webhook reports it, parsed. The caller's number is checked when the
/// call is received (it needs the clinic's default country code).
#[derive(Debug, Clone)]
pub struct TrackedCall {
    /// The tracker's id of the call (`resource_id`, or `id`).
    pub call_id: String,
    pub customer_phone_number: String,
    pub customer_name: Option<String>,
    pub duration_seconds: i32,
    pub answered: Option<bool>,
    pub started_at: Option<DateTime<Utc>>,
}

impl TrackedCall {
    /// Parses the webhook's JSON body. Fields it does not use are ignored (the tracker sends
    /// many); an error names the field.
    pub fn parse(body: &[u8]) -> Result<TrackedCall> {
        let obj = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err(Error::new(ErrorCode::InvalidJson, "The body must be a JSON object.")),
        };
        let string = |field: &str| -> Result<Option<String>> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(_) => Err(Error::invalid(field, format!("{field} must be a string."))),
            }
        };
        let call_id = match obj.get("resource_id") {
            Some(Value::String(_)) => string("resource_id")?,
            None | Some(Value::Null) => match obj.get("id") {
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => string("id")?,
            },
            Some(_) => return Err(Error::invalid("resource_id", "resource_id must be a string.")),
        }
        .ok_or_else(|| Error::invalid("resource_id", "resource_id (the call's id) is required."))?;
        if call_id.chars().count() > 100 || call_id.chars().any(char::is_control) {
            return Err(Error::invalid("resource_id", "resource_id is not a call id."));
        }
        let customer_phone_number = string("customer_phone_number")?
            .ok_or_else(|| Error::invalid("customer_phone_number", "customer_phone_number is required."))?;
        let duration = match obj.get("duration") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            None | Some(Value::Null) => {
                return Err(Error::invalid("duration", "duration (the call's length in seconds) is required."))
            }
            Some(_) => None,
        };
        let duration_seconds = duration
            .filter(|d| d.is_finite() && *d >= 0.0 && *d <= f64::from(i32::MAX))
            .map(|d| d.floor() as i32)
            .ok_or_else(|| Error::invalid("duration", "duration must be a number of seconds."))?;
        let answered = match obj.get("answered") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(Error::invalid("answered", "answered must be true or false.")),
        };
        let started_at = match string("start_time")? {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| Error::invalid("start_time", "start_time must be a time (ISO 8601 with its offset)."))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(TrackedCall {
            call_id,
            customer_phone_number,
            customer_name: string("customer_name")?,
            duration_seconds,
            answered,
            started_at,
        })
    }
}

/// What became of a reported call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallReceipt {
    pub call_id: String,
    pub duration_seconds: i32,
    /// The lead the call made (a call of [`LEAD_MIN_SECONDS`] or more); `None` for a shorter one.
    pub patient_person_id: Option<i32>,
    /// True when this call registered a new person.
    pub person_created: bool,
    /// False when the call had been recorded already, and nothing was written.
    #[serde(skip)]
    pub new: bool,
}

/// Records a call reported by the call tracking for the clinic `organization_id`, and for a call
/// of [`LEAD_MIN_SECONDS`] or more files its caller as a lead of the clinic: the person with that
/// phone number (the one registered first, when several have it) is linked, or a new person is
/// registered with [`intake::register_then`] (entry point `cold_call`, named as the tracker names
/// the caller, else [`UNKNOWN_CALLER`]). Everything in this transaction, which it commits. A call
/// id recorded already writes nothing and answers what that call did.
pub async fn receive_call(
    mut tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    organization_id: i32,
    call: &TrackedCall,
    default_phone_country: &str,
) -> Result<CallReceipt> {
    tx.require(Capability::ReceiveCalls)?;
    let phone = Phone::parse(&call.customer_phone_number, default_phone_country)
        .map_err(|e| Error::refused("customer_phone_number", e.code(), e))?;
    let phone_index = vault.blind_index(index_kind::PHONE, phone.as_str());
    // Deliveries of one call take turns here, and the clinic must be one.
    ensure_may_add_patients(&mut tx, Capability::RegisterPatient, organization_id, &format!("digimed:call:{}", call.call_id))
        .await?;
    let recorded = sqlx::query!("SELECT duration_seconds, patient_person_id FROM tracked_calls WHERE call_id = $1", call.call_id)
        .fetch_optional(tx.conn())
        .await?;
    if let Some(r) = recorded {
        tx.commit().await?;
        return Ok(CallReceipt {
            call_id: call.call_id.clone(),
            duration_seconds: r.duration_seconds,
            patient_person_id: r.patient_person_id,
            person_created: false,
            new: false,
        });
    }
    let receipt = |person: Option<i32>, created: bool| CallReceipt {
        call_id: call.call_id.clone(),
        duration_seconds: call.duration_seconds,
        patient_person_id: person,
        person_created: created,
        new: true,
    };
    if call.duration_seconds < LEAD_MIN_SECONDS {
        record(&mut tx, organization_id, call, &phone_index, None).await?;
        tx.commit().await?;
        return Ok(receipt(None, false));
    }
    // Calls from one number take turns, so two calls at once make one lead.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("digimed:person:phone:{}", hex::encode(&phone_index)),
    )
    .execute(tx.conn())
    .await?;
    let known = sqlx::query!(
        r#"SELECT m.patient_person_id AS "person_id!", l.existing_patient_id
             FROM patient_match_candidates(NULL, NULL, $1, NULL, NULL) m,
                  LATERAL person_for_linking(m.patient_person_id, $2) l
            ORDER BY m.patient_person_id
            LIMIT 1"#,
        &phone_index,
        organization_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    match known {
        Some(k) => {
            if k.existing_patient_id.is_none() {
                link_patient(&mut tx, k.person_id, organization_id, EntryPoint::ColdCall, false).await?;
            }
            record(&mut tx, organization_id, call, &phone_index, Some(k.person_id)).await?;
            tx.commit().await?;
            Ok(receipt(Some(k.person_id), false))
        }
        None => {
            let name = call
                .customer_name
                .as_deref()
                .and_then(|n| PersonName::parse(n).ok())
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|| UNKNOWN_CALLER.to_string());
            let input = IntakeInput {
                name: Some(name),
                phone: Some(phone.as_str().to_string()),
                organization_id: Some(i64::from(organization_id)),
                ..IntakeInput::default()
            };
            let (registered, ()) = intake::register_then(
                tx,
                vault,
                accounts,
                EntryPoint::ColdCall,
                &input,
                default_phone_country,
                async |tx: &mut ClinicTx, r: &Registered| {
                    record(tx, organization_id, call, &phone_index, Some(r.patient_person_id)).await
                },
            )
            .await?;
            Ok(receipt(Some(registered.patient_person_id), registered.person_created))
        }
    }
}

async fn record(
    tx: &mut ClinicTx,
    organization_id: i32,
    call: &TrackedCall,
    phone_index: &[u8],
    person: Option<i32>,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO tracked_calls (call_id, organization_id, phone_index, duration_seconds, answered, started_at, patient_person_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        call.call_id,
        organization_id,
        phone_index,
        call.duration_seconds,
        call.answered,
        call.started_at,
        person,
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_base64_of_hmac_sha1_of_the_body() {
        let key = CallRailKey::new("key").unwrap();
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") = de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9
        let body = b"The quick brown fox jumps over the lazy dog";
        let expected = B64.encode(hex::decode("de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9").unwrap());
        assert_eq!(key.sign(body), expected);
        assert!(key.verify(Some(&expected), body).is_ok());
        assert!(key.verify(Some(&expected), b"another body").is_err());
        assert!(key.verify(None, body).is_err());
        assert!(key.verify(Some("not base64!"), body).is_err());
    }

    #[test]
    fn a_post_call_body_parses_and_errors_name_their_field() {
        let call = TrackedCall::parse(
            br#"{"resource_id":"CAL1","customer_phone_number":"+4791234567","duration":"75","answered":true,
                 "start_time":"2026-12-01T10:00:00.000-05:00","customer_name":"Kari Nordmann","tags":[]}"#,
        )
        .unwrap();
        assert_eq!((call.call_id.as_str(), call.duration_seconds, call.answered), ("CAL1", 75, Some(true)));
        let by_id = TrackedCall::parse(br#"{"id":123,"customer_phone_number":"+4791234567","duration":5}"#).unwrap();
        assert_eq!(by_id.call_id, "123");
        for (body, field) in [
            (&br#"{"customer_phone_number":"+4791234567","duration":5}"#[..], "resource_id"),
            (br#"{"resource_id":"C","duration":5}"#, "customer_phone_number"),
            (br#"{"resource_id":"C","customer_phone_number":"+4791234567"}"#, "duration"),
            (br#"{"resource_id":"C","customer_phone_number":"+4791234567","duration":-1}"#, "duration"),
            (br#"{"resource_id":"C","customer_phone_number":"+4791234567","duration":5,"answered":"yes"}"#, "answered"),
            (br#"{"resource_id":"C","customer_phone_number":"+4791234567","duration":5,"start_time":"x"}"#, "start_time"),
        ] {
            assert_eq!(TrackedCall::parse(body).unwrap_err().field.as_deref(), Some(field));
        }
    }
}
