//! `POST /v1/patients/onboard` (`docs/onboarding.md`), `POST /v1/patients` (regular creation) and
//! `POST /v1/patients/match` (duplicate check).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use digimed_core::onboarding::{self, LinkInput, MatchInput, OnboardInput};
use digimed_core::patients::EntryPoint;
use digimed_core::{ClinicTx, Error, ErrorCode};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{opt_int, opt_string, Caller, JsonObject};
use crate::openapi::{CallerErrors, Candidates, Data, LinkRequest, MatchRequest, OnboardRequest};
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(onboard)).routes(routes!(create)).routes(routes!(find_matches))
}

/// Onboards a walk-in patient: the account (in Clerk), the person, the link to the clinic and
/// the forms the clinic's rules require, in one transaction.
#[utoipa::path(post, path = "/v1/patients/onboard", tag = "patients", request_body = OnboardRequest,
    responses((status = 201, description = "The patient was onboarded.", body = Data<onboarding::Onboarded>), CallerErrors),
    security(("staff_token" = [])))]
async fn onboard(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    body.only(&["name", "email", "phone", "organization_id"])?;
    let JsonObject(body) = body;
    let input = OnboardInput {
        name: opt_string(&body, "name")?,
        email: opt_string(&body, "email")?,
        phone: opt_string(&body, "phone")?,
        organization_id: opt_int(&body, "organization_id")?,
    };
    // Run to the end even if the caller hangs up: an account created in Clerk must either end
    // up linked to committed rows or be deleted again, never abandoned half-way.
    let task = tokio::spawn(async move {
        let tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
        onboarding::onboard(tx, &state.vault, &state.accounts, &input, EntryPoint::OnboardingApi, &state.phone_country).await
    });
    let done = task.await.map_err(|_| ApiError(Error::internal("The onboarding could not be completed.")))??;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"data": done}))))
}

/// Makes an existing person a patient of the clinic.
#[utoipa::path(post, path = "/v1/patients", operation_id = "create_patient", tag = "patients", request_body = LinkRequest,
    responses((status = 201, description = "The person is a patient of the clinic.", body = Data<onboarding::Linked>), CallerErrors),
    security(("staff_token" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    body.only(&["patient_person_id", "organization_id"])?;
    let JsonObject(body) = body;
    let input = LinkInput {
        patient_person_id: opt_int(&body, "patient_person_id")?,
        organization_id: opt_int(&body, "organization_id")?,
    };
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let done = onboarding::link_existing(&mut tx, &input, EntryPoint::ExistingPersonLink).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"data": done}))))
}

/// Looks for persons that are likely the same as the one about to be registered.
#[utoipa::path(post, path = "/v1/patients/match", tag = "patients", request_body = MatchRequest,
    responses((status = 200, description = "The likely duplicates (possibly none).", body = Data<Candidates>), CallerErrors),
    security(("staff_token" = [])))]
async fn find_matches(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    body.only(&["name", "email", "phone", "national_id", "date_of_birth"])?;
    let JsonObject(body) = body;
    let date_of_birth = match opt_string(&body, "date_of_birth")? {
        None => None,
        Some(s) => Some(chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError(Error::field(ErrorCode::InvalidInput, "date_of_birth", "date_of_birth must be a date (YYYY-MM-DD)."))
        })?),
    };
    let input = MatchInput {
        name: opt_string(&body, "name")?,
        email: opt_string(&body, "email")?,
        phone: opt_string(&body, "phone")?,
        national_id: opt_string(&body, "national_id")?,
        date_of_birth,
    };
    let mut tx = ClinicTx::begin_acting(&state.pool, &caller.acting).await?;
    let candidates = onboarding::match_candidates(&mut tx, &state.vault, &input, &state.phone_country).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({"data": {"candidates": candidates}})))
}
