//! `digimed partner|referral|queue|consultation …`: referral intake and screening, and the
//! consultation queue, acting as whoever `DATABASE_URL` names (a staff login, so the database's
//! rules apply; partner set-up and imports as the owner or an admin).

use std::io::Read;

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::meetings::Meetings;
use digimed_core::queue::{self, Consultation, ConsultationState, QueueFilter, QueueSort, QueueWatcher};
use digimed_core::referrals::{self, BookingChoice, CallOutcome, NewPartner, ReferralStatus};
use digimed_core::results::{self, ResultInput};
use digimed_core::{db, ClinicTx, Error, ErrorCode};

#[derive(Subcommand)]
pub enum PartnerCommand {
    /// Adds a referral partner (or replaces its secret and settings). The webhook secret
    /// (`whsec_<base64>` or at least 24 characters) is read from standard input.
    Add {
        /// Lower-case name, e.g. pridok.
        #[arg(long)]
        name: String,
        /// The clinic (organization id) that serves this partner's referrals.
        #[arg(long)]
        clinic: i32,
        /// Accept synthetic (test) national id numbers from this partner.
        #[arg(long)]
        test: bool,
        /// Contractual time to start a consultation, in working days.
        #[arg(long, default_value_t = 2)]
        deadline_days: i32,
        #[arg(long)]
        deal_id: Option<String>,
        /// Read the secret from standard input (required: secrets never go on the command line).
        #[arg(long, required = true)]
        secret_stdin: bool,
        /// Book this partner's referrals as they arrive, without screening.
        #[arg(long)]
        book_on_arrival: bool,
    },
    /// Changes whether a partner's referrals are booked as they arrive (admins, for their clinic's).
    Set {
        /// The partner's name.
        name: String,
        /// true: booked on arrival; false: they wait for screening.
        #[arg(long, action = clap::ArgAction::Set, required = true)]
        book_on_arrival: bool,
    },
    /// Lists the partners of your clinic (every partner for the owner).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Sets a partner's deal price for a consultation category (administrators); bookings made
    /// from now on are priced with it.
    Price {
        /// The partner's name.
        name: String,
        /// insurance or direct
        #[arg(long)]
        category: String,
        /// e.g. 650.00
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Three letters (default NOK).
        #[arg(long)]
        currency: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ReferralCommand {
    /// Receives a referral from a JSON file, exactly as the webhook would (for partners who mail JSON).
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        partner: String,
        #[arg(long)]
        json: bool,
    },
    /// The screening list: referrals of your clinic awaiting a decision, nearest deadline first
    /// (secretaries, admins).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Records a call attempt and/or a note (read from standard input) (secretaries).
    Screen {
        id: i32,
        /// reached, no_answer, voicemail or wrong_number
        #[arg(long)]
        call: Option<String>,
        #[arg(long)]
        note_stdin: bool,
    },
    /// Declines a referral: the patient needs no help or cannot be reached (secretaries).
    Decline {
        id: i32,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum QueueCommand {
    /// Lists open consultations of your clinic, longest waiting first.
    List {
        /// ready_for_pickup, pending_sp or in_progress (repeatable).
        #[arg(long)]
        state: Vec<String>,
        /// Only those assigned to this doctor (staff id).
        #[arg(long)]
        doctor: Option<i32>,
        #[arg(long)]
        unassigned: bool,
        /// Only this partner's (partner id).
        #[arg(long)]
        partner: Option<i32>,
        /// waiting_longest, waiting_shortest or deadline.
        #[arg(long, default_value = "waiting_longest")]
        sort: String,
        #[arg(long, default_value_t = 50)]
        limit: i32,
        #[arg(long)]
        json: bool,
    },
    /// Prints queue changes as they happen (one JSON object a line).
    Watch,
}

#[derive(Subcommand)]
pub enum ConsultationCommand {
    /// Takes the oldest waiting consultation, or the one given with --id (doctors).
    Pick {
        #[arg(long)]
        id: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Starts a consultation assigned to you; the patient is sent the join link (doctors).
    Start {
        id: i32,
        #[arg(long)]
        json: bool,
    },
    /// The join links of a consultation you started and that is still in progress (doctors).
    Links {
        id: i32,
        #[arg(long)]
        json: bool,
    },
    /// Completes a consultation you started and files its result, together (doctors).
    Complete {
        id: i32,
        /// ICPC-2 code of the imported list, e.g. R74.
        #[arg(long)]
        icpc2: String,
        /// referred_gp, helped, unable (or an outcome an admin added).
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        policy_number: Option<String>,
        /// The patient's job description.
        #[arg(long)]
        job_description: Option<String>,
        /// The patient's own national id, when the patient is a minor and not the account holder.
        #[arg(long)]
        patient_ssn: Option<String>,
        /// Read the consultation notes from standard input.
        #[arg(long)]
        notes_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// Cancels a consultation, with a reason.
    Cancel {
        id: i32,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Assigns or reassigns a consultation to a doctor (secretaries).
    Assign {
        id: i32,
        #[arg(long)]
        doctor: i32,
        #[arg(long)]
        json: bool,
    },
    /// Returns an assigned consultation to the queue (secretaries).
    Release {
        id: i32,
        #[arg(long)]
        json: bool,
    },
    /// A patient's consultations at your clinic (by patient person id).
    History {
        person: i32,
        #[arg(long)]
        json: bool,
    },
    /// Books a screened referral (--referral, secretaries), or a consultation for a known patient
    /// of your clinic (--person: secretaries, support agents).
    #[command(group(clap::ArgGroup::new("what").required(true).args(["referral", "person"])))]
    Book {
        /// The referral to book (from `digimed referral list`).
        #[arg(long)]
        referral: Option<i32>,
        /// The patient person id, for a direct booking.
        #[arg(long)]
        person: Option<i32>,
        /// The paying partner (partner id), for an insurance booking of --person.
        #[arg(long, requires = "person")]
        partner: Option<i32>,
        /// Assign this doctor (staff id) right away; otherwise it waits in the doctors' queue.
        #[arg(long)]
        doctor: Option<i32>,
        /// video, chat or phone (repeatable, or comma-separated); default video and chat.
        #[arg(long = "channel", alias = "channels", value_delimiter = ',')]
        channels: Vec<String>,
        /// The primary channel, one of those enabled; default the first.
        #[arg(long)]
        primary: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Books a follow-up for the same patient.
    FollowUp {
        id: i32,
        #[arg(long)]
        json: bool,
    },
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))?);
    Ok(())
}

fn read_stdin(field: &str) -> Result<String, Error> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|_| Error::field(ErrorCode::InvalidInput, field, "Could not read standard input."))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

pub(crate) async fn pool(config: &Config, connections: u32) -> Result<db::PgPool, Error> {
    db::connect(config.database_url()?, connections).await
}

fn minutes(secs: i32) -> String {
    format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
}

fn print_row(c: &Consultation) {
    println!(
        "{:>8}  {:<16} {:<22} {:<12} waiting {:>8}  deadline {:<9} doctor {}",
        c.id,
        c.state.as_str(),
        c.patient_name.as_deref().unwrap_or("-"),
        c.partner_name.as_deref().unwrap_or("-"),
        minutes(c.waiting_seconds),
        serde_json::to_value(c.deadline_status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        c.doctor_name.as_deref().or(c.assigned_doctor_id.map(|_| "?")).unwrap_or("-"),
    );
}

/// Shows a consultation after a change, re-read with the names a list shows.
async fn show(pool: &db::PgPool, c: &Consultation, json: bool) -> Result<(), Error> {
    let full = ClinicTx::run(pool, async |tx| queue::get(tx, c.id).await).await.unwrap_or_else(|_| c.clone());
    if json {
        print_json(&full)
    } else {
        print_row(&full);
        Ok(())
    }
}

pub async fn partner(config: &Config, command: PartnerCommand) -> Result<(), Error> {
    match command {
        PartnerCommand::Add { name, clinic, test, deadline_days, deal_id, secret_stdin: _, book_on_arrival } => {
            let secret = read_stdin("secret")?;
            let vault = Vault::load_configured(config)?;
            let pool = pool(config, 2).await?;
            let new = NewPartner {
                name: &name,
                clinic_id: clinic,
                is_test_partner: test,
                deadline_working_days: deadline_days,
                deal_id: deal_id.as_deref(),
            };
            let p = ClinicTx::run(&pool, async |tx| {
                let p = referrals::add_partner(tx, &vault, &new, &secret).await?;
                referrals::set_book_on_arrival(tx, p.id, book_on_arrival).await?;
                Ok(p)
            })
            .await?;
            println!(
                "partner {} (id {}) sends referrals to clinic {}; deadline {} working day(s){}{}",
                p.name,
                p.id,
                p.clinic_id,
                p.deadline_working_days,
                if p.is_test_partner { "; test partner (synthetic national ids accepted)" } else { "" },
                if book_on_arrival { "; referrals booked on arrival" } else { "" }
            );
        }
        PartnerCommand::Price { name, category, amount, currency, json } => {
            crate::orders_cmd::partner_price(config, name, category, amount, currency, json).await?
        }
        PartnerCommand::Set { name, book_on_arrival } => {
            let pool = pool(config, 2).await?;
            let p = ClinicTx::run(&pool, async |tx| {
                let p = referrals::partner_by_name(tx, &name).await?;
                referrals::set_book_on_arrival(tx, p.id, book_on_arrival).await
            })
            .await?;
            println!("partner {} (id {}): {}", p.name, p.id, arrival_words(p.book_on_arrival));
        }
        PartnerCommand::List { json } => {
            let pool = pool(config, 2).await?;
            let partners = ClinicTx::run(&pool, async |tx| referrals::list_partners(tx).await).await?;
            if json {
                print_json(&partners)?;
            } else {
                for p in &partners {
                    println!("{:>6}  {:<24} {}", p.id, p.name, arrival_words(p.book_on_arrival));
                }
            }
        }
    }
    Ok(())
}

fn arrival_words(book_on_arrival: bool) -> &'static str {
    if book_on_arrival {
        "referrals booked on arrival"
    } else {
        "referrals wait for screening"
    }
}

pub async fn referral(config: &Config, command: ReferralCommand) -> Result<(), Error> {
    match command {
        ReferralCommand::Import { file, partner, json } => {
            let body = std::fs::read(&file)
                .map_err(|_| Error::field(ErrorCode::InvalidInput, "file", "The referral file cannot be read."))?;
            let vault = Vault::load_configured(config)?;
            let pool = pool(config, 2).await?;
            let intake = ClinicTx::run(&pool, async |tx| {
                let p = referrals::partner_by_name(tx, &partner).await?;
                referrals::receive(tx, &vault, &p, &body).await
            })
            .await?;
            let r = intake.receipt();
            if json {
                print_json(&r)?;
            } else {
                let stands = match (r.status, r.consultation_id) {
                    (ReferralStatus::Booked, Some(c)) => format!("booked as consultation {c}"),
                    (ReferralStatus::Declined, _) => "declined".to_string(),
                    _ => "awaiting screening".to_string(),
                };
                println!(
                    "{} referral {} for patient person {}: {stands}",
                    if intake.is_new() { "received" } else { "already received" },
                    r.referral_id,
                    r.patient_person_id
                );
            }
        }
        ReferralCommand::List { json } => {
            let pool = pool(config, 2).await?;
            let rows = ClinicTx::run(&pool, async |tx| referrals::screening_list(tx).await).await?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                println!("no referrals awaiting screening");
            } else {
                for r in &rows {
                    println!(
                        "{:>8}  {:<22} {:<12} received {}  deadline {} {:<9} calls {} (last {})  supervisor {}",
                        r.referral_id,
                        r.patient_name.as_deref().unwrap_or("-"),
                        r.partner_name,
                        r.received_at.format("%Y-%m-%d %H:%M"),
                        r.deadline_at.format("%Y-%m-%d %H:%M"),
                        serde_json::to_value(r.deadline_status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        r.call_attempts,
                        r.last_call_outcome.map(CallOutcome::as_str).unwrap_or("-"),
                        r.supervisor_name.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        ReferralCommand::Screen { id, call, note_stdin } => {
            let outcome = call.as_deref().map(|c| CallOutcome::parse(c, "call")).transpose()?;
            let note = if note_stdin { Some(read_stdin("note")?) } else { None };
            let vault = Vault::load_configured(config)?;
            let pool = pool(config, 2).await?;
            let e = ClinicTx::run(&pool, async |tx| referrals::screen(tx, &vault, id, outcome, note.as_deref()).await).await?;
            println!("recorded screening entry {} on referral {}", e.id, id);
        }
        ReferralCommand::Decline { id, reason, json } => {
            let pool = pool(config, 2).await?;
            let d = ClinicTx::run(&pool, async |tx| referrals::decline(tx, id, &reason).await).await?;
            if json {
                print_json(&d)?;
            } else {
                println!("declined referral {}", d.referral_id);
            }
        }
    }
    Ok(())
}

pub async fn queue(config: &Config, command: QueueCommand) -> Result<(), Error> {
    match command {
        QueueCommand::List { state, doctor, unassigned, partner, sort, limit, json } => {
            let pool = pool(config, 2).await?;
            let states = state.iter().map(|s| ConsultationState::parse(s)).collect::<Result<Vec<_>, _>>()?;
            let sort = match sort.as_str() {
                "waiting_longest" => QueueSort::WaitingLongest,
                "waiting_shortest" => QueueSort::WaitingShortest,
                "deadline" => QueueSort::Deadline,
                _ => {
                    return Err(Error::field(
                        ErrorCode::InvalidInput,
                        "sort",
                        "Sort by waiting_longest, waiting_shortest or deadline.",
                    ))
                }
            };
            let filter = QueueFilter {
                states,
                assigned_doctor_id: doctor,
                unassigned_only: unassigned,
                partner_id: partner,
                sort,
                limit: Some(limit),
                offset: None,
            };
            let rows = ClinicTx::run(&pool, async |tx| queue::list(tx, &filter).await).await?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                println!("no open consultations");
            } else {
                rows.iter().for_each(print_row);
            }
        }
        QueueCommand::Watch => {
            let pool = pool(config, 2).await?;
            let mut w = QueueWatcher::connect(&pool).await?;
            eprintln!("watching queue changes; Ctrl-C to stop");
            loop {
                tokio::select! {
                    e = w.next() => println!("{}", serde_json::to_string(&e?).map_err(|e| Error::internal(e.to_string()))?),
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
        }
    }
    Ok(())
}

pub async fn consultation(config: &Config, command: ConsultationCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        ConsultationCommand::Pick { id, json } => {
            let picked = ClinicTx::run(&pool, async |tx| match id {
                Some(id) => queue::pick(tx, id).await.map(Some),
                None => queue::pick_next(tx).await,
            })
            .await?;
            match (picked, json) {
                (Some(c), j) => show(&pool, &c, j).await?,
                (None, true) => println!("null"),
                (None, false) => println!("nothing is waiting to be picked"),
            }
        }
        ConsultationCommand::Start { id, json } => {
            let meetings = Meetings::from_env();
            let s = ClinicTx::run(&pool, async |tx| queue::start(tx, &meetings, id).await).await?;
            if json {
                print_json(&s)?;
            } else {
                print_row(&ClinicTx::run(&pool, async |tx| queue::get(tx, id).await).await.unwrap_or(s.consultation.clone()));
                if s.demo {
                    println!("demo links: no meeting service is set up (DIGIMED_JITSI_DOMAIN)");
                }
                println!("your video:      {}\nyour chat:       {}", s.doctor_video_url, s.doctor_chat_url);
                println!("patient's video: {}\npatient's chat:  {}", s.patient_video_url, s.patient_chat_url);
            }
        }
        ConsultationCommand::Links { id, json } => {
            let meetings = Meetings::from_env();
            let l = ClinicTx::run(&pool, async |tx| digimed_core::meetings::links_for_doctor(tx, &meetings, id).await).await?;
            if json {
                print_json(&l)?;
            } else {
                if l.demo {
                    println!("demo links: no meeting service is set up (DIGIMED_JITSI_DOMAIN)");
                }
                println!("your video:      {}\nyour chat:       {}", l.doctor_video_url, l.doctor_chat_url);
                println!("patient's video: {}\npatient's chat:  {}", l.patient_video_url, l.patient_chat_url);
            }
        }
        ConsultationCommand::Complete { id, icpc2, outcome, policy_number, job_description, patient_ssn, notes_stdin, json } => {
            let notes = if notes_stdin { Some(read_stdin("notes")?) } else { None };
            let input =
                ResultInput { icpc2, outcome, policy_number, notes, patient_job_description: job_description, patient_ssn };
            let vault = Vault::load_configured(config)?;
            let c = ClinicTx::run(&pool, async |tx| results::complete_with_result(tx, &vault, id, &input).await).await?;
            show(&pool, &c, json).await?
        }
        ConsultationCommand::Cancel { id, reason, json } => {
            let c = ClinicTx::run(&pool, async |tx| queue::cancel(tx, id, &reason).await).await?;
            show(&pool, &c, json).await?
        }
        ConsultationCommand::Assign { id, doctor, json } => {
            let c = ClinicTx::run(&pool, async |tx| queue::assign(tx, id, doctor).await).await?;
            show(&pool, &c, json).await?
        }
        ConsultationCommand::Release { id, json } => {
            let c = ClinicTx::run(&pool, async |tx| queue::release(tx, id).await).await?;
            show(&pool, &c, json).await?
        }
        ConsultationCommand::History { person, json } => {
            let rows = ClinicTx::run(&pool, async |tx| queue::history(tx, person).await).await?;
            if json {
                print_json(&rows)?;
            } else {
                rows.iter().for_each(print_row);
            }
        }
        ConsultationCommand::Book { referral, person, partner, doctor, channels, primary, json } => {
            let c = match (referral, person) {
                (Some(referral), _) => {
                    let choice = BookingChoice { enabled_channels: channels, primary_channel: primary, doctor_id: doctor };
                    ClinicTx::run(&pool, async |tx| referrals::book(tx, referral, &choice).await).await?
                }
                (None, Some(person)) => {
                    let booking = queue::NewBooking {
                        patient_person_id: person,
                        partner_id: partner,
                        enabled_channels: channels,
                        primary_channel: primary,
                        doctor_id: doctor,
                    };
                    ClinicTx::run(&pool, async |tx| queue::book(tx, &booking).await).await?
                }
                (None, None) => {
                    return Err(Error::field(ErrorCode::InvalidInput, "referral", "Name a --referral or a --person."))
                }
            };
            show(&pool, &c, json).await?
        }
        ConsultationCommand::FollowUp { id, json } => {
            let c = ClinicTx::run(&pool, async |tx| queue::book_follow_up(tx, id).await).await?;
            show(&pool, &c, json).await?
        }
    }
    Ok(())
}
