//! `POST /v1/webhooks/callrail`: CallRail's post-call webhook (`docs/http-api.md`), a cold call
//! to the clinic. CallRail signs the raw body with the company's signing key (`Signature`: base64
//! of HMAC-SHA1); the core records the call and, for a call long enough to be a conversation,
//! files the caller as a lead (`cold_calls::receive_call`).
//!
//! Answers: 201 with `{"data": {"call_id", "duration_seconds", "patient_person_id",
//! "person_created"}}` for a call recorded now, 200 with the same for a call recorded already
//! (nothing is written), 401 for a missing or wrong signature, 422 naming the field for a body
//! that is not a post-call report, `configuration` (500) while CallRail is not configured.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::cold_calls::{self, CallReceipt, TrackedCall};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::machine_answer;
use crate::openapi::{CallRailCall, Data, SignedErrors};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// CallRail's post-call webhook: the call is recorded and, for a call of 60 seconds or more, the
/// caller is filed as a lead (found again by phone on a repeat call).
#[utoipa::path(post, path = "/v1/webhooks/callrail", operation_id = "receive_callrail_call", tag = "entry points", request_body = CallRailCall,
    responses(
        (status = 201, description = "The call was recorded.", body = Data<CallReceipt>),
        (status = 200, description = "The call had been recorded already; nothing was written.", body = Data<CallReceipt>),
        SignedErrors,
    ),
    security(("callrail_signature" = [])))]
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(callrail) = state.callrail.clone() else {
        return machine_answer(Error::new(
            ErrorCode::Configuration,
            "CALLRAIL_SIGNING_KEY and DIGIMED_CALLRAIL_ORGANIZATION are not both set on this service.",
        ));
    };
    let signature = headers.get(cold_calls::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if let Err(e) = callrail.key.verify(signature, &body) {
        return machine_answer(e);
    }
    let call = match TrackedCall::parse(&body) {
        Ok(c) => c,
        Err(e) => return machine_answer(e),
    };
    let task = tokio::spawn(async move {
        let tx = ClinicTx::begin_acting(&state.pool, &Acting::Party { acting_for: "callrail-webhook".into() }).await?;
        cold_calls::receive_call(tx, &state.vault, &state.accounts, callrail.organization_id, &call, &state.phone_country).await
    });
    match task.await {
        Ok(Ok(receipt)) => {
            let status = if receipt.new { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(serde_json::json!({ "data": receipt }))).into_response()
        }
        Ok(Err(e)) => machine_answer(e),
        Err(_) => machine_answer(Error::internal("The call could not be recorded.")),
    }
}
