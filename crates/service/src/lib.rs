//! The HTTP service (`digimed serve`): what must arrive from outside. Every route calls the same
//! core functions as the console and the CLI; this crate only authenticates, parses and maps
//! errors to HTTP (in one place: [`error::status_for`]). The public pages patients open from the
//! clinic's links ([`pages`]) answer in HTML.

mod callrail_webhook;
mod clerk_webhook;
pub mod error;
pub mod extract;
mod forms;
pub mod hubspot;
pub mod messages;
pub mod openapi;
pub mod pages;
mod patient_app;
pub mod patients;
pub mod pridok;
mod telnyx_webhook;
mod therapist_referrals;
pub mod webhooks;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use digimed_core::accounts::Accounts;
use digimed_core::keys::Vault;
use sqlx::PgPool;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

/// Largest request body accepted (the onboarding and referral payloads are small).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A background worker's loop (the webhook, message and CRM workers): a pass, another at once
/// while passes find work, otherwise the next after `poll_interval`; until `stop` turns true. A
/// failed pass is logged with its code (`failed` says whose) and tried again at the next.
pub(crate) async fn run_passes<Pass: std::future::Future<Output = digimed_core::Result<usize>>>(
    poll_interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    failed: &'static str,
    pass: impl Fn() -> Pass,
) {
    loop {
        match pass().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code.as_str(), "{failed}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll_interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// What every handler needs. The pool is the service's own login (a member of
/// `digimed_service`); handlers act for the authenticated caller inside each transaction.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub vault: Vault,
    pub accounts: Accounts,
    /// Country calling code for phone numbers written without one.
    pub phone_country: String,
    /// Verifies patients' Clerk session tokens on the patient app's routes; `None` when patient
    /// sign-in is not configured (`CLERK_ISSUER`), and those routes answer `configuration`.
    pub patient_sessions: Option<digimed_clerk::SessionVerifier>,
    /// The partner whose referrals patients' booking requests become (`DIGIMED_BOOKING_PARTNER`);
    /// `None`: `POST /v1/booking-requests` answers `configuration`.
    pub booking_partner: Option<String>,
    /// The key of Clerk's webhook signing secret (`CLERK_WEBHOOK_SIGNING_SECRET`); `None`:
    /// `POST /v1/webhooks/clerk` answers `configuration`.
    pub clerk_webhook_key: Option<digimed_core::webhook_signature::SigningKey>,
    /// CallRail's signing key and the clinic its cold calls are filed under
    /// (`CALLRAIL_SIGNING_KEY`, `DIGIMED_CALLRAIL_ORGANIZATION`); `None`:
    /// `POST /v1/webhooks/callrail` answers `configuration`.
    pub callrail: Option<CallRail>,
    /// Telnyx's public key for webhook signatures and the clinic received faxes are filed under
    /// (`TELNYX_PUBLIC_KEY`, `DIGIMED_FAX_ORGANIZATION`); `None`: `POST /v1/webhooks/telnyx`
    /// answers `configuration`.
    pub fax: Option<FaxIntake>,
}

/// How the service takes Telnyx's fax webhook.
#[derive(Clone, Debug)]
pub struct FaxIntake {
    pub key: digimed_core::faxes::TelnyxKey,
    /// The clinic received faxes are filed under.
    pub organization_id: i32,
    /// Downloads the faxes' PDFs.
    pub client: reqwest::Client,
}

/// How long the service waits for a fax's PDF from the provider.
const FAX_DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The fax provider's settings from the configuration: `None` unless both are set; a key that is
/// not one, or a clinic that is not an id, is refused.
pub fn fax_intake(key: Option<&str>, organization: Option<&str>) -> Result<Option<FaxIntake>, digimed_core::Error> {
    let (Some(key), Some(organization)) = (key, organization) else {
        return Ok(None);
    };
    let organization_id = organization.trim().parse::<i32>().ok().filter(|id| *id > 0).ok_or_else(|| {
        digimed_core::Error::field(
            digimed_core::ErrorCode::Configuration,
            "DIGIMED_FAX_ORGANIZATION",
            "DIGIMED_FAX_ORGANIZATION must be the organization_id of the clinic received faxes are filed under.",
        )
    })?;
    let client = reqwest::Client::builder()
        .timeout(FAX_DOWNLOAD_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| digimed_core::Error::internal(e.to_string()))?;
    Ok(Some(FaxIntake { key: digimed_core::faxes::TelnyxKey::new(key)?, organization_id, client }))
}

/// A sentence for the service's start-up output saying whether received faxes are taken.
pub fn fax_notice(fax: Option<&FaxIntake>) -> String {
    match fax {
        None => "faxes: TELNYX_PUBLIC_KEY and DIGIMED_FAX_ORGANIZATION are not both set, so \
                 POST /v1/webhooks/telnyx answers `configuration`"
            .into(),
        Some(f) => format!("faxes: Telnyx's fax webhook is taken on /v1/webhooks/telnyx for organization {}", f.organization_id),
    }
}

/// How the service takes CallRail's post-call webhook.
#[derive(Clone, Debug)]
pub struct CallRail {
    pub key: digimed_core::cold_calls::CallRailKey,
    /// The clinic cold calls are filed under.
    pub organization_id: i32,
}

/// CallRail's settings from the configuration: `None` unless both are set; a clinic that is not
/// an id is refused.
pub fn callrail(key: Option<&str>, organization: Option<&str>) -> Result<Option<CallRail>, digimed_core::Error> {
    let (Some(key), Some(organization)) = (key, organization) else {
        return Ok(None);
    };
    let organization_id = organization.trim().parse::<i32>().ok().filter(|id| *id > 0).ok_or_else(|| {
        digimed_core::Error::field(
            digimed_core::ErrorCode::Configuration,
            "DIGIMED_CALLRAIL_ORGANIZATION",
            "DIGIMED_CALLRAIL_ORGANIZATION must be the organization_id of the clinic cold calls are filed under.",
        )
    })?;
    Ok(Some(CallRail { key: digimed_core::cold_calls::CallRailKey::new(key)?, organization_id }))
}

/// A sentence for the service's start-up output saying whether CallRail's calls are taken.
pub fn callrail_notice(callrail: Option<&CallRail>) -> String {
    match callrail {
        None => "cold calls: CALLRAIL_SIGNING_KEY and DIGIMED_CALLRAIL_ORGANIZATION are not both set, so \
                 POST /v1/webhooks/callrail answers `configuration`"
            .into(),
        Some(c) => {
            format!(
                "cold calls: CallRail's post-call webhook is taken on /v1/webhooks/callrail for organization {}",
                c.organization_id
            )
        }
    }
}

/// The verifier of patients' session tokens for [`AppState::patient_sessions`], from the
/// configuration; `None` when patient sign-in is not configured.
pub fn patient_sessions(
    config: Option<&digimed_core::config::PatientSessions>,
) -> Result<Option<digimed_clerk::SessionVerifier>, digimed_core::Error> {
    let Some(c) = config else {
        return Ok(None);
    };
    digimed_clerk::SessionVerifier::new(c.keys.clone(), c.policy.clone()).map(Some).map_err(|e| {
        let field = if matches!(c.keys, digimed_clerk::SessionKeys::Pem(_)) { "CLERK_JWT_KEY" } else { "CLERK_ISSUER" };
        digimed_core::Error::field(digimed_core::ErrorCode::Configuration, field, e.to_string())
    })
}

/// A sentence for the service's start-up output saying how patients sign in.
pub fn patient_sessions_notice(verifier: Option<&digimed_clerk::SessionVerifier>) -> String {
    match verifier {
        None => {
            "patient app: CLERK_ISSUER is not set, so patients cannot sign in; the /v1/me routes answer `configuration`".into()
        }
        Some(v) => format!("patient app: session tokens of {} are accepted on /v1/me", v.policy().issuer),
    }
}

/// The key of Clerk's webhook signing secret, from the configuration.
pub fn clerk_webhook_key(
    secret: Option<&str>,
) -> Result<Option<digimed_core::webhook_signature::SigningKey>, digimed_core::Error> {
    secret
        .map(|s| {
            digimed_core::webhook_signature::SigningKey::from_secret(s).map_err(|_| {
                digimed_core::Error::field(
                    digimed_core::ErrorCode::Configuration,
                    "CLERK_WEBHOOK_SIGNING_SECRET",
                    "CLERK_WEBHOOK_SIGNING_SECRET must be the endpoint's signing secret, whsec_ followed by base64.",
                )
            })
        })
        .transpose()
}

/// The JSON API's routes, each with its description.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .merge(patients::routes())
        .merge(forms::routes())
        .merge(patient_app::routes())
        .merge(clerk_webhook::routes())
        .merge(pridok::routes())
        .merge(therapist_referrals::routes())
        .merge(callrail_webhook::routes())
        .merge(telnyx_webhook::routes())
}

