//! `digimed result show|amend`: a consultation's result read back (every read is audited in the
//! name of the login DATABASE_URL names) and amended by its author, with a reason.

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::results::{self, Amendment, ResultVersion};
use digimed_core::{ClinicTx, Error, ErrorCode};
use serde::Serialize;

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum ResultCommand {
    /// Shows a consultation's result (its latest version) and lists every version. Only its
    /// author, the clinic's admins and a doctor following the patient up may read it; the read is
    /// recorded in the audit log.
    Show {
        consultation: i32,
        #[arg(long)]
        json: bool,
    },
    /// Amends a result you wrote: a new version with the reason; the earlier ones are kept. A
    /// field left out keeps the latest version's value; an empty value clears an optional field.
    Amend {
        consultation: i32,
        /// Why the result is amended (required).
        #[arg(long)]
        reason: String,
        /// ICPC-2 code of the imported list, e.g. R74.
        #[arg(long)]
        icpc2: Option<String>,
        /// referred_gp, helped, unable (or an outcome an admin added).
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        policy_number: Option<String>,
        /// The patient's job description.
        #[arg(long)]
        job_description: Option<String>,
        /// The patient's own national id, when the patient is a minor and not the account holder.
        #[arg(long)]
        patient_ssn: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// A version in the list: who wrote it, when and why, without its contents.
#[derive(Serialize)]
struct VersionLine<'a> {
    version: i32,
    author_staff_id: i32,
    author_name: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
    amend_reason: Option<&'a str>,
}

impl<'a> From<&'a ResultVersion> for VersionLine<'a> {
    fn from(v: &'a ResultVersion) -> Self {
        VersionLine {
            version: v.version,
            author_staff_id: v.author_staff_id,
            author_name: v.author_name.as_deref(),
            created_at: v.created_at,
            amend_reason: v.amend_reason.as_deref(),
        }
    }
}

fn print_json<T: Serialize>(v: &T) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))?);
    Ok(())
}

fn print_result(consultation: i32, versions: &[ResultVersion]) {
    let latest = &versions[0];
    println!("consultation {consultation}: result version {} of {}", latest.version, versions.len());
    let line = |label: &str, value: Option<&str>| println!("  {label:<22} {}", value.unwrap_or("-"));
    line("ICPC-2", Some(&format!("{} {}", latest.icpc2.code, latest.icpc2.title)));
    line("outcome", Some(&latest.outcome));
    line("notes", latest.notes.as_deref());
    line("policy number", latest.policy_number.as_deref());
    line("job description", latest.patient_job_description.as_deref());
    line("patient's national id", latest.patient_ssn.as_deref());
    println!("versions:");
    for v in versions {
        println!(
            "  {:>3}  {}  {:<24} {}",
            v.version,
            v.created_at.format("%Y-%m-%d %H:%M UTC"),
            v.author_name.as_deref().unwrap_or("-"),
            v.amend_reason.as_deref().map(|r| format!("amended: {r}")).unwrap_or_else(|| "filed".to_string()),
        );
    }
}

pub async fn result(config: &Config, command: ResultCommand) -> Result<(), Error> {
    let vault = Vault::load_configured(config)?;
    let pool = pool(config, 2).await?;
    match command {
        ResultCommand::Show { consultation, json } => {
            let versions = ClinicTx::run(&pool, async |tx| results::read(tx, &vault, consultation).await).await?;
            if versions.is_empty() {
                return Err(Error::new(ErrorCode::NotFound, "This consultation has no result."));
            }
            if json {
                let list: Vec<VersionLine> = versions.iter().map(VersionLine::from).collect();
                print_json(&serde_json::json!({ "latest": &versions[0], "versions": list }))?;
            } else {
                print_result(consultation, &versions);
            }
        }
        ResultCommand::Amend {
            consultation,
            reason,
            icpc2,
            outcome,
            notes,
            policy_number,
            job_description,
            patient_ssn,
            json,
        } => {
            let amendment =
                Amendment { reason, icpc2, outcome, patient_ssn, patient_job_description: job_description, notes, policy_number };
            let version = ClinicTx::run(&pool, async |tx| results::amend(tx, &vault, consultation, &amendment).await).await?;
            if json {
                print_json(&serde_json::json!({ "consultation_id": consultation, "version": version }))?;
            } else {
                println!("amended the result of consultation {consultation}: version {version}");
            }
        }
    }
    Ok(())
}
