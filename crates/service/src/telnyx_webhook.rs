//! `POST /v1/webhooks/telnyx`: Telnyx Programmable Fax's webhook (`docs/fax-inbox.md`), a fax
//! received for the clinic. Telnyx signs `{telnyx-timestamp}|{raw body}` with the account's
//! Ed25519 key (`telnyx-signature-ed25519`, base64); the service checks it with the account's
//! public key, downloads the fax's PDF from the event's `media_url` and the core files it with a
//! draft patient (`faxes::receive`).
//!
//! Answers: 201 with `{"data": {"fax_id", "inbox_id", "patient_person_id"}}` for a fax filed now,
//! 200 with the same for a fax filed already (nothing is written), 200 with `{"data": {"ignored":
//! "<event type>"}}` for the provider's other fax events, 401 for a missing, stale or wrong
//! signature, 422 naming the field for a body that is not a fax event (or media that is not a
//! PDF), 502 `fax_media_unavailable` when the PDF cannot be downloaded, `configuration` (500)
//! while the fax provider is not configured.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::faxes::{self, FaxEvent, FaxReceipt};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::machine_answer;
use crate::openapi::{Data, SignedErrors, TelnyxFaxEvent};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// Telnyx's fax webhook: a received fax is filed with a draft patient in the clinic's fax inbox;
/// the provider's other fax events are acknowledged and ignored.
#[utoipa::path(post, path = "/v1/webhooks/telnyx", operation_id = "receive_telnyx_fax", tag = "entry points", request_body = TelnyxFaxEvent,
    responses(
        (status = 201, description = "The fax was filed with a draft patient.", body = Data<FaxReceipt>),
        (status = 200, description = "The fax had been filed already (nothing was written), or the event is not a received fax (`{\"data\": {\"ignored\": \"<event type>\"}}`).", body = Data<FaxReceipt>),
        SignedErrors,
    ),
    security(("telnyx_signature" = [])))]
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(fax) = state.fax.clone() else {
        return machine_answer(Error::new(
            ErrorCode::Configuration,
            "TELNYX_PUBLIC_KEY and DIGIMED_FAX_ORGANIZATION are not both set on this service.",
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) = fax.key.verify(header(faxes::SIGNATURE_HEADER), header(faxes::TIMESTAMP_HEADER), &body, chrono::Utc::now()) {
        return machine_answer(e);
    }
    let received = match FaxEvent::parse(&body) {
        Ok(FaxEvent::Received(r)) => r,
        Ok(FaxEvent::Other { event_type }) => {
            return (StatusCode::OK, Json(serde_json::json!({ "data": { "ignored": event_type } }))).into_response()
        }
        Err(e) => return machine_answer(e),
    };
    let task = tokio::spawn(async move {
        let tx = ClinicTx::begin_acting(&state.pool, &Acting::Party { acting_for: "telnyx-webhook".into() }).await?;
        let client = fax.client.clone();
        let media_url = received.media_url.clone();
        faxes::receive(tx, &state.vault, fax.organization_id, &received, &state.phone_country, async move || {
            faxes::download_pdf(&client, &media_url).await
        })
        .await
    });
    match task.await {
        Ok(Ok(receipt)) => {
            let status = if receipt.new { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(serde_json::json!({ "data": receipt }))).into_response()
        }
        Ok(Err(e)) => machine_answer(e),
        Err(_) => machine_answer(Error::internal("The fax could not be filed.")),
    }
}
