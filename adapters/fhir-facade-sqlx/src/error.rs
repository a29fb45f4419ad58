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
            SqlxError::Sqlx(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => DatabaseErrorKind::Unavailable,
            SqlxError::Sqlx(sqlx::Error::Database(e)) if is_conflict(e.as_ref()) => {
                DatabaseErrorKind::Conflict
            }
            _ => DatabaseErrorKind::Other,
        }
    }
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
