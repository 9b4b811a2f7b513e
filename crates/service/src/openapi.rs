//! The service's OpenAPI 3.1 document: served at `GET /openapi.json`, committed as
//! `docs/openapi.json` (a test fails while that copy is stale), printed by `digimed openapi`.
//!
//! Nothing here is written twice: every route is registered together with its description
//! ([`utoipa_axum::routes!`] in each module's `routes()`), answers are described by the core's own
//! types, and the error codes each error answer may carry are read from [`status_for`], the one
//! mapping from code to status. What is described here by hand is the request bodies, which the
//! handlers read field by field to name the field at fault.

// utoipa's derives spell out full paths in the code they generate.
#![allow(unused_qualifications)]

use std::collections::BTreeMap;

use axum::http::StatusCode;
use digimed_core::ErrorCode;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::status_for;

/// The document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Digimed API",
        description = "The HTTP service of Digimed Console (`digimed serve`): onboarding and consent forms for staff tools, \
the patient app's own routes, the entry points partners and providers call, and the public pages patients open from the \
clinic's links. Every error answer has the shape `{\"error\": {\"code\", \"message\", \"details\"?}}`; the table at the \
end lists every code with its status.",
        license(name = "Proprietary")
    ),
    components(schemas(ErrorAnswer, ErrorCode)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "patients", description = "Staff tools: onboarding, linking and the duplicate check (`docs/onboarding.md`)."),
        (name = "forms", description = "Staff tools: a patient's consent forms and consents (`docs/patient-api.md`)."),
        (name = "patient app", description = "The patient, signed in with a Clerk session token (`docs/patient-api.md`)."),
        (name = "entry points", description = "Partners' and providers' calls, signed by the sender (`docs/entry-points.md`)."),
        (name = "public pages", description = "HTML pages patients open from the clinic's links; the token in the path is the capability (`docs/public-pages.md`)."),
        (name = "service", description = "The service itself."),
    )
)]
pub struct ApiDoc;

/// The security schemes the routes name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: Option<&str>, description: &str| {
            let mut http = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description));
            if let Some(f) = format {
                http = http.bearer_format(f);
            }
            SecurityScheme::Http(http.build())
        };
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)))
        };
        components.add_security_scheme(
            "staff_token",
            bearer(
                None,
                "A staff member's API token (`digimed api-token create --staff EMAIL`); the service acts as that staff member.",
            ),
        );
        components.add_security_scheme(
            "patient_session",
            bearer(Some("JWT"), "A Clerk session token of the signed-in patient (RS256; checked against the instance's JWKS or CLERK_JWT_KEY, with exp, nbf and azp)."),
        );
        components.add_security_scheme(
            "partner_signature",
            header(
                "webhook-signature",
                "Standard Webhooks: `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` with the partner's secret, \
                 plus the headers webhook-id and webhook-timestamp (five minutes of tolerance).",
            ),
        );
        components.add_security_scheme(
            "clerk_webhook_signature",
            header(
                "svix-signature",
                "Clerk's webhooks, signed by Svix: `v1,<base64 HMAC-SHA256 of \"{svix-id}.{svix-timestamp}.{body}\">` with \
                 CLERK_WEBHOOK_SIGNING_SECRET, plus the headers svix-id and svix-timestamp.",
            ),
        );
        components.add_security_scheme(
            "telnyx_signature",
            header(
                "telnyx-signature-ed25519",
                "Telnyx: base64 of the Ed25519 signature of \"{telnyx-timestamp}|{body}\" with the account's key, checked \
                 with TELNYX_PUBLIC_KEY, plus the header telnyx-timestamp (five minutes of tolerance).",
            ),
        );
        components.add_security_scheme(
            "callrail_signature",
            header(
                "Signature",
                "CallRail's post-call webhook: base64 of HMAC-SHA1 of the raw body with the company's signing key.",
            ),
        );
    }
}

/// Completes the document once every route is in it.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ErrorCodes.modify(&mut doc);
    doc
}

/// Every error code, in the order the core declares them (read from the code's own schema).
pub fn error_codes() -> Vec<ErrorCode> {
    let RefOr::T(Schema::Object(object)) = ErrorCode::schema() else {
        return Vec::new();
    };
    object.enum_values.unwrap_or_default().into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect()
}

