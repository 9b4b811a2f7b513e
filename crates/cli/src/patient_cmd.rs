//! `digimed patient show`, `digimed patient edit` and `digimed patient rotate-preference-token`: a
//! patient's card, editing their profile and issuing a new preference link, as the staff member
//! DATABASE_URL signs in as (docs/patients.md, docs/public-pages.md).

use clap::{Args, Subcommand};
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::patients::{self, InsuranceEntryFields, PatientCard, ProfileEdit, Withheld};
use digimed_core::{ClinicTx, Error};
use digimed_domain::InsuranceEntry;

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum PatientCommand {
    /// A patient's card (the person id): contact details, profile, consultations and forms, as
    /// your role may see them. Reading the phone and national id is recorded in the audit log.
    Show {
        person: i32,
        /// Show the whole national id instead of its last five digits (recorded in the audit log).
        #[arg(long)]
        reveal_national_id: bool,
        #[arg(long)]
        json: bool,
    },
    /// Edits a patient's profile (the person id). An option left out keeps the field; an empty
    /// value clears it.
    Edit(EditArgs),
    /// Issues the patient (the person id) a new communication-preference token: the link to the
    /// preferences page sent before stops working (support agents, admins; docs/public-pages.md).
    RotatePreferenceToken { person: i32 },
}

#[derive(Args)]
pub struct EditArgs {
    person: i32,
    /// YYYY-MM-DD
    #[arg(long)]
    date_of_birth: Option<String>,
    /// A+, A-, B+, B-, AB+, AB-, O+ or O-
    #[arg(long)]
    blood_type: Option<String>,
    /// An allergy (repeat for each); replaces the list.
    #[arg(long = "allergy", conflicts_with = "no_allergies")]
    allergies: Vec<String>,
    /// Clears the list of allergies.
    #[arg(long)]
    no_allergies: bool,
    /// A chronic condition (repeat for each); replaces the list.
    #[arg(long = "chronic-condition", conflicts_with = "no_chronic_conditions")]
    chronic_conditions: Vec<String>,
    /// Clears the list of chronic conditions.
    #[arg(long)]
    no_chronic_conditions: bool,
    /// An insurance entry as INSURER:POLICY_NUMBER (repeat for each); replaces the list.
    #[arg(long = "insurance", conflicts_with = "no_insurance")]
    insurance: Vec<String>,
    /// Clears the insurance entries.
    #[arg(long)]
    no_insurance: bool,
    #[arg(long)]
    emergency_contact_name: Option<String>,
    /// Without a country code, DIGIMED_PHONE_COUNTRY's is assumed.
    #[arg(long)]
    emergency_contact_phone: Option<String>,
}

fn list(items: Vec<String>, clear: bool) -> Option<Vec<String>> {
    if clear {
        Some(Vec::new())
    } else if items.is_empty() {
        None
    } else {
        Some(items)
    }
}

impl EditArgs {
    fn edit(self) -> Result<(i32, ProfileEdit), Error> {
        let insurance = match list(self.insurance, self.no_insurance) {
            None => None,
            Some(pairs) => Some(
                pairs
                    .iter()
                    .enumerate()
                    .map(|(i, pair)| {
                        InsuranceEntry::parse_pair(pair, i + 1)
                            .map(|e| InsuranceEntryFields {
                                insurer: e.insurer().to_string(),
                                policy_number: e.policy_number().to_string(),
                            })
                            .map_err(|e| Error::refused("insurance_entries", e.code(), e))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok((
            self.person,
            ProfileEdit {
                date_of_birth: self.date_of_birth,
                blood_type: self.blood_type,
                allergies: list(self.allergies, self.no_allergies),
                chronic_conditions: list(self.chronic_conditions, self.no_chronic_conditions),
                insurance_entries: insurance,
                emergency_contact_name: self.emergency_contact_name,
                emergency_contact_phone: self.emergency_contact_phone,
            },
        ))
    }
}

pub async fn patient(config: &Config, command: PatientCommand) -> Result<(), Error> {
    // Issuing a new preference link needs no data keys.
    if let PatientCommand::RotatePreferenceToken { person } = command {
        let pool = pool(config, 2).await?;
        ClinicTx::run(&pool, async |tx| digimed_core::preferences::rotate_token(tx, person).await).await?;
        println!("issued person {person} a new preference link; the old link no longer works");
        return Ok(());
    }
    let vault = Vault::load_configured(config)?;
    let pool = pool(config, 2).await?;
    match command {
        PatientCommand::Show { person, reveal_national_id, json } => {
            let card = ClinicTx::run(&pool, async |tx| patients::card(tx, &vault, person, reveal_national_id).await).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&card).map_err(|e| Error::internal(e.to_string()))?);
            } else {
                print_card(&card);
            }
        }
        PatientCommand::Edit(args) => {
            let (person, edit) = args.edit()?;
            let country = config.default_phone_country.clone();
            let saved =
                ClinicTx::run(&pool, async |tx| patients::edit_profile(tx, &vault, person, &edit, &country).await).await?;
            if saved.changed.is_empty() {
                println!("nothing changed in the profile of person {person}");
            } else {
                println!("saved the profile of person {person}: {}", saved.changed.join(", "));
            }
        }
        // Handled above.
        PatientCommand::RotatePreferenceToken { .. } => {}
    }
    Ok(())
}

fn withheld(w: Option<Withheld>) -> &'static str {
    match w {
        Some(Withheld::NotShared) => "not shared with your clinic",
        Some(Withheld::NotForRole) => "not shown to your role",
        None => "",
    }
}

