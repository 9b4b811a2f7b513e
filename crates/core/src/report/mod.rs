//! The insurer report (seed 001's `ConsultationReportGenerator`): per partner and period, one row
//! per consultation (created, assigned, started, ended, WAITING_TIME, TREATMENT_DURATION,
//! outcome, ICPC-2 code and chapter, policy number, deadline) and a summary (counts by state,
//! outcome and chapter, median and p90 waiting time and treatment duration, deadline breaches).
//!
//! Written as an Excel workbook (`.xlsx`) or as CSV (the summary then goes beside it, in
//! `<name>-summary.csv`). The rows stream from the database into the file: the workbook's data
//! sheet is written in constant-memory mode, and nothing but one duration pair per consultation
//! (for the exact percentiles) is kept. The file appears under its name only when complete.
//!
//! Only the administrators of the partner's clinic may export; the database checks it and
//! records the export in the audit log in the same transaction as the read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::TryStreamExt;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};
use crate::icpc2;
use crate::keys::Vault;
use crate::queue::{self, ConsultationState, DeadlineStatus};

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
        Ok(ReportRequest { partner: partner.to_string(), from, to })
    }
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
pub const COLUMNS: [&str; 16] = [
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
];

const TIME_ZONE: &str = "Europe/Oslo";

#[derive(sqlx::FromRow)]
struct DbRow {
    consultation_id: i32,
    state: String,
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
}

/// How far an export has come: rows written of the total.
pub type Progress<'a> = &'a mut (dyn FnMut(u32, u32) + Send);

/// Exports the report of `request` to `out` as the signed-in staff member (an administrator of
/// the partner's clinic). `progress` is called every few hundred rows and at the end.
pub async fn export(
    pool: &PgPool,
    vault: &Vault,
    request: &ReportRequest,
    out: &Path,
    progress: Progress<'_>,
) -> Result<ReportSummary> {
    let format = ReportFormat::from_path(out)?;
    let partial = partial_path(out)?;
    let mut tx = pool.begin().await?;
    // One snapshot for the count, the rows and the summary.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
    let partner_id: Option<i32> = sqlx::query_scalar("SELECT id FROM partners WHERE name = $1")
        .bind(&request.partner)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(partner_id) = partner_id else {
        return Err(Error::field(ErrorCode::NotFound, "partner", format!("There is no partner named '{}'.", request.partner)));
    };
    let outcomes: BTreeMap<String, String> = sqlx::query_as("SELECT code, label FROM result_outcomes")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let codes: BTreeMap<String, (String, String)> =
        sqlx::query_as::<_, (String, String, String)>("SELECT code, chapter, title FROM icpc2_codes")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(code, chapter, title)| (code, (chapter, title)))
            .collect();

    let mut sink = Sink::create(format, &partial)?;
    let mut stats = Stats::default();
    let now = Utc::now();
    let result = async {
        let mut rows = sqlx::query_as::<_, DbRow>(
            "SELECT consultation_id, state, created_at, starts_at, ends_at, deadline_at, created_local,
                    assigned_local, starts_local, ends_local, deadline_local, result_id, icpc2_encrypted,
                    outcome_encrypted, policy_number_encrypted, total
               FROM insurer_report_rows($1, $2, $3, current_user::text)",
        )
        .bind(partner_id)
        .bind(request.from)
        .bind(request.to)
        .fetch(&mut *tx);
        while let Some(db) = rows.try_next().await.map_err(report_error)? {
            let total = db.total.clamp(0, u32::MAX as i64) as u32;
            let row = decrypt_row(vault, &outcomes, &codes, db, now)?;
            stats.add(&row);
            sink.row(&row)?;
            if stats.rows % 500 == 1 {
                progress(stats.rows, total);
            }
        }
        drop(rows);
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
        return Err(e.into());
    }
    // A REPEATABLE READ transaction does not chain its audit row itself (its snapshot is old):
    // chain it now. Should that fail, the row is committed and the next audited commit chains it.
    if let Err(e) = crate::audit::seal_pending(pool).await {
        tracing::warn!(code = e.code.as_str(), "the export's audit row waits to be chained");
    }
    let summary = stats.summary(request, format, out, &outcomes, now);
    if let Err(e) = sink.finish(&summary, &partial, out) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    progress(summary.consultations, summary.consultations);
    Ok(summary)
}

