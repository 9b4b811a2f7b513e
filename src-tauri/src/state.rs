//! What the console keeps between commands: the signed-in staff member and their connection pool.

use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::meetings::Meetings;
use digimed_core::session::StaffSession;
use digimed_core::workstations::Bundle;
use digimed_core::{ClinicTx, Error};
use sqlx::PgPool;
use tokio::sync::{Mutex, OnceCell, RwLock};

/// A staff member signed in to the clinic database as their own login role.
pub struct SignedIn {
    pub pool: PgPool,
    pub session: StaffSession,
    /// The server address signed in to (the login's password is not in it).
    pub server: String,
}

/// Tauri managed state. Empty until someone signs in.
#[derive(Default)]
pub struct ConsoleState {
    signed_in: RwLock<Option<SignedIn>>,
    /// The data keys (contact, and clinical where this workstation holds them), loaded on first use.
    vault: Mutex<Option<Vault>>,
    /// The background task forwarding queue changes to the UI, while one runs.
    watcher: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Whether patient accounts go to Clerk: read once (it may ask the OS keyring), starting
    /// while the window is created so that the sign-in screen does not wait for it.
    clerk_configured: OnceCell<bool>,
    /// The meeting service, read once (the secret may come from the OS keyring).
    meetings: OnceCell<Meetings>,
    /// How meeting links are opened: the system browser, or, in the test bridge, a record.
    link_opener: LinkOpener,
    /// An enrollment bundle opened on the sign-in screen, until its user has signed in.
    pending_enrollment: Mutex<Option<Bundle>>,
}

/// How the console opens a doctor's meeting link.
#[derive(Default, Clone)]
pub enum LinkOpener {
    /// The system browser, through the opener plugin.
    #[default]
    System,
    /// Kept in a list instead (the test bridge, where no browser may start).
    Record(std::sync::Arc<std::sync::Mutex<Vec<String>>>),
}

impl ConsoleState {
    /// Replaces whoever was signed in, closing their connections.
    pub async fn sign_in(&self, signed_in: SignedIn) {
        self.stop_watching().await;
        let previous = self.signed_in.write().await.replace(signed_in);
        if let Some(previous) = previous {
            previous.pool.close().await;
        }
    }

    /// Forgets the signed-in staff member and closes their connections.
    pub async fn sign_out(&self) {
        self.stop_watching().await;
        let previous = self.signed_in.write().await.take();
        if let Some(previous) = previous {
            previous.pool.close().await;
        }
    }

    /// The signed-in staff member, if any.
    pub async fn session(&self) -> Option<StaffSession> {
        self.signed_in.read().await.as_ref().map(|s| s.session.clone())
    }

    /// The signed-in staff member's pool and session, or an `unauthorized` error.
    pub async fn require(&self) -> Result<(PgPool, StaffSession), Error> {
        self.signed_in
            .read()
            .await
            .as_ref()
            .map(|s| (s.pool.clone(), s.session.clone()))
            .ok_or_else(|| Error::new(digimed_core::ErrorCode::Unauthorized, "You are not signed in. Sign in again."))
    }

    /// Runs `op` in a transaction acting as the signed-in staff member, committed when `op`
    /// succeeds. Every command that touches the clinic database goes through here.
    pub async fn act<T>(&self, op: impl AsyncFnOnce(&mut ClinicTx) -> Result<T, Error>) -> Result<T, Error> {
        let (pool, _) = self.require().await?;
        let mut tx = ClinicTx::begin(&pool).await?;
        let out = op(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The server address the signed-in staff member is connected to.
    pub async fn server(&self) -> Result<String, Error> {
        self.signed_in
            .read()
            .await
            .as_ref()
            .map(|s| s.server.clone())
            .ok_or_else(|| Error::new(digimed_core::ErrorCode::Unauthorized, "You are not signed in. Sign in again."))
    }

    /// Keeps (or drops) the enrollment bundle opened on the sign-in screen.
    pub async fn set_pending_enrollment(&self, bundle: Option<Bundle>) {
        *self.pending_enrollment.lock().await = bundle;
    }

    /// Takes the enrollment bundle opened on the sign-in screen.
    pub async fn take_pending_enrollment(&self) -> Option<Bundle> {
        self.pending_enrollment.lock().await.take()
    }

    /// Forgets the loaded data keys, so the next use reads them again (after enrolling, or after
    /// new keys were delivered).
    pub async fn forget_vault(&self) {
        *self.vault.lock().await = None;
    }

    /// The data keys from the configured key store, loaded once.
    pub async fn vault(&self) -> Result<Vault, Error> {
        let mut slot = self.vault.lock().await;
        if let Some(vault) = slot.as_ref() {
            return Ok(vault.clone());
        }
        let vault = tauri::async_runtime::spawn_blocking(|| {
            let config = Config::from_env()?;
            Vault::load_configured(&config)
        })
        .await
        .map_err(|_| Error::internal("Loading the data keys stopped unexpectedly."))??;
        *slot = Some(vault.clone());
        Ok(vault)
    }

    /// Whether a Clerk secret key is configured (`CLERK_SECRET_KEY`, or a key kept in the OS
    /// keyring). The first call reads it; later and concurrent calls share that answer.
    pub async fn clerk_configured(&self) -> bool {
        *self
            .clerk_configured
            .get_or_init(|| async {
                tauri::async_runtime::spawn_blocking(|| match Config::from_env() {
                    Ok(config) => {
                        matches!(config.accounts, digimed_core::config::AccountDirectory::Clerk { .. })
                    }
                    Err(_) => std::env::var("CLERK_SECRET_KEY").is_ok_and(|v| !v.trim().is_empty()),
                })
                .await
                .unwrap_or(false)
            })
            .await
    }

    /// A console state whose meeting links are recorded instead of opened (the test bridge).
    pub fn recording_opened_links(opened: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> ConsoleState {
        ConsoleState { link_opener: LinkOpener::Record(opened), ..ConsoleState::default() }
    }

    /// How meeting links are opened.
    pub fn link_opener(&self) -> &LinkOpener {
        &self.link_opener
    }

    /// The meeting service as configured (`DIGIMED_JITSI_*`, the keyring), read once.
    pub async fn meetings(&self) -> Meetings {
        self.meetings
            .get_or_init(|| async {
                tauri::async_runtime::spawn_blocking(Meetings::from_env).await.unwrap_or_else(|_| {
                    Meetings::misconfigured(Error::internal("Reading the meeting service's settings stopped unexpectedly."))
                })
            })
            .await
            .clone()
    }

    /// Remembers the queue watcher task, stopping any earlier one.
    pub async fn set_watcher(&self, task: tauri::async_runtime::JoinHandle<()>) {
        if let Some(old) = self.watcher.lock().await.replace(task) {
            old.abort();
        }
    }

    async fn stop_watching(&self) {
        if let Some(task) = self.watcher.lock().await.take() {
            task.abort();
        }
    }
}
