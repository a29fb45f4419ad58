//! The one place where errors become HTTP responses.

#[cfg(feature = "smart")]
use crate::auth::AuthError;
use crate::response::json_response;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhir_facade_core::Error;
use fhir_facade_core::error::{Issue, IssueType, RETRY_AFTER, Severity, operation_outcome};

/// A [`fhir_facade_core::Error`] on its way to the client as an `OperationOutcome`.
///
/// Every failure of the binding — the facade's, the providers', a rejected body, a path, an
/// `Accept` header, a panic — is turned into a response here and nowhere else:
///
/// | error | status | `issue[0].code` |
/// |---|---|---|
/// | `InvalidSearch`, `BadRequest` (body not JSON, bad path) | 400 | `invalid` |
/// | `UnknownParameter`, `UnsupportedSearch` | 400 | `not-supported` |
/// | `Unauthorized` | 401 | `login` |
/// | `Forbidden` | 403 | `forbidden` |
/// | `NotFound`, `UnknownResourceType`, `UnknownRoute` | 404 | `not-found` |
/// | `NotSupported` (wrong method, undeclared interaction) | 405 | `not-supported` |
/// | `NotAcceptable` (`Accept`, `_format`) | 406 | `not-supported` |
/// | `Conflict` | 409 | `conflict` |
/// | `Gone` | 410 | `deleted` |
/// | `PreconditionFailed` (`If-Match`, conditional matches) | 412 | `conflict` |
/// | `PayloadTooLarge` (over the body limit) | 413 | `too-costly` |
/// | `UnsupportedMediaType` (`Content-Type`) | 415 | `not-supported` |
/// | `InvalidResource` (JSON that is no resource) | 422 | `invalid` |
/// | `Database` (unavailable / timeout / other) | 503 / 504 / 500 | `transient` / `timeout` / `exception` |
/// | `Overloaded` (the concurrency limit) | 503 | `throttled` |
/// | `RequestTimeout` (the whole-request limit) | 504 | `timeout` |
/// | `Config`, `Internal`, a panic | 500 | `exception`, without detail |
///
/// A 401 carries `WWW-Authenticate: Bearer realm="fhir"`, with `error="invalid_token"` when a
/// token was sent but refused; a 403 carries `error="insufficient_scope"` (RFC 6750 section 3).
/// A 405 gets its `Allow` header from the request middleware, which knows the path. A 503 or 504
/// carries `Retry-After` ([`Error::retry_after`]).
#[derive(Debug)]
pub struct FhirError(pub Error);

impl From<Error> for FhirError {
    fn from(error: Error) -> Self {
        FhirError(error)
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            // The client gets no detail. The log gets the error's own message but not a driver's
            // source error, which may quote row values, that is patient data.
            tracing::error!(status = status.as_u16(), error = %self.0, "request failed");
        }
        let mut response = json_response(status, &self.0.to_operation_outcome(), false);
        if let Some(wait) = self.0.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs()));
        }
        if let Some(challenge) = challenge(&self.0) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// The bearer challenge of a refusal (RFC 6750 section 3): no error code when no credentials
/// were sent.
fn challenge(error: &Error) -> Option<&'static str> {
    match error {
        #[cfg(feature = "smart")]
        Error::Unauthorized(reason) if *reason == AuthError::MissingToken.to_string() => {
            Some(r#"Bearer realm="fhir""#)
        }
        Error::Unauthorized(_) => Some(r#"Bearer realm="fhir", error="invalid_token""#),
        Error::Forbidden(_) => Some(r#"Bearer realm="fhir", error="insufficient_scope""#),
        _ => None,
    }
}

/// 503 `transient` with `Retry-After`: a dependency of the answer (the IdP's discovery document)
/// is unavailable. The reason is logged, not sent.
pub(crate) fn unavailable(reason: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %reason, "the IdP's SMART configuration is unavailable");
    let issue = Issue {
        severity: Severity::Error,
        code: IssueType::Transient,
        diagnostics: "the authorization server's configuration is unavailable".to_owned(),
        expression: None,
    };
    let mut response = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &operation_outcome(&[issue]),
        false,
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(RETRY_AFTER.as_secs()),
    );
    response
}

#[cfg(all(test, feature = "smart"))]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_their_bearer_challenge() {
        let missing = FhirError(AuthError::MissingToken.into()).into_response();
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="fhir""#
        );
        let expired = FhirError(AuthError::Expired.into()).into_response();
        assert_eq!(
            expired.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="fhir", error="invalid_token""#
        );
        let forbidden = FhirError(Error::Forbidden("no scope".into())).into_response();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            forbidden.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="fhir", error="insufficient_scope""#
        );
        let not_found = FhirError(Error::UnknownRoute("/x".into())).into_response();
        assert!(not_found.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}

#[cfg(test)]
mod transient {
    use super::*;
    use fhir_facade_core::error::DatabaseErrorKind;

    #[test]
    fn transient_failures_say_when_to_retry() {
        let database = |kind| Error::Database {
            kind,
            source: "x".into(),
        };
        for (error, status) in [
            (database(DatabaseErrorKind::Unavailable), 503),
            (database(DatabaseErrorKind::Timeout), 504),
            (Error::Overloaded, 503),
            (database(DatabaseErrorKind::Other), 500),
            (Error::UnknownRoute("/x".into()), 404),
        ] {
            let response = FhirError(error).into_response();
            assert_eq!(response.status(), status);
            let retry_after = response.headers().get(header::RETRY_AFTER);
            assert_eq!(
                retry_after.map(|v| v.to_str().unwrap().to_owned()),
                (status >= 503).then(|| "1".to_owned())
            );
        }
        assert_eq!(unavailable(&"idp down").headers()[header::RETRY_AFTER], "1");
    }
}
