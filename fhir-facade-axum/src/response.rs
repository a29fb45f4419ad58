//! FHIR JSON responses: content type, versioning headers and streamed Bundles.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use fhir_facade_core::{Bundle, Resource};
use serde::Serialize;
use std::convert::Infallible;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The media type of every FHIR response.
pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

fn with_body(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// One JSON value as the body, indented when the client asked for `_pretty=true`.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize, pretty: bool) -> Response {
    let bytes = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    // What is serialized here (JSON values, resources, bundles) has string map keys only, so it
    // cannot fail.
    with_body(status, Body::from(bytes.unwrap_or_default()))
}

/// A Bundle, streamed entry by entry so a large page is never held as one serialized buffer.
/// Pretty-printing needs the whole document, so `_pretty=true` serializes it at once.
pub(crate) fn bundle_response(bundle: Bundle, pretty: bool) -> Response {
    if pretty {
        return json_response(StatusCode::OK, &bundle, true);
    }
    let chunks = bundle.into_chunks().map(Ok::<_, Infallible>);
    with_body(
        StatusCode::OK,
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
}

/// `ETag` and `Last-Modified` from the resource's `meta`.
pub(crate) fn version_headers(headers: &mut HeaderMap, resource: &Resource) {
    if let Some(etag) = resource.version_id().and_then(|v| etag(v).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(date) = resource.last_updated().and_then(http_date) {
        headers.insert(header::LAST_MODIFIED, date);
    }
}

/// A resource as the body, with its versioning headers.
pub(crate) fn resource_response(status: StatusCode, resource: &Resource, pretty: bool) -> Response {
    let mut response = json_response(status, resource.as_json(), pretty);
    version_headers(response.headers_mut(), resource);
    response
}

/// `W/"3"` for version `3`.
fn etag(version: &str) -> Result<HeaderValue, header::InvalidHeaderValue> {
    HeaderValue::from_str(&format!("W/\"{version}\""))
}

/// An HTTP date from a FHIR instant; `None` when the instant does not parse.
fn http_date(instant: &str) -> Option<HeaderValue> {
    let parsed = OffsetDateTime::parse(instant, &Rfc3339).ok()?;
    let formatted = httpdate::fmt_http_date(std::time::SystemTime::from(parsed));
    HeaderValue::from_str(&formatted).ok()
}

/// The version an `ETag`-style header names: `W/"3"` and `"3"` give `3`.
pub(crate) fn version_of_etag(value: &str) -> &str {
    let value = value.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_name_their_version() {
        assert_eq!(version_of_etag("W/\"3\""), "3");
        assert_eq!(version_of_etag("\"3\""), "3");
        assert_eq!(version_of_etag(" 3 "), "3");
    }

    #[test]
    fn last_updated_becomes_an_http_date() {
        assert_eq!(
            http_date("2024-05-01T10:20:30.123+02:00").unwrap(),
            "Wed, 01 May 2024 08:20:30 GMT"
        );
        assert!(http_date("yesterday").is_none());
    }
}
