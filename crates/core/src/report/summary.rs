//! The report's summary: counts by state, outcome and chapter, exact median and p90 of the
//! waiting times and treatment durations, deadline breaches, and the amounts summed per currency.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{csv_summary_path, Count, ReportFormat, ReportRequest, ReportRow, ReportSummary};
use crate::icpc2;
use crate::orders::MoneySums;
use crate::queue::{ConsultationState, DeadlineStatus};

#[derive(Default)]
pub(super) struct Stats {
    money: MoneySums,
    no_deal_price: u32,
    without_order: u32,
    pub(super) rows: u32,
    by_state: BTreeMap<&'static str, u32>,
    by_outcome: BTreeMap<String, u32>,
    by_chapter: BTreeMap<String, u32>,
    waiting: Vec<u32>,
    treatment: Vec<u32>,
    breaches: u32,
}

impl Stats {
    pub(super) fn add(&mut self, row: &ReportRow) {
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
        match &row.money {
            Some(m) => {
                self.money.add(&m.currency, m.price, m.discount, m.total);
                self.no_deal_price += u32::from(m.no_deal_price);
            }
            None => self.without_order += 1,
        }
        if row.deadline_status == DeadlineStatus::Breached {
            self.breaches += 1;
        }
    }

    pub(super) fn summary(
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
            .filter_map(|s| self.by_state.get(s.as_str()).map(|n| Count { key: s.as_str().into(), label: s.label(), count: *n }))
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
            sums: self.money.into_sums(),
            no_deal_price: self.no_deal_price,
            without_order: self.without_order,
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

pub(super) fn deadline_kept(s: DeadlineStatus) -> &'static str {
    match s {
        DeadlineStatus::None => "",
        DeadlineStatus::Met => "yes",
        DeadlineStatus::Breached => "no",
        DeadlineStatus::OnTrack | DeadlineStatus::Near => "open",
    }
}
