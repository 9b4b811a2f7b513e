//! The patient app's consent forms: `GET /v1/patients/{id}/forms`,
//! `GET /v1/forms/{id}` (the text to show), `POST /v1/forms/{id}/sign`,
//! `POST /v1/forms/{id}/decline` and `POST /v1/consents/{id}/withdraw`, with the same error shape
//! as the onboarding API, authenticated by a staff member's API token: for staff tools, acting
//! as that staff member (who must have the capability, and whose login the audit log records).
//! The patient app itself signs in as the patient and uses the routes of [`crate::patient_app`]
//! (`/v1/me/...`, `docs/patient-api.md`). A signature recorded here is still `signed_by`
//! `patient`: the staff tool passes on the patient's own signature.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use digimed_core::forms::{self, SignedBy};
use digimed_core::{consents, ClinicTx, Error, ErrorCode};

use crate::extract::{opt_string, Caller, JsonObject};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/patients/{id}/forms", get(list))
        .route("/v1/patients/{id}/consent-timeline", get(timeline))
        .route("/v1/forms/{id}", get(text))
        .route("/v1/forms/{id}/sign", post(sign))
        .route("/v1/forms/{id}/decline", post(decline))
        .route("/v1/consents/{id}/withdraw", post(withdraw))
}

pub(crate) fn id(raw: &str, what: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError(Error::field(
            ErrorCode::InvalidInput,
            "id",
            format!("The {what} id in the path must be a positive whole number."),
        ))
    })
}

pub(crate) fn data<T: serde::Serialize>(v: T) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "data": v }))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let forms = forms::list_for_patient(&mut tx, id(&raw, "patient")?).await?;
    tx.commit().await?;
    Ok(data(forms))
}

async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let timeline = consents::timeline(&mut tx, id(&raw, "patient")?).await?;
    tx.commit().await?;
    Ok(data(timeline))
}

async fn text(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let text = forms::text(&mut tx, id(&raw, "form")?).await?;
    tx.commit().await?;
    Ok(data(text))
}

async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(&raw, "form")?;
    let sha = opt_string(&body, "template_sha256")?.unwrap_or_default();
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let form = forms::sign(&mut tx, form_id, SignedBy::Patient, &sha).await?;
    tx.commit().await?;
    Ok(data(form))
}

async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let form = forms::decline(&mut tx, id(&raw, "form")?).await?;
    tx.commit().await?;
    Ok(data(form))
}

async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let consent_id = id(&raw, "consent")?;
    let reason = opt_string(&body, "reason")?.unwrap_or_default();
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let consent = forms::withdraw(&mut tx, consent_id, &reason).await?;
    tx.commit().await?;
    Ok(data(consent))
}
