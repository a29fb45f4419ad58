//! The adapter's error type.

use std::time::Duration;

use fhir_facade_core::error::DatabaseErrorKind;

/// What can go wrong in this adapter. Converts into [`fhir_facade_core::Error`] with the
/// database kind that decides the HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TiberiusError {
    /// The driver failed on an open connection.
    #[error("database error: {0}")]
    Driver(#[from] tiberius::error::Error),
    /// No connection could be had from the pool (connecting failed or the pool timed out).
    #[error("no database connection: {0}")]
    Pool(#[from] bb8::RunError<tiberius::error::Error>),
    /// The statement ran longer than the configured limit.
    #[error("statement timed out after {0:?}")]
    Timeout(Duration),
    /// A column could not be read as the row mapper asked.
    #[error("column {column}: {message}")]
    Column {
        /// The column name (or position).
        column: String,
        /// What did not fit.
        message: String,
    },
    /// The connection URL is malformed; the message never repeats the password.
    #[error("invalid connection URL: {0}")]
    Url(String),
}

impl TiberiusError {
    /// The class of failure.
    pub fn kind(&self) -> DatabaseErrorKind {
        use tiberius::error::Error as E;
        match self {
            TiberiusError::Timeout(_) => DatabaseErrorKind::Timeout,
            TiberiusError::Pool(_)
            | TiberiusError::Driver(E::Io { .. } | E::Tls(_) | E::Routing { .. }) => {
                DatabaseErrorKind::Unavailable
            }
            // Unique constraint or index violated (2627, 2601), deadlock victim (1205): a
            // concurrent writer won; retrying the whole transaction may succeed.
            TiberiusError::Driver(E::Server(e)) if matches!(e.code(), 2627 | 2601 | 1205) => {
                DatabaseErrorKind::Conflict
            }
            _ => DatabaseErrorKind::Other,
        }
    }
}

impl From<TiberiusError> for fhir_facade_core::Error {
    fn from(error: TiberiusError) -> Self {
        fhir_facade_core::Error::Database {
            kind: error.kind(),
            source: Box::new(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn kinds_decide_the_status() {
        let status = |e: TiberiusError| fhir_facade_core::Error::from(e).status();
        let refused =
            || tiberius::error::Error::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(status(TiberiusError::Pool(bb8::RunError::TimedOut)), 503);
        assert_eq!(
            status(TiberiusError::Pool(bb8::RunError::User(refused()))),
            503
        );
        assert_eq!(status(TiberiusError::Driver(refused())), 503);
        assert_eq!(status(TiberiusError::Timeout(Duration::from_secs(1))), 504);
        assert_eq!(
            status(TiberiusError::Driver(tiberius::error::Error::Conversion(
                "x".into()
            ))),
            500
        );
        assert_eq!(status(TiberiusError::Url("no host".into())), 500);
    }
}
