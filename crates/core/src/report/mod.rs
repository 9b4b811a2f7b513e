//! The insurer report (see `docs/insurer-report.md`): per partner and period, one row
//! per consultation (created, assigned, started, ended, WAITING_TIME, TREATMENT_DURATION,
//! outcome, ICPC-2 code and chapter, policy number, deadline, price, discount and total) and a
//! summary (counts by state, outcome and chapter, median and p90 waiting time and treatment
//! duration, deadline breaches, the sums of the amounts). The rows end with a sum row.
//!
//! Written as an Excel workbook (`.xlsx`) or as CSV (the summary then goes beside it, in
//! `<name>-summary.csv`). The rows stream from the database into the file: the workbook's data
//! sheet is written in constant-memory mode, and nothing but one duration pair per consultation
//! (for the exact percentiles) is kept. The file appears under its name only when complete.
//!
//! Only the administrators of the partner's clinic may export; the database checks it and
//! records the export in the audit log in the same transaction as the read. The rows, their
//! total and the summary come from one statement, so they agree with each other.

mod files;
mod summary;

pub use files::{amount_text, summary_lines, SUM_LABEL};
pub use summary::{hms, percentile};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::orders::MoneySum;
use crate::queue::{self, ConsultationState, DeadlineStatus};
use files::Sink;
use summary::Stats;

/// What to export: a partner (by its name, as `digimed partner add` named it) and a period of
/// Norwegian local dates, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub partner: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The longest period one report may cover.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

impl ReportRequest {
    /// Parses the request as typed by a person; each problem names its field.
    pub fn parse(partner: &str, from: &str, to: &str) -> Result<ReportRequest> {
        let partner = partner.trim();
        if partner.is_empty() {
            return Err(Error::invalid("partner", "Choose the partner the report is for."));
        }
        let (from, to) = parse_period(from, to)?;
        Ok(ReportRequest { partner: partner.to_string(), from, to })
    }
}

/// A period of Norwegian local dates as typed (`YYYY-MM-DD`, both included, at most three
/// years), as the insurer report and the billing view take it; each problem names its field.
pub fn parse_period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate)> {
    let date = |field: &str, s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| Error::invalid(field, "Write the date as YYYY-MM-DD, e.g. 2026-01-31."))
    };
    let from = date("from", from)?;
    let to = date("to", to)?;
    if to < from {
        return Err(Error::invalid("to", "The period ends before it starts."));
    }
    if (to - from).num_days() > MAX_PERIOD_DAYS {
        return Err(Error::invalid("to", "A report covers at most three years; split the period."));
    }
    Ok((from, to))
}

/// The file name a report is saved under when nobody names one:
/// `insurer-report-<partner>-<from>-<to>.<ext>`.
pub fn default_file_name(request: &ReportRequest, format: ReportFormat) -> String {
    format!("insurer-report-{}-{}-{}.{}", request.partner, request.from, request.to, format.extension())
}

/// The file format, chosen by the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Xlsx,
    Csv,
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Csv => "csv",
        }
    }

    pub fn from_path(path: &Path) -> Result<ReportFormat> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("xlsx") => Ok(ReportFormat::Xlsx),
            Some("csv") => Ok(ReportFormat::Csv),
            _ => Err(Error::invalid("out", "Name the file with .xlsx (Excel) or .csv.")),
        }
    }
}

/// One consultation as the report shows it. Times are Norwegian local times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub consultation_id: i32,
    pub state: ConsultationState,
    pub created: NaiveDateTime,
    pub assigned: Option<NaiveDateTime>,
    pub started: Option<NaiveDateTime>,
    pub ended: Option<NaiveDateTime>,
    pub deadline: Option<NaiveDateTime>,
    /// WAITING_TIME = started - created, once started.
    pub waiting_seconds: Option<i64>,
    /// TREATMENT_DURATION = ended - started, once ended.
    pub treatment_seconds: Option<i64>,
    pub deadline_status: DeadlineStatus,
    /// The outcome's label (e.g. "Referred GP"), from the newest version of the result.
    pub outcome: Option<String>,
    pub icpc2_code: Option<String>,
    pub icpc2_chapter: Option<String>,
    pub icpc2_title: Option<String>,
    pub policy_number: Option<String>,
    /// The consultation's order: price (quantity × unit price), discount and total as the
    /// database keeps them, in its currency. None without an order (a follow-up).
    pub money: Option<RowMoney>,
}

/// The amounts of one consultation's order, exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMoney {
    pub price: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
    pub currency: String,
    /// Booked when the partner had no deal price for the category (price 0).
    pub no_deal_price: bool,
}

/// Counts and percentiles of one export.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReportSummary {
    pub partner: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub format: ReportFormat,
    /// Where the rows were written (and, for CSV, the summary file beside it).
    pub file: String,
    pub summary_file: Option<String>,
    pub consultations: u32,
    pub by_state: Vec<Count>,
    pub by_outcome: Vec<Count>,
    pub by_chapter: Vec<Count>,
    pub waiting_median_seconds: Option<u32>,
    pub waiting_p90_seconds: Option<u32>,
    pub treatment_median_seconds: Option<u32>,
    pub treatment_p90_seconds: Option<u32>,
    pub deadline_breaches: u32,
    /// Price, discount and total summed per currency (the file's sum rows).
    pub sums: Vec<MoneySum>,
    /// Consultations booked when the partner had no deal price (priced 0).
    pub no_deal_price: u32,
    /// Consultations without an order (follow-ups), which have no amounts.
    pub without_order: u32,
    pub generated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: u32,
}

