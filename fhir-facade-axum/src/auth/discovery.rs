//! OpenID Connect discovery, and the one HTTP client that fetches discovery documents and JWKS.

use super::AuthError;
use super::config::check_fetch_url;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Discovery documents and JWKS are small; a larger answer is a misconfiguration or an attack.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The fields of an issuer's `/.well-known/openid-configuration` that the facade uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcDiscovery {
    /// The issuer, which must equal the configured one.
    pub issuer: String,
    /// Where the issuer publishes its signing keys.
    pub jwks_uri: String,
    /// The OAuth2 authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The OAuth2 token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// The RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The RFC 7591 dynamic client registration endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The scopes the issuer advertises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// How clients may authenticate at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// The PKCE methods the issuer supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// The discovery document's address for `issuer` (OpenID Connect Discovery 1.0, section 4).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches JSON from the IdP over HTTPS (or HTTP on loopback), with a time limit and a size limit.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration) -> Result<Self, AuthError> {
        // The ring provider is named explicitly: relying on rustls' process default would panic
        // if another crate in the final binary also enabled aws-lc-rs.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| AuthError::Config(format!("TLS setup failed: {e}")))?
            // Plain http is reachable only for URLs that passed `check_fetch_url` (loopback).
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Fetcher {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }

    /// GETs `url` and parses the body as JSON.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, AuthError> {
        let request = hyper::Request::get(url).body(Full::default());
        self.send_json(url, request).await
    }

    /// POSTs `form` (already `application/x-www-form-urlencoded`) with an `Authorization`
    /// header and parses the answer as JSON.
    pub(crate) async fn post_form_json<T: DeserializeOwned>(
        &self,
        url: &str,
        authorization: &str,
        form: String,
    ) -> Result<T, AuthError> {
        let request = hyper::Request::post(url)
            .header(hyper::header::AUTHORIZATION, authorization)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(form)));
        self.send_json(url, request).await
    }

    /// Sends `request` and parses the body as JSON. Failures are logged here with their cause
    /// (never with the request, which may carry a token) and reported as
    /// [`AuthError::KeysUnavailable`], so no network detail reaches a client.
    async fn send_json<T: DeserializeOwned>(
        &self,
        url: &str,
        request: hyper::http::Result<hyper::Request<Full<Bytes>>>,
    ) -> Result<T, AuthError> {
        let unavailable = |why: &dyn std::fmt::Display| {
            tracing::warn!(url, error = %why, "request to the issuer failed");
            AuthError::KeysUnavailable
        };
        check_fetch_url(url).map_err(|e| unavailable(&e))?;
        let mut request = request.map_err(|e| unavailable(&e))?;
        request.headers_mut().insert(
            hyper::header::ACCEPT,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        let fetch = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unavailable(&e))?;
            if !response.status().is_success() {
                return Err(unavailable(&response.status()));
            }
            Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| unavailable(&e))
        };
        let body = tokio::time::timeout(self.timeout, fetch)
            .await
            .map_err(|_| unavailable(&"timed out"))??;
        serde_json::from_slice(&body).map_err(|e| unavailable(&e))
    }

    /// Fetches and checks the discovery document of `issuer`.
    pub(crate) async fn discover(&self, issuer: &str) -> Result<OidcDiscovery, AuthError> {
        let doc: OidcDiscovery = self.get_json(&discovery_url(issuer)).await?;
        // OIDC Discovery 1.0 section 4.3: a document naming another issuer must not be used,
        // or one realm could hand out keys for another.
        if doc.issuer != issuer {
            tracing::warn!(
                issuer,
                advertised = doc.issuer,
                "discovery document names another issuer"
            );
            return Err(AuthError::KeysUnavailable);
        }
        Ok(doc)
    }
}
