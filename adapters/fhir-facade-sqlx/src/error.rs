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
            _ => DatabaseErrorKind::Other,
        }
    }
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
