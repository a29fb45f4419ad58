//! [`AuthConfig`]: trusted issuers, accepted audiences and claim names, from the environment.

use super::AuthError;
use std::net::IpAddr;
use std::time::Duration;

/// Environment variable: the trusted issuer URL, or a comma-separated list (one per realm).
pub const ENV_ISSUER: &str = "FHIR_FACADE_OIDC_ISSUER";
/// Environment variable: comma-separated accepted audiences.
pub const ENV_AUDIENCE: &str = "FHIR_FACADE_OIDC_AUDIENCE";
/// Environment variable: the client id for RFC 7662 introspection of opaque tokens.
pub const ENV_INTROSPECTION_CLIENT_ID: &str = "FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_ID";
/// Environment variable: the client secret for RFC 7662 introspection of opaque tokens.
pub const ENV_INTROSPECTION_CLIENT_SECRET: &str = "FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_SECRET";
/// Environment variable: the claim holding the space-separated scopes.
pub const ENV_SCOPE_CLAIM: &str = "FHIR_FACADE_OIDC_SCOPE_CLAIM";
/// Environment variable: the claim holding the launch-context patient id.
pub const ENV_PATIENT_CLAIM: &str = "FHIR_FACADE_OIDC_PATIENT_CLAIM";
/// Environment variable: the claim holding the `fhirUser` reference.
pub const ENV_FHIRUSER_CLAIM: &str = "FHIR_FACADE_OIDC_FHIRUSER_CLAIM";

/// Which claims carry the SMART values; IdPs that cannot emit the standard names map them here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The space-separated scopes (default `scope`).
    pub scope: String,
    /// The launch-context patient id (default `patient`).
    pub patient: String,
    /// The user's FHIR resource reference (default `fhirUser`).
    pub fhir_user: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            scope: "scope".to_owned(),
            patient: "patient".to_owned(),
            fhir_user: "fhirUser".to_owned(),
        }
    }
}

/// The client the facade authenticates as at an issuer's RFC 7662 introspection endpoint, to
/// validate opaque (non-JWT) access tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Introspection {
    /// The issuer whose introspection endpoint is asked; one of the trusted issuers.
    pub issuer: String,
    /// The facade's client id at that issuer.
    pub client_id: String,
    client_secret: String,
}