/// The codes an error answer with `status` may carry. Routes that machines call answer a field
/// error of the input class with 422 instead of 400, so 422 also takes the input codes. The
/// service never holds the clinical keys and no route touches a result, so no route answers
/// `clinical_keys_unavailable` (it keeps its status in the document's table).
fn codes_with(status: StatusCode, all: &[ErrorCode]) -> Vec<&'static str> {
    all.iter()
        .filter(|c| **c != ErrorCode::ClinicalKeysUnavailable)
        .filter(|c| {
            let s = status_for(**c);
            s == status || (status == StatusCode::UNPROCESSABLE_ENTITY && s == StatusCode::BAD_REQUEST)
        })
        .map(|c| c.as_str())
        .collect()
}

/// Writes into each error answer the codes it may carry, and into the document's description the
/// table of every code with its status.
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let all = error_codes();
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (status, answer) in op.responses.responses.iter_mut() {
                    let Some(status) = status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok()) else {
                        continue;
                    };
                    if !status.is_client_error() && !status.is_server_error() {
                        continue;
                    }
                    let codes = codes_with(status, &all);
                    if let RefOr::T(answer) = answer {
                        if !codes.is_empty() && !answer.description.contains("Codes:") {
                            let list = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
                            answer.description = format!("{} Codes: {list}.", answer.description);
                        }
                    }
                }
            }
        }
        let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
        for code in &all {
            by_status.entry(status_for(*code).as_u16()).or_default().push(code.as_str());
        }
        let mut table = String::from("\n\n| status | codes |\n|---|---|\n");
        for (status, codes) in by_status {
            let list = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            table.push_str(&format!("| {status} | {list} |\n"));
        }
        table.push_str("| 405 | `method_not_allowed` (a method the path does not take; the answer has `Allow`) |\n");
        let description = openapi.info.description.get_or_insert_with(String::new);
        description.push_str(&table);
    }
}

/// Every error answer (`docs/errors.md`).
#[derive(ToSchema)]
pub struct ErrorAnswer {
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// An error code (see `ErrorCode`), or `method_not_allowed`.
    pub code: String,
    /// A sentence a person can read. Never patient data or secrets.
    pub message: String,
    /// Machine-readable facts, when the error carries some (on signed routes, `field`: the field at fault).
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A successful answer: `{"data": ...}`.
#[derive(ToSchema)]
pub struct Data<T: ToSchema> {
    pub data: T,
}

/// The error answers of the routes a staff tool or the patient app calls with a bearer token.
#[derive(IntoResponses)]
pub enum CallerErrors {
    /// The request is not valid; the code and message name the problem.
    #[response(status = 400)]
    BadRequest(ErrorAnswer),
    /// No bearer token, or one that is not valid: a staff token that is unknown, expired, revoked
    /// or of a deactivated staff member; a session token that fails its checks.
    #[response(status = 401)]
    Unauthorized(ErrorAnswer),
    /// The staff member may not do this.
    #[response(status = 403)]
    Forbidden(ErrorAnswer),
    /// No such record visible to the caller.
    #[response(status = 404)]
    NotFound(ErrorAnswer),
    /// The request conflicts with what is recorded.
    #[response(status = 409)]
    Conflict(ErrorAnswer),
    /// A body over 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorAnswer),
    /// The request is not valid in the record's present state.
    #[response(status = 422)]
    Unprocessable(ErrorAnswer),
    /// Clerk refused or failed.
    #[response(status = 502)]
    BadGateway(ErrorAnswer),
    /// The database or the data keys are not available; try again (`Retry-After`).
    #[response(status = 503)]
    Unavailable(ErrorAnswer),
    /// The service is misconfigured or failed.
    #[response(status = 500)]
    Internal(ErrorAnswer),
}

/// The error answers of the routes machines call, signed by the sender.
#[derive(IntoResponses)]
pub enum SignedErrors {
    /// The body is not JSON, or not sent as `application/json`.
    #[response(status = 400)]
    BadRequest(ErrorAnswer),
    /// A missing, wrong or stale signature.
    #[response(status = 401)]
    Unauthorized(ErrorAnswer),
    /// The sender may not act for this clinic.
    #[response(status = 403)]
    Forbidden(ErrorAnswer),
    /// A body over 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorAnswer),
    /// The content is not valid; `details.field` names the field. Nothing was written.
    #[response(status = 422)]
    Unprocessable(ErrorAnswer),
    /// Clerk refused or failed.
    #[response(status = 502)]
    BadGateway(ErrorAnswer),
    /// The database or the data keys are not available; send again (`Retry-After`).
    #[response(status = 503)]
    Unavailable(ErrorAnswer),
    /// The route is not configured on this service, or the service failed.
    #[response(status = 500)]
    Internal(ErrorAnswer),
}

/// `POST /v1/patients/onboard` (`docs/onboarding.md`).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardRequest {
    /// 1–200 characters.
    pub name: String,
    /// The patient's e-mail address (their login in the patient app).
    pub email: String,
    /// Normalised to E.164; without `+`, the clinic's default country code is added.
    pub phone: String,
    /// The clinic.
    pub organization_id: i64,
}

