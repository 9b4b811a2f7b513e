//! The HTTP service (`digimed serve`): what must arrive from outside. Every route calls the same
//! core functions as the console and the CLI; this crate only authenticates, parses and maps
//! errors to HTTP (in one place: [`error::status_for`]).

pub mod error;
pub mod extract;
pub mod patients;
mod forms;
pub mod pridok;
pub mod webhooks;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use digimed_core::accounts::Accounts;
use digimed_core::keys::Vault;
use sqlx::PgPool;

pub use error::ApiError;

/// Largest request body accepted (the onboarding and referral payloads are small).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler needs. The pool is the service's own login (a member of
/// `digimed_service`); handlers act for the authenticated caller inside each transaction.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub vault: Vault,
    pub accounts: Accounts,
    /// Country calling code for phone numbers written without one.
    pub phone_country: String,
}

/// All routes of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(patients::routes())
        .merge(forms::routes())
        .merge(pridok::routes())
        .fallback(|| async { ApiError(digimed_core::Error::not_found("This endpoint")) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(error::framework_errors_as_json))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
