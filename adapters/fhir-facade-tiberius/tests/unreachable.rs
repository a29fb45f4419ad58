//! A server that cannot be reached is `Unavailable` (503), whether connecting up front or
//! waiting for a pooled connection; no SQL Server is needed.

use std::time::{Duration, Instant};

use fhir_facade_core::error::DatabaseErrorKind;
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_tiberius::{Database, Pool, config_from_url};

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("mssql://sa:secret@127.0.0.1:{port}/db")
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_unavailable() {
    let error = Pool::connect(&closed_port_url(), 2).await.unwrap_err();
    assert_eq!(error.kind(), DatabaseErrorKind::Unavailable, "{error}");
}

#[tokio::test]
async fn no_connection_within_the_time_limit_is_unavailable() {
    let db = Database::new(
        Pool::new(config_from_url(&closed_port_url()).unwrap(), 1),
        Duration::from_millis(300),
    );
    let started = Instant::now();
    let error = db
        .fetch_all(&SqlFragment::sql("SELECT 1"), Some("req-1"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(5));
}