/// `POST /v1/patients`: an existing person becomes a patient of the clinic.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub patient_person_id: i64,
    /// The clinic; the staff member's own when left out.
    pub organization_id: Option<i64>,
}

/// `POST /v1/patients/match`: facts to look for likely duplicates by. At least an e-mail, a
/// phone, a national id, or a name with a date of birth.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// An 11-digit Norwegian national id.
    pub national_id: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
}

/// The duplicate check's answer.
#[derive(ToSchema)]
pub struct Candidates {
    pub candidates: Vec<digimed_core::onboarding::MatchCandidate>,
}

/// Signing a form names the text that was shown.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// SHA-256 (hex) of the form's text, as `GET` of the form gave it.
    pub template_sha256: String,
}

/// Withdrawing a consent.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Why the consent is withdrawn.
    pub reason: String,
}

/// `POST /v1/booking-requests`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequestBody {
    /// The app's own id of the request: sent again, it changes nothing and answers the first receipt.
    pub request_id: uuid::Uuid,
    /// What the patient wants to be seen about.
    pub message: Option<String>,
}

/// `POST /v1/referrals/therapist` (`docs/entry-points.md`).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TherapistReferralBody {
    /// The referral's id in the therapist's system (at most 100 characters): sent again, it changes nothing.
    pub therapist_reference: String,
    pub therapist_name: String,
    pub therapist_organization: Option<String>,
    /// Why the therapist refers the patient (at most 2,000 characters; kept encrypted).
    pub reason: String,
    /// The clinic.
    pub organization_id: i64,
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub email: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
}

/// `POST /v1/webhooks/pridok`: a partner's referral (`docs/referrals.md`). Fields the contract
/// does not name are kept with the stored payload.
#[derive(ToSchema, Deserialize)]
#[allow(non_snake_case)]
pub struct PartnerReferralBody {
    /// The referral's id in the partner's system: sent again, it changes nothing.
    pub JournalGuid: uuid::Uuid,
    /// The patient's national id (11 digits).
    pub PID: String,
    pub FormatId: Option<String>,
    pub MessageTimestamp: chrono::DateTime<chrono::Utc>,
    pub Firstname: String,
    pub Lastname: String,
    pub Email: Option<String>,
    pub PhoneNumber: String,
}

/// Clerk's webhook event (`user.created` is acted on; other types are acknowledged and ignored).
#[derive(ToSchema, Deserialize)]
pub struct ClerkEvent {
    /// The event type, e.g. `user.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The user: `id`, `first_name`, `last_name`, `email_addresses` (`[{id, email_address}]`),
    /// `primary_email_address_id`, `phone_numbers` (`[{id, phone_number}]`), `primary_phone_number_id`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Telnyx's fax webhook body: `{"data": {"event_type", "id", "occurred_at", "payload": {...}}}`;
/// only `fax.received` is acted on.
#[derive(ToSchema, Deserialize)]
pub struct TelnyxFaxEvent {
    /// The event: `event_type` (`fax.received`), `id`, `occurred_at`, and `payload` with `fax_id`,
    /// `direction` (`inbound`), `from`, `to`, `media_url` (the PDF) and `page_count`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// CallRail's post-call webhook body (the fields read; the others are ignored).
#[derive(ToSchema, Deserialize)]
pub struct CallRailCall {
    /// The call's id (`id` is taken when there is none).
    pub resource_id: String,
    pub customer_phone_number: String,
    pub customer_name: Option<String>,
    /// The call's length in seconds; 60 or more files the caller as a lead.
    pub duration: f64,
    pub answered: Option<bool>,
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_listed_once_with_its_status() {
        let codes = error_codes();
        assert!(codes.contains(&ErrorCode::NameRequired) && codes.contains(&ErrorCode::Internal), "{codes:?}");
        let mut names: Vec<_> = codes.iter().map(|c| c.as_str()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "no code twice");
        let doc = crate::openapi();
        let description = doc.info.description.unwrap_or_default();
        for code in &codes {
            let row = description
                .lines()
                .find(|l| l.contains(&format!("`{}`", code.as_str())))
                .unwrap_or_else(|| panic!("{} is in the table", code.as_str()));
            assert!(row.starts_with(&format!("| {} |", status_for(*code).as_u16())), "{row}");
        }
    }
}
