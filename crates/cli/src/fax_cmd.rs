//! `digimed fax`: files a received fax from a PDF on disk into a clinic's fax inbox, as the fax
//! provider's webhook does (`docs/fax-inbox.md`): for a fax the provider could not deliver to the
//! service, and for demonstrations.

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::faxes::{self, ReceivedFax};
use digimed_core::keys::Vault;
use digimed_core::{ClinicTx, Error, ErrorCode};

#[derive(Subcommand)]
pub enum FaxCommand {
    /// Files a PDF as a fax received for a clinic: a draft patient waiting in its fax inbox.
    Import {
        /// The fax's PDF.
        file: std::path::PathBuf,
        /// The sender's fax number.
        #[arg(long)]
        from: String,
        /// The clinic (organization id).
        #[arg(long)]
        org: i32,
        /// The provider's id of the fax; a fax id filed already is not filed again. A new id when left out.
        #[arg(long)]
        fax_id: Option<String>,
        /// The number of pages.
        #[arg(long)]
        pages: Option<i32>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn fax(config: &Config, command: FaxCommand) -> Result<(), Error> {
    match command {
        FaxCommand::Import { file, from, org, fax_id, pages, json } => {
            let pdf = std::fs::read(&file)
                .map_err(|_| Error::field(ErrorCode::InvalidInput, "file", "The fax file cannot be read."))?;
            faxes::check_pdf(&pdf).map_err(|e| Error { field: Some("file".into()), ..e })?;
            let vault = Vault::load_configured(config)?;
            let pool = crate::queue_cmd::pool(config, 2).await?;
            let fax = ReceivedFax {
                fax_id: fax_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                from,
                media_url: file.display().to_string(),
                page_count: pages,
                occurred_at: None,
            };
            let tx = ClinicTx::begin(&pool).await?;
            let receipt = faxes::receive(tx, &vault, org, &fax, &config.default_phone_country, async move || Ok(pdf)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&receipt).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                println!(
                    "{} fax {} as inbox entry {} with draft patient person {}",
                    if receipt.new { "filed" } else { "already filed" },
                    receipt.fax_id,
                    receipt.inbox_id,
                    receipt.patient_person_id
                );
            }
        }
    }
    Ok(())
}
