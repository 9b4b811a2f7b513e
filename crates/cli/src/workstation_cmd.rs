//! `digimed workstation`: enrolling workstations (an admin's bundle, a headless machine's
//! acceptance), listing them, and revoking one with the key rotation that goes with it.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::session::{self, AppRole};
use digimed_core::workstations::{self, WorkstationStore};
use digimed_core::{ClinicTx, Error, ErrorCode};
use digimed_crypto::{KeyDomain, Secret};

#[derive(Subcommand)]
pub enum WorkstationCommand {
    /// Makes a one-time enrollment bundle for a new workstation (as an admin's login in
    /// DATABASE_URL); prints the passphrase that opens it, once.
    Enroll {
        #[arg(long)]
        label: String,
        /// secretary, doctor, customer_support or admin.
        #[arg(long)]
        role: String,
        /// Where to write the bundle (refuses to overwrite a file).
        #[arg(long)]
        out: PathBuf,
    },
    /// Enrolls this machine with a bundle: the passphrase, then the password of USERNAME, are
    /// read from standard input (one line each) or asked for. Keys go to DIGIMED_KEY_FILE or the
    /// OS keyring.
    Accept {
        file: PathBuf,
        /// The staff login to sign in with on the bundle's server.
        #[arg(long)]
        username: String,
        /// Where to keep the clinic's CA certificate, when the bundle carries one.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Lists the enrollments.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revokes an enrollment and rotates the data keys (the database owner's operation): the
    /// workstation's keys read no new data; the other workstations get the new key at sign-in.
    Revoke {
        id: i32,
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Rotates the data keys for enrollments revoked in the console (the database owner's).
    Rotate {
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

fn keys_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::KeysUnavailable, e.to_string())
}

/// Adds a data key, re-encrypts every encrypted field under it in batches (one transaction each)
/// and delivers it to the enrolled workstations. `digimed keys rotate` and the workstation
/// commands share it.
pub async fn rotate_keys(config: &Config, pool: &digimed_core::db::PgPool, domain: KeyDomain, batch: i64) -> Result<(), Error> {
    let store = crate::key_store_of(config, domain)?;
    let mut keys = store.load_for(domain).map_err(keys_error)?;
    // The contact keys are loaded for a clinical rotation too: results still under them move.
    let contact = match domain {
        KeyDomain::Contact => None,
        KeyDomain::Clinical => Some(config.key_store.load_for(KeyDomain::Contact).map_err(keys_error)?),
    };
    ClinicTx::run(pool, async |tx| digimed_core::keys::check_rotation(tx, domain)).await?;
    let new_id = keys.rotate();
    store.save_replacing(&keys).map_err(keys_error)?;
    let vault = match contact {
        None => Vault::new(keys),
        Some(contact) => Vault::with_clinical(contact, Some(keys)),
    };
    let (mut cursor, mut report) = Default::default();
    let batch = batch.clamp(1, 10_000);
    // One transaction per batch, so the clinic keeps working while fields are re-encrypted.
    while ClinicTx::run(pool, async |tx| match domain {
        KeyDomain::Contact => digimed_core::keys::reencrypt_batch(tx, &vault, &mut cursor, batch, &mut report).await,
        KeyDomain::Clinical => digimed_core::keys::reencrypt_clinical_batch(tx, &vault, &mut cursor, batch, &mut report).await,
    })
    .await?
    {}
    let delivered = ClinicTx::run(pool, async |tx| workstations::deliver_keys(tx, &vault, domain).await).await?;
    println!(
        "{} key {new_id} is now current; re-encrypted {} field(s), moved {} from the contact keys, {} already under it; delivered to {delivered} workstation(s)",
        domain.as_str(),
        report.reencrypted,
        report.moved_from_contact,
        report.already_current
    );
    Ok(())
}

fn read_line(prompt: &str, field: &str) -> Result<Secret<String>, Error> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|_| Error::field(ErrorCode::InvalidInput, field, format!("Could not read the {field} from standard input.")))?;
    let trimmed = line.trim_end_matches(['\n', '\r']).to_string();
    Ok(Secret::new(trimmed))
}

fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .map_err(|e| Error::field(ErrorCode::InvalidInput, "out", format!("{} cannot be written: {e}.", path.display())))
}

