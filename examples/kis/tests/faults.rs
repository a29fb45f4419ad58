//! The fault suite: the KIS facade served over HTTP under steady load (reads, searches and
//! creates) while its database fails under it, on PostgreSQL and MariaDB.
//!
//! The facade reaches the database through a [`FaultProxy`], which stops like a server going
//! down (every connection cut, the port refusing), starts again, or turns slow; backends are
//! terminated from the server's side; a table is locked. Each scenario prints its requests,
//! answers by status, recovery time and acknowledged writes lost, and fails on any answer other
//! than 200/201 and a 503/504 with `Retry-After` and an `OperationOutcome`, on a lost write and
//! on a recovery slower than 2 s.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers; each
//! run works in its own schema or database and drops it. An unreachable server skips its test,
//! except under `CI=true`, where it fails.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use fhir_facade_axum::{FhirRouter, Probes, RequestLimits, ServeConfig, serve_with_shutdown};
use fhir_facade_core::sql::{PoolSettings, SqlFragment};
use fhir_facade_tests::faults::{
    Answer, FaultProxy, LoadRequest, by_status, request_once, steady_load,
};
use kis_facade::Backend;
use kis_facade::server::KisDatabase;

/// The facade's statement limit: a statement held up longer than this is a 504.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);
/// The facade's wait for a pooled connection: an unreachable database is a 503 after this.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How soon after the database is back every request must succeed again.
const RECOVERY: Duration = Duration::from_secs(2);
const CLIENTS: usize = 6;

struct Rig {
    name: &'static str,
    backend: Backend,
    proxy: FaultProxy,
    http: SocketAddr,
    /// The database straight, not through the proxy: for the faults and the checks.
    direct: KisDatabase,
    /// The name of the fixture's schema (PostgreSQL) or database (MariaDB).
    namespace: String,
    patient_ids: Vec<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    cleanup: (KisDatabase, String),
}

fn unreachable(variable: &str, error: impl std::fmt::Display) -> Option<Rig> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{variable}: database unreachable under CI: {error}");
    }
    println!("skipped: set {variable} to a reachable server ({error})");
    None
}

fn run_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("kis_faults_{}_{nanos}", std::process::id())
}

/// `url` with its `host:port` replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{addr}/{path}")
}

/// The server's address of `url`.
async fn server_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    tokio::net::lookup_host(host_port)
        .await
        .unwrap()
        .find(SocketAddr::is_ipv4)
        .unwrap()
}

impl Rig {
    async fn postgres() -> Option<Rig> {
        let url = std::env::var("FHIR_FACADE_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = match KisDatabase::connect(&url, 1).await {
            Ok((admin, _)) => admin,
            Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
        };
        let schema = run_name();
        execute(&admin, &format!("CREATE SCHEMA {schema}")).await;
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let cleanup = (admin, format!("DROP SCHEMA {schema} CASCADE"));
        Some(Rig::new("postgres", Backend::Postgres, &url, schema, cleanup).await)
    }

