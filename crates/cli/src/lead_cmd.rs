//! `digimed lead …`: a clinic's leads (docs/leads.md), as the staff login `DATABASE_URL` names:
//! listing them (each phone read is audited, and shown masked), and converting one into a patient
//! after the serviceability check.

use clap::{Args, Subcommand};
use digimed_core::accounts::Accounts;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::leads::{self, LeadInput};
use digimed_core::{ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum LeadCommand {
    /// Lists the clinic's leads, the latest call first: person id, name, when they came in, the
    /// last call and the masked phone number.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Converts a lead into a patient: the serviceability check (age, coverage, channel), then
    /// an account for the e-mail address and the onboarding, in one transaction.
    Convert(ConvertArgs),
}

#[derive(Args)]
pub struct ConvertArgs {
    /// The lead (patient person id, as `digimed lead list` shows it).
    pub person: i32,
    /// The e-mail address the lead's account is made for.
    #[arg(long)]
    pub email: String,
    /// The lead's name, when the call tracking knew none (or another).
    #[arg(long)]
    pub name: Option<String>,
    /// Date of birth, YYYY-MM-DD (or give --national-id).
    #[arg(long)]
    pub date_of_birth: Option<String>,
    #[arg(long)]
    pub national_id: Option<String>,
    /// The postcode the lead lives at (four digits).
    #[arg(long)]
    pub postcode: String,
    /// video or phone.
    #[arg(long)]
    pub channel: String,
    #[arg(long)]
    pub json: bool,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))
}

pub async fn run(config: &Config, command: LeadCommand) -> Result<(), Error> {
    let vault = Vault::load_configured(config)?;
    let pool = pool(config, 2).await?;
    match command {
        LeadCommand::List { json } => {
            let rows = ClinicTx::run(&pool, async |tx| leads::list_leads(tx, &vault).await).await?;
            if json {
                println!("{}", to_json(&rows)?);
            } else if rows.is_empty() {
                println!("no leads");
            } else {
                for l in &rows {
                    println!(
                        "{:>6}  {:<30} came in {}  last call {}  {}",
                        l.patient_person_id,
                        l.name,
                        l.came_in_at.format("%Y-%m-%d %H:%M"),
                        l.last_call_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into()),
                        l.phone_masked.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        LeadCommand::Convert(a) => {
            let accounts = Accounts::from_config(&config.accounts)?;
            let input = LeadInput {
                patient_person_id: Some(a.person),
                name: a.name,
                email: Some(a.email),
                date_of_birth: a.date_of_birth,
                national_id: a.national_id,
                postcode: Some(a.postcode),
                channel: Some(a.channel),
            };
            let tx = ClinicTx::begin(&pool).await?;
            let done = leads::convert_lead(tx, &vault, &accounts, &input, &config.default_phone_country).await?;
            if matches!(accounts, Accounts::Local) {
                eprintln!("note: {}", config.accounts_notice());
            }
            if a.json {
                println!("{}", to_json(&done)?);
            } else {
                println!(
                    "converted {} into patient {} (person {}, user {})",
                    done.name,
                    done.patient_id,
                    done.patient_person_id,
                    done.user_id.map(|u| u.to_string()).unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}