pub async fn run(config: &Config, command: WorkstationCommand) -> Result<(), Error> {
    match command {
        WorkstationCommand::Enroll { label, role, out } => {
            let role = AppRole::parse(&role)?;
            let vault = Vault::load(&config.key_store)?;
            let server = config.database_url()?.to_string();
            let pool = digimed_core::db::connect(&server, 2).await?;
            let mut tx = ClinicTx::begin(&pool).await?;
            let made = workstations::create(&mut tx, &vault, &label, role, &server).await?;
            write_new_file(&out, made.bundle.as_bytes())?;
            if let Err(e) = tx.commit().await {
                let _ = std::fs::remove_file(&out);
                return Err(e);
            }
            println!(
                "enrollment {} for \"{}\" ({}) written to {}",
                made.enrollment.id,
                made.enrollment.label,
                role.as_str(),
                out.display()
            );
            println!("passphrase (shown once; read it out to the person at the workstation): {}", made.passphrase);
        }
        WorkstationCommand::Accept { file, username, ca_file } => {
            let sealed = std::fs::read(&file).map_err(|e| {
                Error::field(ErrorCode::InvalidInput, "bundle", format!("{} cannot be read: {e}.", file.display()))
            })?;
            let passphrase = read_line("Passphrase", "passphrase")?;
            let bundle = workstations::open(&sealed, passphrase.expose())?;
            let store = WorkstationStore::for_config(config);
            if store.holds_keys()? {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!("This machine already holds data keys ({}); it is enrolled already.", store.contact.describe()),
                ));
            }
            if bundle.ca_pem.is_some() && ca_file.is_none() {
                return Err(Error::field(
                    ErrorCode::InvalidInput,
                    "ca_file",
                    "The bundle carries the clinic's CA certificate: say where to keep it with --ca-file.",
                ));
            }
            let password = read_line(&format!("Password of {username}"), "password")?;
            // The CA certificate is written where it is kept only once the enrollment succeeded.
            let scratch_ca = match &bundle.ca_pem {
                Some(pem) => {
                    let path = std::env::temp_dir().join(format!("digimed-enroll-ca-{}.pem", std::process::id()));
                    std::fs::write(&path, pem)
                        .map_err(|e| Error::internal(format!("The CA certificate cannot be written: {e}.")))?;
                    Some(path)
                }
                None => None,
            };
            let signed_in =
                session::sign_in(&workstations::server_with_ca(&bundle.server, scratch_ca.as_deref()), &username, &password)
                    .await;
            let result = match signed_in {
                Ok((pool, _)) => {
                    let out = match ClinicTx::begin(&pool).await {
                        Ok(tx) => workstations::accept(tx, &bundle, &store).await,
                        Err(e) => Err(e),
                    };
                    pool.close().await;
                    out
                }
                Err(e) => Err(e),
            };
            if let Some(path) = &scratch_ca {
                let _ = std::fs::remove_file(path);
            }
            let preview = result?;
            if let (Some(pem), Some(path)) = (&bundle.ca_pem, &ca_file) {
                std::fs::write(path, pem)
                    .map_err(|e| Error::internal(format!("The CA certificate cannot be written to {}: {e}.", path.display())))?;
            }
            println!("enrolled as \"{}\" ({}); keys saved to {}", preview.label, preview.role.as_str(), store.contact.describe());
            println!("server: {}", workstations::server_with_ca(&preview.server, ca_file.as_deref()));
        }
        WorkstationCommand::List { json } => {
            let pool = digimed_core::db::connect(config.database_url()?, 2).await?;
            let list = ClinicTx::run(&pool, async |tx| workstations::list(tx).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
            } else {
                for e in list {
                    let used = match (&e.used_at, &e.used_by) {
                        (Some(at), Some(by)) => format!("used {} by {by}", at.format("%Y-%m-%d %H:%M")),
                        _ => "not used".to_string(),
                    };
                    let revoked = match (&e.revoked_at, &e.keys_rotated_at) {
                        (Some(_), Some(_)) => ", revoked (keys rotated)",
                        (Some(_), None) => ", revoked (keys not yet rotated)",
                        _ => "",
                    };
                    println!(
                        "{}\t{}\t{}\tcreated {} by {}\t{used}{revoked}",
                        e.id,
                        e.label,
                        e.role.as_str(),
                        e.created_at.format("%Y-%m-%d %H:%M"),
                        e.created_by
                    );
                }
            }
        }
        WorkstationCommand::Revoke { id, batch } => {
            let pool = digimed_core::db::connect(config.database_url()?, 4).await?;
            let revoked = ClinicTx::run(&pool, async |tx| {
                tx.require(digimed_core::Capability::RotateKeys)?;
                workstations::revoke(tx, id).await
            })
            .await?;
            println!("enrollment {} (\"{}\") revoked; rotating the contact keys", revoked.id, revoked.label);
            rotate_keys(config, &pool, KeyDomain::Contact, batch).await?;
            if revoked.domains.iter().any(|d| d == KeyDomain::Clinical.as_str()) {
                println!(
                    "this workstation also held the clinical keys: an admin rotates those on their workstation with `digimed keys rotate --domain clinical`"
                );
            }
        }
        WorkstationCommand::Rotate { batch } => {
            let pool = digimed_core::db::connect(config.database_url()?, 4).await?;
            rotate_keys(config, &pool, KeyDomain::Contact, batch).await?;
        }
    }
    Ok(())
}
