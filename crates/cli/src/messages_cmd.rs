//! `digimed messages …`: the messages sent to patients and their states, and resending a join
//! link, as whoever `DATABASE_URL` names.

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::messages::{self, MessageFilter, PatientMessage};
use digimed_core::{ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum MessagesCommand {
    /// Lists messages (newest first): kind, channel, state, time, and the provider's id or the
    /// reason. Never the recipient or the text.
    List {
        /// Only this patient's (patient person id).
        #[arg(long)]
        patient: Option<i32>,
        /// Only this consultation's.
        #[arg(long)]
        consultation: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Queues the join link of a consultation in progress again, as a new message.
    ResendLink {
        /// The consultation's id.
        consultation: i32,
        #[arg(long)]
        json: bool,
    },
}

fn line(m: &PatientMessage) -> String {
    let detail = match (&m.provider_id, &m.reason) {
        (Some(p), _) => p.clone(),
        (None, Some(r)) => r.clone(),
        (None, None) => String::new(),
    };
    format!(
        "{:>6}  {}  patient {:<6} consultation {:<6} {:<16} {:<5} {:<10} {}",
        m.id,
        m.created_at.format("%Y-%m-%d %H:%M:%S"),
        m.patient_person_id,
        m.consultation_id.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
        serde_json::to_value(m.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        m.channel.map(|c| c.as_str()).unwrap_or("-"),
        m.state.as_str(),
        detail
    )
}

pub async fn run(config: &Config, command: MessagesCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        MessagesCommand::List { patient, consultation, json } => {
            let filter = MessageFilter { patient_person_id: patient, consultation_id: consultation };
            let rows = ClinicTx::run(&pool, async |tx| messages::list(tx, filter).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| Error::internal(e.to_string()))?);
            } else if rows.is_empty() {
                println!("no messages");
            } else {
                for m in &rows {
                    println!("{}", line(m));
                }
            }
        }
        MessagesCommand::ResendLink { consultation, json } => {
            let m = ClinicTx::run(&pool, async |tx| messages::resend_join_link(tx, consultation).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&m).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                println!("{}", line(&m));
            }
        }
    }
    Ok(())
}
