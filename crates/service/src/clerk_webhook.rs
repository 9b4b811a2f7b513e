//! `POST /v1/webhooks/clerk`: Clerk's `user.created` event, signed by Svix as Clerk documents
//! (`svix-id`, `svix-timestamp`, `svix-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, several space-separated; the secret `whsec_<base64>` from
//! `CLERK_WEBHOOK_SIGNING_SECRET`; five minutes of tolerance). Registers the new account's patient
//! through the one intake path (`docs/patient-api.md`). A bad signature is 401, a malformed
//! body 422 naming the field; nothing is written on any refusal. Other event types are
//! acknowledged and ignored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::patient_app::{self, AppAccount, ClerkUserCreated};
use digimed_core::webhook_signature::{self, SignatureError, SignedHeaders};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::signed_answer;
use crate::openapi::{ClerkEvent, Data, SignedErrors};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

fn refused(e: SignatureError) -> Error {
    let (field, message) = match e {
        SignatureError::MissingHeader(h) => {
            let svix = h.replace("webhook-", "svix-");
            (svix.clone(), format!("The {svix} header is missing."))
        }
        SignatureError::InvalidTimestamp => {
            ("svix-timestamp".into(), "The svix-timestamp header is not a Unix time in seconds.".into())
        }
        SignatureError::TimestampOutOfTolerance => {
            ("svix-timestamp".into(), "The svix-timestamp is more than 5 minutes away from the server's clock.".into())
        }
        SignatureError::NoMatchingSignature => ("svix-signature".into(), "The svix-signature does not match.".into()),
    };
    Error::field(ErrorCode::Unauthorized, &field, message)
}

/// Clerk's `user.created`: the new patient app account's patient is registered, or linked to the
/// person they already are.
#[utoipa::path(post, path = "/v1/webhooks/clerk", operation_id = "receive_clerk_event", tag = "entry points", request_body = ClerkEvent,
    responses(
        (status = 201, description = "The account's patient was registered.", body = Data<AppAccount>),
        (status = 200, description = "The account was known already (or the event is of another type: `{\"data\": {\"ignored\": true}}`); nothing was written.", body = Data<AppAccount>),
        SignedErrors,
    ),
    security(("clerk_webhook_signature" = [])))]
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = state.clerk_webhook_key.as_ref() else {
        return signed_answer(Error::new(ErrorCode::Configuration, "CLERK_WEBHOOK_SIGNING_SECRET is not set on this service."));
    };
    if std::str::from_utf8(&body).is_err() {
        return signed_answer(Error::new(ErrorCode::InvalidJson, "The body must be UTF-8 JSON."));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed =
        SignedHeaders { id: header("svix-id"), timestamp: header("svix-timestamp"), signature: header("svix-signature") };
    if let Err(e) = webhook_signature::verify(key, &signed, &body) {
        return signed_answer(refused(e));
    }
    let user = match ClerkUserCreated::parse(&body) {
        Ok(Some(user)) => user,
        Ok(None) => return (StatusCode::OK, Json(serde_json::json!({"data": {"ignored": true}}))).into_response(),
        Err(e) => return signed_answer(e),
    };
    let registered = async {
        let tx = ClinicTx::begin_acting(&state.pool, &Acting::Party { acting_for: "clerk-webhook".into() }).await?;
        patient_app::account_created(
            tx,
            &state.vault,
            &state.accounts,
            state.booking_partner.as_deref(),
            &user,
            &state.phone_country,
        )
        .await
    };
    match registered.await {
        Ok(account) => {
            let status = if account.created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(serde_json::json!({ "data": account }))).into_response()
        }
        Err(e) => signed_answer(e),
    }
}
