//! The patient app's consent forms (seed 002): `GET /v1/patients/{id}/forms`,
//! `GET /v1/forms/{id}` (the text to show), `POST /v1/forms/{id}/sign`,
//! `POST /v1/forms/{id}/decline` and `POST /v1/consents/{id}/withdraw`, with the same error shape
//! as the onboarding API. The app signs for the patient: `signed_by` is `patient`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use digimed_core::forms::{self, SignedBy};
use digimed_core::{consents, Error, ErrorCode};

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

fn id(raw: &str, what: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError(Error::field(ErrorCode::InvalidInput, "id", format!("The {what} id in the path must be a positive whole number."))))
}

fn data<T: serde::Serialize>(v: T) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "data": v }))
}

async fn list(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(data(forms::list_for_patient(&state.pool, &caller.acting, id(&raw, "patient")?).await?))
}

async fn timeline(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(data(consents::timeline(&state.pool, &caller.acting, id(&raw, "patient")?).await?))
}

async fn text(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(data(forms::text(&state.pool, &caller.acting, id(&raw, "form")?).await?))
}

async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(&raw, "form")?;
    let sha = opt_string(&body, "template_sha256")?.unwrap_or_default();
    Ok(data(forms::sign(&state.pool, &caller.acting, form_id, SignedBy::Patient, &sha).await?))
}

async fn decline(State(state): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(data(forms::decline(&state.pool, &caller.acting, id(&raw, "form")?).await?))
}

async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    let consent_id = id(&raw, "consent")?;
    let reason = opt_string(&body, "reason")?.unwrap_or_default();
    Ok(data(forms::withdraw(&state.pool, &caller.acting, consent_id, &reason).await?))
}
