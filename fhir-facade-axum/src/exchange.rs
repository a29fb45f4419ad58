//! What a FHIR handler needs to know about the request besides its path: the base URL, the
//! [`Context`], the negotiated format, `Prefer` and the conditional headers; and the request body.

#[cfg(feature = "smart")]
use crate::auth::ValidatedToken;
use crate::error::FhirError;
use crate::response::version_of_etag;
use crate::state::AppState;
#[cfg(feature = "smart")]
use crate::state::Authenticated;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use fhir_facade_core::search::Handling;
use fhir_facade_core::{Context, Error, Resource};
use serde::de::DeserializeOwned;
#[cfg(feature = "smart")]
use std::sync::Arc;

/// The request id header, taken from the client or generated.
pub(crate) const X_REQUEST_ID: &str = "x-request-id";

/// `Prefer: return=...` on create and update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Return {
    /// No body.
    Minimal,
    /// The resource as stored (the default).
    #[default]
    Representation,
    /// An `OperationOutcome` about the interaction.
    OperationOutcome,
}

/// The request as the handlers see it.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The base URL the client used, for links, `fullUrl` and `Location`.
    pub(crate) base: String,
    pub(crate) ctx: Context,
    /// The request's validated bearer token, when the routes are protected.
    #[cfg(feature = "smart")]
    pub(crate) token: Option<Arc<ValidatedToken>>,
    /// The query string, URL-encoded, as it came.
    pub(crate) query: String,
    pub(crate) pretty: bool,
    pub(crate) handling: Handling,
    pub(crate) prefer_return: Return,
    pub(crate) if_match: Option<String>,
    pub(crate) if_none_exist: Option<String>,
    pub(crate) if_none_match: Option<String>,
}

impl FromRequestParts<AppState> for Exchange {
    type Rejection = FhirError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default().to_owned();
        negotiate(&parts.headers, &query)?;
        let (handling, prefer_return) = prefer(&parts.headers);
        let pretty = query_values(&query, "_pretty").any(|v| v == "true");
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Exchange {
            base: base_url(parts, state.base_url.as_deref()),
            ctx: context(parts),
            #[cfg(feature = "smart")]
            token: parts
                .extensions
                .get::<Authenticated>()
                .map(|Authenticated(token)| token.clone()),
            pretty,
            handling,
            prefer_return,
            if_match: header(header::IF_MATCH).map(|v| version_of_etag(&v).to_owned()),
            if_none_exist: header(header::HeaderName::from_static("if-none-exist")),
            if_none_match: header(header::IF_NONE_MATCH),
            query,
        })
    }
}

/// The one place where the [`Context`] of a request is built, so that whatever narrows a request
/// (the request id, the access policy of the bearer token) reaches every interaction alike. The
/// token was validated once by the guard, which refuses requests without one when auth is
/// configured.
fn context(parts: &Parts) -> Context {
    let mut ctx = Context::new();
    #[cfg(feature = "smart")]
    if let Some(Authenticated(token)) = parts.extensions.get::<Authenticated>() {
        ctx = ctx.with_access(token.access_policy());
    }
    if let Some(id) = parts
        .headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        ctx = ctx.with_request_id(id);
    }
    ctx
}

/// The configured base, or the one the client used: scheme and host from `X-Forwarded-*` or
/// `Host`, and the prefix the router is nested under (the original path minus the path the
/// router matched).
fn base_url(parts: &Parts, configured: Option<&str>) -> String {
    if let Some(base) = configured {
        return base.trim_end_matches('/').to_owned();
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            // A proxy chain lists the client-facing value first.
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    // The host ends up in every link: anything but a host and port would let a client inject
    // a path or a query into them.
    let host = header("x-forwarded-host")
        .or_else(|| header(header::HOST.as_str()))
        .or(parts.uri.authority().map(|a| a.as_str()))
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    let inner = parts.uri.path();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(inner, |o| o.0.path());
    let prefix = original
        .strip_suffix(inner)
        .or_else(|| (inner == "/").then_some(original))
        .unwrap_or("");
    format!("{scheme}://{host}{}", prefix.trim_end_matches('/'))
}

/// The values of one parameter of a URL-encoded query.
fn query_values<'a>(query: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    form_urlencoded::parse(query.as_bytes())
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// 406 unless the response can be FHIR JSON: `_format` wins over `Accept` (http.html#mime).
fn negotiate(headers: &HeaderMap, query: &str) -> Result<(), FhirError> {
    if let Some(format) = query_values(query, "_format").last() {
        return match format.as_str() {
            "json" | "application/json" | "application/fhir+json" | "application/json+fhir" => {
                Ok(())
            }
            _ => Err(Error::NotAcceptable(format!("_format={format}")).into()),
        };
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let acceptable = accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.is_empty()
            || matches!(
                media.to_ascii_lowercase().as_str(),
                "*/*"
                    | "application/*"
                    | "application/json"
                    | "application/fhir+json"
                    | "application/json+fhir"
            )
    });
    if acceptable {
        Ok(())
    } else {
        Err(Error::NotAcceptable(accept.to_owned()).into())
    }
}

