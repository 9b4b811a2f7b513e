//! The commands the UI calls. Each one is a thin adapter: arguments in, one core call, the core's
//! typed error out.

use digimed_core::session::{self, StaffSession};
use digimed_core::workstations::WorkstationStore;
use digimed_core::{Error, ErrorCode};
use digimed_crypto::{KeyringError, Secret};
use serde::Serialize;
use tauri::State;

use crate::state::{ConsoleState, SignedIn};
use crate::timing::timed;

/// Keyring service under which the console keeps remembered staff passwords.
pub const KEYRING_SERVICE: &str = "digimed-console";

/// The keyring account of a remembered staff password: one per username and server.
pub fn password_account(server: &str, username: &str) -> String {
    format!("staff-password:{}@{}", username.trim(), server.trim())
}

/// Where patient login accounts are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ClerkMode {
    /// Clerk's Backend API (a secret key is configured).
    Configured,
    /// No Clerk key: accounts are kept in a local account directory.
    LocalDirectory,
}

/// Facts about this installation that the sign-in screen shows before anyone signs in.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppStatus {
    /// The database to offer on the sign-in screen (`DIGIMED_SERVER`).
    pub default_server: Option<String>,
    /// True when the database holds demo data only (`DIGIMED_DEMO=1`).
    pub demo: bool,
    pub clerk: ClerkMode,
    pub version: String,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Describes this installation: default server, demo mode, where patient accounts go, version.
#[tauri::command]
#[specta::specta]
pub async fn app_status<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> AppStatus {
    use tauri::Manager;
    // Where patient accounts go is read once, from the start of the process (see `run`).
    let state = app.state::<ConsoleState>();
    let clerk = timed("app_status: Clerk configuration known", state.clerk_configured()).await;
    AppStatus {
        default_server: env_var("DIGIMED_SERVER").or_else(|| crate::workstation_commands::saved_server(&app)),
        demo: env_var("DIGIMED_DEMO").as_deref() == Some("1"),
        clerk: if clerk { ClerkMode::Configured } else { ClerkMode::LocalDirectory },
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn keyring_error(e: KeyringError) -> Error {
    Error::new(ErrorCode::KeysUnavailable, format!("{e}."))
}

/// Runs a blocking keyring call off the async runtime.
async fn keyring<T: Send + 'static>(call: impl FnOnce() -> Result<T, KeyringError> + Send + 'static) -> Result<T, Error> {
    tauri::async_runtime::spawn_blocking(call)
        .await
        .map_err(|_| Error::internal("The keyring call stopped unexpectedly."))?
        .map_err(keyring_error)
}

/// Whether a password for this username and server is saved in the OS keyring.
#[tauri::command]
#[specta::specta]
pub async fn remembered_password(server: String, username: String) -> Result<bool, Error> {
    if server.trim().is_empty() || username.trim().is_empty() {
        return Ok(false);
    }
    let account = password_account(&server, &username);
    keyring(move || digimed_crypto::keyring_get(KEYRING_SERVICE, &account)).await.map(|saved| saved.is_some())
}

/// Signs a staff member in as their own database login.
///
/// An empty `password` means "use the password saved for this login", when there is one. With
/// `remember` the password is saved in the OS keyring after a successful sign-in; without it any
/// saved one is deleted.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    state: State<'_, ConsoleState>,
    server: String,
    username: String,
    password: String,
    remember: bool,
) -> Result<StaffSession, Error> {
    let account = password_account(&server, &username);
    let mut from_keyring = false;
    let mut password = Secret::new(password);
    if password.expose().is_empty() && !username.trim().is_empty() && !server.trim().is_empty() {
        let lookup = account.clone();
        // An unreadable keyring is the same as nothing saved: the core then asks for the password.
        if let Ok(Some(saved)) = timed(
            "sign_in: saved password read (keyring)",
            keyring(move || digimed_crypto::keyring_get(KEYRING_SERVICE, &lookup)),
        )
        .await
        {
            password = saved;
            from_keyring = true;
        }
    }

    let signed_in = timed("sign_in: connected and staff read (database)", session::sign_in(&server, &username, &password)).await;
    let (pool, session) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(e) if from_keyring && e.code == ErrorCode::Unauthorized => {
            // The saved password no longer works (it was changed); forget it rather than retry it.
            let forget = account.clone();
            let _ = keyring(move || digimed_crypto::keyring_delete(KEYRING_SERVICE, &forget)).await;
            return Err(Error::field(
                ErrorCode::Unauthorized,
                "password",
                "The saved password was refused, so it has been forgotten. Enter your password.",
            ));
        }
        Err(e) => return Err(e),
    };

    let stored = timed("sign_in: saved password kept or forgotten (keyring)", async {
        if remember {
            keyring(move || digimed_crypto::keyring_set(KEYRING_SERVICE, &account, &password)).await
        } else {
            keyring(move || digimed_crypto::keyring_delete(KEYRING_SERVICE, &account).map(|_| ())).await
        }
    })
    .await;
    if let Err(e) = stored {
        if remember {
            pool.close().await;
            return Err(Error::field(
                ErrorCode::KeysUnavailable,
                "remember",
                format!("The password could not be saved: {} Untick \"Remember me\" to sign in without saving it.", e.message),
            ));
        }
        // Nothing could have been saved in a keyring that cannot be reached.
        tracing::warn!(error = %e.message, "could not delete a remembered password");
    }

    // An enrolled workstation takes the newer keys delivered to it since the last rotation.
    match pick_up_keys(&pool).await {
        Ok(renewed) if !renewed.is_empty() => {
            state.forget_vault().await;
            tracing::info!(domains = ?renewed, "new data keys taken from the delivery");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(code = e.code.as_str(), error = %e.message, "could not take delivered data keys"),
    }
    state.sign_in(SignedIn { pool, session: session.clone(), server: server.trim().to_string() }).await;
    tracing::info!(staff_id = session.staff_id, role = session.role.as_str(), "signed in");
    Ok(session)
}

async fn pick_up_keys(pool: &sqlx::PgPool) -> Result<Vec<String>, Error> {
    let store = WorkstationStore::for_config(&digimed_core::config::Config::from_env()?);
    let mut tx = digimed_core::ClinicTx::begin(pool).await?;
    let renewed = digimed_core::workstations::pick_up_keys(&mut tx, &store).await?;
    tx.commit().await?;
    Ok(renewed)
}

/// Signs out: closes the staff member's database connections and forgets the session.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(state: State<'_, ConsoleState>) -> Result<(), Error> {
    state.sign_out().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_account_names_username_and_server() {
        assert_eq!(password_account(" postgres://db:5432/digimed ", " kari "), "staff-password:kari@postgres://db:5432/digimed");
    }
}
