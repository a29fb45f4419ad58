//! The Markdown report: the figures of every run, the ratios measured side by side, and the
//! issue's targets, each said to be met or not.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::load::Outcome;
use crate::workload::{Unit, Workload};

/// Who answered a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contender {
    /// The facade over HTTP.
    Facade,
    /// The facade's SQL straight to PostgreSQL.
    Raw,
    /// A peer facade over HTTP.
    Peer(String),
}

impl Contender {
    fn label(&self) -> &str {
        match self {
            Contender::Facade => "facade",
            Contender::Raw => "raw SQL",
            Contender::Peer(name) => name,
        }
    }
}

/// One run: a contender, a workload, a concurrency.
#[derive(Debug)]
pub(crate) struct Cell {
    contender: Contender,
    workload: Workload,
    concurrency: usize,
    outcome: Outcome,
    /// CPU of the serving process (none for raw SQL), µs.
    server_cpu_us: Option<u64>,
    /// CPU of every PostgreSQL process, µs.
    pg_cpu_us: u64,
    peak_rss_kib: Option<u64>,
}

impl Cell {
    pub(crate) fn new(
        contender: Contender,
        workload: Workload,
        concurrency: usize,
        outcome: Outcome,
        server_cpu_us: Option<u64>,
        pg_cpu_us: u64,
        peak_rss_kib: Option<u64>,
    ) -> Cell {
        Cell {
            contender,
            workload,
            concurrency,
            outcome,
            server_cpu_us,
            pg_cpu_us,
            peak_rss_kib,
        }
    }

    fn per_unit(&self, us: u64) -> Option<f64> {
        (self.outcome.completed > 0).then(|| us as f64 / self.outcome.completed as f64)
    }

    fn server_cpu_per_unit(&self) -> Option<f64> {
        self.per_unit(self.server_cpu_us?)
    }

    fn pg_cpu_per_unit(&self) -> Option<f64> {
        self.per_unit(self.pg_cpu_us)
    }

    /// A one-line progress note.
    pub(crate) fn line(&self) -> String {
        format!(
            "{} c={} {}: {:.0}/s, p99 {}, {} errors{}",
            self.workload.name(),
            self.concurrency,
            self.contender.label(),
            self.outcome.per_second(),
            ms(self.outcome.quantile_us(0.99)),
            self.outcome.errors,
            self.outcome
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        )
    }
}

/// The statements and entries behind one unit of a workload, as recorded.
#[derive(Debug)]
struct Shape {
    requests_per_unit: f64,
    statements_per_request: f64,
    entries_per_unit: f64,
}

/// Every run of one configuration.
#[derive(Debug)]
pub(crate) struct Report {
    config: String,
    peers: Vec<String>,
    shapes: BTreeMap<&'static str, Shape>,
    cells: Vec<Cell>,
}

fn ms(us: Option<u64>) -> String {
    us.map_or("–".to_owned(), |us| format!("{:.2}", us as f64 / 1000.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.0}"))
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.2}"))
}

impl Report {
    pub(crate) fn new(config: &str, peers: &[String]) -> Report {
        Report {
            config: config.to_owned(),
            peers: peers.to_vec(),
            shapes: BTreeMap::new(),
            cells: Vec::new(),
        }
    }

    pub(crate) fn unit_shape(&mut self, workload: Workload, units: &[Unit]) {
        let n = units.len().max(1) as f64;
        let requests: usize = units.iter().map(|u| u.paths.len()).sum();
        let statements: usize = units.iter().map(|u| u.statements.len()).sum();
        let entries: usize = units.iter().map(|u| u.entries).sum();
        self.shapes.insert(
            workload.name(),
            Shape {
                requests_per_unit: requests as f64 / n,
                statements_per_request: statements as f64 / requests.max(1) as f64,
                entries_per_unit: entries as f64 / n,
            },
        );
    }

    pub(crate) fn push(&mut self, cell: Cell) {
        self.cells.push(cell);
    }

