//! The one error type of the core, and how each failure reads as an `OperationOutcome`.

use serde_json::{Value, json};

/// Everything that can go wrong while serving a FHIR interaction.
///
/// Each variant knows its HTTP status ([`Error::status`]) and its `OperationOutcome`
/// ([`Error::to_operation_outcome`]); the HTTP bindings turn errors into responses in one place.
///
/// | variant | status | issue code |
/// |---|---|---|
/// | `InvalidSearch` | 400 | `invalid` (`expression` names the parameter) |
/// | `UnknownParameter` | 400 | `not-supported` |
/// | `UnsupportedSearch` | 400 | `not-supported` |
/// | `Unauthorized` | 401 | `login` |
/// | `Forbidden` | 403 | `forbidden` |
/// | `NotFound`, `UnknownResourceType`, `UnknownRoute` | 404 | `not-found` |
/// | `NotSupported` | 405 | `not-supported` |
/// | `Conflict` | 409 | `conflict` |
/// | `Gone` | 410 | `deleted` |
/// | `PreconditionFailed` | 412 | `conflict` |
/// | `NotAcceptable` | 406 | `not-supported` |
/// | `PayloadTooLarge` | 413 | `too-costly` |
/// | `UnsupportedMediaType` | 415 | `not-supported` |
/// | `InvalidResource` | 422 | `invalid` / `processing` |
/// | `Database(Unavailable)` | 503 | `transient` |
/// | `Overloaded` | 503 | `throttled` |
/// | `Database(Timeout)`, `RequestTimeout` | 504 | `timeout` |
/// | `Database(OutcomeUnknown)` (a commit not confirmed) | 504 | `transient` |
/// | `Database(Other)`, `Config`, `Internal` | 500 | `exception` (no detail leaves the process) |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A search parameter's value, modifier or prefix is malformed or not allowed for its type.
    #[error("invalid search parameter {param}: {message}")]
    InvalidSearch {
        /// The parameter as the client wrote it (name and modifier).
        param: String,
        /// What is wrong, for the client.
        message: String,
    },
    /// A parameter the server does not know, rejected because the client asked for strict handling.
    #[error("unknown or unsupported search parameter {param}")]
    UnknownParameter {
        /// The parameter as the client wrote it.
        param: String,
    },
    /// A well-formed search that this server cannot carry out (for example a chain it does not support).
    #[error("unsupported search {param}: {message}")]
    UnsupportedSearch {
        /// The parameter as the client wrote it.
        param: String,
        /// Why it is not supported.
        message: String,
    },
    /// No credentials, or credentials that could not be validated.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Valid credentials that do not grant this interaction.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No resource with that id (or not visible to the caller).
    #[error("{resource_type}/{id} not found")]
    NotFound {
        /// The resource type asked for.
        resource_type: String,
        /// The id asked for.
        id: String,
    },
    /// The resource type is not served at all.
    #[error("resource type {0} is not supported")]
    UnknownResourceType(String),
    /// No interaction of the FHIR REST API has this path (`GET [base]/Patient/1/_history/2/x`).
    #[error("no FHIR interaction at {0}")]
    UnknownRoute(String),
    /// The interaction is not implemented for this resource type.
    #[error("{interaction} is not supported for {resource_type}")]
    NotSupported {
        /// The resource type.
        resource_type: String,
        /// The interaction, as the CapabilityStatement names it (`read`, `search-type`, `create`, ...).
        interaction: String,
    },
    /// The request conflicts with the current state (for example an id that exists already).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The resource existed and was deleted.
    #[error("{resource_type}/{id} was deleted")]
    Gone {
        /// The resource type.
        resource_type: String,
        /// The id.
        id: String,
    },
    /// A version precondition (`If-Match`) or a conditional interaction's match count failed.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The response cannot be produced in a format the client accepts (`Accept`, `_format`).
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// The request body is larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request body's media type cannot be read.
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    /// The resource in the request body is not valid for this server.
    #[error("invalid resource: {message}")]
    InvalidResource {
        /// What is wrong.
        message: String,
        /// A FHIRPath expression pointing at the offending element, when known.
        expression: Option<String>,
    },
    /// The request is malformed in a way that is not about search or the resource body.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The server is serving as many requests as it is allowed to; the client should retry
    /// later, or elsewhere.
    #[error("the server is at its limit of concurrent requests")]
    Overloaded,
    /// The whole request took longer than the server allows.
    #[error("the request took longer than {0:?}")]
    RequestTimeout(std::time::Duration),
    /// The database failed. The source is logged, never returned to the client.
    #[error("database error ({kind:?})")]
    Database {
        /// What kind of failure, which decides the status.
        kind: DatabaseErrorKind,
        /// The driver's error, for the logs.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The facade is set up wrongly (a mapping, a provider registration, a setting): found while
    /// it is built, before it serves. Should one surface in a request, it is a 500 whose message
    /// is logged, never returned to the client.
    #[error("configuration error: {0}")]
    Config(String),
    /// A bug or an unexpected state. The message is logged, never returned to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// How long a client is asked to wait before retrying after a transient failure: long enough
/// for a pool to reconnect or a burst to pass, short enough that a recovered server is used at
/// once.
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Classes of database failure, shared by every adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseErrorKind {
    /// The database could not be reached (503).
    Unavailable,
    /// The statement ran into its time limit (504).
    Timeout,
    /// A conflicting concurrent write (409).
    Conflict,
    /// A commit the database did not confirm: the connection failed or the time ran out while
    /// it committed, so the change may or may not have been applied (504). Never retried.
    OutcomeUnknown,
    /// Anything else (500).
    Other,
}

/// Values of the FHIR `IssueType` value set used by this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueType {
    /// `invalid`
    Invalid,
    /// `processing`
    Processing,
    /// `not-supported`
    NotSupported,
    /// `login`
    Login,
    /// `forbidden`
    Forbidden,
    /// `not-found`
    NotFound,
    /// `deleted`
    Deleted,
    /// `conflict`
    Conflict,
    /// `too-costly`
    TooCostly,
    /// `transient`
    Transient,
    /// `timeout`
    Timeout,
    /// `throttled`
    Throttled,
    /// `exception`
    Exception,
    /// `informational`
    Informational,
}

