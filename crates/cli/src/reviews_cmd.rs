//! `digimed reviews`: patients' ratings of their consultations, per doctor and per partner, and
//! the newest comments (admins; the owner sees every clinic's). See docs/public-pages.md.

use clap::Args;
use digimed_core::config::Config;
use digimed_core::reviews::{self, RatingGroup};
use digimed_core::{ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Args)]
pub struct ReviewsArgs {
    #[arg(long)]
    json: bool,
}

pub async fn reviews(config: &Config, args: ReviewsArgs) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    let s = ClinicTx::run(&pool, async |tx| reviews::summary(tx).await).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s).map_err(|e| Error::internal(e.to_string()))?);
        return Ok(());
    }
    match s.average {
        Some(avg) => println!("{} answered, average {avg:.2} of 5; {} links not answered", s.answered, s.unanswered),
        None => println!("no reviews answered yet; {} links not answered", s.unanswered),
    }
    print_groups("per doctor", &s.by_doctor, "(no doctor assigned)");
    print_groups("per partner", &s.by_partner, "(no partner)");
    if !s.latest_comments.is_empty() {
        println!("\nnewest comments:");
        for c in &s.latest_comments {
            println!(
                "  {}  {}/5  consultation {}  {}  {}",
                c.submitted_at.format("%Y-%m-%d %H:%M"),
                c.rating,
                c.consultation_id,
                c.doctor_name.as_deref().unwrap_or("-"),
                c.partner_name.as_deref().unwrap_or("-"),
            );
            for line in c.comment.lines() {
                println!("      {line}");
            }
        }
    }
    Ok(())
}

fn print_groups(title: &str, groups: &[RatingGroup], none: &str) {
    if groups.is_empty() {
        return;
    }
    println!("\n{title}:");
    for g in groups {
        let counts: Vec<String> = g.ratings.iter().enumerate().map(|(i, n)| format!("{}:{n}", i + 1)).collect();
        println!(
            "  {:<32} {:>4} answered  average {:.2}  ({})",
            g.name.as_deref().unwrap_or(none),
            g.answered,
            g.average,
            counts.join(" ")
        );
    }
}
