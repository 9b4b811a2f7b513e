//! Workstations: an admin's enrollments (make a bundle, list, revoke), and enrolling this
//! workstation from the sign-in screen. Thin adapters over `digimed_core::workstations`.

use std::path::PathBuf;

use digimed_core::config::Config;
use digimed_core::session::{self, AppRole, StaffSession};
use digimed_core::workstations::{self, BundlePreview, Enrollment, WorkstationStore};
use digimed_core::{ClinicTx, Error, ErrorCode};
use digimed_crypto::Secret;
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::state::{ConsoleState, SignedIn};

/// A new enrollment: the bundle saved in the admin's Downloads folder, and the passphrase that
/// opens it, shown once.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CreatedEnrollment {
    pub enrollment: Enrollment,
    /// Where the bundle was saved.
    pub file: String,
    pub passphrase: String,
}

/// The console's own settings folder (`DIGIMED_CONFIG_DIR`, or the app's configuration folder),
/// where enrolling keeps the server address and the clinic's CA certificate.
fn config_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("DIGIMED_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    app.path()
        .app_config_dir()
        .map_err(|_| Error::new(ErrorCode::Configuration, "This computer has no folder for the console's settings."))
}

/// The server saved by enrolling this workstation, if any.
pub fn saved_server<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    let text = std::fs::read_to_string(config_dir(app).ok()?.join("settings.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?.get("server")?.as_str().map(str::to_string)
}

fn store() -> Result<WorkstationStore, Error> {
    Ok(WorkstationStore::for_config(&Config::from_env()?))
}

fn file_name(label: &str, id: i32) -> String {
    let slug: String =
        label.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect::<String>();
    let slug = slug.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    format!("digimed-enrollment-{id}-{slug}.age")
}

/// Makes an enrollment for a new workstation and saves its bundle in the Downloads folder.
#[tauri::command]
#[specta::specta]
pub async fn workstation_enroll<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, ConsoleState>,
    label: String,
    role: AppRole,
) -> Result<CreatedEnrollment, Error> {
    let (pool, _) = state.require().await?;
    let server = state.server().await?;
    let vault = state.vault().await?;
    let dir: PathBuf = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|_| Error::new(ErrorCode::Configuration, "There is no Downloads folder to save the bundle in."))?;
    let mut tx = ClinicTx::begin(&pool).await?;
    let made = workstations::create(&mut tx, &vault, &label, role, &server).await?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(ErrorCode::Configuration, format!("The folder {} cannot be created: {e}", dir.display())))?;
    let path = dir.join(file_name(&made.enrollment.label, made.enrollment.id));
    std::fs::write(&path, made.bundle.as_bytes())
        .map_err(|e| Error::new(ErrorCode::Configuration, format!("The bundle cannot be saved to {}: {e}", path.display())))?;
    if let Err(e) = tx.commit().await {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(CreatedEnrollment { enrollment: made.enrollment, file: path.display().to_string(), passphrase: made.passphrase })
}

/// The clinic's enrolled workstations, newest first.
#[tauri::command]
#[specta::specta]
pub async fn workstations_list(state: State<'_, ConsoleState>) -> Result<Vec<Enrollment>, Error> {
    state.act(async |tx| workstations::list(tx).await).await
}

/// Revokes a workstation's enrollment.
#[tauri::command]
#[specta::specta]
pub async fn workstation_revoke(state: State<'_, ConsoleState>, id: i32) -> Result<Enrollment, Error> {
    state.act(async |tx| workstations::revoke(tx, id).await).await
}

/// Whether this console holds data keys; one that holds none offers to enroll.
#[tauri::command]
#[specta::specta]
pub async fn workstation_enrolled() -> Result<bool, Error> {
    let store = store()?;
    tauri::async_runtime::spawn_blocking(move || store.holds_keys())
        .await
        .map_err(|_| Error::internal("Looking for the data keys stopped unexpectedly."))?
}

