//! Request extractors whose failures answer in the API's error shape (`docs/errors.md`): the JSON body, and the
//! authenticated caller: a staff member (bearer API token, [`Caller`]) or a patient (bearer Clerk
//! session token, [`PatientCaller`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use digimed_core::api_tokens::{self, TokenIdentity};
use digimed_core::{patient_app, Acting, ClinicTx, Error, ErrorCode};

use crate::{ApiError, AppState};

/// A JSON object body. Bad JSON, a wrong content type or an oversized body get a JSON error.
pub struct JsonObject(pub serde_json::Map<String, serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(serde_json::Value::Object(map))) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError(Error::new(ErrorCode::InvalidJson, "The request body must be a JSON object."))),
            Err(rejection) => Err(ApiError(json_rejection(&rejection))),
        }
    }
}

impl JsonObject {
    /// Refuses a body with a field the endpoint does not take, so a misspelt field (say
    /// `phone_number`) is not silently ignored. The message names the field only when it looks
    /// like a field name, never repeating arbitrary text a caller sent.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => {
                let nameable = !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                let message = if nameable {
                    format!("{k} is not a field of this request (it takes {}).", known.join(", "))
                } else {
                    format!("The body has a field this request does not take (it takes {}).", known.join(", "))
                };
                let field = if nameable { k.as_str() } else { "body" };
                Err(ApiError(Error::field(ErrorCode::InvalidInput, field, message)))
            }
        }
    }
}

/// Whether a request says its body is JSON (`application/json`, or a `+json` type).
pub fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(r: &JsonRejection) -> Error {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            Error::new(ErrorCode::InvalidJson, "The request must have Content-Type: application/json.")
        }
        _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
        }
        JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
            Error::new(ErrorCode::InvalidJson, "The request body is not valid JSON.")
        }
        _ => Error::new(ErrorCode::InvalidJson, "The request body could not be read."),
    }
}

/// Reads an optional string field: missing or null is `None`; another type is an error naming
/// the field.
pub fn opt_string(map: &serde_json::Map<String, serde_json::Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError(Error::field(ErrorCode::InvalidInput, field, format!("{field} must be a string.")))),
    }
}

/// Reads an optional integer field (a JSON number without a fraction).
pub fn opt_int(map: &serde_json::Map<String, serde_json::Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match map.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(_) => Err(ApiError(Error::field(ErrorCode::InvalidInput, field, format!("{field} must be an integer id.")))),
    }
}

/// The staff member a request is authenticated as, and how to act for them.
pub struct Caller {
    pub identity: TokenIdentity,
    pub acting: Acting,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError(Error::new(ErrorCode::Unauthorized, "A valid API token is required (Authorization: Bearer <token>)."))
        })?;
        let mut tx = ClinicTx::begin(&state.pool).await?;
        let identity = api_tokens::authenticate(&mut tx, token).await?;
        tx.commit().await?;
        let acting = Acting::Staff { login: identity.login.clone(), acting_for: format!("api-token:{}", identity.token_id) };
        Ok(Caller { identity, acting })
    }
}

/// The patient a request is authenticated as (a Clerk session token), and how to act for them:
/// the service as itself, with the database narrowed to the person's own rows. A staff API
/// token, an expired or foreign token, or one for another application is refused with 401.
pub struct PatientCaller {
    /// `patient_persons.id`.
    pub person_id: i32,
    pub acting: Acting,
}

impl FromRequestParts<AppState> for PatientCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let verifier = state.patient_sessions.as_ref().ok_or_else(|| {
            ApiError(Error::new(
                ErrorCode::Configuration,
                "Patient sign-in is not configured on this service (CLERK_ISSUER and a key).",
            ))
        })?;
        let token = bearer(parts).ok_or_else(|| {
            ApiError(Error::new(
                ErrorCode::Unauthorized,
                "A patient's session token is required (Authorization: Bearer <session token>).",
            ))
        })?;
        let claims = verifier.verify(token).await.map_err(|e| {
            if e.is_caller_fault() {
                ApiError(Error::new(ErrorCode::Unauthorized, format!("The session token was refused: {e}.")))
            } else if matches!(e, digimed_clerk::SessionError::KeysUnavailable) {
                ApiError(
                    Error::new(ErrorCode::ClerkApiError, "The keys to check the session token could not be fetched; try again.")
                        .retryable(),
                )
            } else {
                ApiError(Error::new(ErrorCode::Configuration, "Patient sign-in is misconfigured on this service."))
            }
        })?;
        let mut tx = ClinicTx::begin(&state.pool).await?;
        let person = patient_app::person_for_clerk_user(&mut tx, &claims.sub).await?;
        tx.commit().await?;
        let person_id = person.ok_or_else(|| {
            ApiError(Error::new(ErrorCode::Forbidden, "This account is not linked to a patient of the clinic."))
        })?;
        Ok(PatientCaller { person_id, acting: Acting::Patient { person_id, acting_for: format!("patient:{person_id}") } })
    }
}
