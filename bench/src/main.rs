//! `fhir-facade-bench`: the side-by-side benchmark of `bench/run`.
//!
//! For every workload and concurrency it runs, one after the other on the same machine with the
//! same request list: the facade over HTTP, the facade's own SQL straight to PostgreSQL, and the
//! peer facades that implement the workload. It prints a Markdown report with req/s, p50/p99,
//! errors, peak RSS, CPU per request of the server and of PostgreSQL, and the ratios.
//!
//! ```text
//! fhir-facade-bench --database URL --facade URL --facade-pid PID
//!     [--peer NAME=URL@PID]... [--workloads W1,W2,...] [--concurrency 1,16,64]
//!     [--seconds S] [--seed N] [--units N] [--config NAME] [--overload FACTOR]
//! ```
//!
//! With `--overload FACTOR` it also measures the facade past its capacity: after its closed-loop
//! run at each concurrency (the sustainable rate R), an open loop at R and at FACTOR × R, and
//! reports what was accepted, what was refused (503) and the p99 of the accepted requests.

mod load;
mod procstat;
mod record;
mod report;
mod workload;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use fhir_facade_sqlx::{Database, Pool};

use crate::load::Target;
use crate::report::{Cell, Contender};
use crate::workload::{Rng, Unit, Workload};

/// The workloads a peer implements (the issue's W1, W2 and W5).
const PEER_WORKLOADS: [Workload; 3] = [Workload::W1, Workload::W2, Workload::W5];

#[derive(Debug)]
struct Peer {
    name: String,
    target: Target,
    pid: u32,
}

#[derive(Debug)]
struct Args {
    database: String,
    facade: Target,
    facade_pid: u32,
    peers: Vec<Peer>,
    workloads: Vec<Workload>,
    concurrency: Vec<usize>,
    seconds: f64,
    seed: u64,
    units: usize,
    config: String,
    overload: Option<f64>,
}