    async fn mariadb() -> Option<Rig> {
        let url = std::env::var("FHIR_FACADE_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
        let admin = match KisDatabase::connect(&url, 1).await {
            Ok((admin, _)) => admin,
            Err(e) => return unreachable("FHIR_FACADE_MYSQL_URL", e),
        };
        let name = run_name();
        execute(
            &admin,
            &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        )
        .await;
        let base = url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        let cleanup = (admin, format!("DROP DATABASE {name}"));
        Some(Rig::new("mariadb", Backend::MySql, &url, name, cleanup).await)
    }

    async fn new(
        name: &'static str,
        backend: Backend,
        url: &str,
        namespace: String,
        cleanup: (KisDatabase, String),
    ) -> Rig {
        let (direct, _) = KisDatabase::connect(url, 2).await.unwrap();
        direct.generate(backend, 30, 7, false).await.unwrap();
        let proxy = FaultProxy::start(server_of(url).await).await;
        let settings = PoolSettings {
            max_connections: 4,
            acquire_timeout: ACQUIRE_TIMEOUT,
            statement_timeout: STATEMENT_TIMEOUT,
        };
        let (db, _) = KisDatabase::connect_with(&via(url, proxy.addr()), &settings)
            .await
            .unwrap();
        let facade = db.facade(backend).unwrap();
        let probes = Probes::new().readiness_check(move || {
            let db = db.clone();
            async move { db.ping().await }
        });
        let fhir = FhirRouter::builder(facade)
            .probes(probes.clone())
            .limits(RequestLimits {
                request_timeout: Duration::from_secs(10),
                ..RequestLimits::default()
            })
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_with_shutdown(
            listener,
            Router::new().nest("/fhir", fhir),
            probes,
            ServeConfig {
                drain: Duration::ZERO,
                ..ServeConfig::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        let mut rig = Rig {
            name,
            backend,
            proxy,
            http,
            direct,
            namespace,
            patient_ids: Vec::new(),
            stop: Some(stop),
            cleanup,
        };
        let bundle = rig.get_json("/fhir/Patient?_count=10").await;
        rig.patient_ids = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(rig.patient_ids.len() >= 5, "{bundle}");
        rig
    }

    async fn get_json(&self, path: &str) -> serde_json::Value {
        let answer = request_once(self.http, &LoadRequest::get(path)).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }

    /// The steady load of the suite, for `duration`, in the background.
    fn load(&self, duration: Duration) -> tokio::task::JoinHandle<Vec<Answer>> {
        tokio::spawn(steady_load(self.http, self.requests(), CLIENTS, duration))
    }

    /// Reads of patients, a search, a search of their observations, and creates.
    fn requests(&self) -> Vec<LoadRequest> {
        let mut requests = Vec::new();
        for id in &self.patient_ids {
            requests.push(LoadRequest::get(format!("/fhir/Patient/{id}")));
            requests.push(LoadRequest::get(format!(
                "/fhir/Observation?patient={id}&_count=5"
            )));
        }
        requests.push(LoadRequest::get("/fhir/Patient?gender=female&_count=5"));
        requests.push(LoadRequest::post(
            "/fhir/Patient",
            r#"{"resourceType":"Patient","name":[{"family":"Fault","given":["Load"]}],"gender":"other","birthDate":"1970-01-01"}"#,
        ));
        requests
    }

    /// Ends the server sessions of the facade's connections, from the server's side.
    async fn kill_backends(&self) -> usize {
        let ports = self.proxy.upstream_ports();
        if ports.is_empty() {
            return 0;
        }
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match self.backend {
            Backend::Postgres => {
                let killed = rows(
                    &self.direct,
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE client_port IN ({list})"
                    ),
                )
                .await;
                killed.len()
            }
            _ => {
                let hosts = ports
                    .iter()
                    .map(|p| format!("'127.0.0.1:{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let ids = rows(
                    &self.direct,
                    &format!(
                        "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist \
                         WHERE host IN ({hosts})"
                    ),
                )
                .await;
                for id in &ids {
                    // A session may end on its own meanwhile.
                    let _ = try_execute(&self.direct, &format!("KILL CONNECTION {id}")).await;
                }
                ids.len()
            }
        }
    }

    /// Whether every created patient of `answers` can be read straight from the database: the
    /// number of acknowledged creates that cannot.
    async fn lost_writes(&self, answers: &[Answer]) -> usize {
        let mut lost = 0;
        for answer in answers.iter().filter(|a| a.status == 201) {
            let created: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
            let id: i64 = created["id"].as_str().unwrap().parse().unwrap();
            let found = rows(
                &self.direct,
                &format!("SELECT COUNT(*) AS n FROM patient WHERE pat_id = {id}"),
            )
            .await;
            if found.first().map(String::as_str) != Some("1") {
                lost += 1;
            }
        }
        lost
    }

    async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (admin, drop) = &self.cleanup;
        execute(admin, drop).await;
    }
}

async fn try_execute(db: &KisDatabase, sql: &str) -> fhir_facade_core::Result<()> {
    match db {
        KisDatabase::Sqlx(db) => db.execute(&SqlFragment::sql(sql), None).await.map(drop),
        KisDatabase::MsSql(_) => unreachable!("PostgreSQL and MariaDB only"),
    }
}

async fn execute(db: &KisDatabase, sql: &str) {
    try_execute(db, sql).await.unwrap();
}

/// The first column of every row, as text.
async fn rows(db: &KisDatabase, sql: &str) -> Vec<String> {
    let KisDatabase::Sqlx(db) = db else {
        unreachable!("PostgreSQL and MariaDB only")
    };
    db.fetch_all(&SqlFragment::sql(sql), None)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let column = ["n", "id", "pg_terminate_backend"]
                .into_iter()
                .find_map(|c| row.get_opt_i64(c).ok().flatten().map(|v| v.to_string()));
            column.unwrap_or_else(|| "1".to_owned())
        })
        .collect()
}

