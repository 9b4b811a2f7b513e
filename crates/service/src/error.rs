//! Errors as HTTP answers, in the API's shape (`docs/errors.md`): `{"error": {"code", "message", "details"?}}`.
//! The mapping from error code to HTTP status lives here and nowhere else.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::{Error, ErrorCode};

/// A core error on its way out as an HTTP answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The one mapping from error code to HTTP status.
pub fn status_for(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        NameRequired
        | NameTooLong
        | InvalidName
        | EmailRequired
        | InvalidEmailFormat
        | PhoneRequired
        | InvalidPhoneFormat
        | NationalIdRequired
        | InvalidNationalId
        | SyntheticNationalIdNotAllowed
        | InvalidInput
        | OrganizationIdRequired
        | PatientPersonIdRequired
        | InvalidJson
        | WeakPassword
        | WrongPassphrase
        | BundleTampered
        | UnknownRole => StatusCode::BAD_REQUEST,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden | ClinicalKeysUnavailable => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        PatientAlreadyExists | AlreadyExists | FormsUnsigned | FormTemplateChanged | EnrollmentUsed | EnrollmentRevoked => {
            StatusCode::CONFLICT
        }
        InvalidStateTransition => StatusCode::UNPROCESSABLE_ENTITY,
        ClerkApiError | FaxMediaUnavailable => StatusCode::BAD_GATEWAY,
        DatabaseUnavailable | KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Configuration
        | InsecureDatabaseConnection
        | DatabaseTlsUnavailable
        | UntrustedDatabaseCertificate
        | DatabaseCertificateNameMismatch
        | Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_for(e.code);
        if status.is_server_error() {
            tracing::warn!(code = e.code.as_str(), status = status.as_u16(), "request failed");
        }
        let mut body = serde_json::json!({"code": e.code.as_str(), "message": e.message});
        if let Some(details) = e.details {
            body["details"] = details;
        }
        let mut resp = (status, Json(serde_json::json!({"error": body}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        if e.retryable {
            resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        }
        resp
    }
}

/// The one place where answers the framework writes on its own (an unsupported method, a body
/// over the limit read as raw bytes, a query string that does not parse, ...) are given the
/// API's error shape: every error answer that is not JSON already is rewritten here, keeping
/// its status (and `Allow`, for 405). Installed on the whole router by [`crate::router`].
pub async fn framework_errors_as_json(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This endpoint does not answer this HTTP method."),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge.as_str(), "The request body is too large."),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound.as_str(), "This endpoint was not found"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::InvalidJson.as_str(), "The request must have Content-Type: application/json.")
        }
        s if s.is_client_error() => (ErrorCode::InvalidInput.as_str(), "The request could not be read."),
        _ => (ErrorCode::Internal.as_str(), "The request could not be completed."),
    };
    if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), "request failed");
    }
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    let mut out = (status, Json(body)).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = resp.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The answer to a machine sender (a partner's system, a webhook): an error that names a field and
/// would be 400 is 422, and says the field in `details` (`{"field": ...}`) unless it carries
/// details of its own; a 401 names no bearer scheme, since these callers sign their requests.
pub fn machine_answer(e: Error) -> Response {
    let field = e.field.clone();
    let e = match (&field, &e.details) {
        (Some(f), None) => e.with_details(serde_json::json!({ "field": f })),
        _ => e,
    };
    signed_answer(e)
}

/// The answer to a sender that signs its requests, the error as it is: an error that names a
/// field and would be 400 is 422, and a 401 names no bearer scheme. The partner webhook and
/// Clerk's answer this way (their errors carry the `details` their contracts name, or none);
/// the other machine senders get [`machine_answer`].
pub fn signed_answer(e: Error) -> Response {
    let named_field = e.field.is_some();
    let mut resp = ApiError(e).into_response();
    if resp.status() == StatusCode::BAD_REQUEST && named_field {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    if resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().remove("www-authenticate");
    }
    resp
}