impl IssueType {
    /// The code as it appears in `OperationOutcome.issue.code`.
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Processing => "processing",
            IssueType::NotSupported => "not-supported",
            IssueType::Login => "login",
            IssueType::Forbidden => "forbidden",
            IssueType::NotFound => "not-found",
            IssueType::Deleted => "deleted",
            IssueType::Conflict => "conflict",
            IssueType::TooCostly => "too-costly",
            IssueType::Transient => "transient",
            IssueType::Timeout => "timeout",
            IssueType::Throttled => "throttled",
            IssueType::Exception => "exception",
            IssueType::Informational => "informational",
        }
    }
}

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `fatal`
    Fatal,
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `information`
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// How bad it is.
    pub severity: Severity,
    /// The issue type.
    pub code: IssueType,
    /// Human-readable detail for the client.
    pub diagnostics: String,
    /// FHIRPath or parameter name the issue is about.
    pub expression: Option<String>,
}

impl Issue {
    /// The issue as FHIR JSON.
    pub fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity.code(),
            "code": self.code.code(),
            "diagnostics": self.diagnostics,
        });
        if let Some(expr) = &self.expression {
            issue["expression"] = json!([expr]);
        }
        issue
    }
}

/// Builds an `OperationOutcome` resource from issues.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(Issue::to_json).collect::<Vec<_>>(),
    })
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidSearch { .. }
            | Error::UnknownParameter { .. }
            | Error::UnsupportedSearch { .. }
            | Error::BadRequest(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound { .. } | Error::UnknownResourceType(_) | Error::UnknownRoute(_) => 404,
            Error::NotSupported { .. } => 405,
            Error::Conflict(_) => 409,
            Error::Gone { .. } => 410,
            Error::PreconditionFailed(_) => 412,
            Error::NotAcceptable(_) => 406,
            Error::PayloadTooLarge => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::InvalidResource { .. } => 422,
            Error::Database { kind, .. } => match kind {
                DatabaseErrorKind::Unavailable => 503,
                DatabaseErrorKind::Timeout | DatabaseErrorKind::OutcomeUnknown => 504,
                DatabaseErrorKind::Conflict => 409,
                DatabaseErrorKind::Other => 500,
            },
            Error::Overloaded => 503,
            Error::RequestTimeout(_) => 504,
            Error::Internal(_) | Error::Config(_) => 500,
        }
    }

    /// How long the client should wait before it retries, for a transient failure (a 503 or a
    /// 504): [`RETRY_AFTER`], the value of the response's `Retry-After`.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        matches!(self.status(), 503 | 504).then_some(RETRY_AFTER)
    }

    /// The single issue describing this error. Database and internal errors say nothing of their cause.
    pub fn issue(&self) -> Issue {
        let (code, expression) = match self {
            Error::InvalidSearch { param, .. } => (IssueType::Invalid, Some(param.clone())),
            Error::UnknownParameter { param } | Error::UnsupportedSearch { param, .. } => {
                (IssueType::NotSupported, Some(param.clone()))
            }
            Error::BadRequest(_) => (IssueType::Invalid, None),
            Error::Unauthorized(_) => (IssueType::Login, None),
            Error::Forbidden(_) => (IssueType::Forbidden, None),
            Error::NotFound { .. } | Error::UnknownResourceType(_) | Error::UnknownRoute(_) => {
                (IssueType::NotFound, None)
            }
            Error::NotSupported { .. }
            | Error::NotAcceptable(_)
            | Error::UnsupportedMediaType(_) => (IssueType::NotSupported, None),
            Error::Conflict(_) | Error::PreconditionFailed(_) => (IssueType::Conflict, None),
            Error::Gone { .. } => (IssueType::Deleted, None),
            Error::PayloadTooLarge => (IssueType::TooCostly, None),
            Error::InvalidResource { expression, .. } => (IssueType::Invalid, expression.clone()),
            Error::Database { kind, .. } => match kind {
                DatabaseErrorKind::Unavailable => (IssueType::Transient, None),
                DatabaseErrorKind::Timeout => (IssueType::Timeout, None),
                DatabaseErrorKind::OutcomeUnknown => (IssueType::Transient, None),
                DatabaseErrorKind::Conflict => (IssueType::Conflict, None),
                DatabaseErrorKind::Other => (IssueType::Exception, None),
            },
            Error::Overloaded => (IssueType::Throttled, None),
            Error::RequestTimeout(_) => (IssueType::Timeout, None),
            Error::Internal(_) | Error::Config(_) => (IssueType::Exception, None),
        };
        let diagnostics = match self {
            Error::Database { kind, .. } => match kind {
                DatabaseErrorKind::Unavailable => "the database is not reachable".to_owned(),
                DatabaseErrorKind::Timeout => "the database did not answer in time".to_owned(),
                DatabaseErrorKind::Conflict => "a concurrent change conflicted".to_owned(),
                DatabaseErrorKind::OutcomeUnknown => "the database did not confirm the commit: \
                     the change may or may not have been applied; read it before retrying"
                    .to_owned(),
                DatabaseErrorKind::Other => "the database failed".to_owned(),
            },
            Error::Internal(_) | Error::Config(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        Issue {
            severity: Severity::Error,
            code,
            diagnostics,
            expression,
        }
    }

    /// The `OperationOutcome` this error answers with.
    pub fn to_operation_outcome(&self) -> Value {
        operation_outcome(&[self.issue()])
    }

    /// Shorthand for an [`Error::InvalidSearch`].
    pub fn invalid_search(param: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidSearch {
            param: param.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::NotSupported`].
    pub fn not_supported(resource_type: impl Into<String>, interaction: impl Into<String>) -> Self {
        Error::NotSupported {
            resource_type: resource_type.into(),
            interaction: interaction.into(),
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_detail_never_reaches_the_client() {
        let err = Error::Database {
            kind: DatabaseErrorKind::Other,
            source: "relation \"patient\" does not exist: SELECT * FROM patient".into(),
        };
        assert_eq!(err.status(), 500);
        let text = err.to_operation_outcome().to_string();
        assert!(!text.contains("SELECT"), "{text}");
        assert!(!text.contains("relation"), "{text}");
    }

    #[test]
    fn statuses_and_codes_follow_the_table() {
        let cases: Vec<(Error, u16, &str)> = vec![
            (
                Error::invalid_search("birthdate", "not a date"),
                400,
                "invalid",
            ),
            (
                Error::UnknownParameter {
                    param: "bonkers".into(),
                },
                400,
                "not-supported",
            ),
            (Error::Unauthorized("no token".into()), 401, "login"),
            (Error::Forbidden("scope".into()), 403, "forbidden"),
            (
                Error::NotFound {
                    resource_type: "Patient".into(),
                    id: "x".into(),
                },
                404,
                "not-found",
            ),
            (
                Error::not_supported("Patient", "delete"),
                405,
                "not-supported",
            ),
            (
                Error::UnknownRoute("Patient/1/x/y".into()),
                404,
                "not-found",
            ),
            (Error::Conflict("exists".into()), 409, "conflict"),
            (
                Error::Gone {
                    resource_type: "Patient".into(),
                    id: "x".into(),
                },
                410,
                "deleted",
            ),
            (Error::PreconditionFailed("version".into()), 412, "conflict"),
            (
                Error::NotAcceptable("application/xml".into()),
                406,
                "not-supported",
            ),
            (Error::PayloadTooLarge, 413, "too-costly"),
            (
                Error::UnsupportedMediaType("text/xml".into()),
                415,
                "not-supported",
            ),
            (
                Error::InvalidResource {
                    message: "m".into(),
                    expression: None,
                },
                422,
                "invalid",
            ),
            (
                Error::Database {
                    kind: DatabaseErrorKind::Unavailable,
                    source: "x".into(),
                },
                503,
                "transient",
            ),
            (
                Error::Database {
                    kind: DatabaseErrorKind::Timeout,
                    source: "x".into(),
                },
                504,
                "timeout",
            ),
            (Error::Overloaded, 503, "throttled"),
            (
                Error::RequestTimeout(std::time::Duration::from_secs(1)),
                504,
                "timeout",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err}");
            assert_eq!(err.retry_after().is_some(), status == 503 || status == 504);
            let oo = err.to_operation_outcome();
            assert_eq!(oo["resourceType"], "OperationOutcome");
            assert_eq!(oo["issue"][0]["code"], code, "{err}");
            assert_eq!(oo["issue"][0]["severity"], "error");
        }
    }

    #[test]
    fn invalid_search_points_at_the_parameter() {
        let oo = Error::invalid_search("date", "31-12-2019 is not a date").to_operation_outcome();
        assert_eq!(oo["issue"][0]["expression"][0], "date");
    }
}
