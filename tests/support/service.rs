//! Runs the HTTP service on 127.0.0.1 against a test database, connected as a service login of
//! its own (a member of `digimed_service`), the way `digimed serve` runs.

use std::net::SocketAddr;

use digimed_core::accounts::Accounts;
use digimed_core::config::AccountDirectory;
use digimed_crypto::Secret;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::clerk_standin::ClerkStandin;
use crate::TestDb;

/// Creates a login that is a member of `digimed_service` and returns a pool signed in as it.
pub async fn service_pool(db: &TestDb) -> PgPool {
    service_pool_named(db, "svc").await
}

/// Like [`service_pool`], for one more service login (`prefix` tells them apart).
pub async fn service_pool_named(db: &TestDb, prefix: &str) -> PgPool {
    let login = format!("{prefix}_{}", &db.name[2..]);
    let password = format!("svc-{}-Pw", uuid::Uuid::new_v4().simple());
    let ddl: String = sqlx::query_scalar(
        "SELECT format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L IN ROLE digimed_service', $1::text, $2::text)",
    )
    .bind(&login)
    .bind(&password)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    sqlx::raw_sql(&ddl).execute(&db.owner).await.expect("create the service login");
    db.forget_login_later(&login);
    let opts = crate::options_for_db(&db.name).username(&login).password(&password);
    PgPoolOptions::new().max_connections(10).connect_with(opts).await.expect("sign in as the service")
}

/// Accounts kept in the Clerk stand-in, with quick retries so fault tests stay fast.
pub fn standin_accounts(clerk: &ClerkStandin) -> Accounts {
    let dir = AccountDirectory::Clerk { api_url: clerk.url.clone(), secret_key: Secret::new(clerk.secret_key.clone()) };
    Accounts::with_policy(&dir, quick_retries()).unwrap()
}

pub fn quick_retries() -> digimed_clerk::RetryPolicy {
    digimed_clerk::RetryPolicy {
        max_attempts: 3,
        base_delay: std::time::Duration::from_millis(20),
        max_delay: std::time::Duration::from_millis(200),
        request_timeout: std::time::Duration::from_millis(800),
        total_budget: std::time::Duration::from_secs(4),
    }
}

pub struct RunningService {
    /// e.g. `http://127.0.0.1:40123`
    pub base: String,
    pub pool: PgPool,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the service on 127.0.0.1:0.
pub async fn start(db: &TestDb, accounts: Accounts) -> RunningService {
    start_with_sessions(db, accounts, None, None).await
}

/// Starts the service on 127.0.0.1:0, verifying patients' session tokens with `sessions`, and
/// filing booking requests as referrals of the partner `booking_partner`.
pub async fn start_with_sessions(
    db: &TestDb,
    accounts: Accounts,
    sessions: Option<digimed_clerk::SessionVerifier>,
    booking_partner: Option<String>,
) -> RunningService {
    start_full(db, accounts, sessions, booking_partner, None).await
}

/// Like [`start_with_sessions`], also taking Clerk's webhooks signed with `clerk_webhook_key`.
pub async fn start_full(
    db: &TestDb,
    accounts: Accounts,
    sessions: Option<digimed_clerk::SessionVerifier>,
    booking_partner: Option<String>,
    clerk_webhook_key: Option<digimed_core::webhook_signature::SigningKey>,
) -> RunningService {
    start_configured(db, accounts, sessions, booking_partner, clerk_webhook_key, None).await
}

/// Like [`start_full`], also taking CallRail's post-call webhook as `callrail` says.
pub async fn start_configured(
    db: &TestDb,
    accounts: Accounts,
    sessions: Option<digimed_clerk::SessionVerifier>,
    booking_partner: Option<String>,
    clerk_webhook_key: Option<digimed_core::webhook_signature::SigningKey>,
    callrail: Option<digimed_service::CallRail>,
) -> RunningService {
    start_all(db, accounts, sessions, booking_partner, clerk_webhook_key, callrail, None).await
}

/// Starts the service on 127.0.0.1:0 taking Telnyx's fax webhook as `fax` says.
pub async fn start_fax(db: &TestDb, fax: digimed_service::FaxIntake) -> RunningService {
    start_all(db, Accounts::Local, None, None, None, None, Some(fax)).await
}

/// Starts the service on 127.0.0.1:0 with every entry point configured as given.
pub async fn start_all(
    db: &TestDb,
    accounts: Accounts,
    sessions: Option<digimed_clerk::SessionVerifier>,
    booking_partner: Option<String>,
    clerk_webhook_key: Option<digimed_core::webhook_signature::SigningKey>,
    callrail: Option<digimed_service::CallRail>,
    fax: Option<digimed_service::FaxIntake>,
) -> RunningService {
    let pool = service_pool(db).await;
    let state = digimed_service::AppState {
        pool: pool.clone(),
        vault: db.vault.contact_only(),
        accounts,
        phone_country: "47".to_string(),
        patient_sessions: sessions,
        booking_partner,
        clerk_webhook_key,
        callrail,
        fax,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(digimed_service::serve(listener, state, async {
        let _ = rx.await;
    }));
    RunningService { base: format!("http://{addr}"), pool, _stop: tx }
}

/// A whole `digimed serve` in the test process: the HTTP service and its outbox worker on one
/// pool, as the command runs them. Stops when dropped.
pub struct Instance {
    /// e.g. `http://127.0.0.1:40123`
    pub base: String,
    pub pool: PgPool,
    _stop_http: tokio::sync::oneshot::Sender<()>,
    stop_worker: tokio::sync::watch::Sender<bool>,
}

/// Starts the service on 127.0.0.1:0 and its outbox worker, both on `pool`.
pub async fn start_instance(
    pool: PgPool,
    vault: digimed_core::keys::Vault,
    accounts: Accounts,
    worker: digimed_service::webhooks::WorkerOptions,
) -> Instance {
    let state = digimed_service::AppState {
        pool: pool.clone(),
        vault: vault.clone(),
        accounts,
        phone_country: "47".to_string(),
        patient_sessions: None,
        booking_partner: None,
        clerk_webhook_key: None,
        callrail: None,
        fax: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(digimed_service::serve(listener, state, async {
        let _ = rx.await;
    }));
    let (stop_worker, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(digimed_service::webhooks::Worker::new(pool.clone(), vault, worker).run(stop_rx));
    Instance { base: format!("http://{addr}"), pool, _stop_http: tx, stop_worker }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.stop_worker.send(true);
    }
}