/// The columns of the rows, in order (the CSV header and the workbook's first row).
pub const COLUMNS: [&str; 21] = [
    "Consultation",
    "State",
    "Created",
    "Assigned",
    "Started",
    "Ended",
    "WAITING_TIME",
    "TREATMENT_DURATION",
    "Outcome",
    "ICPC-2 code",
    "ICPC-2 chapter",
    "ICPC-2 title",
    "Policy number",
    "Deadline",
    "Deadline kept",
    "Time zone",
    "Price",
    "Discount",
    "Total",
    "Currency",
    "Price note",
];

/// What the `Price note` column says of a consultation booked without a deal price.
pub const NO_DEAL_PRICE: &str = "no deal price set";
/// What the `Price note` column says of a consultation without an order.
pub const NO_ORDER: &str = "no order";

const TIME_ZONE: &str = "Europe/Oslo";

struct DbRow {
    consultation_id: i32,
    state: ConsultationState,
    created_at: DateTime<Utc>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    deadline_at: Option<DateTime<Utc>>,
    created_local: NaiveDateTime,
    assigned_local: Option<NaiveDateTime>,
    starts_local: Option<NaiveDateTime>,
    ends_local: Option<NaiveDateTime>,
    deadline_local: Option<NaiveDateTime>,
    result_id: Option<i32>,
    icpc2_encrypted: Option<Vec<u8>>,
    outcome_encrypted: Option<Vec<u8>>,
    policy_number_encrypted: Option<Vec<u8>>,
    total: i64,
    price: Option<Decimal>,
    discount: Option<Decimal>,
    order_amount: Option<Decimal>,
    currency: Option<String>,
    no_deal_price: Option<bool>,
}

/// How far an export has come: rows written of the total.
pub type Progress<'a> = &'a mut (dyn FnMut(u32, u32) + Send);

