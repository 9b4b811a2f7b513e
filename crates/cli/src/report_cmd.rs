//! `digimed report` and `digimed outcome`: the insurer report and the list of outcomes, as the
//! staff member DATABASE_URL signs in as.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::report::{self, ReportRequest};
use digimed_core::{outcomes, ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Writes the insurer report of a partner and period (.xlsx or .csv, by the file's name).
    Export {
        /// The partner's name, as `digimed partner add` named it.
        #[arg(long)]
        partner: String,
        /// First day, YYYY-MM-DD (Norwegian local date).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD, included.
        #[arg(long)]
        to: String,
        #[arg(long)]
        out: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum OutcomeCommand {
    /// Lists the outcomes a result may name.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Adds an outcome (admins); its code is made from the label.
    Add { label: String },
    /// Retires an outcome: earlier results keep it, new ones cannot name it.
    Retire { code: String },
    /// Brings a retired outcome back.
    Restore { code: String },
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))
}

pub async fn report(config: &Config, command: ReportCommand) -> Result<(), Error> {
    let ReportCommand::Export { partner, from, to, out, json } = command;
    let request = ReportRequest::parse(&partner, &from, &to)?;
    let vault = Vault::load_configured(config)?;
    let pool = pool(config, 2).await?;
    let interactive = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |done: u32, total: u32| {
        if interactive && total > 0 {
            eprint!("\rexporting {done} of {total} consultations");
            let _ = std::io::stderr().flush();
        }
    };
    let summary = report::export(ClinicTx::begin(&pool).await?, &vault, &request, &out, &mut progress).await?;
    if interactive {
        eprintln!();
    }
    if json {
        println!("{}", to_json(&summary)?);
        return Ok(());
    }
    println!("wrote {} consultations to {}", summary.consultations, summary.file);
    if let Some(f) = &summary.summary_file {
        println!("summary in {f}");
    }
    let t = |v: Option<u32>| v.map(report::hms).unwrap_or_else(|| "-".into());
    println!(
        "waiting time median {} p90 {}; treatment median {} p90 {}; deadline breaches {}",
        t(summary.waiting_median_seconds),
        t(summary.waiting_p90_seconds),
        t(summary.treatment_median_seconds),
        t(summary.treatment_p90_seconds),
        summary.deadline_breaches
    );
    for m in &summary.sums {
        println!("price {:.2}, discounts {:.2}, total {:.2} {}", m.price, m.discount, m.total, m.currency);
    }
    if summary.no_deal_price > 0 {
        println!("{} consultation(s) booked without a deal price (priced 0)", summary.no_deal_price);
    }
    for c in &summary.by_outcome {
        println!("  {:<24} {}", c.label, c.count);
    }
    Ok(())
}

pub async fn outcome(config: &Config, command: OutcomeCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    let show = |o: &outcomes::Outcome| {
        println!("{:<24} {:<28} {}", o.code, o.label, if o.active { "" } else { "(retired)" });
    };
    match command {
        OutcomeCommand::List { json } => {
            let all = ClinicTx::run(&pool, async |tx| outcomes::list(tx).await).await?;
            if json {
                println!("{}", to_json(&all)?);
            } else {
                all.iter().for_each(show);
            }
        }
        OutcomeCommand::Add { label } => show(&ClinicTx::run(&pool, async |tx| outcomes::add(tx, &label).await).await?),
        OutcomeCommand::Retire { code } => {
            show(&ClinicTx::run(&pool, async |tx| outcomes::set_active(tx, &code, false).await).await?)
        }
        OutcomeCommand::Restore { code } => {
            show(&ClinicTx::run(&pool, async |tx| outcomes::set_active(tx, &code, true).await).await?)
        }
    }
    Ok(())
}
