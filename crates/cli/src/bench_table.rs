//! What the benchmarks print: per path, transactions per second and the p50/p99 latency of one
//! transaction, and its throughput as a share of the bare reference (the same writes on plain
//! tables without the project's triggers and policies) and of the with-triggers baseline.

use std::time::Duration;

/// The latencies of one path's transactions and the wall time they were measured over.
#[derive(Default, Clone)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    pub wall: Duration,
}

impl Samples {
    pub fn add(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.wall += other.wall;
    }

    pub fn per_second(&self) -> f64 {
        if self.wall.is_zero() {
            0.0
        } else {
            self.latencies.len() as f64 / self.wall.as_secs_f64()
        }
    }

    /// The latency below which `p` of the transactions fall, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1);
        sorted[i].as_secs_f64() * 1000.0
    }
}

/// A table of paths measured at one client count; `bare` and `with_triggers` name the rows the
/// ratios are taken against.
pub struct Table<'a> {
    pub title: String,
    pub rows: Vec<(&'a str, &'a Samples)>,
    pub bare: &'a Samples,
    pub with_triggers: &'a Samples,
}

impl Table<'_> {
    pub fn render(&self) -> String {
        let mut s = format!(
            "{}\n  {:<30} {:>9} {:>8} {:>8} {:>8} {:>10}\n",
            self.title, "path", "tx/s", "p50 ms", "p99 ms", "x bare", "x triggers"
        );
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        for (label, samples) in &self.rows {
            let rate = samples.per_second();
            s.push_str(&format!(
                "  {label:<30} {rate:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>10.2}\n",
                samples.percentile_ms(0.50),
                samples.percentile_ms(0.99),
                ratio(rate, self.bare.per_second()),
                ratio(rate, self.with_triggers.per_second()),
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_percentiles_and_ratios() {
        let ms = |v: u64| Duration::from_millis(v);
        let project = Samples { latencies: (1..=100).map(ms).collect(), wall: Duration::from_secs(2) };
        let bare = Samples { latencies: vec![ms(1); 200], wall: Duration::from_secs(1) };
        assert_eq!(project.per_second(), 50.0);
        assert_eq!(project.percentile_ms(0.5), 50.0);
        assert_eq!(project.percentile_ms(0.99), 99.0);
        assert_eq!(Samples::default().percentile_ms(0.5), 0.0);
        let table =
            Table { title: "t".into(), rows: vec![("project", &project), ("bare", &bare)], bare: &bare, with_triggers: &project };
        let out = table.render();
        assert!(out.contains("0.25"), "{out}");
        assert!(out.contains("4.00"), "{out}");
    }
}