/// `Prefer: handling=...` and `Prefer: return=...`; unknown preferences are ignored (RFC 7240).
fn prefer(headers: &HeaderMap) -> (Handling, Return) {
    let mut handling = Handling::default();
    let mut prefer_return = Return::default();
    let preferences = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .map(str::trim);
    for preference in preferences {
        match preference
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
        {
            Some(("handling", "strict")) => handling = Handling::Strict,
            Some(("handling", "lenient")) => handling = Handling::Lenient,
            Some(("return", "minimal")) => prefer_return = Return::Minimal,
            Some(("return", "representation")) => prefer_return = Return::Representation,
            Some(("return", "OperationOutcome")) => prefer_return = Return::OperationOutcome,
            _ => {}
        }
    }
    (handling, prefer_return)
}

/// The media type of the body, without parameters, lower-cased.
fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// The body within the limit: over it is a 413 `OperationOutcome`, not axum's plain text.
async fn body_bytes(request: Request, state: &AppState) -> Result<Bytes, FhirError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(failed)
                if failed.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                FhirError(Error::PayloadTooLarge)
            }
            _ => FhirError(Error::BadRequest(
                "the request body could not be read".into(),
            )),
        })
}

/// Path parameters; a path that does not deserialize is a 400 `OperationOutcome`.
#[derive(Debug)]
pub(crate) struct Segments<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Segments<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(segments)| Segments(segments))
            .map_err(|_| FhirError(Error::BadRequest("the path could not be read".to_owned())))
    }
}

/// A FHIR resource in a JSON body: 415 for another media type, 400 when it is not JSON, 422
/// when the JSON is not a resource.
#[derive(Debug)]
pub(crate) struct JsonResource(pub(crate) Resource);

impl FromRequest<AppState> for JsonResource {
    type Rejection = FhirError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match content_type(request.headers()).as_deref() {
            Some("application/fhir+json" | "application/json" | "application/json+fhir") => {}
            other => {
                return Err(
                    Error::UnsupportedMediaType(other.unwrap_or("(none)").to_owned()).into(),
                );
            }
        }
        let bytes = body_bytes(request, state).await?;
        Ok(JsonResource(Resource::from_json_bytes(&bytes)?))
    }
}

/// An `application/x-www-form-urlencoded` search body; an empty body may have no media type.
#[derive(Debug)]
pub(crate) struct FormQuery(pub(crate) String);

impl FromRequest<AppState> for FormQuery {
    type Rejection = FhirError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let media = content_type(request.headers());
        let bytes = body_bytes(request, state).await?;
        match media.as_deref() {
            Some("application/x-www-form-urlencoded") => {}
            None if bytes.is_empty() => {}
            other => {
                return Err(
                    Error::UnsupportedMediaType(other.unwrap_or("(none)").to_owned()).into(),
                );
            }
        }
        let form = String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::BadRequest("the form body is not UTF-8".into()))?;
        Ok(FormQuery(form))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn json_is_acceptable_and_xml_is_not() {
        for accept in [
            "application/fhir+json",
            "application/json;q=0.9, text/html",
            "*/*",
        ] {
            assert!(
                negotiate(&headers(&[("accept", accept)]), "").is_ok(),
                "{accept}"
            );
        }
        assert!(negotiate(&headers(&[("accept", "application/fhir+xml")]), "").is_err());
        assert!(negotiate(&HeaderMap::new(), "_format=xml").is_err());
        // `_format` overrides an unacceptable Accept header.
        assert!(negotiate(&headers(&[("accept", "application/xml")]), "_format=json").is_ok());
    }

    #[test]
    fn prefer_reads_handling_and_return() {
        let (handling, ret) = prefer(&headers(&[(
            "prefer",
            "handling=strict, return=OperationOutcome",
        )]));
        assert_eq!(handling, Handling::Strict);
        assert_eq!(ret, Return::OperationOutcome);
        assert_eq!(
            prefer(&HeaderMap::new()),
            (Handling::Lenient, Return::Representation)
        );
    }
}
