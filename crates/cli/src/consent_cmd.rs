//! `digimed consent` and `digimed forms`: the consent-status view, a patient's forms and
//! timeline, paper signatures attested by staff, and form templates (admins), as the staff member
//! DATABASE_URL signs in as.

use std::path::PathBuf;

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::forms::{self, NewTemplate, SignedBy};
use digimed_core::{consents, ClinicTx, Error, ErrorCode};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Patients with unsigned blocking forms, and form counts by status, for an organization.
    Status {
        #[arg(long)]
        org: i32,
        #[arg(long)]
        json: bool,
    },
    /// A patient's forms and consents over time (the org-patient link id).
    Timeline {
        patient: i32,
        #[arg(long)]
        json: bool,
    },
    /// Withdraws a consent, with a reason.
    Withdraw {
        consent: i32,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum FormsCommand {
    /// The forms of a patient (the org-patient link id).
    List {
        patient: i32,
        #[arg(long)]
        json: bool,
    },
    /// Records a paper signature given in the clinic, attested by you, for the text with this hash.
    AttestSignature {
        form: i32,
        #[arg(long)]
        template_sha256: String,
    },
    /// Records that the patient declined a form.
    Decline { form: i32 },
    /// The form templates of your organization.
    Templates {
        #[arg(long)]
        json: bool,
    },
    /// Creates a form template (admins).
    NewTemplate {
        #[arg(long)]
        key: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "disclaimer")]
        r#type: String,
        /// A kind of consent the form grants (repeatable): analytics, marketing, profile_sharing, ...
        #[arg(long = "consent-type")]
        consent_types: Vec<String>,
        /// first_appointment, or leave out.
        #[arg(long)]
        must_sign_before: Option<String>,
    },
    /// Adds a draft version of a template with the text in FILE (admins).
    NewVersion {
        template: i32,
        #[arg(long)]
        body_file: PathBuf,
    },
    /// Publishes a draft version; pending forms of older versions are superseded (admins).
    Publish { version: i32 },
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))
}

pub async fn consent(config: &Config, command: ConsentCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        ConsentCommand::Status { org, json } => {
            let s = ClinicTx::run(&pool, async |tx| consents::status(tx, org).await).await?;
            if json {
                println!("{}", to_json(&s)?);
                return Ok(());
            }
            println!("{} patient(s) with unsigned blocking forms in organization {org}", s.patients_waiting.len());
            for p in &s.patients_waiting {
                let days = (s.generated_at - p.oldest_pending_since).num_days();
                let titles: Vec<&str> = p.pending_forms.iter().map(|f| f.title.as_str()).collect();
                let next = p.next_booking.as_ref().map(|b| format!("next booking #{} ({})", b.consultation_id, b.state));
                println!(
                    "  {:>6}  {:<28} {:>3} d  {}  {}",
                    p.patient_id,
                    p.name,
                    days,
                    titles.join("; "),
                    next.unwrap_or_default()
                );
            }
            println!("{:<36} {:>8} {:>8} {:>8} {:>10}", "form", "pending", "signed", "declined", "superseded");
            for f in &s.by_form {
                println!("{:<36} {:>8} {:>8} {:>8} {:>10}", f.title, f.pending, f.signed, f.declined, f.superseded);
            }
        }
        ConsentCommand::Timeline { patient, json } => {
            let t = ClinicTx::run(&pool, async |tx| consents::timeline(tx, patient).await).await?;
            if json {
                println!("{}", to_json(&t)?);
            } else {
                for e in t {
                    println!(
                        "{}  {:<18} {:<32} {} {}",
                        e.at.format("%Y-%m-%d %H:%M"),
                        e.event,
                        e.title,
                        e.consent_type.unwrap_or_default(),
                        e.detail.unwrap_or_default()
                    );
                }
            }
        }
        ConsentCommand::Withdraw { consent, reason } => {
            let c = ClinicTx::run(&pool, async |tx| forms::withdraw(tx, consent, &reason).await).await?;
            println!("consent {} ({}) withdrawn", c.id, c.consent_type);
        }
    }
    Ok(())
}

pub async fn forms_cmd(config: &Config, command: FormsCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        FormsCommand::List { patient, json } => {
            let all = ClinicTx::run(&pool, async |tx| forms::list_for_patient(tx, patient).await).await?;
            if json {
                println!("{}", to_json(&all)?);
            } else {
                for f in all {
                    println!(
                        "{:>6}  {:<10} v{:<3} {:<32} {}",
                        f.form_id, f.status, f.template_version, f.title, f.template_sha256
                    );
                }
            }
        }
        FormsCommand::AttestSignature { form, template_sha256 } => {
            let f =
                ClinicTx::run(&pool, async |tx| forms::sign(tx, form, SignedBy::StaffAttested, &template_sha256).await).await?;
            println!("form {} signed on paper, attested; consents granted: {}", f.form_id, f.consent_types.join(", "));
        }
        FormsCommand::Decline { form } => {
            let f = ClinicTx::run(&pool, async |tx| forms::decline(tx, form).await).await?;
            println!("form {} declined", f.form_id);
        }
        FormsCommand::Templates { json } => {
            let all = ClinicTx::run(&pool, async |tx| forms::list_templates(tx).await).await?;
            if json {
                println!("{}", to_json(&all)?);
            } else {
                for t in all {
                    let published = t.versions.iter().rev().find(|v| v.published_at.is_some()).map(|v| v.version);
                    println!(
                        "{:>4}  {:<24} {:<36} published v{}  [{}]",
                        t.id,
                        t.key,
                        t.title,
                        published.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                        t.consent_types.join(", ")
                    );
                }
            }
        }
        FormsCommand::NewTemplate { key, title, r#type, consent_types, must_sign_before } => {
            let t = ClinicTx::run(&pool, async |tx| {
                forms::create_template(tx, &NewTemplate { key, title, form_type: r#type, consent_types, must_sign_before }).await
            })
            .await?;
            println!(
                "created template {} ({}); add its text with `digimed forms new-version {} --body-file FILE`",
                t.id, t.key, t.id
            );
        }
        FormsCommand::NewVersion { template, body_file } => {
            let body = std::fs::read_to_string(&body_file).map_err(|e| {
                Error::field(ErrorCode::InvalidInput, "body_file", format!("Cannot read {}: {e}", body_file.display()))
            })?;
            let v = ClinicTx::run(&pool, async |tx| forms::add_version(tx, template, &body).await).await?;
            println!(
                "draft version {} (id {}), sha256 {}; publish with `digimed forms publish {}`",
                v.version, v.id, v.sha256, v.id
            );
        }
        FormsCommand::Publish { version } => {
            let p = ClinicTx::run(&pool, async |tx| forms::publish(tx, version).await).await?;
            println!(
                "published version {} of template {}; {} pending form(s) superseded",
                p.version.version, p.version.template_id, p.superseded
            );
        }
    }
    Ok(())
}