const USAGE: &str = "usage: fhir-facade-bench --database URL --facade URL --facade-pid PID \
[--peer NAME=URL@PID]... [--workloads W1,...] [--concurrency 1,16,64] [--seconds S] [--seed N] \
[--units N] [--config NAME] [--overload FACTOR]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut database = None;
    let mut facade = None;
    let mut facade_pid = None;
    let mut peers = Vec::new();
    let mut workloads = Workload::ALL.to_vec();
    let mut concurrency = vec![1, 16, 64];
    let mut seconds = 5.0;
    let mut seed = 1;
    let mut units = 400;
    let mut config = "unpinned".to_owned();
    let mut overload = None;
    let number = |flag: &str, v: &str| -> Result<u64, String> {
        v.parse()
            .map_err(|_| format!("{flag}: {v:?} is not a number"))
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--database" => database = Some(value),
            "--facade" => facade = Some(Target::parse(&value)?),
            "--facade-pid" => facade_pid = Some(number(&flag, &value)? as u32),
            "--peer" => {
                let (name, rest) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--peer {value}: expected NAME=URL@PID"))?;
                let (url, pid) = rest
                    .rsplit_once('@')
                    .ok_or_else(|| format!("--peer {value}: expected NAME=URL@PID"))?;
                peers.push(Peer {
                    name: name.to_owned(),
                    target: Target::parse(url)?,
                    pid: number(&flag, pid)? as u32,
                });
            }
            "--workloads" => {
                workloads = value
                    .split(',')
                    .map(|w| Workload::parse(w).ok_or_else(|| format!("unknown workload {w}")))
                    .collect::<Result<_, _>>()?
            }
            "--concurrency" => {
                concurrency = value
                    .split(',')
                    .map(|c| number(&flag, c).map(|c| c.max(1) as usize))
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => {
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: {value:?} is not a number"))?
            }
            "--seed" => seed = number(&flag, &value)?,
            "--units" => units = number(&flag, &value)?.max(1) as usize,
            "--config" => config = value,
            "--overload" => {
                overload = Some(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|f| *f >= 1.0)
                        .ok_or_else(|| format!("--overload: {value:?} is not a factor ≥ 1"))?,
                )
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    Ok(Args {
        database: database.ok_or("--database is required")?,
        facade: facade.ok_or("--facade is required")?,
        facade_pid: facade_pid.ok_or("--facade-pid is required")?,
        peers,
        workloads,
        concurrency,
        seconds,
        seed,
        units,
        config,
        overload,
    })
}

/// The request list of each workload: `units` units drawn with the seed (a walk is many
/// requests, so W6 has a tenth as many; W5 has no person in it and is one unit).
async fn units_of(
    recorder: &record::Recorder,
    persons: &[i64],
    workload: Workload,
    args: &Args,
) -> Result<Vec<Unit>, String> {
    let n = match workload {
        Workload::W5 => 1,
        Workload::W6 => (args.units / 10).max(1),
        _ => args.units,
    };
    // Each workload draws from its own stream of the seed, so adding one changes no other.
    let mut rng = Rng::new(args.seed ^ (workload as u64 + 1).wrapping_mul(0x1000_0000_01b3));
    let mut units = Vec::with_capacity(n);
    for person in workload::draw(persons, n, &mut rng) {
        units.push(recorder.unit(workload, person).await?);
    }
    Ok(units)
}

/// One measured run of one contender, with the CPU of the server process and of PostgreSQL.
async fn measure(
    contender: Contender,
    workload: Workload,
    concurrency: usize,
    units: &Arc<Vec<Unit>>,
    args: &Args,
    db: &Database,
) -> Cell {
    let duration = Duration::from_secs_f64(args.seconds);
    let server = match &contender {
        Contender::Facade => Some((args.facade.clone(), args.facade_pid)),
        Contender::Raw => None,
        Contender::Peer(name) => args
            .peers
            .iter()
            .find(|p| &p.name == name)
            .map(|p| (p.target.clone(), p.pid)),
    };
    if let Some((_, pid)) = &server {
        procstat::reset_peak_rss(*pid);
    }
    let server_cpu = server.as_ref().and_then(|(_, pid)| procstat::cpu_us(*pid));
    let pg_cpu = procstat::cpu_us_of_all("postgres");
    let outcome = match &server {
        Some((target, _)) => load::http(target, units.clone(), concurrency, duration).await,
        None => load::sql(db, units.clone(), concurrency, duration).await,
    };
    let pg_cpu = procstat::cpu_us_of_all("postgres").saturating_sub(pg_cpu);
    let server_cpu = server
        .as_ref()
        .and_then(|(_, pid)| Some(procstat::cpu_us(*pid)?.saturating_sub(server_cpu?)));
    let peak_rss = server
        .as_ref()
        .and_then(|(_, pid)| procstat::peak_rss_kib(*pid));
    Cell::new(
        contender,
        workload,
        concurrency,
        outcome,
        server_cpu,
        pg_cpu,
        peak_rss,
    )
}

/// The overload rows of one workload and concurrency: the facade's closed-loop rate, then an
/// open loop at that rate and at `factor` times it.
async fn overload(
    workload: Workload,
    concurrency: usize,
    units: &Arc<Vec<Unit>>,
    args: &Args,
    factor: f64,
) -> String {
    let duration = Duration::from_secs_f64(args.seconds);
    let closed = load::http(&args.facade, units.clone(), concurrency, duration).await;
    let rate = closed.per_second().max(1.0);
    let ms = |us: Option<u64>| us.map_or("–".to_owned(), |us| format!("{:.2}", us as f64 / 1e3));
    let mut rows = String::new();
    let mut p99_at_rate = None;
    for f in [1.0, factor] {
        let run = load::offered(&args.facade, units.clone(), rate * f, duration).await;
        let p99 = run.accepted.quantile_us(0.99);
        if f == 1.0 {
            p99_at_rate = p99;
        }
        let ratio = match (p99, p99_at_rate) {
            (Some(p), Some(base)) if base > 0 => format!("{:.2}", p as f64 / base as f64),
            _ => "–".to_owned(),
        };
        eprintln!(
            "{workload:?} overload ×{f}: offered {:.0}/s, accepted {:.0}/s, refused {}, errors {}",
            rate * f,
            run.accepted.per_second(),
            run.refused,
            run.accepted.errors
        );
        rows.push_str(&format!(
            "| {workload:?} | {concurrency} | {rate:.0} | ×{f} | {:.0} | {:.0} | {:.1} % | {} | {} | {} | {ratio} |\n",
            rate * f,
            run.accepted.per_second(),
            100.0 * run.refused as f64 / run.sent.max(1) as f64,
            run.accepted.errors,
            ms(run.accepted.quantile_us(0.5)),
            ms(p99),
        ));
    }
    rows
}

async fn run(args: Args) -> Result<(report::Report, String), String> {
    let max = args.concurrency.iter().copied().max().unwrap_or(1) as u32;
    let pool = Pool::connect(&args.database, max)
        .await
        .map_err(|e| format!("connecting to the database: {e}"))?;
    let db = Database::new(pool, Duration::from_secs(60));
    let persons = workload::person_ids(&db).await?;
    if persons.is_empty() {
        return Err("the database has no persons: load the CDM first (bench/setup)".into());
    }
    let recorder = record::Recorder::new(db.clone())?;
    let mut report = report::Report::new(&args.config, &args.peers_names());
    let mut overloads = String::new();
    for &workload in &args.workloads {
        let units = Arc::new(units_of(&recorder, &persons, workload, &args).await?);
        report.unit_shape(workload, &units);
        let mut contenders = vec![Contender::Facade, Contender::Raw];
        if PEER_WORKLOADS.contains(&workload) {
            contenders.extend(args.peers.iter().map(|p| Contender::Peer(p.name.clone())));
        }
        for &concurrency in &args.concurrency {
            for contender in &contenders {
                let cell =
                    measure(contender.clone(), workload, concurrency, &units, &args, &db).await;
                eprintln!("{}", cell.line());
                report.push(cell);
            }
            if let Some(factor) = args.overload {
                overloads.push_str(&overload(workload, concurrency, &units, &args, factor).await);
            }
        }
    }
    let overload_table = if overloads.is_empty() {
        String::new()
    } else {
        format!(
            "\n### Overload ({})\n\nThe facade's closed-loop rate at the concurrency, then an open loop \
             (each request sent when due) at that rate and at a multiple of it; latencies of the \
             accepted (200) requests from when each was due.\n\n\
             | workload | conc. | sustainable req/s | load | offered req/s | accepted req/s | refused (503) | errors | p50 ms | p99 ms | p99 ÷ p99 at ×1 |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n{overloads}",
            args.config
        )
    };
    Ok((report, overload_table))
}

impl Args {
    fn peers_names(&self) -> Vec<String> {
        self.peers.iter().map(|p| p.name.clone()).collect()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fhir-facade-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok((report, overload_table)) => {
            print!("{}{overload_table}", report.markdown());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fhir-facade-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse_args(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn parses_the_options_bench_run_passes() {
        let a = args(
            "--database postgres://x/db --facade http://127.0.0.1:8080/fhir --facade-pid 12 \
             --peer node=http://127.0.0.1:3000/4_0_0@34 --workloads W1,W5 --concurrency 1,16 \
             --seconds 0.5 --config pinned",
        )
        .unwrap();
        assert_eq!(a.facade.authority, "127.0.0.1:8080");
        assert_eq!(a.peers[0].name, "node");
        assert_eq!(a.peers[0].pid, 34);
        assert_eq!(a.peers[0].target.base_path, "/4_0_0");
        assert_eq!(a.workloads, [Workload::W1, Workload::W5]);
        assert_eq!(a.concurrency, [1, 16]);
        assert_eq!(a.seconds, 0.5);
        assert_eq!(a.config, "pinned");
        assert_eq!(a.overload, None);
        let o = args("--database d --facade http://h/fhir --facade-pid 1 --overload 4").unwrap();
        assert_eq!(o.overload, Some(4.0));
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        assert!(args("--facade http://h/fhir --facade-pid 1").is_err());
        assert!(args("--database d --facade http://h/fhir --facade-pid 1 --workloads W9").is_err());
        assert!(args("--database d --facade http://h/fhir --facade-pid x").is_err());
        assert!(args("--database d --facade http://h/fhir --facade-pid 1 --peer node").is_err());
        assert!(args("--database d --facade http://h/fhir --facade-pid 1 --bogus 1").is_err());
        assert!(args("--database d --facade http://h/fhir --facade-pid 1 --overload 0.5").is_err());
    }
}
