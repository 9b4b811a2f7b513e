//! `digimed rules`: the forms a clinic requires when a patient is onboarded (its
//! `patient.onboarded` automation rules), as the staff member DATABASE_URL signs in as. The same
//! core functions as the console's admin screen; the database lets only admins change them.

use clap::Subcommand;
use digimed_core::automation::{self, AppliesTo, OnboardingRule};
use digimed_core::config::Config;
use digimed_core::{ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// The onboarding rules of your clinic and the forms each requires.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Adds a rule (admins): --applies-to everyone | new_persons | known_persons.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "everyone")]
        applies_to: String,
    },
    /// Makes a rule require a form template (admins).
    RequireForm {
        #[arg(long)]
        rule: i32,
        #[arg(long)]
        template: i32,
        /// The form need not be signed before the first consultation.
        #[arg(long)]
        not_blocking: bool,
    },
    /// Makes a required form blocking or not (admins); ACTION is its id in `rules list`.
    SetBlocking {
        action: i32,
        #[arg(action = clap::ArgAction::Set)]
        blocking: bool,
    },
    /// Stops requiring a form (admins); ACTION is its id in `rules list`.
    RemoveForm { action: i32 },
    /// Adds the welcome e-mail to a rule (true) or removes it (false) (admins).
    WelcomeEmail {
        #[arg(long)]
        rule: i32,
        #[arg(action = clap::ArgAction::Set)]
        on: bool,
    },
}

fn show(rule: &OnboardingRule) {
    let applies = match rule.applies_to {
        AppliesTo::Everyone => "every patient",
        AppliesTo::NewPersons => "patients new to the system",
        AppliesTo::KnownPersons => "patients known at another clinic",
    };
    println!(
        "rule {} (organization {}) \"{}\": {}{}{}",
        rule.id,
        rule.organization_id,
        rule.name,
        applies,
        if rule.active { "" } else { ", switched off" },
        if rule.welcome_email { ", sends the welcome e-mail" } else { "" }
    );
    for f in &rule.forms {
        println!(
            "  action {:>5}  template {:>5}  {:<40} {}{}",
            f.action_id,
            f.template_id,
            f.title,
            if f.blocking { "blocking" } else { "not blocking" },
            if f.published { "" } else { " (no published version: skipped)" }
        );
    }
}

pub async fn rules(config: &Config, command: RulesCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        RulesCommand::List { json } => {
            let all = ClinicTx::run(&pool, async |tx| automation::onboarding_rules(tx).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                all.iter().for_each(show);
            }
        }
        RulesCommand::Add { name, applies_to } => {
            let applies = AppliesTo::parse(&applies_to)?;
            show(&ClinicTx::run(&pool, async |tx| automation::add_onboarding_rule(tx, &name, applies).await).await?);
        }
        RulesCommand::RequireForm { rule, template, not_blocking } => {
            show(&ClinicTx::run(&pool, async |tx| automation::require_form(tx, rule, template, !not_blocking).await).await?);
        }
        RulesCommand::SetBlocking { action, blocking } => {
            show(&ClinicTx::run(&pool, async |tx| automation::set_form_blocking(tx, action, blocking).await).await?)
        }
        RulesCommand::RemoveForm { action } => {
            show(&ClinicTx::run(&pool, async |tx| automation::remove_form(tx, action).await).await?)
        }
        RulesCommand::WelcomeEmail { rule, on } => {
            show(&ClinicTx::run(&pool, async |tx| automation::set_welcome_email(tx, rule, on).await).await?)
        }
    }
    Ok(())
}