fn report_error(e: sqlx::Error) -> Error {
    match Error::from(e) {
        e if e.code == ErrorCode::Forbidden => {
            Error::forbidden("Only the administrators of the partner's clinic may export its insurer report.")
        }
        e => e,
    }
}

fn decrypt_row(
    vault: &Vault,
    outcomes: &BTreeMap<String, String>,
    codes: &BTreeMap<String, (String, String)>,
    db: DbRow,
    now: DateTime<Utc>,
) -> Result<ReportRow> {
    let state = ConsultationState::parse(&db.state)?;
    let (mut outcome, mut icpc2_code, mut icpc2_chapter, mut icpc2_title, mut policy_number) = (None, None, None, None, None);
    if let Some(result_id) = db.result_id {
        let dec = |column: &str, ct: &[u8]| vault.decrypt("consultation_results", column, result_id as i64, ct);
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

// ---------------------------------------------------------------------------------------------
// Counting.

#[derive(Default)]
struct Stats {
    rows: u32,
    by_state: BTreeMap<&'static str, u32>,
    by_outcome: BTreeMap<String, u32>,
    by_chapter: BTreeMap<String, u32>,
    waiting: Vec<u32>,
    treatment: Vec<u32>,
    breaches: u32,
}

impl Stats {
    fn add(&mut self, row: &ReportRow) {
        self.rows += 1;
        *self.by_state.entry(row.state.as_str()).or_default() += 1;
        if let Some(o) = &row.outcome {
            *self.by_outcome.entry(o.clone()).or_default() += 1;
        }
        if let Some(c) = &row.icpc2_chapter {
            *self.by_chapter.entry(c.clone()).or_default() += 1;
        }
        if let Some(w) = row.waiting_seconds {
            self.waiting.push(w.clamp(0, u32::MAX as i64) as u32);
        }
        if let Some(t) = row.treatment_seconds {
            self.treatment.push(t.clamp(0, u32::MAX as i64) as u32);
        }
        if row.deadline_status == DeadlineStatus::Breached {
            self.breaches += 1;
        }
    }

    fn summary(
        mut self,
        request: &ReportRequest,
        format: ReportFormat,
        out: &Path,
        outcomes: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> ReportSummary {
        let (wm, wp) = (percentile(&mut self.waiting, 50), percentile(&mut self.waiting, 90));
        let (tm, tp) = (percentile(&mut self.treatment, 50), percentile(&mut self.treatment, 90));
        let by_state = ConsultationState::ALL
            .iter()
            .filter_map(|s| {
                self.by_state.get(s.as_str()).map(|n| Count { key: s.as_str().into(), label: s.label(), count: *n })
            })
            .collect();
        // Outcomes in the order of the list an admin maintains, then any no longer listed.
        let mut by_outcome: Vec<Count> = outcomes
            .iter()
            .filter_map(|(code, label)| {
                self.by_outcome.remove(label).map(|n| Count { key: code.clone(), label: label.clone(), count: n })
            })
            .collect();
        by_outcome.extend(self.by_outcome.into_iter().map(|(l, n)| Count { key: l.clone(), label: l, count: n }));
        let by_chapter = self
            .by_chapter
            .into_iter()
            .map(|(c, n)| Count { label: format!("{c} {}", icpc2::chapter_name(&c)), key: c, count: n })
            .collect();
        ReportSummary {
            partner: request.partner.clone(),
            from: request.from,
            to: request.to,
            format,
            file: out.display().to_string(),
            summary_file: (format == ReportFormat::Csv).then(|| csv_summary_path(out).display().to_string()),
            consultations: self.rows,
            by_state,
            by_outcome,
            by_chapter,
            waiting_median_seconds: wm,
            waiting_p90_seconds: wp,
            treatment_median_seconds: tm,
            treatment_p90_seconds: tp,
            deadline_breaches: self.breaches,
            generated_at: now,
        }
    }
}

/// The nearest-rank percentile: the smallest value with at least `p`% of the values at or below it.
pub fn percentile(values: &mut [u32], p: u32) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (values.len() as u64 * p as u64).div_ceil(100).max(1) as usize;
    Some(values[rank - 1])
}

/// `1:05:09` for 3909 seconds.
pub fn hms(seconds: u32) -> String {
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

fn deadline_kept(s: DeadlineStatus) -> &'static str {
    match s {
        DeadlineStatus::None => "",
        DeadlineStatus::Met => "yes",
        DeadlineStatus::Breached => "no",
        DeadlineStatus::OnTrack | DeadlineStatus::Near => "open",
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.

enum Sink {
    Xlsx(Box<XlsxSink>),
    Csv(BufWriter<File>),
}

struct XlsxSink {
    workbook: Workbook,
    next_row: u32,
    header: Format,
    datetime: Format,
    duration: Format,
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorCode::Internal, format!("The report file could not be written: {e}"))
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::new(ErrorCode::Internal, format!("The workbook could not be written: {e}"))
}

impl Sink {
    fn create(format: ReportFormat, partial: &Path) -> Result<Sink> {
        match format {
            ReportFormat::Csv => {
                let mut w = BufWriter::with_capacity(64 * 1024, File::create(partial).map_err(io_error)?);
                write_csv_line(&mut w, COLUMNS.iter().copied())?;
                Ok(Sink::Csv(w))
            }
            ReportFormat::Xlsx => {
                let mut workbook = Workbook::new();
                if let Some(dir) = partial.parent() {
                    workbook.set_tempdir(dir).map_err(xlsx_error)?;
                }
                let header = Format::new().set_bold();
                let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
                let duration = Format::new().set_num_format("[h]:mm:ss");
                let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
                sheet.set_name("Consultations").map_err(xlsx_error)?;
                for (col, name) in COLUMNS.iter().enumerate() {
                    sheet.write_string_with_format(0, col as u16, *name, &header).map_err(xlsx_error)?;
                    let width = match col {
                        2..=5 | 13 => 17.0,
                        11 => 36.0,
                        8 | 12 => 16.0,
                        _ => 12.0,
                    };
                    sheet.set_column_width(col as u16, width).map_err(xlsx_error)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
                Ok(Sink::Xlsx(Box::new(XlsxSink { workbook, next_row: 1, header, datetime, duration })))
            }
        }
    }

    fn row(&mut self, r: &ReportRow) -> Result<()> {
        match self {
            Sink::Csv(w) => {
                let t = |v: &Option<NaiveDateTime>| v.map(csv_time).unwrap_or_default();
                let n = |v: Option<i64>| v.map(|s| s.to_string()).unwrap_or_default();
                let s = |v: &Option<String>| v.clone().unwrap_or_default();
                write_csv_line(
                    w,
                    [
                        r.consultation_id.to_string(),
                        r.state.as_str().to_string(),
                        csv_time(r.created),
                        t(&r.assigned),
                        t(&r.started),
                        t(&r.ended),
                        n(r.waiting_seconds),
                        n(r.treatment_seconds),
                        s(&r.outcome),
                        s(&r.icpc2_code),
                        s(&r.icpc2_chapter),
                        s(&r.icpc2_title),
                        s(&r.policy_number),
                        t(&r.deadline),
                        deadline_kept(r.deadline_status).to_string(),
                        TIME_ZONE.to_string(),
                    ]
                    .iter()
                    .map(String::as_str),
                )
            }
            Sink::Xlsx(x) => x.row(r).map_err(xlsx_error),
        }
    }

    fn abandon(self, partial: &Path) {
        drop(self);
        let _ = std::fs::remove_file(partial);
    }

    fn finish(self, summary: &ReportSummary, partial: &Path, out: &Path) -> Result<()> {
        match self {
            Sink::Csv(mut w) => {
                w.flush().map_err(io_error)?;
                w.into_inner().map_err(|e| io_error(e.into_error()))?.sync_all().map_err(io_error)?;
                let summary_path = csv_summary_path(out);
                let summary_partial = partial.with_extension("summary.partial");
                let mut s = BufWriter::new(File::create(&summary_partial).map_err(io_error)?);
                let written = summary_lines(summary)
                    .into_iter()
                    .try_for_each(|(a, b)| write_csv_line(&mut s, [a.as_str(), b.as_str()].into_iter()))
                    .and_then(|_| s.flush().map_err(io_error));
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&summary_partial);
                    return Err(e);
                }
                std::fs::rename(&summary_partial, &summary_path).map_err(io_error)?;
                std::fs::rename(partial, out).map_err(io_error)
            }
            Sink::Xlsx(mut x) => {
                x.summary(summary).map_err(xlsx_error)?;
                x.workbook.save(partial).map_err(xlsx_error)?;
                std::fs::rename(partial, out).map_err(io_error)
            }
        }
    }
}

impl XlsxSink {
    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(0)
    }

    fn row(&mut self, r: &ReportRow) -> Result<(), XlsxError> {
        let row = self.next_row;
        self.next_row += 1;
        let (datetime, duration) = (self.datetime.clone(), self.duration.clone());
        let sheet = self.sheet()?;
        sheet.write_number(row, 0, r.consultation_id)?;
        sheet.write_string(row, 1, r.state.as_str())?;
        for (col, t) in [(2, Some(r.created)), (3, r.assigned), (4, r.started), (5, r.ended), (13, r.deadline)] {
            if let Some(t) = t {
                sheet.write_datetime_with_format(row, col, t, &datetime)?;
            }
        }
        for (col, s) in [(6, r.waiting_seconds), (7, r.treatment_seconds)] {
            if let Some(s) = s {
                sheet.write_number_with_format(row, col, s as f64 / 86_400.0, &duration)?;
            }
        }
        for (col, v) in [(8, &r.outcome), (9, &r.icpc2_code), (10, &r.icpc2_chapter), (11, &r.icpc2_title), (12, &r.policy_number)] {
            if let Some(v) = v {
                sheet.write_string(row, col, v)?;
            }
        }
        let kept = deadline_kept(r.deadline_status);
        if !kept.is_empty() {
            sheet.write_string(row, 14, kept)?;
        }
        sheet.write_string(row, 15, TIME_ZONE)?;
        Ok(())
    }

    fn summary(&mut self, summary: &ReportSummary) -> Result<(), XlsxError> {
        let last_row = self.next_row - 1;
        if last_row > 0 {
            self.sheet()?.autofilter(0, 0, last_row, (COLUMNS.len() - 1) as u16)?;
        }
        let header = self.header.clone();
        let duration = self.duration.clone();
        let sheet = self.workbook.add_worksheet();
        sheet.set_name("Summary")?;
        sheet.set_column_width(0, 34.0)?;
        sheet.set_column_width(1, 28.0)?;
        sheet.write_string_with_format(0, 0, "Insurer report", &header)?;
        let mut row = 2u32;
        let mut pair = |sheet: &mut Worksheet, a: &str, b: &str| -> Result<(), XlsxError> {
            sheet.write_string(row, 0, a)?;
            sheet.write_string(row, 1, b)?;
            row += 1;
            Ok(())
        };
        pair(sheet, "Partner", &summary.partner)?;
        pair(sheet, "Period (Europe/Oslo)", &format!("{} to {}", summary.from, summary.to))?;
        pair(sheet, "Generated (UTC)", &summary.generated_at.format("%Y-%m-%d %H:%M:%S").to_string())?;
        let mut row = row + 1;
        let mut section = |sheet: &mut Worksheet, title: &str, counts: &[Count]| -> Result<(), XlsxError> {
            sheet.write_string_with_format(row, 0, title, &header)?;
            row += 1;
            for c in counts {
                sheet.write_string(row, 0, &c.label)?;
                sheet.write_number(row, 1, c.count)?;
                row += 1;
            }
            row += 1;
            Ok(())
        };
        section(
            sheet,
            "Consultations",
            &[Count { key: "total".into(), label: "Total".into(), count: summary.consultations }],
        )?;
        section(sheet, "By state", &summary.by_state)?;
        section(sheet, "By outcome", &summary.by_outcome)?;
        section(sheet, "By ICPC-2 chapter", &summary.by_chapter)?;
        sheet.write_string_with_format(row, 0, "Times", &header)?;
        row += 1;
        for (label, v) in [
            ("WAITING_TIME median", summary.waiting_median_seconds),
            ("WAITING_TIME p90", summary.waiting_p90_seconds),
            ("TREATMENT_DURATION median", summary.treatment_median_seconds),
            ("TREATMENT_DURATION p90", summary.treatment_p90_seconds),
        ] {
            sheet.write_string(row, 0, label)?;
            if let Some(s) = v {
                sheet.write_number_with_format(row, 1, s as f64 / 86_400.0, &duration)?;
            }
            row += 1;
        }
        sheet.write_string(row, 0, "Deadline breaches")?;
        sheet.write_number(row, 1, summary.deadline_breaches)?;
        Ok(())
    }
}

/// The summary as label/value pairs (the CSV summary file).
pub fn summary_lines(s: &ReportSummary) -> Vec<(String, String)> {
    let mut lines = vec![
        ("Partner".to_string(), s.partner.clone()),
        ("Period from (Europe/Oslo)".into(), s.from.to_string()),
        ("Period to (Europe/Oslo)".into(), s.to.to_string()),
        ("Generated (UTC)".into(), s.generated_at.format("%Y-%m-%d %H:%M:%S").to_string()),
        ("Consultations".into(), s.consultations.to_string()),
    ];
    lines.extend(s.by_state.iter().map(|c| (format!("State: {}", c.label), c.count.to_string())));
    lines.extend(s.by_outcome.iter().map(|c| (format!("Outcome: {}", c.label), c.count.to_string())));
    lines.extend(s.by_chapter.iter().map(|c| (format!("ICPC-2 chapter: {}", c.label), c.count.to_string())));
    let secs = |v: Option<u32>| v.map(|s| s.to_string()).unwrap_or_default();
    lines.push(("WAITING_TIME median (seconds)".into(), secs(s.waiting_median_seconds)));
    lines.push(("WAITING_TIME p90 (seconds)".into(), secs(s.waiting_p90_seconds)));
    lines.push(("TREATMENT_DURATION median (seconds)".into(), secs(s.treatment_median_seconds)));
    lines.push(("TREATMENT_DURATION p90 (seconds)".into(), secs(s.treatment_p90_seconds)));
    lines.push(("Deadline breaches".into(), s.deadline_breaches.to_string()));
    lines
}

fn csv_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One CSV line (RFC 4180). A value that a spreadsheet would take for a formula is prefixed
/// with an apostrophe, so that opening the file never runs anything.
fn write_csv_line<'a>(w: &mut impl Write, values: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut first = true;
    for v in values {
        if !first {
            w.write_all(b",").map_err(io_error)?;
        }
        first = false;
        let guarded;
        let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.parse::<f64>().is_err() {
            guarded = format!("'{v}");
            guarded.as_str()
        } else {
            v
        };
        if v.contains([',', '"', '\n', '\r']) {
            write!(w, "\"{}\"", v.replace('"', "\"\"")).map_err(io_error)?;
        } else {
            w.write_all(v.as_bytes()).map_err(io_error)?;
        }
    }
    w.write_all(b"\r\n").map_err(io_error)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-12,plain\r\n"
        );
    }
}
