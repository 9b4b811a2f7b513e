//! `POST /v1/webhooks/pridok`: a partner's referral (`docs/referrals.md`), signed with the Standard
//! Webhooks scheme. The signature identifies the partner (optionally narrowed with
//! `?partner=NAME`); the core does everything else (`referrals::receive`).
//!
//! Answers: 201 with `{"referral_id", "consultation_id", "patient_person_id", "status"}` for a new
//! referral (`consultation_id` null and `status` `awaiting_screening` until the clinic books it;
//! booked at once for a partner that books on arrival), 200 with the referral's receipt as it
//! stands for a replay, 401 for a missing, wrong or stale signature, 400 for a
//! correctly signed body that is not JSON (or not sent as `application/json`), and 422 naming the
//! field for invalid content (nothing is written then). Fields the contract does not name are kept
//! with the stored payload.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::referrals::{Partner, ReferralReceipt};
use digimed_core::webhook_signature::{SignedHeaders, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use digimed_core::{referrals, Acting, ClinicTx};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::signed_answer;
use crate::openapi::{PartnerReferralBody, SignedErrors};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// `?partner=NAME` on the routes partners sign.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PartnerQuery {
    /// The partner's name, when the signature should be checked against that partner only.
    partner: Option<String>,
}

/// The partner whose Standard Webhooks signature a request carries, checked against the one
/// partner `?partner=` names, if it names one (`referrals::authenticate`).
pub(crate) async fn signing_partner(
    state: &AppState,
    q: &PartnerQuery,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Partner, digimed_core::Error> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed =
        SignedHeaders { id: header(HEADER_ID), timestamp: header(HEADER_TIMESTAMP), signature: header(HEADER_SIGNATURE) };
    ClinicTx::run(&state.pool, async |tx| {
        referrals::authenticate(tx, &state.vault, q.partner.as_deref(), &signed, body, chrono::Utc::now()).await
    })
    .await
}

/// A partner's referral: the patient is registered and the referral waits in the screening list
/// (or is booked at once, for a partner that books on arrival).
#[utoipa::path(post, path = "/v1/webhooks/pridok", operation_id = "receive_partner_referral", tag = "entry points", request_body = PartnerReferralBody, params(PartnerQuery),
    responses(
        (status = 201, description = "The referral was received.", body = ReferralReceipt),
        (status = 200, description = "A replay of the JournalGuid: the receipt as it stands; nothing was written.", body = ReferralReceipt),
        SignedErrors,
    ),
    security(("partner_signature" = [])))]
async fn receive(State(state): State<AppState>, Query(q): Query<PartnerQuery>, headers: HeaderMap, body: Bytes) -> Response {
    // Signatures cover the body as text: a body that is not UTF-8 is no referral, whoever sent it.
    if std::str::from_utf8(&body).is_err() {
        return signed_answer(digimed_core::Error::new(digimed_core::ErrorCode::InvalidJson, "The body must be UTF-8 JSON."));
    }
    let partner = match signing_partner(&state, &q, &headers, &body).await {
        Ok(p) => p,
        Err(e) => return signed_answer(e),
    };
    if !crate::extract::has_json_content_type(&headers) {
        return signed_answer(digimed_core::Error::new(
            digimed_core::ErrorCode::InvalidJson,
            "The request must have Content-Type: application/json.",
        ));
    }
    let received = async {
        let acting = Acting::Party { acting_for: format!("partner:{}", partner.id) };
        let mut tx = ClinicTx::begin_acting(&state.pool, &acting).await?;
        let intake = referrals::receive(&mut tx, &state.vault, &partner, &body).await?;
        tx.commit().await?;
        Ok::<_, digimed_core::Error>(intake)
    };
    match received.await {
        Ok(intake) => {
            let status = if intake.is_new() { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(intake.receipt())).into_response()
        }
        Err(e) => signed_answer(e),
    }
}