/// The service's OpenAPI document (`docs/openapi.json`): every route, from the routes themselves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = api_routes().split_for_parts();
    let (_, page_docs) = pages::routes().split_for_parts();
    let mut doc = api;
    doc.merge(page_docs);
    openapi::finish(doc)
}

/// The document as the committed copy holds it: pretty JSON with a final newline.
pub fn openapi_json_text() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

static OPENAPI_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(openapi_json_text);

/// The OpenAPI 3.1 document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service (`application/json`).")))]
async fn openapi_json() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str())
}

/// All routes of the service.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let (pages, _) = pages::routes().split_for_parts();
    api.fallback(|| async { ApiError(digimed_core::Error::not_found("This endpoint")) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(error::framework_errors_as_json))
        // The public pages answer in HTML, errors included, with headers of their own.
        .merge(pages)
        .with_state(state)
}

/// How long `/healthz` waits for the database before it answers 503.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /healthz`: "ok" when the service can reach its database within two seconds; otherwise
/// the retryable 503 `database_unavailable` (in the API's error shape (`docs/errors.md`)), so that a load balancer
/// or monitor sees what callers would meet.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses(
        (status = 200, description = "The service reaches its database.", content_type = "text/plain", body = String, example = "ok"),
        (status = 503, description = "The database did not answer within two seconds.", body = openapi::ErrorAnswer),
        (status = 500, description = "The service failed.", body = openapi::ErrorAnswer),
    ))]
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Result<&'static str, ApiError> {
    let ping = sqlx::query_scalar!(r#"SELECT 1 AS "one!""#).fetch_one(&state.pool);
    match tokio::time::timeout(HEALTH_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok("ok"),
        Ok(Err(e)) => Err(ApiError(digimed_core::Error::from(e))),
        Err(_) => Err(ApiError(
            digimed_core::Error::new(digimed_core::ErrorCode::DatabaseUnavailable, "The database did not answer in time.")
                .retryable(),
        )),
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The service never holds the clinical keys, whatever vault it was handed: no route reads
    // or writes a consultation result (docs/operations.md, "Key domains").
    let state = AppState { vault: state.vault.contact_only(), ..state };
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
