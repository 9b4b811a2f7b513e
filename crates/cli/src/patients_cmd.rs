//! `digimed onboard`, `digimed api-token`, `digimed serve`, `digimed webhooks` and
//! `digimed bench onboarding`: thin wrappers over the core and the service crate.

use std::time::Duration;

use clap::{Args, Subcommand};
use digimed_core::accounts::Accounts;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::onboarding::{self, MatchInput, OnboardInput};
use digimed_core::patients::EntryPoint;
use digimed_core::{db, ClinicTx, Error, ErrorCode};
use digimed_domain::Email;

/// The person a command is about, as given on the command line: `--name`, `--email`, `--phone`.
#[derive(Args)]
pub struct PersonArgs {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
}

#[derive(Args)]
pub struct OnboardArgs {
    #[command(flatten)]
    person: PersonArgs,
    /// The organization (clinic) id.
    #[arg(long = "org")]
    org: Option<i64>,
    /// Print the API's JSON (`{"data": ...}`, or `{"error": ...}` on failure).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct MatchArgs {
    #[command(flatten)]
    person: PersonArgs,
    #[arg(long)]
    national_id: Option<String>,
    /// YYYY-MM-DD
    #[arg(long)]
    date_of_birth: Option<chrono::NaiveDate>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ApiTokenCommand {
    /// Creates a bearer token for a staff member (printed once; stored hashed). Run as the owner.
    Create {
        /// The staff member's e-mail address (their login).
        #[arg(long)]
        staff: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        days: Option<i64>,
    },
    /// Revokes a token by its id.
    Revoke {
        #[arg(long)]
        id: i32,
    },
    /// Creates the database login `digimed serve` signs in with (a member of digimed_service).
    /// Reads its password from standard input. Run as the owner.
    ServiceLogin {
        #[arg(long, default_value = "digimed_service_login")]
        login: String,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not run the outgoing-webhook worker in this process.
    #[arg(long)]
    no_webhook_worker: bool,
    /// Do not run the patient-message worker in this process (messages stay queued).
    #[arg(long)]
    no_message_worker: bool,
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Adds a subscription for an organization; prints its signing secret once.
    Add {
        #[arg(long = "org")]
        org: i32,
        #[arg(long)]
        url: String,
        /// Event types (comma-separated); all events when omitted.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
    /// Shows delivery state (admins and the owner).
    Deliveries {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct BenchOnboardingArgs {
    /// Seconds per path and client count.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Keep the scratch database (and its login) afterwards.
    #[arg(long)]
    keep: bool,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))
}

/// The API's error body, for `--json` output.
pub fn error_json(e: &Error) -> String {
    let mut body = serde_json::json!({"code": e.code.as_str(), "message": e.message});
    if let Some(d) = &e.details {
        body["details"] = d.clone();
    }
    serde_json::json!({"error": body}).to_string()
}

pub async fn onboard(config: &Config, args: OnboardArgs) -> Result<(), Error> {
    let accounts = Accounts::from_config(&config.accounts)?;
    if matches!(accounts, Accounts::Local) {
        eprintln!("note: {}", config.accounts_notice());
    }
    let result = async {
        let vault = Vault::load_configured(config)?;
        let pool = db::connect(config.database_url()?, 2).await?;
        let PersonArgs { name, email, phone } = args.person;
        let input = OnboardInput { name, email, phone, organization_id: args.org };
        let tx = ClinicTx::begin(&pool).await?;
        onboarding::onboard(tx, &vault, &accounts, &input, EntryPoint::WalkIn, &config.default_phone_country).await
    }
    .await;
    match result {
        Ok(done) if args.json => println!("{}", to_json(&serde_json::json!({"data": done}))?),
        Ok(done) => {
            println!(
                "onboarded {} as patient {} of organization {} (person {}, user {}{})",
                done.person.name,
                done.patient.id,
                done.patient.organization_id,
                done.patient_person_id,
                done.user_id,
                if done.user_created { ", new account" } else { ", existing account" }
            );
            for f in &done.required_forms {
                println!("  form {} to sign: {} ({})", f.form_id, f.title, f.status);
            }
        }
        Err(e) => {
            if args.json {
                println!("{}", error_json(&e));
            }
            return Err(e);
        }
    }
    Ok(())
}

pub async fn find_matches(config: &Config, args: MatchArgs) -> Result<(), Error> {
    let vault = Vault::load_configured(config)?;
    let pool = db::connect(config.database_url()?, 2).await?;
    let PersonArgs { name, email, phone } = args.person;
    let input = MatchInput { name, email, phone, national_id: args.national_id, date_of_birth: args.date_of_birth };
    let found =
        ClinicTx::run(&pool, async |tx| onboarding::match_candidates(tx, &vault, &input, &config.default_phone_country).await)
            .await?;
    if args.json {
        println!("{}", to_json(&serde_json::json!({"data": {"candidates": found}}))?);
    } else if found.is_empty() {
        println!("no likely duplicates");
    } else {
        for c in found {
            println!("{:>6}  {:<30} {}", c.patient_person_id, c.name, c.reasons.join(", "));
        }
    }
    Ok(())
}

pub async fn api_token(config: &Config, command: ApiTokenCommand) -> Result<(), Error> {
    let pool = db::connect(config.database_url()?, 2).await?;
    match command {
        ApiTokenCommand::Create { staff, days } => {
            let email = Email::parse(&staff).map_err(|e| Error::refused("staff", e.code(), e))?;
            let created = ClinicTx::run(&pool, async |tx| digimed_core::api_tokens::create(tx, &email, days).await).await?;
            eprintln!("API token {} created for staff member {}; it is shown only now:", created.id, created.staff_id);
            println!("{}", created.token.expose());
        }
        ApiTokenCommand::Revoke { id } => {
            ClinicTx::run(&pool, async |tx| digimed_core::api_tokens::revoke(tx, id).await).await?;
            println!("API token {id} revoked");
        }
        ApiTokenCommand::ServiceLogin { login } => {
            let mut password = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut password).map_err(|_| {
                Error::field(ErrorCode::InvalidInput, "password", "Could not read the password from standard input.")
            })?;
            let password = digimed_crypto::Secret::new(password.trim_end_matches(['\r', '\n']).to_string());
            ClinicTx::run(&pool, async |tx| digimed_core::api_tokens::create_service_login(tx, &login, &password).await).await?;
            println!("created service login {login}; run `digimed serve` with DATABASE_URL naming it");
        }
    }
    Ok(())
}

pub async fn serve(config: &Config, args: ServeArgs) -> Result<(), Error> {
    // The contact keys only: the service never loads the clinical keys (docs/operations.md).
    let vault = Vault::load(&config.key_store)?;
    if std::env::var_os(digimed_core::config::CLINICAL_KEY_FILE_VAR).is_some() {
        tracing::warn!("DIGIMED_CLINICAL_KEY_FILE is set, but digimed serve never loads the clinical keys; ignoring it");
    }
    let accounts = Accounts::from_config(&config.accounts)?;
    eprintln!("{}", config.accounts_notice());
    eprintln!("{}", digimed_core::meetings::Meetings::from_env().startup_line());
    let public = digimed_core::public_links::PublicUrl::from_env()?;
    let pool = db::connect(config.database_url()?, 16).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|_| {
        Error::field(ErrorCode::Configuration, "listen", "Cannot listen on that address (in use, or not a valid host:port).")
    })?;
    let addr = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    eprintln!("digimed service listening on http://{addr}");
    match public {
        Some(url) => eprintln!("public pages: {}/review/… and {}/preferences/…", url.as_str(), url.as_str()),
        None => eprintln!(
            "DIGIMED_PUBLIC_URL is not set: the public pages answer here, but links to them cannot be built for patients"
        ),
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = if args.no_webhook_worker {
        None
    } else {
        let w = digimed_service::webhooks::Worker::new(pool.clone(), vault.clone(), Default::default());
        Some(tokio::spawn(w.run(stop_rx.clone())))
    };
    let delivery = digimed_core::messages::transport::DeliveryConfig::from_env();
    for line in digimed_service::messages::MessageWorker::notices(&delivery).await {
        eprintln!("{line}");
    }
    let messages = if args.no_message_worker {
        eprintln!("messages: the message worker is off (--no-message-worker); messages stay queued here.");
        None
    } else {
        let w = digimed_service::messages::MessageWorker::new(pool.clone(), vault.clone(), delivery, Default::default());
        Some(tokio::spawn(w.run(stop_rx.clone())))
    };
    eprintln!("{}", digimed_service::hubspot::notice(config.hubspot.as_ref()));
    let crm = config.hubspot.as_ref().map(|h| {
        let w = digimed_service::hubspot::Worker::new(pool.clone(), vault.clone(), h.clone(), Default::default());
        tokio::spawn(w.run(stop_rx.clone()))
    });
    let patient_sessions = digimed_service::patient_sessions(config.patient_sessions.as_ref())?;
    eprintln!("{}", digimed_service::patient_sessions_notice(patient_sessions.as_ref()));
    let callrail = digimed_service::callrail(
        config.callrail_signing_key.as_ref().map(|s| s.expose().as_str()),
        config.callrail_organization.as_deref(),
    )?;
    eprintln!("{}", digimed_service::callrail_notice(callrail.as_ref()));
    let fax = digimed_service::fax_intake(config.telnyx_public_key.as_deref(), config.fax_organization.as_deref())?;
    eprintln!("{}", digimed_service::fax_notice(fax.as_ref()));
    let state = digimed_service::AppState {
        pool,
        vault,
        accounts,
        phone_country: config.default_phone_country.clone(),
        patient_sessions,
        booking_partner: config.booking_partner.clone(),
        clerk_webhook_key: digimed_service::clerk_webhook_key(config.clerk_webhook_secret.as_ref().map(|s| s.expose().as_str()))?,
        callrail,
        fax,
    };
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    };
    digimed_service::serve(listener, state, shutdown).await.map_err(|e| Error::internal(e.to_string()))?;
    if let Some(w) = worker {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    if let Some(w) = messages {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    if let Some(w) = crm {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    Ok(())
}

pub async fn webhooks(config: &Config, command: WebhooksCommand) -> Result<(), Error> {
    let pool = db::connect(config.database_url()?, 2).await?;
    match command {
        WebhooksCommand::Add { org, url, events } => {
            let vault = Vault::load_configured(config)?;
            let (id, secret) =
                ClinicTx::run(&pool, async |tx| digimed_core::webhooks::add_subscription(tx, &vault, org, &url, &events).await)
                    .await?;
            eprintln!("subscription {id} created; its signing secret is shown only now:");
            println!("{}", secret.expose());
        }
        WebhooksCommand::Deliveries { limit, json } => {
            let rows = ClinicTx::run(&pool, async |tx| digimed_core::webhooks::deliveries(tx, limit).await).await?;
            if json {
                println!("{}", to_json(&rows)?);
            } else {
                for d in rows {
                    println!(
                        "{:>6}  {:<10} {:<28} attempts {:<3} {}",
                        d.id,
                        d.status,
                        d.event_type,
                        d.attempts,
                        d.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn bench_onboarding(config: &Config, args: BenchOnboardingArgs) -> Result<(), Error> {
    let vault = match Vault::load(&config.key_store) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("note: no data keys configured; the benchmark uses throw-away keys");
            Vault::new(digimed_crypto::DataKeys::generate())
        }
    };
    let each = Duration::from_secs(args.seconds.clamp(1, 120));
    crate::bench_onboarding::run(config, &vault, each, &[1, 8], args.keep).await
}
