//! The patient app's own routes, signed in as the patient with a Clerk session token
//! (`docs/patient-api.md`): `GET /v1/me/forms`, `GET /v1/me/forms/{id}` (the text to show),
//! `POST /v1/me/forms/{id}/sign`, `POST /v1/me/forms/{id}/decline`,
//! `POST /v1/me/consents/{id}/withdraw`, `GET /v1/me/consultations` and
//! `POST /v1/booking-requests`. Every transaction acts for the patient ([`PatientCaller`]):
//! another patient's form or consent is not found (404).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use digimed_core::forms::{self, SignedBy};
use digimed_core::referrals::{self, BookingRequest};
use digimed_core::{patient_app, ClinicTx};

use crate::extract::{opt_string, JsonObject, PatientCaller};
use crate::forms::{data, id};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me/forms", get(list))
        .route("/v1/me/forms/{id}", get(text))
        .route("/v1/me/forms/{id}/sign", post(sign))
        .route("/v1/me/forms/{id}/decline", post(decline))
        .route("/v1/me/consents/{id}/withdraw", post(withdraw))
        .route("/v1/me/consultations", get(consultations))
        .route("/v1/booking-requests", post(booking_request))
}

async fn list(State(state): State<AppState>, me: PatientCaller) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let forms = forms::list_own(&mut tx).await?;
    tx.commit().await?;
    Ok(data(forms))
}

async fn text(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(&raw, "form")?;
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let text = forms::text(&mut tx, form_id).await?;
    tx.commit().await?;
    Ok(data(text))
}

async fn sign(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(&raw, "form")?;
    let sha = opt_string(&body, "template_sha256")?.unwrap_or_default();
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let form = forms::sign(&mut tx, form_id, SignedBy::Patient, &sha).await?;
    tx.commit().await?;
    Ok(data(form))
}

async fn decline(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(&raw, "form")?;
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let form = forms::decline(&mut tx, form_id).await?;
    tx.commit().await?;
    Ok(data(form))
}

async fn withdraw(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let consent_id = id(&raw, "consent")?;
    let reason = opt_string(&body, "reason")?.unwrap_or_default();
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let consent = forms::withdraw(&mut tx, consent_id, &reason).await?;
    tx.commit().await?;
    Ok(data(consent))
}

async fn consultations(State(state): State<AppState>, me: PatientCaller) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let list = patient_app::own_consultations(&mut tx).await?;
    tx.commit().await?;
    Ok(data(list))
}

/// `POST /v1/booking-requests`, body `{"request_id": "<uuid>", "message"?: "..."}`: 201 with the
/// referral's receipt, 200 with the same receipt for a replay of the request id.
async fn booking_request(State(state): State<AppState>, me: PatientCaller, body: JsonObject) -> Result<Response, ApiError> {
    body.only(&["request_id", "message"])?;
    let request =
        BookingRequest::parse(opt_string(&body.0, "request_id")?.as_deref(), opt_string(&body.0, "message")?.as_deref())?;
    let mut tx = ClinicTx::begin_acting(&state.pool, &me.acting).await?;
    let intake = referrals::request_booking(&mut tx, &state.vault, state.booking_partner.as_deref(), &request).await?;
    tx.commit().await?;
    let status = if intake.is_new() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, data(intake.receipt())).into_response())
}
