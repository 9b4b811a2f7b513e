//! Writing the report's file: an Excel workbook (data sheet in constant-memory mode, summary
//! sheet) or CSV (the summary beside it). The file is written under a partial name and takes
//! its own only when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::summary::deadline_kept;
use super::{csv_summary_path, Count, ReportFormat, ReportRow, ReportSummary, COLUMNS, NO_DEAL_PRICE, NO_ORDER, TIME_ZONE};
use crate::error::{Error, ErrorCode, Result};
use crate::orders::MoneySum;

// ---------------------------------------------------------------------------------------------
// Writing.

pub(super) enum Sink {
    Xlsx(Box<XlsxSink>),
    Csv(BufWriter<File>),
}

pub(super) struct XlsxSink {
    workbook: Workbook,
    next_row: u32,
    header: Format,
    datetime: Format,
    duration: Format,
    money: Format,
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorCode::Internal, format!("The report file could not be written: {e}"))
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::new(ErrorCode::Internal, format!("The workbook could not be written: {e}"))
}

impl Sink {
    pub(super) fn create(format: ReportFormat, partial: &Path) -> Result<Sink> {
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
                let money = Format::new().set_num_format("#,##0.00");
                let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
                sheet.set_name("Consultations").map_err(xlsx_error)?;
                for (col, name) in COLUMNS.iter().enumerate() {
                    sheet.write_string_with_format(0, col as u16, *name, &header).map_err(xlsx_error)?;
                    let width = match col {
                        2..=5 | 13 => 17.0,
                        11 => 36.0,
                        8 | 12 | 20 => 16.0,
                        _ => 12.0,
                    };
                    sheet.set_column_width(col as u16, width).map_err(xlsx_error)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
                Ok(Sink::Xlsx(Box::new(XlsxSink { workbook, next_row: 1, header, datetime, duration, money })))
            }
        }
    }

    pub(super) fn row(&mut self, r: &ReportRow) -> Result<()> {
        match self {
            Sink::Csv(w) => {
                let t = |v: &Option<NaiveDateTime>| v.map(csv_time).unwrap_or_default();
                let n = |v: Option<i64>| v.map(|s| s.to_string()).unwrap_or_default();
                let s = |v: &Option<String>| v.clone().unwrap_or_default();
                let m = |v: Option<Decimal>| v.map(amount_text).unwrap_or_default();
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
                        m(r.money.as_ref().map(|m| m.price)),
                        m(r.money.as_ref().map(|m| m.discount)),
                        m(r.money.as_ref().map(|m| m.total)),
                        r.money.as_ref().map(|m| m.currency.clone()).unwrap_or_default(),
                        price_note(r).to_string(),
                    ]
                    .iter()
                    .map(String::as_str),
                )
            }
            Sink::Xlsx(x) => x.row(r).map_err(xlsx_error),
        }
    }

    pub(super) fn abandon(self, partial: &Path) {
        drop(self);
        let _ = std::fs::remove_file(partial);
    }

    pub(super) fn finish(self, summary: &ReportSummary, partial: &Path, out: &Path) -> Result<()> {
        match self {
            Sink::Csv(mut w) => {
                for sum in sum_rows(summary) {
                    let cells = [SUM_LABEL.to_string()]
                        .into_iter()
                        .chain(std::iter::repeat_n(String::new(), COLUMNS.len() - 6))
                        .chain([amount_text(sum.price), amount_text(sum.discount), amount_text(sum.total), sum.currency])
                        .chain([String::new()])
                        .collect::<Vec<_>>();
                    write_csv_line(&mut w, cells.iter().map(String::as_str))?;
                }
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
        let (datetime, duration, money) = (self.datetime.clone(), self.duration.clone(), self.money.clone());
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
        for (col, v) in
            [(8, &r.outcome), (9, &r.icpc2_code), (10, &r.icpc2_chapter), (11, &r.icpc2_title), (12, &r.policy_number)]
        {
            if let Some(v) = v {
                sheet.write_string(row, col, v)?;
            }
        }
        let kept = deadline_kept(r.deadline_status);
        if !kept.is_empty() {
            sheet.write_string(row, 14, kept)?;
        }
        sheet.write_string(row, 15, TIME_ZONE)?;
        if let Some(m) = &r.money {
            for (col, v) in [(16, m.price), (17, m.discount), (18, m.total)] {
                sheet.write_number_with_format(row, col, excel_number(v), &money)?;
            }
            sheet.write_string(row, 19, &m.currency)?;
        }
        let note = price_note(r);
        if !note.is_empty() {
            sheet.write_string(row, 20, note)?;
        }
        Ok(())
    }

    fn summary(&mut self, summary: &ReportSummary) -> Result<(), XlsxError> {
        let last_row = self.next_row - 1;
        if last_row > 0 {
            self.sheet()?.autofilter(0, 0, last_row, (COLUMNS.len() - 1) as u16)?;
        }
        let header = self.header.clone();
        let duration = self.duration.clone();
        let money = self.money.clone();
        let bold_money = self.money.clone().set_bold();
        // The sum rows end the data sheet, below the filtered range.
        for (sum_row, sum) in (self.next_row..).zip(sum_rows(summary)) {
            let sheet = self.sheet()?;
            sheet.write_string_with_format(sum_row, 0, SUM_LABEL, &header)?;
            for (col, v) in [(16, sum.price), (17, sum.discount), (18, sum.total)] {
                sheet.write_number_with_format(sum_row, col, excel_number(v), &bold_money)?;
            }
            sheet.write_string_with_format(sum_row, 19, &sum.currency, &header)?;
        }
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
        section(sheet, "Consultations", &[Count { key: "total".into(), label: "Total".into(), count: summary.consultations }])?;
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
        row += 2;
        sheet.write_string_with_format(row, 0, "Amounts", &header)?;
        row += 1;
        for sum in sum_rows(summary) {
            for (label, v) in money_lines(&sum) {
                sheet.write_string(row, 0, &label)?;
                sheet.write_number_with_format(row, 1, excel_number(v), &money)?;
                row += 1;
            }
        }
        for (label, n) in count_lines(summary) {
            sheet.write_string(row, 0, label)?;
            sheet.write_number(row, 1, n)?;
            row += 1;
        }
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
    for sum in sum_rows(s) {
        lines.extend(money_lines(&sum).into_iter().map(|(label, v)| (label, amount_text(v))));
    }
    lines.extend(count_lines(s).into_iter().map(|(label, n)| (label.to_string(), n.to_string())));
    lines
}

/// What the first column of a sum row says.
pub const SUM_LABEL: &str = "Sum";

/// The sum rows: one per currency, or one of zeros (without a currency) when nothing has an order.
fn sum_rows(s: &ReportSummary) -> Vec<MoneySum> {
    if s.sums.is_empty() {
        let zero = Decimal::new(0, 2);
        return vec![MoneySum { currency: String::new(), consultations: 0, price: zero, discount: zero, total: zero }];
    }
    s.sums.clone()
}

/// The summary's amount figures of one currency: `Price (NOK)`, `Discounts (NOK)`, `Total (NOK)`.
fn money_lines(sum: &MoneySum) -> [(String, Decimal); 3] {
    let of = |what: &str| if sum.currency.is_empty() { what.to_string() } else { format!("{what} ({})", sum.currency) };
    [(of("Price"), sum.price), (of("Discounts"), sum.discount), (of("Total"), sum.total)]
}

fn count_lines(s: &ReportSummary) -> [(&'static str, u32); 2] {
    [("Booked without a deal price", s.no_deal_price), ("Without an order", s.without_order)]
}

/// An amount as the files write it: exact, two decimals, a point (`1250.00`).
pub fn amount_text(d: Decimal) -> String {
    format!("{d:.2}")
}

/// An amount as a workbook number. Excel keeps numbers as binary floating point; the nearest one
/// to an amount of at most 15 digits is written back as exactly that amount's digits, so the
/// file holds the exact decimal.
fn excel_number(d: Decimal) -> f64 {
    // A decimal's text always parses as a float.
    amount_text(d).parse().unwrap_or_default()
}

/// The `Price note` of a row: no deal price, no order, or nothing.
fn price_note(r: &ReportRow) -> &'static str {
    match &r.money {
        None => NO_ORDER,
        Some(m) if m.no_deal_price => NO_DEAL_PRICE,
        Some(_) => "",
    }
}

fn csv_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One CSV line (RFC 4180). A value that a spreadsheet would take for a formula is prefixed
/// with an apostrophe, so that opening the file never runs anything.
pub(super) fn write_csv_line<'a>(w: &mut impl Write, values: impl Iterator<Item = &'a str>) -> Result<()> {
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