/// The checks every scenario shares: only 200/201 and 503/504 with `Retry-After` and an
/// `OperationOutcome`; a summary line.
fn check_answers(rig: &Rig, scenario: &str, answers: &[Answer]) {
    assert!(!answers.is_empty());
    for answer in answers {
        match answer.status {
            200 | 201 => {}
            503 | 504 => assert!(
                answer.retry_after && answer.operation_outcome,
                "{}/{scenario}: {answer:?}",
                rig.name
            ),
            _ => panic!("{}/{scenario}: {answer:?}", rig.name),
        }
    }
}

/// The time from `back` to the first success, and whether every request sent from
/// `back + RECOVERY` on succeeded.
fn recovery(answers: &[Answer], back: Duration) -> (Duration, bool) {
    let first = answers
        .iter()
        .find(|a| a.at >= back && a.status < 300)
        .map_or(Duration::MAX, |a| a.at - back);
    let settled = answers
        .iter()
        .filter(|a| a.at >= back + RECOVERY)
        .all(|a| a.status < 300);
    (first, settled)
}

async fn stop_and_start(rig: &Rig) {
    let load = rig.load(Duration::from_millis(6500));
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.proxy.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready_while_down = request_once(rig.http, &LoadRequest::get("/readyz"))
        .await
        .status;
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.proxy.start_again().await;
    let back = Duration::from_millis(3500);
    let answers = load.await.unwrap();
    let ready_after = request_once(rig.http, &LoadRequest::get("/readyz"))
        .await
        .status;
    check_answers(rig, "stop-start", &answers);
    let (first, settled) = recovery(&answers, back);
    let lost = rig.lost_writes(&answers).await;
    println!(
        "{}: database stopped 1.0–3.5 s under load: {} requests ({}); recovery {} ms; \
         /readyz {ready_while_down} while down, {ready_after} after; acknowledged creates lost: {lost}",
        rig.name,
        answers.len(),
        by_status(&answers),
        first.as_millis()
    );
    assert!(
        answers
            .iter()
            .any(|a| a.status == 503 && a.at > Duration::from_millis(1200)),
        "{}: the outage was not seen",
        rig.name
    );
    assert!(first <= RECOVERY && settled, "{}: slow recovery", rig.name);
    // Unavailable is found out within the pool's wait, not after a client's patience.
    let slowest = answers
        .iter()
        .filter(|a| a.status == 503)
        .map(|a| a.took)
        .max()
        .unwrap_or_default();
    assert!(
        slowest <= ACQUIRE_TIMEOUT + STATEMENT_TIMEOUT + Duration::from_millis(500),
        "{}: a 503 took {slowest:?}",
        rig.name
    );
    assert_eq!(ready_while_down, 503);
    assert_eq!(ready_after, 200);
    assert_eq!(lost, 0);
}