/// Exports the report of `request` to `out` as the acting administrator of the partner's clinic. `progress` is called every few hundred rows and at the end. Takes the
/// transaction and commits it before the file takes its name: the read and its audit row are
/// recorded, or no file appears.
pub async fn export(
    mut tx: ClinicTx,
    vault: &Vault,
    request: &ReportRequest,
    out: &Path,
    progress: Progress<'_>,
) -> Result<ReportSummary> {
    tx.require(Capability::ExportInsurerReport)?;
    // The report carries results' codes, outcomes and policy numbers: clinical fields, so it is
    // made only where the clinical keys are (an admin's workstation), and refused before any file.
    vault.keys_of(digimed_crypto::KeyDomain::Clinical)?;
    let format = ReportFormat::from_path(out)?;
    let partial = partial_path(out)?;
    let Some(partner_id) =
        sqlx::query_scalar!("SELECT id FROM partners WHERE name = $1", request.partner).fetch_optional(tx.conn()).await?
    else {
        return Err(Error::field(ErrorCode::NotFound, "partner", format!("There is no partner named '{}'.", request.partner)));
    };
    let outcomes: BTreeMap<String, String> = sqlx::query!("SELECT code, label FROM result_outcomes")
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .map(|r| (r.code, r.label))
        .collect();
    let codes: BTreeMap<String, (String, String)> = sqlx::query!(r#"SELECT code, chapter AS "chapter!", title FROM icpc2_codes"#)
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .map(|r| (r.code, (r.chapter, r.title)))
        .collect();

    let mut sink = Sink::create(format, &partial)?;
    let mut stats = Stats::default();
    let now = Utc::now();
    let result = async {
        let mut rows = sqlx::query_as!(
            DbRow,
            r#"SELECT consultation_id AS "consultation_id!", state AS "state!: ConsultationState", created_at AS "created_at!",
                      starts_at, ends_at, deadline_at, created_local AS "created_local!", assigned_local, starts_local,
                      ends_local, deadline_local, result_id, icpc2_encrypted, outcome_encrypted, policy_number_encrypted,
                      total AS "total!", price, discount, order_amount, currency, no_deal_price
                 FROM insurer_report_rows($1, $2, $3, current_user::text)"#,
            partner_id,
            request.from,
            request.to,
        )
        .fetch(tx.conn());
        while let Some(db) = rows.try_next().await? {
            let total = db.total.clamp(0, i64::from(u32::MAX)) as u32;
            let row = decrypt_row(vault, &outcomes, &codes, db, now)?;
            stats.add(&row);
            sink.row(&row)?;
            if stats.rows % 500 == 1 {
                progress(stats.rows, total);
            }
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = result {
        sink.abandon(&partial);
        return Err(e);
    }
    // The read and its audit row are committed before the file takes its name.
    if let Err(e) = tx.commit().await {
        sink.abandon(&partial);
        return Err(e);
    }
    let summary = stats.summary(request, format, out, &outcomes, now);
    if let Err(e) = sink.finish(&summary, &partial, out) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    progress(summary.consultations, summary.consultations);
    Ok(summary)
}

fn decrypt_row(
    vault: &Vault,
    outcomes: &BTreeMap<String, String>,
    codes: &BTreeMap<String, (String, String)>,
    db: DbRow,
    now: DateTime<Utc>,
) -> Result<ReportRow> {
    let state = db.state;
    let (mut outcome, mut icpc2_code, mut icpc2_chapter, mut icpc2_title, mut policy_number) = (None, None, None, None, None);
    if let Some(result_id) = db.result_id {
        let dec = |column: &str, ct: &[u8]| vault.decrypt("consultation_results", column, i64::from(result_id), ct);
        if let Some(ct) = &db.outcome_encrypted {
            let code = dec("outcome_encrypted", ct)?;
            outcome = Some(outcomes.get(&code).cloned().unwrap_or(code));
        }
        if let Some(ct) = &db.icpc2_encrypted {
            let code = dec("icpc2_encrypted", ct)?;
            if let Some((chapter, title)) = codes.get(&code) {
                icpc2_chapter = Some(chapter.clone());
                icpc2_title = Some(title.clone());
            } else {
                icpc2_chapter = code.get(..1).map(str::to_string);
            }
            icpc2_code = Some(code);
        }
        if let Some(ct) = &db.policy_number_encrypted {
            policy_number = Some(dec("policy_number_encrypted", ct)?);
        }
    }
    Ok(ReportRow {
        consultation_id: db.consultation_id,
        state,
        created: db.created_local,
        assigned: db.assigned_local,
        started: db.starts_local,
        ended: db.ends_local,
        deadline: db.deadline_local,
        waiting_seconds: db.starts_at.map(|s| queue::waiting_time(db.created_at, Some(s), now).num_seconds()),
        treatment_seconds: queue::treatment_duration(db.starts_at, db.ends_at).map(|d| d.num_seconds()),
        deadline_status: queue::deadline_status(db.deadline_at, db.starts_at, state, now),
        outcome,
        icpc2_code,
        icpc2_chapter,
        icpc2_title,
        policy_number,
        money: match (db.price, db.discount, db.order_amount, db.currency) {
            (Some(price), Some(discount), Some(total), Some(currency)) => {
                let two = crate::orders::two_decimals;
                Some(RowMoney {
                    price: two(price),
                    discount: two(discount),
                    total: two(total),
                    currency,
                    no_deal_price: db.no_deal_price.unwrap_or(false),
                })
            }
            _ => None,
        },
    })
}

fn partial_path(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid("out", "Name the file to write, e.g. report.xlsx."))?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::invalid("out", format!("The folder {} does not exist.", dir.display())));
    }
    Ok(dir.join(format!(".{name}.partial")))
}

/// Where the CSV summary goes: beside the rows, as `<stem>-summary.csv`.
pub fn csv_summary_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
    out.with_file_name(format!("{stem}-summary.csv"))
}

#[cfg(test)]
mod tests {
    use super::files::*;
    use super::*;

    #[test]
    fn requests_name_the_field_at_fault() {
        assert_eq!(ReportRequest::parse(" ", "2026-01-01", "2026-01-31").unwrap_err().field.as_deref(), Some("partner"));
        assert_eq!(ReportRequest::parse("if", "01.01.2026", "2026-01-31").unwrap_err().field.as_deref(), Some("from"));
        assert_eq!(ReportRequest::parse("if", "2026-01-01", "2025-12-31").unwrap_err().field.as_deref(), Some("to"));
        assert_eq!(ReportRequest::parse("if", "2020-01-01", "2026-01-01").unwrap_err().field.as_deref(), Some("to"));
        let ok = ReportRequest::parse(" if ", "2026-01-01", "2026-01-01").unwrap();
        assert_eq!(ok.partner, "if");
        assert_eq!(ReportFormat::from_path(Path::new("a/b.XLSX")).unwrap(), ReportFormat::Xlsx);
        assert_eq!(ReportFormat::from_path(Path::new("b.csv")).unwrap(), ReportFormat::Csv);
        assert_eq!(ReportFormat::from_path(Path::new("b.pdf")).unwrap_err().field.as_deref(), Some("out"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&mut [], 50), None);
        assert_eq!(percentile(&mut [7], 90), Some(7));
        let mut v: Vec<u32> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut v, 50), Some(5));
        assert_eq!(percentile(&mut v, 90), Some(9));
        let mut v: Vec<u32> = (1..=11).collect();
        assert_eq!(percentile(&mut v, 50), Some(6));
        assert_eq!(percentile(&mut v, 90), Some(10));
        assert_eq!(hms(3909), "1:05:09");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = Vec::new();
        write_csv_line(&mut out, ["a,b", "say \"hi\"", "=HYPERLINK(\"x\")", "-12", "plain"].into_iter()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-12,plain\r\n");
    }
}