fn or_none(v: Option<&str>) -> &str {
    v.unwrap_or("none recorded")
}

fn print_card(c: &PatientCard) {
    println!("{} (person {}, patient {} of this clinic, {})", c.name, c.person_id, c.patient_id, c.status);
    println!("  e-mail:             {}", or_none(c.email.as_deref()));
    match &c.contact {
        Some(k) => {
            let born = k.date_of_birth.map(|d| d.to_string());
            println!("  date of birth:      {}", or_none(born.as_deref()));
            println!("  phone:              {}", or_none(k.phone.as_deref()));
            println!(
                "  national id:        {}{}",
                or_none(k.national_id.as_deref()),
                if k.national_id.is_some() && !k.national_id_revealed { "  (--reveal-national-id shows all of it)" } else { "" }
            );
            let contact = match (&k.emergency_contact_name, &k.emergency_contact_phone) {
                (None, None) => "none recorded".to_string(),
                (name, phone) => [name.as_deref(), phone.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", "),
            };
            println!("  emergency contact:  {contact}");
        }
        None => println!("  contact details:    {}", withheld(c.contact_withheld)),
    }
    let origin = if c.profile_origin {
        "first registered here"
    } else if c.profile_shared {
        "profile shared by consent"
    } else {
        "profile not shared"
    };
    println!("  entry point:        {} ({origin})", c.entry_point.as_str());
    println!("  source partner:     {}", c.source_partner.as_deref().unwrap_or("none"));
    println!("  registered:         {}", c.registered_at.format("%Y-%m-%d %H:%M"));
    match &c.profile {
        Some(p) => {
            let join = |v: &[String]| if v.is_empty() { "none recorded".to_string() } else { v.join("; ") };
            println!("  blood type:         {}", or_none(p.blood_type.as_deref()));
            println!("  allergies:          {}", join(&p.allergies));
            println!("  chronic conditions: {}", join(&p.chronic_conditions));
            let entries: Vec<String> = p.insurance_entries.iter().map(|e| format!("{} {}", e.insurer, e.policy_number)).collect();
            println!("  insurance:          {}", join(&entries));
        }
        None => println!("  health profile:     {}", withheld(c.profile_withheld)),
    }
    println!("  consultations ({}):", c.consultations.len());
    for e in &c.consultations {
        let k = &e.consultation;
        println!(
            "    {:>6}  {:<16} created {}  doctor {}  partner {}{}{}",
            k.id,
            k.state.as_str(),
            k.created_at.format("%Y-%m-%d %H:%M"),
            k.doctor_name.as_deref().unwrap_or("-"),
            k.partner_name.as_deref().unwrap_or("-"),
            if e.result_filed { "  result filed" } else { "" },
            k.cancel_reason.as_deref().map(|r| format!("  cancelled: {r}")).unwrap_or_default(),
        );
    }
    println!("  forms ({}):", c.forms.len());
    for f in &c.forms {
        println!("    {:>6}  {:<10} {}", f.form_id, f.status, f.title);
    }
}
