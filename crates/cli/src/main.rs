//! `digimed`: the clinic's command-line tool. Every command calls the same core functions as
//! the console and the HTTP service.

mod bench_cmd;
mod bench_onboarding;
mod bench_report;
mod bench_serve;
mod bench_table;
mod consent_cmd;
mod fax_cmd;
mod lead_cmd;
mod messages_cmd;
mod orders_cmd;
mod patient_cmd;
mod patients_cmd;
mod queue_cmd;
mod report_cmd;
mod result_cmd;
mod reviews_cmd;
mod rules_cmd;
mod scratch;
mod workstation_cmd;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::session::AppRole;
use digimed_core::{db, ClinicTx, Error, ErrorCode};
use digimed_crypto::{DataKeys, KeyDomain, KeyStore, Secret};
use digimed_domain::{Email, PersonName};

#[derive(Parser)]
#[command(name = "digimed", version, about = "Digimed clinic tool: database, staff, keys and audit.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The clinic database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Staff members and their sign-in.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Data-encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Workstations: enrollment bundles, accepting one, listing and revoking them.
    Workstation {
        #[command(subcommand)]
        command: workstation_cmd::WorkstationCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The ICPC-2 code list (imported from the health directorate's published file).
    Icpc2 {
        #[command(subcommand)]
        command: Icpc2Command,
    },
    /// Referral partners and their webhook secrets.
    Partner {
        #[command(subcommand)]
        command: queue_cmd::PartnerCommand,
    },
    /// Messages to patients: their states, and resending a join link.
    Messages {
        #[command(subcommand)]
        command: messages_cmd::MessagesCommand,
    },
    /// The order of a consultation and its discount.
    Order {
        #[command(subcommand)]
        command: orders_cmd::OrderCommand,
    },
    /// Partner referrals.
    Referral {
        #[command(subcommand)]
        command: queue_cmd::ReferralCommand,
    },
    /// The consultation queue.
    Queue {
        #[command(subcommand)]
        command: queue_cmd::QueueCommand,
    },
    /// One consultation: pick, start, complete, cancel, assign, screen.
    Consultation {
        #[command(subcommand)]
        command: queue_cmd::ConsultationCommand,
    },
    /// A consultation's result: show it (audited), amend it with a reason.
    Result {
        #[command(subcommand)]
        command: result_cmd::ResultCommand,
    },
    /// Onboards a patient (docs/onboarding.md) as the login DATABASE_URL names: account, person, org link,
    /// consent forms and the `patient.onboarded` event, in one transaction.
    Onboard(patients_cmd::OnboardArgs),
    /// Looks for likely duplicates of a person before creating them.
    Match(patients_cmd::MatchArgs),
    /// The clinic's leads: listing them, and converting one into a patient (docs/leads.md).
    Lead {
        #[command(subcommand)]
        command: lead_cmd::LeadCommand,
    },
    /// A patient's card, and editing their profile.
    Patient {
        #[command(subcommand)]
        command: patient_cmd::PatientCommand,
    },
    /// Bearer tokens for the HTTP service's onboarding API.
    ApiToken {
        #[command(subcommand)]
        command: patients_cmd::ApiTokenCommand,
    },
    /// The fax inbox: filing a received fax from a PDF.
    Fax {
        #[command(subcommand)]
        command: fax_cmd::FaxCommand,
    },
    /// Patients' ratings of their consultations, per doctor and per partner, with the newest
    /// comments (admins).
    Reviews(reviews_cmd::ReviewsArgs),
    /// Runs the HTTP service (onboarding API, partner webhook, the public review and preferences
    /// pages) and the outgoing-webhook worker.
    Serve(patients_cmd::ServeArgs),
    /// Outgoing webhook subscriptions and their deliveries.
    Webhooks {
        #[command(subcommand)]
        command: patients_cmd::WebhooksCommand,
    },
    /// The insurer report (per partner and period, .xlsx or .csv).
    Report {
        #[command(subcommand)]
        command: report_cmd::ReportCommand,
    },
    /// The consent-status view and consent withdrawals.
    Consent {
        #[command(subcommand)]
        command: consent_cmd::ConsentCommand,
    },
    /// Consent forms: a patient's forms, paper signatures, templates.
    Forms {
        #[command(subcommand)]
        command: consent_cmd::FormsCommand,
    },
    /// The forms a clinic requires when a patient is onboarded (its onboarding rules).
    Rules {
        #[command(subcommand)]
        command: rules_cmd::RulesCommand,
    },
    /// The outcomes a consultation result may name.
    Outcome {
        #[command(subcommand)]
        command: report_cmd::OutcomeCommand,
    },
    /// Benchmarks on a scratch database next to DATABASE_URL's.
    Bench {
        #[command(subcommand)]
        command: bench_cmd::BenchCommand,
    },
    /// Prints the HTTP service's OpenAPI 3.1 document (the one `digimed serve` answers at /openapi.json).
    Openapi,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Applies pending migrations (schema, roles, policies).
    Migrate,
    /// Fills an empty database with demo data and prints the demo sign-ins once.
    SeedDemo {
        /// Domain of the demo staff logins (logins are unique across the database server).
        #[arg(long, default_value = "demo.digimed.test")]
        login_domain: String,
        /// Print the result as JSON (with the generated passwords).
        #[arg(long)]
        json: bool,
        /// Do nothing (and succeed) when the database already has data.
        #[arg(long)]
        if_empty: bool,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Creates a staff member with their own database login in one clinic role.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// secretary, doctor, customer_support or admin
        #[arg(long)]
        role: String,
        /// The clinic (organization id); needed when there is more than one.
        #[arg(long)]
        org: Option<i32>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Lists staff members.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Deactivates a staff member (by id): their login can no longer sign in.
    Deactivate { id: i32 },
    /// Reactivates a deactivated staff member (by id).
    Reactivate { id: i32 },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Creates the keys of one domain: contact (in the key file named by DIGIMED_KEY_FILE, or the
    /// OS keyring account data-keys) or clinical (DIGIMED_CLINICAL_KEY_FILE, or the OS keyring
    /// account clinical-keys).
    Init {
        /// contact or clinical
        #[arg(long, default_value = "contact")]
        domain: String,
    },
    /// Adds a new key to one domain, makes it current and re-encrypts that domain's fields in
    /// batches: contact as the database owner; clinical as an admin (DATABASE_URL naming their
    /// login) on a workstation holding both domains' keys, which also moves results still under
    /// the contact keys into the clinical domain.
    Rotate {
        /// contact or clinical
        #[arg(long, default_value = "contact")]
        domain: String,
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

fn key_domain(name: &str) -> Result<KeyDomain, Error> {
    KeyDomain::parse(name)
        .ok_or_else(|| Error::field(ErrorCode::InvalidInput, "domain", "The key domain is contact or clinical."))
}

/// Where the keys of `domain` are kept, as configured.
pub(crate) fn key_store_of(config: &Config, domain: KeyDomain) -> Result<KeyStore, Error> {
    match domain {
        KeyDomain::Contact => Ok(config.key_store.clone()),
        KeyDomain::Clinical => {
            let store = config.clinical_key_store.clone().ok_or_else(|| {
                Error::field(
                    ErrorCode::Configuration,
                    "DIGIMED_CLINICAL_KEY_FILE",
                    "The contact keys are in a key file, and DIGIMED_CLINICAL_KEY_FILE names no file for the clinical keys; set it (on a doctor's or admin's workstation only).",
                )
            })?;
            if store == config.key_store {
                return Err(Error::field(
                    ErrorCode::Configuration,
                    "DIGIMED_CLINICAL_KEY_FILE",
                    "DIGIMED_CLINICAL_KEY_FILE names the contact key file; the clinical keys need a file of their own.",
                ));
            }
            Ok(store)
        }
    }
}

fn keys_error(e: digimed_crypto::KeyStoreError) -> Error {
    Error::new(ErrorCode::KeysUnavailable, e.to_string())
}

#[derive(Subcommand)]
enum Icpc2Command {
    /// Imports the code list from a JSON file (`[{"code": "A01", "text": "..."}]`); idempotent.
    Import { file: std::path::PathBuf },
    /// Searches codes by code prefix or by words of the title.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recomputes the audit log's hash chain and reports the first broken row.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DIGIMED_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::DatabaseUnavailable => 3,
                ErrorCode::Internal => 1,
                _ => 2,
            })
        }
    }
}

async fn owner_pool(config: &Config) -> Result<db::PgPool, Error> {
    db::connect(config.database_url()?, 4).await
}

async fn run(cli: Cli) -> Result<(), Error> {
    if let Command::Openapi = cli.command {
        // Needs no database and no configuration.
        print!("{}", digimed_service::openapi_json_text());
        return Ok(());
    }
    let config = Config::from_env()?;
    match cli.command {
        Command::Db { command: DbCommand::Migrate } => {
            let pool = owner_pool(&config).await?;
            let n = db::migrate(&pool).await?;
            println!("database is up to date ({n} migration(s) applied)");
        }
        Command::Db { command: DbCommand::SeedDemo { login_domain, json, if_empty } } => {
            let vault = Vault::load_configured(&config)?;
            let pool = owner_pool(&config).await?;
            if if_empty && digimed_demo::is_seeded(&pool).await? {
                eprintln!("the database already has data; demo not seeded again");
                return Ok(());
            }
            let creds = digimed_demo::seed_demo(&pool, &vault, &digimed_demo::DemoOptions { login_domain }).await?;
            if json {
                let staff: Vec<_> = creds
                    .staff
                    .iter()
                    .map(|s| serde_json::json!({"role": s.role, "name": s.name, "login": s.login, "password": s.password()}))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"staff": staff, "partner": {"name": creds.partner_name, "secret": creds.partner_secret.expose()}})
                );
            } else {
                println!("Demo data created. Staff sign-ins (the database keeps no copy of these passwords):");
                for s in &creds.staff {
                    println!("  {:<17} {:<36} {}", s.role.as_str(), s.login, s.password());
                }
                println!("Partner \"{}\" webhook secret: {}", creds.partner_name, creds.partner_secret.expose());
            }
        }
        Command::Staff { command: StaffCommand::Add { email, name, role, org, password_stdin: _ } } => {
            let role = AppRole::parse(&role)?;
            let email = Email::parse(&email).map_err(|e| Error::refused("email", e.code(), e))?;
            let name = PersonName::parse(&name).map_err(|e| Error::refused("name", e.code(), e))?;
            let password = read_password()?;
            let pool = owner_pool(&config).await?;
            let s =
                ClinicTx::run(&pool, async |tx| digimed_core::staff::add_staff(tx, &email, &name, role, org, &password).await)
                    .await?;
            println!(
                "created {} ({}) as {} in organization {}; sign in as {}",
                s.name,
                s.email,
                s.role.as_str(),
                s.organization_id,
                s.login
            );
        }
        Command::Staff { command: StaffCommand::List { json } } => {
            let pool = owner_pool(&config).await?;
            let staff = ClinicTx::run(&pool, async |tx| digimed_core::staff::list_staff(tx).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&staff).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                for s in staff {
                    println!(
                        "{:>4}  {:<17} {:<36} {}{}",
                        s.id,
                        s.role.as_str(),
                        s.login,
                        s.name,
                        if s.active { "" } else { " (deactivated)" }
                    );
                }
            }
        }
        Command::Staff { command: command @ (StaffCommand::Deactivate { .. } | StaffCommand::Reactivate { .. }) } => {
            let (id, active) = match command {
                StaffCommand::Reactivate { id } => (id, true),
                StaffCommand::Deactivate { id } => (id, false),
                _ => unreachable!("matched above"),
            };
            let pool = owner_pool(&config).await?;
            let s = ClinicTx::run(&pool, async |tx| digimed_core::staff::set_active(tx, id, active).await).await?;
            println!(
                "{} ({}) is {}",
                s.name,
                s.login,
                if s.active { "active again" } else { "deactivated; the login can no longer sign in" }
            );
        }
        Command::Keys { command: KeysCommand::Init { domain } } => {
            let domain = key_domain(&domain)?;
            let store = key_store_of(&config, domain)?;
            if store.load().is_ok() {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!(
                        "{} keys already exist in {}; use `digimed keys rotate --domain {}` to add a new one.",
                        if domain == KeyDomain::Contact { "Data" } else { "Clinical" },
                        store.describe(),
                        domain.as_str()
                    ),
                ));
            }
            let keys = DataKeys::generate_for(domain);
            store.save(&keys).map_err(keys_error)?;
            println!("created {} keys (key id {}) in {}", domain.as_str(), keys.current_key_id(), store.describe());
        }
        Command::Keys { command: KeysCommand::Rotate { domain, batch } } => {
            let domain = key_domain(&domain)?;
            let pool = owner_pool(&config).await?;
            workstation_cmd::rotate_keys(&config, &pool, domain, batch).await?;
        }
        Command::Workstation { command } => workstation_cmd::run(&config, command).await?,
        Command::Icpc2 { command: Icpc2Command::Import { file } } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| Error::field(ErrorCode::InvalidInput, "file", format!("Cannot read {}: {e}", file.display())))?;
            let pool = owner_pool(&config).await?;
            let r = ClinicTx::run(&pool, async |tx| digimed_core::icpc2::import(tx, &bytes).await).await?;
            if r.unchanged {
                println!("ICPC-2 list already imported ({} codes, sha256 {}); nothing changed", r.codes, r.sha256);
            } else {
                println!("imported {} ICPC-2 codes ({} retired), sha256 {}", r.codes, r.retired, r.sha256);
            }
        }
        Command::Icpc2 { command: Icpc2Command::Search { query, limit, json } } => {
            let pool = owner_pool(&config).await?;
            let found = ClinicTx::run(&pool, async |tx| digimed_core::icpc2::search(tx, &query, limit).await).await?;
            if json {
                println!("{}", serde_json::to_string(&found).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                for c in found {
                    println!("{:<5} {:<10} {}", c.code, c.component, c.title);
                }
            }
        }
        Command::Audit { command: AuditCommand::Verify { json } } => {
            let pool = owner_pool(&config).await?;
            let report = ClinicTx::run(&pool, async |tx| digimed_core::audit::verify_chain(tx).await).await?;
            if json {
                println!("{}", serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))?);
            } else if let Some(id) = &report.first_broken_id {
                println!(
                    "audit chain BROKEN at row {id}: {} ({} rows checked)",
                    report.problem.as_deref().unwrap_or(""),
                    report.rows
                );
            } else {
                println!("audit chain intact: {} rows", report.rows);
            }
            if !report.intact() {
                return Err(Error::new(ErrorCode::Internal, "the audit log has been tampered with"));
            }
        }
        Command::Partner { command } => queue_cmd::partner(&config, command).await?,
        Command::Order { command } => orders_cmd::order(&config, command).await?,
        Command::Messages { command } => messages_cmd::run(&config, command).await?,
        Command::Referral { command } => queue_cmd::referral(&config, command).await?,
        Command::Fax { command } => fax_cmd::fax(&config, command).await?,
        Command::Queue { command } => queue_cmd::queue(&config, command).await?,
        Command::Consultation { command } => queue_cmd::consultation(&config, command).await?,
        Command::Result { command } => result_cmd::result(&config, command).await?,
        Command::Bench { command } => bench_cmd::run(&config, command).await?,
        Command::Report { command } => report_cmd::report(&config, command).await?,
        Command::Outcome { command } => report_cmd::outcome(&config, command).await?,
        Command::Rules { command } => rules_cmd::rules(&config, command).await?,
        Command::Consent { command } => consent_cmd::consent(&config, command).await?,
        Command::Forms { command } => consent_cmd::forms_cmd(&config, command).await?,
        Command::Onboard(args) => patients_cmd::onboard(&config, args).await?,
        Command::Match(args) => patients_cmd::find_matches(&config, args).await?,
        Command::Lead { command } => lead_cmd::run(&config, command).await?,
        Command::Patient { command } => patient_cmd::patient(&config, command).await?,
        Command::ApiToken { command } => patients_cmd::api_token(&config, command).await?,
        Command::Reviews(args) => reviews_cmd::reviews(&config, args).await?,
        Command::Serve(args) => patients_cmd::serve(&config, args).await?,
        Command::Webhooks { command } => patients_cmd::webhooks(&config, command).await?,
        Command::Openapi => unreachable!("answered before the configuration is read"),
    }
    Ok(())
}

fn read_password() -> Result<Secret<String>, Error> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|_| Error::field(ErrorCode::InvalidInput, "password", "Could not read the password from standard input."))?;
    let trimmed = s.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&s).to_string();
    Ok(Secret::new(trimmed))
}
