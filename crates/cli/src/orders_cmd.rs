//! `digimed partner price` and `digimed order …`: partners' deal prices, discounts and the order
//! of a consultation, as whoever `DATABASE_URL` names (an administrator, or the owner).

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::orders::{self, BillingLine, Order};
use digimed_core::{prices, referrals, ClinicTx, Error};

use crate::queue_cmd::pool;

#[derive(Subcommand)]
pub enum OrderCommand {
    /// Gives a discount on a consultation's line item, with the reason (administrators); 0 takes
    /// it back.
    Discount {
        /// The consultation's id.
        consultation: i32,
        /// e.g. 100.00 (at most the price).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why the discount is given (required).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Shows the order of a consultation: line items, discount and total.
    Show {
        /// The consultation's id.
        consultation: i32,
        #[arg(long)]
        json: bool,
    },
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(v).map_err(|e| Error::internal(e.to_string()))?);
    Ok(())
}

/// `digimed partner price NAME --category C --amount A [--currency NOK]`.
pub async fn partner_price(
    config: &Config,
    name: String,
    category: String,
    amount: String,
    currency: Option<String>,
    json: bool,
) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    let price = ClinicTx::run(&pool, async |tx| {
        let partner = referrals::partner_by_name(tx, &name).await?;
        prices::set(tx, partner.id, &category, &amount, currency.as_deref()).await
    })
    .await?;
    if json {
        return print_json(&price);
    }
    println!(
        "{}: {} consultations are priced {:.2} {} for bookings from now on (booked ones keep their price)",
        name.trim(),
        price.category,
        price.unit_price,
        price.currency
    );
    Ok(())
}

fn describe_line(l: &BillingLine) -> String {
    match (&l.price, &l.discount, &l.total, &l.currency) {
        (Some(price), Some(discount), Some(total), Some(currency)) => {
            let mut s = format!(
                "consultation {}: price {price:.2}, discount {discount:.2}, total {total:.2} {currency}",
                l.consultation_id
            );
            if l.no_deal_price {
                s.push_str(" (no deal price set when booked)");
            }
            if let Some(reason) = l.discount_reason.as_deref().filter(|_| !discount.is_zero()) {
                s.push_str(&format!("; discount reason: {reason}"));
            }
            s
        }
        _ => format!("consultation {}: no order", l.consultation_id),
    }
}

fn describe_order(o: &Order) {
    println!(
        "order {} of consultation {} for {}, created {}",
        o.id,
        o.consultation_id,
        o.partner.as_deref().unwrap_or("(unknown partner)"),
        o.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    for li in &o.line_items {
        println!(
            "  {} ({}) {} × {:.2} less {:.2} {}{}",
            li.description,
            li.category,
            li.quantity,
            li.unit_price,
            li.discount,
            o.currency,
            if li.no_deal_price { "  no deal price set when booked" } else { "" }
        );
        if let (Some(reason), Some(by), Some(at)) = (&li.discount_reason, &li.discount_set_by, &li.discount_set_at) {
            println!("    discount by {by} on {}: {reason}", at.format("%Y-%m-%d %H:%M UTC"));
        }
    }
    println!("  total {:.2} {}", o.total, o.currency);
}

pub async fn order(config: &Config, command: OrderCommand) -> Result<(), Error> {
    let pool = pool(config, 2).await?;
    match command {
        OrderCommand::Discount { consultation, amount, reason, json } => {
            let line = ClinicTx::run(&pool, async |tx| orders::set_discount(tx, consultation, &amount, &reason).await).await?;
            if json {
                print_json(&line)?;
            } else {
                println!("{}", describe_line(&line));
            }
        }
        OrderCommand::Show { consultation, json } => {
            let order = ClinicTx::run(&pool, async |tx| orders::show(tx, consultation).await).await?;
            if json {
                print_json(&order)?;
            } else {
                describe_order(&order);
            }
        }
    }
    Ok(())
}