    fn cell(&self, contender: &Contender, workload: Workload, concurrency: usize) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            &c.contender == contender && c.workload == workload && c.concurrency == concurrency
        })
    }

    fn rate(&self, contender: &Contender, workload: Workload, concurrency: usize) -> Option<f64> {
        self.cell(contender, workload, concurrency)
            .map(|c| c.outcome.per_second())
    }

    /// Facade req/s ÷ raw SQL tps.
    fn raw_ratio(&self, workload: Workload, concurrency: usize) -> Option<f64> {
        Some(
            self.rate(&Contender::Facade, workload, concurrency)?
                / self.rate(&Contender::Raw, workload, concurrency)?,
        )
    }

    /// Facade req/s ÷ the better peer's.
    fn peer_ratio(&self, workload: Workload, concurrency: usize) -> Option<f64> {
        let best = self
            .peers
            .iter()
            .filter_map(|p| self.rate(&Contender::Peer(p.clone()), workload, concurrency))
            .fold(None, |best: Option<f64>, r| {
                Some(best.map_or(r, |b| b.max(r)))
            })?;
        Some(self.rate(&Contender::Facade, workload, concurrency)? / best)
    }

    fn runs(&self) -> Vec<(Workload, usize)> {
        let mut runs: Vec<(Workload, usize)> = Vec::new();
        for c in &self.cells {
            if !runs.contains(&(c.workload, c.concurrency)) {
                runs.push((c.workload, c.concurrency));
            }
        }
        runs
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Configuration: {}\n", self.config);
        let _ = writeln!(
            out,
            "| workload | request | HTTP requests per unit | facade SQL statements per request | entries per unit |\n|---|---|---|---|---|"
        );
        for w in Workload::ALL {
            if let Some(s) = self.shapes.get(w.name()) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {:.2} | {:.1} |",
                    w.name(),
                    w.describe().replace('|', "\\|"),
                    s.requests_per_unit,
                    s.statements_per_request,
                    s.entries_per_unit
                );
            }
        }
        let mut header =
            "\n| workload | conc. | raw SQL units/s | facade units/s | facade ÷ raw |".to_owned();
        let mut rule = "|---|---|---|---|---|".to_owned();
        for p in &self.peers {
            let _ = write!(header, " {p} units/s |");
            rule.push_str("---|");
        }
        if !self.peers.is_empty() {
            header.push_str(" facade ÷ best peer |");
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (w, c) in self.runs() {
            let mut line = format!(
                "| {} | {c} | {} | {} | **{}** |",
                w.name(),
                num(self.rate(&Contender::Raw, w, c)),
                num(self.rate(&Contender::Facade, w, c)),
                ratio(self.raw_ratio(w, c))
            );
            for p in &self.peers {
                let _ = write!(
                    line,
                    " {} |",
                    num(self.rate(&Contender::Peer(p.clone()), w, c))
                );
            }
            if !self.peers.is_empty() {
                let _ = write!(line, " **{}** |", ratio(self.peer_ratio(w, c)));
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n| workload | conc. | contender | units/s | p50 ms | p99 ms | errors | peak RSS MiB | server CPU-µs/unit | PostgreSQL CPU-µs/unit |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for c in &self.cells {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
                c.workload.name(),
                c.concurrency,
                c.contender.label(),
                c.outcome.per_second(),
                ms(c.outcome.quantile_us(0.5)),
                ms(c.outcome.quantile_us(0.99)),
                c.outcome.errors,
                c.peak_rss_kib
                    .map_or("–".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
                num(c.server_cpu_per_unit()),
                num(c.pg_cpu_per_unit()),
            );
        }
        let _ = writeln!(out, "\n### Targets ({})\n", self.config);
        for line in self.targets() {
            let _ = writeln!(out, "- {line}");
        }
        out
    }

    /// The targets, each with the figure it is judged on.
    fn targets(&self) -> Vec<String> {
        let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
        let mut lines = Vec::new();
        let concurrencies: Vec<usize> = {
            let mut c: Vec<usize> = self.cells.iter().map(|c| c.concurrency).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        let worst = |w: Workload, f: &dyn Fn(Workload, usize) -> Option<f64>| {
            concurrencies
                .iter()
                .filter_map(|&c| f(w, c))
                .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))))
        };
        let w1_target = if self.config.contains("pinned") && !self.config.contains("unpinned") {
            0.85
        } else {
            0.6
        };
        for (w, target) in [
            (Workload::W1, w1_target),
            (Workload::W2, 0.7),
            (Workload::W4, 0.7),
            (Workload::W5, 0.7),
        ] {
            if let Some(r) = worst(w, &|w, c| self.raw_ratio(w, c)) {
                lines.push(format!(
                    "{}: facade ÷ raw ≥ {target} at every concurrency — lowest {r:.2}: {}",
                    w.name(),
                    verdict(r >= target)
                ));
            }
        }
        if let Some(s) = self.shapes.get("W3") {
            lines.push(format!(
                "W3: ≤ 2 SQL round-trips per page — {:.2}: {}",
                s.statements_per_request,
                verdict(s.statements_per_request <= 2.0)
            ));
        }
        let reference = concurrencies
            .iter()
            .copied()
            .find(|&c| c == 16)
            .or(concurrencies.last().copied());
        if let Some(c) = reference {
            for w in [Workload::W1, Workload::W4] {
                let Some(cell) = self.cell(&Contender::Facade, w, c) else {
                    continue;
                };
                if let (Some(f), Some(p)) = (cell.server_cpu_per_unit(), cell.pg_cpu_per_unit()) {
                    lines.push(format!(
                        "{} at {c} connections: facade CPU-µs/request ≤ PostgreSQL's — {f:.0} vs {p:.0}: {}",
                        w.name(),
                        verdict(f <= p)
                    ));
                }
            }
            let per_entry = (|| {
                let w1 = self
                    .cell(&Contender::Facade, Workload::W1, c)?
                    .server_cpu_per_unit()?;
                let w4 = self
                    .cell(&Contender::Facade, Workload::W4, c)?
                    .server_cpu_per_unit()?;
                let entries = self.shapes.get("W4")?.entries_per_unit;
                (entries > 1.0).then(|| (w4 - w1) / (entries - 1.0))
            })();
            if let Some(e) = per_entry {
                lines.push(format!(
                    "per Bundle entry at {c} connections: ≤ 3 µs of facade CPU ((W4 − W1) ÷ entries) — {e:.1} µs: {}",
                    verdict(e <= 3.0)
                ));
            }
        }
        if !self.peers.is_empty() {
            for w in [Workload::W1, Workload::W2, Workload::W5] {
                if let Some(r) = worst(w, &|w, c| self.peer_ratio(w, c)) {
                    lines.push(format!(
                        "{}: ≥ 3× the better peer at every concurrency — lowest {r:.2}×: {}",
                        w.name(),
                        verdict(r >= 3.0)
                    ));
                }
            }
        }
        let errors: u64 = self.cells.iter().map(|c| c.outcome.errors).sum();
        lines.push(format!(
            "no errors in any run — {errors}: {}",
            verdict(errors == 0)
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cell(contender: Contender, w: Workload, c: usize, done: u64, cpu: Option<u64>) -> Cell {
        Cell::new(
            contender,
            w,
            c,
            Outcome {
                completed: done,
                elapsed: Duration::from_secs(1),
                latencies_us: vec![1000; done as usize],
                ..Outcome::default()
            },
            cpu,
            done * 100,
            Some(20 * 1024),
        )
    }

    #[test]
    fn ratios_and_targets_come_from_the_same_run() {
        let mut r = Report::new("unpinned", &["node".to_owned()]);
        r.push(cell(
            Contender::Facade,
            Workload::W1,
            16,
            700,
            Some(700 * 90),
        ));
        r.push(cell(Contender::Raw, Workload::W1, 16, 1000, None));
        r.push(cell(
            Contender::Peer("node".into()),
            Workload::W1,
            16,
            200,
            Some(1),
        ));
        let md = r.markdown();
        assert!(
            md.contains("| W1 | 16 | 1000 | 700 | **0.70** | 200 | **3.50** |"),
            "{md}"
        );
        assert!(
            md.contains("W1: facade ÷ raw ≥ 0.6 at every concurrency — lowest 0.70: met"),
            "{md}"
        );
        assert!(
            md.contains("facade CPU-µs/request ≤ PostgreSQL's — 90 vs 100: met"),
            "{md}"
        );
        assert!(
            md.contains("≥ 3× the better peer at every concurrency — lowest 3.50×: met"),
            "{md}"
        );
        assert!(md.contains("no errors in any run — 0: met"), "{md}");

        let mut pinned = Report::new("pinned", &[]);
        pinned.push(cell(Contender::Facade, Workload::W1, 16, 700, None));
        pinned.push(cell(Contender::Raw, Workload::W1, 16, 1000, None));
        assert!(
            pinned
                .markdown()
                .contains("≥ 0.85 at every concurrency — lowest 0.70: **not met**")
        );
    }
}