/// Opens an enrollment bundle (its text) with the passphrase, and shows what it is for. Nothing
/// is saved; the bundle is kept until [`enrollment_complete`].
#[tauri::command]
#[specta::specta]
pub async fn enrollment_open(state: State<'_, ConsoleState>, bundle: String, passphrase: String) -> Result<BundlePreview, Error> {
    let passphrase = Secret::new(passphrase);
    let opened = tauri::async_runtime::spawn_blocking(move || workstations::open(bundle.as_bytes(), passphrase.expose()))
        .await
        .map_err(|_| Error::internal("Opening the bundle stopped unexpectedly."))??;
    let preview = BundlePreview::from(&opened);
    state.set_pending_enrollment(Some(opened)).await;
    Ok(preview)
}

/// Signs in on the opened bundle's server; only then uses the enrollment up, saves the keys to
/// the OS keyring and the server address (and CA certificate) to the console's settings.
#[tauri::command]
#[specta::specta]
pub async fn enrollment_complete<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, ConsoleState>,
    username: String,
    password: String,
) -> Result<StaffSession, Error> {
    let bundle = state
        .take_pending_enrollment()
        .await
        .ok_or_else(|| Error::field(ErrorCode::InvalidInput, "bundle", "Choose the bundle and type its passphrase first."))?;
    let password = Secret::new(password);
    let store = store()?;
    let dir = config_dir(&app)?;
    // The CA certificate is kept in the settings folder only once the enrollment succeeded.
    let scratch_ca = match &bundle.ca_pem {
        Some(pem) => {
            let path = std::env::temp_dir().join(format!("digimed-enroll-ca-{}.pem", std::process::id()));
            std::fs::write(&path, pem).map_err(|e| Error::internal(format!("The CA certificate cannot be written: {e}.")))?;
            Some(path)
        }
        None => None,
    };
    let attempt = async {
        let (pool, session) =
            session::sign_in(&workstations::server_with_ca(&bundle.server, scratch_ca.as_deref()), &username, &password).await?;
        let tx = match ClinicTx::begin(&pool).await {
            Ok(tx) => tx,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        match workstations::accept(tx, &bundle, &store).await {
            Ok(_) => Ok((pool, session)),
            Err(e) => {
                pool.close().await;
                Err(e)
            }
        }
    };
    let result = attempt.await;
    if let Some(path) = &scratch_ca {
        let _ = std::fs::remove_file(path);
    }
    let (pool, session) = match result {
        Ok(ok) => ok,
        Err(e) => {
            // A refusal that is not about the bundle leaves it open for another try.
            if !matches!(e.code, ErrorCode::EnrollmentUsed | ErrorCode::EnrollmentRevoked | ErrorCode::NotFound) {
                state.set_pending_enrollment(Some(bundle)).await;
            }
            return Err(e);
        }
    };
    let ca_file = dir.join("clinic-ca.pem");
    let saved = (|| -> std::io::Result<String> {
        std::fs::create_dir_all(&dir)?;
        let server = match &bundle.ca_pem {
            Some(pem) => {
                std::fs::write(&ca_file, pem)?;
                workstations::server_with_ca(&bundle.server, Some(&ca_file))
            }
            None => bundle.server.clone(),
        };
        std::fs::write(dir.join("settings.json"), serde_json::json!({ "server": server }).to_string())?;
        Ok(server)
    })();
    let server = match saved {
        Ok(server) => server,
        Err(e) => {
            // The keys are saved and the enrollment used: say so, and what to do.
            tracing::warn!(error = %e, "could not save the console's settings after enrolling");
            workstations::server_with_ca(&bundle.server, None)
        }
    };
    state.forget_vault().await;
    state.sign_in(SignedIn { pool, session: session.clone(), server }).await;
    tracing::info!(staff_id = session.staff_id, enrollment = bundle.enrollment_id, "workstation enrolled");
    Ok(session)
}
