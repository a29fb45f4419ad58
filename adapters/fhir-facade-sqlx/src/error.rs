//! The adapter's error type.

use std::time::Duration;

use fhir_facade_core::error::DatabaseErrorKind;

/// What can go wrong in this adapter. Converts into [`fhir_facade_core::Error`] with the
/// database kind that decides the HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlxError {
    /// The driver failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The statement ran longer than the configured limit.
    #[error("statement timed out after {0:?}")]
    Timeout(Duration),
    /// A column could not be read as the row mapper asked.
    #[error("column {column}: {message}")]
    Column {
        /// The column name.
        column: String,
        /// What did not fit.
        message: String,
    },
}

impl SqlxError {
    /// The class of failure.
    pub fn kind(&self) -> DatabaseErrorKind {
        match self {
            SqlxError::Timeout(_) => DatabaseErrorKind::Timeout,
            SqlxError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => {
                DatabaseErrorKind::Unavailable
            }
            _ if self.is_connection_failure() => DatabaseErrorKind::Unavailable,
            SqlxError::Sqlx(sqlx::Error::Database(e)) if is_conflict(e.as_ref()) => {
                DatabaseErrorKind::Conflict
            }
            SqlxError::Sqlx(sqlx::Error::Database(e)) if is_server_timeout(e.as_ref()) => {
                DatabaseErrorKind::Timeout
            }
            _ => DatabaseErrorKind::Other,
        }
    }

    /// Whether the connection the statement ran on failed, rather than the statement: the
    /// socket broke, or the server ended the session (shut down, restarted, the backend was
    /// terminated). A read that failed so may succeed on another connection.
    pub fn is_connection_failure(&self) -> bool {
        match self {
            SqlxError::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            SqlxError::Sqlx(sqlx::Error::Database(e)) => is_session_ended(e.as_ref()),
            _ => false,
        }
    }
}

/// The server ended the session: PostgreSQL's connection exceptions (SQLSTATE class `08`),
/// administrator or crash shutdown, a server still starting (`57P01`–`57P03`) and too many
/// connections (`53300`); MySQL's and MariaDB's server shutdown (1053), too many connections
/// (1040) and a killed connection (1927).
fn is_session_ended(error: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(e) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(e.number(), 1040 | 1053 | 1927);
    }
    error.code().is_some_and(|code| {
        code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
    })
}

/// The server gave up on the statement by its own time limit: PostgreSQL's `statement_timeout`
/// and `lock_timeout` (`57014`, `55P03`); MySQL's and MariaDB's lock wait timeout (1205) and
/// statement time limits (3024, 1969).
fn is_server_timeout(error: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(e) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(e.number(), 1205 | 3024 | 1969);
    }
    matches!(error.code().as_deref(), Some("57014" | "55P03"))
}

/// A failure that a retry of the whole transaction may resolve: a unique key taken by a
/// concurrent writer, a serialization failure or deadlock (SQLSTATE `40001`, PostgreSQL `40P01`),
/// or SQLite's database-busy codes (`SQLITE_BUSY` 5, `SQLITE_BUSY_SNAPSHOT` 517, `SQLITE_LOCKED` 6).
fn is_conflict(error: &dyn sqlx::error::DatabaseError) -> bool {
    error.kind() == sqlx::error::ErrorKind::UniqueViolation
        || matches!(
            error.code().as_deref(),
            Some("40001" | "40P01" | "5" | "517" | "6")
        )
}

impl From<SqlxError> for fhir_facade_core::Error {
    fn from(error: SqlxError) -> Self {
        fhir_facade_core::Error::Database {
            kind: error.kind(),
            source: Box::new(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_the_status() {
        let status = |e: SqlxError| fhir_facade_core::Error::from(e).status();
        assert_eq!(status(SqlxError::Sqlx(sqlx::Error::PoolTimedOut)), 503);
        assert_eq!(status(SqlxError::Timeout(Duration::from_secs(1))), 504);
        assert_eq!(status(SqlxError::Sqlx(sqlx::Error::RowNotFound)), 500);
    }
}
