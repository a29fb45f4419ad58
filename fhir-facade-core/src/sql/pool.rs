//! How an adapter's connection pool is sized and how long it waits: one set of numbers that
//! every adapter honours, so a deployment sets them once (`ServerSettings` reads them from the
//! environment).

use std::time::Duration;

/// The limits of a SQL adapter's connection pool.
///
/// ```
/// use fhir_facade_core::sql::PoolSettings;
/// use std::time::Duration;
///
/// let settings = PoolSettings {
///     max_connections: 16,
///     ..PoolSettings::default()
/// };
/// assert_eq!(settings.acquire_timeout, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// The most connections the pool opens to the database.
    pub max_connections: u32,
    /// The longest a statement waits for a pooled connection, including opening one, before it
    /// fails as unavailable (503). Short, so that an unreachable database fails requests fast
    /// instead of queueing them.
    pub acquire_timeout: Duration,
    /// The longest a statement may run, waiting for its connection included, before it fails
    /// as a timeout (504).
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    /// 8 connections, 2 s to get one, 30 s per statement.
    fn default() -> Self {
        PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(30),
        }
    }
}
