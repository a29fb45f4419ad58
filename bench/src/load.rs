//! The load generator: `concurrency` clients, each sending one unit of work after another for a
//! fixed time, over HTTP (one kept-alive connection each) or as SQL on a pool of as many
//! connections. Both take the units from one shared list in the same order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use fhir_facade_sqlx::Database;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::workload::Unit;

/// What one run measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Units completed within the time.
    pub(crate) completed: u64,
    /// Units that failed (a status other than 200, a broken connection, a database error).
    pub(crate) errors: u64,
    /// The time from the start of the first to the end of the last completed unit.
    pub(crate) elapsed: Duration,
    /// The latency of each completed unit, in microseconds, ascending.
    pub(crate) latencies_us: Vec<u64>,
    /// The first error seen, to say what failed.
    pub(crate) first_error: Option<String>,
}

impl Outcome {
    pub(crate) fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q` quantile (0..=1) of the latencies.
    pub(crate) fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.latencies_us.is_empty() {
            return None;
        }
        let rank = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        Some(self.latencies_us[rank])
    }

    fn merge(parts: Vec<Client>, elapsed: Duration) -> Outcome {
        let mut out = Outcome {
            elapsed,
            ..Outcome::default()
        };
        for part in parts {
            out.completed += part.latencies_us.len() as u64;
            out.errors += part.errors;
            out.latencies_us.extend(part.latencies_us);
            out.first_error = out.first_error.or(part.first_error);
        }
        out.latencies_us.sort_unstable();
        out
    }
}

/// One client's share of a run.
#[derive(Default)]
struct Client {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Client {
    fn failed(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// The units in turn: every client takes the next one, so all contenders see the same sequence.
struct Turns {
    units: Arc<Vec<Unit>>,
    next: AtomicUsize,
}

impl Turns {
    fn take(&self) -> &Unit {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.units[i % self.units.len()]
    }
}

/// Where the HTTP contender listens: `host:port` and the FHIR base path (`/fhir`).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) authority: String,
    pub(crate) base_path: String,
}

impl Target {
    /// `http://host:port/base` split into its parts.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// targets are supported"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Target {
            authority: authority.to_owned(),
            base_path: format!("/{}", path.trim_end_matches('/')),
        })
    }

    fn uri(&self, path: &str) -> String {
        if self.base_path == "/" {
            format!("/{path}")
        } else {
            format!("{}/{path}", self.base_path)
        }
    }
}

async fn connect(target: &Target) -> Result<http1::SendRequest<Empty<Bytes>>, String> {
    let stream = TcpStream::connect(&target.authority)
        .await
        .map_err(|e| format!("connecting to {}: {e}", target.authority))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A GET of `path` on `sender`: the status and the whole body.
async fn get(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    target: &Target,
    path: &str,
) -> Result<(hyper::StatusCode, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let request = hyper::Request::get(target.uri(path))
        .header(hyper::header::HOST, &target.authority)
        .header(hyper::header::ACCEPT, "application/fhir+json")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, body.to_bytes()))
}

