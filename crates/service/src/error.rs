//! Errors as HTTP answers, in the seed's shape: `{"error": {"code", "message", "details"?}}`.
//! The mapping from error code to HTTP status lives here and nowhere else.

use axum::http::{HeaderValue, StatusCode};
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
        NameRequired | NameTooLong | InvalidName | EmailRequired | InvalidEmailFormat | PhoneRequired
        | InvalidPhoneFormat | NationalIdRequired | InvalidNationalId | SyntheticNationalIdNotAllowed | InvalidInput
        | OrganizationIdRequired | PatientPersonIdRequired | InvalidJson | WeakPassword | UnknownRole => {
            StatusCode::BAD_REQUEST
        }
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        PatientAlreadyExists | AlreadyExists | FormsUnsigned | FormTemplateChanged => StatusCode::CONFLICT,
        InvalidStateTransition => StatusCode::UNPROCESSABLE_ENTITY,
        ClerkApiError => StatusCode::BAD_GATEWAY,
        DatabaseUnavailable | KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Configuration | Internal => StatusCode::INTERNAL_SERVER_ERROR,
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