async fn backends_killed(rig: &Rig) {
    let load = rig.load(Duration::from_secs(3));
    let mut killed = 0;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        killed += rig.kill_backends().await;
    }
    let answers = load.await.unwrap();
    check_answers(rig, "backends-killed", &answers);
    let lost = rig.lost_writes(&answers).await;
    println!(
        "{}: {killed} backends terminated under load: {} requests ({}); acknowledged creates lost: {lost}",
        rig.name,
        answers.len(),
        by_status(&answers)
    );
    assert!(killed > 0, "{}: no backend to terminate", rig.name);
    // A read whose connection died is retried on a fresh one: reads do not fail.
    let failed_reads: Vec<_> = answers
        .iter()
        .filter(|a| a.request.starts_with("GET") && a.status != 200)
        .collect();
    assert!(failed_reads.is_empty(), "{}: {failed_reads:?}", rig.name);
    assert_eq!(lost, 0);
}

async fn slow_database(rig: &Rig) {
    let load = rig.load(Duration::from_secs(5));
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.proxy
        .set_delay(STATEMENT_TIMEOUT + Duration::from_millis(500));
    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.proxy.set_delay(Duration::ZERO);
    stalled(rig, "database slower than the statement limit 1–3 s", load).await;
}

async fn table_locked(rig: &Rig) {
    let KisDatabase::Sqlx(direct) = &rig.direct else {
        unreachable!("PostgreSQL and MariaDB only")
    };
    let (lock, unlock) = match rig.backend {
        Backend::Postgres => (
            format!(
                "LOCK TABLE {}.patient IN ACCESS EXCLUSIVE MODE",
                rig.namespace
            ),
            "ROLLBACK",
        ),
        _ => ("LOCK TABLES patient WRITE".to_owned(), "UNLOCK TABLES"),
    };
    let load = rig.load(Duration::from_secs(5));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One connection of its own holds the lock for 2 s.
    macro_rules! hold {
        ($pool:expr) => {{
            let mut connection = $pool.acquire().await.unwrap();
            if rig.backend == Backend::Postgres {
                sqlx::query("BEGIN")
                    .execute(&mut *connection)
                    .await
                    .unwrap();
            }
            sqlx::query(&lock).execute(&mut *connection).await.unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            sqlx::query(unlock).execute(&mut *connection).await.unwrap();
        }};
    }
    match direct.pool() {
        fhir_facade_sqlx::Pool::Postgres(pool) => hold!(pool),
        fhir_facade_sqlx::Pool::MySql(pool) => hold!(pool),
        _ => unreachable!("PostgreSQL and MariaDB only"),
    }
    stalled(rig, "patient table locked 1–3 s", load).await;
}

/// The checks of a scenario in which statements stalled from 1 s to 3 s of the load: some
/// answers were 504, and every request from `RECOVERY` after the stall succeeded.
async fn stalled(rig: &Rig, scenario: &str, load: tokio::task::JoinHandle<Vec<Answer>>) {
    let answers = load.await.unwrap();
    check_answers(rig, scenario, &answers);
    let (first, settled) = recovery(&answers, Duration::from_secs(3));
    println!(
        "{}: {scenario}: {} requests ({}); recovery {} ms",
        rig.name,
        answers.len(),
        by_status(&answers),
        first.as_millis()
    );
    assert!(answers.iter().any(|a| a.status == 504), "{}", rig.name);
    assert!(first <= RECOVERY && settled, "{}: slow recovery", rig.name);
}

async fn suite(rig: Option<Rig>) {
    let Some(rig) = rig else { return };
    stop_and_start(&rig).await;
    backends_killed(&rig).await;
    slow_database(&rig).await;
    table_locked(&rig).await;
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_faults() {
    suite(Rig::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_faults() {
    suite(Rig::mariadb().await).await;
}