/// One unit over HTTP: every path in turn, each answered 200 with its body read to the end.
async fn send_unit(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    target: &Target,
    unit: &Unit,
) -> Result<(), String> {
    for path in &unit.paths {
        let (status, body) = get(sender, target, path).await?;
        if status != hyper::StatusCode::OK {
            return Err(format!(
                "{path}: {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    Ok(())
}

/// How one client runs a unit, keeping what it needs between units (a connection).
#[async_trait]
trait Runner: Send + 'static {
    async fn run(&mut self, unit: &Unit) -> Result<(), String>;
}

/// A client with one kept-alive HTTP/1.1 connection, opened again when it breaks.
struct Http {
    target: Target,
    sender: Option<http1::SendRequest<Empty<Bytes>>>,
}

#[async_trait]
impl Runner for Http {
    async fn run(&mut self, unit: &Unit) -> Result<(), String> {
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => match connect(&self.target).await {
                Ok(sender) => self.sender.insert(sender),
                Err(e) => {
                    // Not a busy loop against a server that is not there.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return Err(e);
                }
            },
        };
        let result = send_unit(sender, &self.target, unit).await;
        // A broken connection is opened again; a wrong answer is only counted.
        if sender.is_closed() {
            self.sender = None;
        }
        result
    }
}

/// A client sending a unit's statements in order, each on a connection of the pool as the
/// facade's executor does, fetching every row.
struct Sql {
    db: Database,
}

#[async_trait]
impl Runner for Sql {
    async fn run(&mut self, unit: &Unit) -> Result<(), String> {
        for statement in &unit.statements {
            self.db
                .fetch_all(statement, None)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// `concurrency` clients made by `client` for `duration`, each taking the next unit in turn.
async fn drive<R: Runner>(
    units: Arc<Vec<Unit>>,
    concurrency: usize,
    duration: Duration,
    client: impl Fn() -> R,
) -> Outcome {
    let turns = Arc::new(Turns {
        units,
        next: AtomicUsize::new(0),
    });
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let turns = turns.clone();
            let mut runner = client();
            tokio::spawn(async move {
                let mut client = Client::default();
                while Instant::now() < deadline {
                    let unit = turns.take();
                    let t = Instant::now();
                    match runner.run(unit).await {
                        Ok(()) => client.latencies_us.push(t.elapsed().as_micros() as u64),
                        Err(e) => client.failed(e),
                    }
                }
                client
            })
        })
        .collect();
    let mut parts = Vec::new();
    for task in tasks {
        parts.push(task.await.unwrap_or_default());
    }
    Outcome::merge(parts, started.elapsed())
}

/// `concurrency` HTTP clients for `duration`.
pub(crate) async fn http(
    target: &Target,
    units: Arc<Vec<Unit>>,
    concurrency: usize,
    duration: Duration,
) -> Outcome {
    drive(units, concurrency, duration, || Http {
        target: target.clone(),
        sender: None,
    })
    .await
}

/// `concurrency` SQL clients on `db`'s pool for `duration`.
pub(crate) async fn sql(
    db: &Database,
    units: Arc<Vec<Unit>>,
    concurrency: usize,
    duration: Duration,
) -> Outcome {
    drive(units, concurrency, duration, || Sql { db: db.clone() }).await
}

/// What an open-loop run measured: the requests sent, the ones answered 200 (their latency
/// measured from when each was due), and the ones refused with a 503.
#[derive(Debug, Default)]
pub(crate) struct Offered {
    pub(crate) sent: u64,
    pub(crate) accepted: Outcome,
    pub(crate) refused: u64,
}

/// One request on a kept-alive connection of `idle` (or a new one): its status.
async fn send_one(
    idle: &std::sync::Mutex<Vec<http1::SendRequest<Empty<Bytes>>>>,
    target: &Target,
    path: &str,
) -> Result<hyper::StatusCode, String> {
    let pooled = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut sender = match pooled {
        Some(sender) => sender,
        None => connect(target).await?,
    };
    let (status, _) = get(&mut sender, target, path).await?;
    if !sender.is_closed() {
        idle.lock().unwrap_or_else(|e| e.into_inner()).push(sender);
    }
    Ok(status)
}

/// Requests at `rate` per second for `duration`, the first path of each unit in turn, each sent
/// when it is due whatever became of the earlier ones (an open loop, as independent clients
/// load a server), on kept-alive connections opened as needed. A latency counts from when the
/// request was due, so time spent waiting for a connection is not hidden.
pub(crate) async fn offered(
    target: &Target,
    units: Arc<Vec<Unit>>,
    rate: f64,
    duration: Duration,
) -> Offered {
    let idle = Arc::new(std::sync::Mutex::new(Vec::new()));
    let started = Instant::now();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (idle, target, units) = (idle.clone(), target.clone(), units.clone());
        tasks.spawn(async move {
            let unit = &units[i as usize % units.len()];
            let answer = send_one(&idle, &target, &unit.paths[0]).await;
            (answer, due.elapsed())
        });
    }
    let mut out = Offered {
        sent: total,
        ..Offered::default()
    };
    let mut accepted = Client::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((Ok(hyper::StatusCode::OK), latency)) => {
                accepted.latencies_us.push(latency.as_micros() as u64)
            }
            Ok((Ok(hyper::StatusCode::SERVICE_UNAVAILABLE), _)) => out.refused += 1,
            Ok((Ok(status), _)) => accepted.failed(format!("status {status}")),
            Ok((Err(e), _)) => accepted.failed(e),
            Err(e) => accepted.failed(e.to_string()),
        }
    }
    out.accepted = Outcome::merge(vec![accepted], started.elapsed());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_authority_and_base() {
        let t = Target::parse("http://127.0.0.1:8080/fhir/").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.uri("Patient/1"), "/fhir/Patient/1");
        let root = Target::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(root.uri("Patient/1"), "/Patient/1");
        assert!(Target::parse("https://x/fhir").is_err());
    }

    #[test]
    fn quantiles_of_sorted_latencies() {
        let out = Outcome {
            latencies_us: (1..=100).collect(),
            completed: 100,
            elapsed: Duration::from_secs(2),
            ..Outcome::default()
        };
        assert_eq!(out.quantile_us(0.5), Some(51));
        assert_eq!(out.quantile_us(0.99), Some(99));
        assert_eq!(out.per_second(), 50.0);
        assert_eq!(Outcome::default().quantile_us(0.5), None);
    }
}
