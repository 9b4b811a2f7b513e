//! The patient app's own routes, signed in as the patient with a Clerk session token
//! (`docs/patient-api.md`): `GET /v1/me/forms`, `GET /v1/me/forms/{id}` (the text to show),
//! `POST /v1/me/forms/{id}/sign`, `POST /v1/me/forms/{id}/decline`,
//! `POST /v1/me/consents/{id}/withdraw`, `GET /v1/me/consultations` and
//! `POST /v1/booking-requests`. Every transaction acts for the patient ([`PatientCaller`]):
//! another patient's form or consent is not found (404).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use digimed_core::forms;
use digimed_core::referrals::{self, BookingRequest};
use digimed_core::{patient_app, ClinicTx};

use digimed_core::forms::{Consent, Form, FormText};
use digimed_core::patient_app::OwnConsultation;
use digimed_core::referrals::ReferralReceipt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{opt_string, JsonObject, PatientCaller};
use crate::forms::{data, decline_form, form_text, sign_form, withdraw_consent};
use crate::openapi::{BookingRequestBody, CallerErrors, Data, SignRequest, WithdrawRequest};
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(text))
        .routes(routes!(sign))
        .routes(routes!(decline))
        .routes(routes!(withdraw))
        .routes(routes!(consultations))
        .routes(routes!(booking_request))
}

/// The signed-in patient's consent forms.
#[utoipa::path(get, path = "/v1/me/forms", operation_id = "list_own_forms", tag = "patient app",
    responses((status = 200, description = "The patient's forms.", body = Data<Vec<Form>>), CallerErrors),
    security(("patient_session" = [])))]
async fn list(State(state): State<AppState>, me: PatientCaller) -> Result<Json<serde_json::Value>, ApiError> {
    let forms = ClinicTx::run_acting(&state.pool, &me.acting, async |tx| forms::list_own(tx).await).await?;
    Ok(data(forms))
}

/// The text of one of the patient's forms, to show before signing.
#[utoipa::path(get, path = "/v1/me/forms/{id}", operation_id = "read_own_form", tag = "patient app",
    params(("id" = i32, Path, description = "The form; another patient's is not found.")),
    responses((status = 200, description = "The form's text and its SHA-256.", body = Data<FormText>), CallerErrors),
    security(("patient_session" = [])))]
async fn text(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    form_text(&state, &me.acting, &raw).await
}

/// The patient signs one of their forms (the text named by its SHA-256).
#[utoipa::path(post, path = "/v1/me/forms/{id}/sign", operation_id = "sign_own_form", tag = "patient app", request_body = SignRequest,
    params(("id" = i32, Path, description = "The form; another patient's is not found.")),
    responses((status = 200, description = "The signed form and the consents it grants.", body = Data<Form>), CallerErrors),
    security(("patient_session" = [])))]
async fn sign(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    sign_form(&state, &me.acting, &raw, &body).await
}

/// The patient declines one of their forms.
#[utoipa::path(post, path = "/v1/me/forms/{id}/decline", operation_id = "decline_own_form", tag = "patient app",
    params(("id" = i32, Path, description = "The form; another patient's is not found.")),
    responses((status = 200, description = "The declined form.", body = Data<Form>), CallerErrors),
    security(("patient_session" = [])))]
async fn decline(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    decline_form(&state, &me.acting, &raw).await
}

/// The patient withdraws a consent they gave.
#[utoipa::path(post, path = "/v1/me/consents/{id}/withdraw", operation_id = "withdraw_own_consent", tag = "patient app", request_body = WithdrawRequest,
    params(("id" = i32, Path, description = "The consent; another patient's is not found.")),
    responses((status = 200, description = "The withdrawn consent.", body = Data<Consent>), CallerErrors),
    security(("patient_session" = [])))]
async fn withdraw(
    State(state): State<AppState>,
    me: PatientCaller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    withdraw_consent(&state, &me.acting, &raw, &body).await
}

/// The signed-in patient's consultations, newest first: where each stands and its times, never a result.
#[utoipa::path(get, path = "/v1/me/consultations", operation_id = "list_own_consultations", tag = "patient app",
    responses((status = 200, description = "The patient's consultations.", body = Data<Vec<OwnConsultation>>), CallerErrors),
    security(("patient_session" = [])))]
async fn consultations(State(state): State<AppState>, me: PatientCaller) -> Result<Json<serde_json::Value>, ApiError> {
    let list = ClinicTx::run_acting(&state.pool, &me.acting, async |tx| patient_app::own_consultations(tx).await).await?;
    Ok(data(list))
}

/// `POST /v1/booking-requests`, body `{"request_id": "<uuid>", "message"?: "..."}`: 201 with the
/// referral's receipt, 200 with the same receipt for a replay of the request id.
#[utoipa::path(post, path = "/v1/booking-requests", tag = "patient app", request_body = BookingRequestBody,
    responses(
        (status = 201, description = "The request waits in the clinic's screening list.", body = Data<ReferralReceipt>),
        (status = 200, description = "A replay of the request id: the first receipt, as it stands; nothing was written.", body = Data<ReferralReceipt>),
        CallerErrors,
    ),
    security(("patient_session" = [])))]
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