impl Introspection {
    /// Introspection at `issuer`, authenticating with HTTP Basic as `client_id`.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Introspection {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// The `Authorization` header value: RFC 6749 section 2.3.1 form-encodes id and secret
    /// before joining them.
    pub(crate) fn basic_authorization(&self) -> String {
        use base64::Engine;
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(&self.client_secret)
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// What the token validator trusts and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    issuers: Vec<String>,
    audiences: Vec<String>,
    /// The claim names read from a validated token.
    pub claims: ClaimNames,
    /// Clock skew tolerated on `exp` and `nbf` (default 30 s).
    pub leeway: Duration,
    /// The shortest time between two key refreshes of one issuer (default 30 s), so tokens with
    /// made-up key ids cannot make the server hammer the IdP.
    pub min_refresh_interval: Duration,
    /// The time limit of one request to an issuer, connection included (default 10 s).
    pub fetch_timeout: Duration,
    /// Introspection of opaque tokens; `None` (the default) refuses every non-JWT token.
    pub introspection: Option<Introspection>,
}

impl AuthConfig {
    /// A configuration trusting `issuers` and accepting tokens for any of `audiences`.
    ///
    /// Fails when there is no issuer or no audience, or when an issuer is not an absolute
    /// `https://` URL (`http://` is allowed on a loopback host only, for local development).
    pub fn new(
        issuers: impl IntoIterator<Item = impl Into<String>>,
        audiences: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, AuthError> {
        let issuers: Vec<String> = issuers.into_iter().map(Into::into).collect();
        let audiences: Vec<String> = audiences.into_iter().map(Into::into).collect();
        if issuers.is_empty() {
            return Err(AuthError::Config("no trusted issuer".to_owned()));
        }
        if audiences.iter().all(|a| a.is_empty()) {
            return Err(AuthError::Config("no accepted audience".to_owned()));
        }
        for issuer in &issuers {
            check_fetch_url(issuer)?;
            // OIDC Discovery 1.0 section 3: an issuer has no query or fragment.
            if issuer.contains(['?', '#']) {
                return Err(AuthError::Config(format!(
                    "{issuer}: an issuer has no query or fragment"
                )));
            }
        }
        Ok(AuthConfig {
            issuers,
            audiences: audiences.into_iter().filter(|a| !a.is_empty()).collect(),
            claims: ClaimNames::default(),
            leeway: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(10),
            introspection: None,
        })
    }

    /// The configuration from the process environment; `Ok(None)` when no issuer is set, which
    /// means the server runs without authorization.
    ///
    /// Introspection is enabled, at the first issuer, when both
    /// `FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_ID` and `..._SECRET` are set.
    ///
    /// `default_audience` (the server's public base URL) is accepted when
    /// `FHIR_FACADE_OIDC_AUDIENCE` is not set.
    pub fn from_env(default_audience: &str) -> Result<Option<Self>, AuthError> {
        Self::from_lookup(default_audience, |name| std::env::var(name).ok())
    }

    /// As [`AuthConfig::from_env`], reading variables through `lookup` (for tests and for
    /// configuration sources other than the environment).
    pub fn from_lookup(
        default_audience: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, AuthError> {
        let list = |name: &str| -> Vec<String> {
            lookup(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let issuers = list(ENV_ISSUER);
        if issuers.is_empty() {
            return Ok(None);
        }
        let mut audiences = list(ENV_AUDIENCE);
        if audiences.is_empty() {
            audiences.push(default_audience.to_owned());
        }
        let mut config = AuthConfig::new(issuers, audiences)?;
        let claim = |name: &str, default: &mut String| {
            if let Some(value) = lookup(name).map(|v| v.trim().to_owned())
                && !value.is_empty()
            {
                *default = value;
            }
        };
        claim(ENV_SCOPE_CLAIM, &mut config.claims.scope);
        claim(ENV_PATIENT_CLAIM, &mut config.claims.patient);
        claim(ENV_FHIRUSER_CLAIM, &mut config.claims.fhir_user);
        let nonempty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        config.introspection = match (
            nonempty(ENV_INTROSPECTION_CLIENT_ID),
            nonempty(ENV_INTROSPECTION_CLIENT_SECRET),
        ) {
            (Some(id), Some(secret)) => Some(Introspection::new(
                config.issuers[0].clone(),
                id.trim(),
                secret,
            )),
            (None, None) => None,
            _ => {
                return Err(AuthError::Config(format!(
                    "{ENV_INTROSPECTION_CLIENT_ID} and {ENV_INTROSPECTION_CLIENT_SECRET} go together"
                )));
            }
        };
        Ok(Some(config))
    }

    /// The trusted issuers, exactly as their tokens' `iss` must read.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
}

/// Checks that keys may be fetched from `url`: `https://`, or `http://` on a loopback host,
/// because over plain HTTP anyone on the path could swap the signing keys.
pub(crate) fn check_fetch_url(url: &str) -> Result<(), AuthError> {
    let invalid = |why: &str| AuthError::Config(format!("{url}: {why}"));
    let uri: hyper::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    let host = uri.host().ok_or_else(|| invalid("not an absolute URL"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(invalid("http:// is only allowed on a loopback host")),
        _ => Err(invalid("the scheme must be https")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_may_use_http() {
        for url in [
            "http://127.0.0.1:8080/realms/fhir",
            "http://127.9.9.9/x",
            "http://[::1]:9000",
            "http://LOCALHOST:8080",
            "https://idp.example.org/realms/fhir",
        ] {
            assert_eq!(check_fetch_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn other_hosts_need_https() {
        for url in [
            "http://idp.example.org/realms/fhir",
            "http://10.0.0.1/x",
            "http://localhost.example.org/x",
            "ftp://127.0.0.1/x",
            "/realms/fhir",
        ] {
            assert!(
                matches!(check_fetch_url(url), Err(AuthError::Config(_))),
                "{url}"
            );
        }
    }
}
