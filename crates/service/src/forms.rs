//! The patient app's consent forms: `GET /v1/patients/{id}/forms`,
//! `GET /v1/forms/{id}` (the text to show), `POST /v1/forms/{id}/sign`,
//! `POST /v1/forms/{id}/decline` and `POST /v1/consents/{id}/withdraw`, with the same error shape
//! as the onboarding API, authenticated by a staff member's API token: for staff tools, acting
//! as that staff member (who must have the capability, and whose login the audit log records).
//! The patient app itself signs in as the patient and uses the routes of [`crate::patient_app`]
//! (`/v1/me/...`, `docs/patient-api.md`). A signature recorded here is still `signed_by`
//! `patient`: the staff tool passes on the patient's own signature.

use axum::extract::{Path, State};
use axum::Json;
use digimed_core::forms::{self, SignedBy};
use digimed_core::{consents, Acting, ClinicTx, Error, ErrorCode};

use digimed_core::consents::TimelineEntry;
use digimed_core::forms::{Consent, Form, FormText};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{opt_string, Caller, JsonObject};
use crate::openapi::{CallerErrors, Data, SignRequest, WithdrawRequest};
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(timeline))
        .routes(routes!(text))
        .routes(routes!(sign))
        .routes(routes!(decline))
        .routes(routes!(withdraw))
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

/// The text of the form the path names, to show before signing: for staff tools and the patient
/// app alike, acting as each was authenticated.
pub(crate) async fn form_text(state: &AppState, acting: &Acting, raw_id: &str) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(raw_id, "form")?;
    let text = ClinicTx::run_acting(&state.pool, acting, async |tx| forms::text(tx, form_id).await).await?;
    Ok(data(text))
}

/// Records the patient's signature of the form the path names (the text named by the body's
/// `template_sha256`).
pub(crate) async fn sign_form(
    state: &AppState,
    acting: &Acting,
    raw_id: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(raw_id, "form")?;
    let sha = opt_string(body, "template_sha256")?.unwrap_or_default();
    let form =
        ClinicTx::run_acting(&state.pool, acting, async |tx| forms::sign(tx, form_id, SignedBy::Patient, &sha).await).await?;
    Ok(data(form))
}

/// Records that the patient declined the form the path names.
pub(crate) async fn decline_form(state: &AppState, acting: &Acting, raw_id: &str) -> Result<Json<serde_json::Value>, ApiError> {
    let form_id = id(raw_id, "form")?;
    let form = ClinicTx::run_acting(&state.pool, acting, async |tx| forms::decline(tx, form_id).await).await?;
    Ok(data(form))
}

/// Withdraws the consent the path names, for the body's `reason`.
pub(crate) async fn withdraw_consent(
    state: &AppState,
    acting: &Acting,
    raw_id: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let consent_id = id(raw_id, "consent")?;
    let reason = opt_string(body, "reason")?.unwrap_or_default();
    let consent = ClinicTx::run_acting(&state.pool, acting, async |tx| forms::withdraw(tx, consent_id, &reason).await).await?;
    Ok(data(consent))
}

/// A patient's consent forms, with their consents.
#[utoipa::path(get, path = "/v1/patients/{id}/forms", operation_id = "list_patient_forms", tag = "forms",
    params(("id" = i32, Path, description = "The org-patient link (`patient.id`).")),
    responses((status = 200, description = "The patient's forms.", body = Data<Vec<Form>>), CallerErrors),
    security(("staff_token" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let patient_id = id(&raw, "patient")?;
    let forms =
        ClinicTx::run_acting(&state.pool, &caller.acting, async |tx| forms::list_for_patient(tx, patient_id).await).await?;
    Ok(data(forms))
}

/// A patient's consent history, oldest first.
#[utoipa::path(get, path = "/v1/patients/{id}/consent-timeline", operation_id = "consent_timeline", tag = "forms",
    params(("id" = i32, Path, description = "The org-patient link (`patient.id`).")),
    responses((status = 200, description = "The events.", body = Data<Vec<TimelineEntry>>), CallerErrors),
    security(("staff_token" = [])))]
async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let patient_id = id(&raw, "patient")?;
    let timeline = ClinicTx::run_acting(&state.pool, &caller.acting, async |tx| consents::timeline(tx, patient_id).await).await?;
    Ok(data(timeline))
}

/// The text of a form, to show before signing.
#[utoipa::path(get, path = "/v1/forms/{id}", operation_id = "read_form", tag = "forms",
    params(("id" = i32, Path, description = "The form.")),
    responses((status = 200, description = "The form's text and its SHA-256.", body = Data<FormText>), CallerErrors),
    security(("staff_token" = [])))]
async fn text(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    form_text(&state, &caller.acting, &raw).await
}

/// Records the patient's signature of a form (the text named by its SHA-256).
#[utoipa::path(post, path = "/v1/forms/{id}/sign", operation_id = "sign_form_for_patient", tag = "forms", request_body = SignRequest,
    params(("id" = i32, Path, description = "The form.")),
    responses((status = 200, description = "The signed form and the consents it grants.", body = Data<Form>), CallerErrors),
    security(("staff_token" = [])))]
async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    sign_form(&state, &caller.acting, &raw, &body).await
}

/// Records that the patient declined a form.
#[utoipa::path(post, path = "/v1/forms/{id}/decline", operation_id = "decline_form_for_patient", tag = "forms",
    params(("id" = i32, Path, description = "The form.")),
    responses((status = 200, description = "The declined form.", body = Data<Form>), CallerErrors),
    security(("staff_token" = [])))]
async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    decline_form(&state, &caller.acting, &raw).await
}

/// Withdraws a consent the patient gave.
#[utoipa::path(post, path = "/v1/consents/{id}/withdraw", operation_id = "withdraw_consent_for_patient", tag = "forms", request_body = WithdrawRequest,
    params(("id" = i32, Path, description = "The consent.")),
    responses((status = 200, description = "The withdrawn consent.", body = Data<Consent>), CallerErrors),
    security(("staff_token" = [])))]
async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    withdraw_consent(&state, &caller.acting, &raw, &body).await
}
