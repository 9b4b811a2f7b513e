//! `POST /v1/referrals/therapist`: a therapist refers a patient (`docs/http-api.md`). The
//! therapist's system is a partner of the clinic and signs its requests with the partner's
//! Standard Webhooks secret, as on the partner webhook (optionally narrowed with `?partner=NAME`).
//! The core registers the patient and files the referral in one transaction
//! (`referrals::receive_from_therapist`).
//!
//! Answers: 201 with `{"data": {"referral_id", "consultation_id", "patient_person_id", "status"}}`
//! for a new referral, 200 with the same receipt as it stands for a replay of the therapist's
//! reference, 401 for a missing, wrong or stale signature, 403 for a clinic that is not the
//! partner's, 422 naming the field for invalid content (nothing is written then).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::referrals::{self, ReferralReceipt, TherapistReferral};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::machine_answer;
use crate::openapi::{Data, SignedErrors, TherapistReferralBody};
use crate::pridok::{signing_partner, PartnerQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// A therapist refers a patient: the patient is registered and the referral waits in the
/// secretaries' screening list, in one transaction.
#[utoipa::path(post, path = "/v1/referrals/therapist", operation_id = "receive_therapist_referral", tag = "entry points", request_body = TherapistReferralBody, params(PartnerQuery),
    responses(
        (status = 201, description = "The referral was received.", body = Data<ReferralReceipt>),
        (status = 200, description = "A replay of the therapist's reference: the receipt as it stands; nothing was written.", body = Data<ReferralReceipt>),
        SignedErrors,
    ),
    security(("partner_signature" = [])))]
async fn receive(State(state): State<AppState>, Query(q): Query<PartnerQuery>, headers: HeaderMap, body: Bytes) -> Response {
    if std::str::from_utf8(&body).is_err() {
        return machine_answer(Error::new(ErrorCode::InvalidJson, "The body must be UTF-8 JSON."));
    }
    let partner = match signing_partner(&state, &q, &headers, &body).await {
        Ok(p) => p,
        Err(e) => return machine_answer(e),
    };
    if !crate::extract::has_json_content_type(&headers) {
        return machine_answer(Error::new(ErrorCode::InvalidJson, "The request must have Content-Type: application/json."));
    }
    let referral = match TherapistReferral::parse(&body) {
        Ok(r) => r,
        Err(e) => return machine_answer(e),
    };
    // Run to the end even if the caller hangs up: an account created in Clerk (for a patient with
    // an e-mail address) must either end up linked to committed rows or be deleted again.
    let task = tokio::spawn(async move {
        let acting = Acting::Party { acting_for: format!("partner:{}", partner.id) };
        let tx = ClinicTx::begin_acting(&state.pool, &acting).await?;
        referrals::receive_from_therapist(tx, &state.vault, &state.accounts, &partner, &referral, &state.phone_country).await
    });
    match task.await {
        Ok(Ok(intake)) => {
            let status = if intake.is_new() { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(serde_json::json!({ "data": intake.receipt() }))).into_response()
        }
        Ok(Err(e)) => machine_answer(e),
        Err(_) => machine_answer(Error::internal("The referral could not be completed.")),
    }
}
