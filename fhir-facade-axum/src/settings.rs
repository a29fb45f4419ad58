//! Deployment settings from the environment, the same for every binary built on this crate.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `FHIR_FACADE_LISTEN` | the socket address to listen on | `127.0.0.1:8080` |
//! | `FHIR_FACADE_BASE_URL` | the public FHIR base for links (`https://fhir.example/fhir`) | derived from each request |
//! | `FHIR_FACADE_OIDC_*` | SMART on FHIR authorization ([`AuthConfig::from_env`]) | none: the API is open |
//! | `FHIR_FACADE_AUDIT_FILE` | a file that access decisions are appended to, as `AuditEvent` JSON lines | no audit records |
//! | `FHIR_FACADE_CORS_ORIGINS` | the origins CORS allows ([`FhirRouterBuilder::cors_origins_from_env`](crate::FhirRouterBuilder::cors_origins_from_env)) | any origin |
//! | `FHIR_FACADE_DB_MAX_CONNECTIONS` | the most connections the database pool opens | `8` |
//! | `FHIR_FACADE_DB_ACQUIRE_TIMEOUT` | the longest a statement waits for a pooled connection (then 503) | `2s` |
//! | `FHIR_FACADE_DB_STATEMENT_TIMEOUT` | the longest a statement may take, waiting included (then 504) | `30s` |
//! | `FHIR_FACADE_MAX_CONCURRENT_REQUESTS` | the most requests served at once (past it: 503 at once) | `256` |
//! | `FHIR_FACADE_REQUEST_TIMEOUT` | the longest a request may take until its response headers (then 504) | `60s` |
//! | `FHIR_FACADE_HEADER_READ_TIMEOUT` | the longest a client may take to send a request's headers (then the connection closes) | `10s` |
//!
//! Durations are a number with a unit, `ms` or `s` (`500ms`, `2s`, `1.5s`); a bare number is
//! seconds. 503 and 504 answers carry `Retry-After`.
//!
//! Only configuration is read here; nothing a second replica would need is kept.

use crate::auth::{AuthConfig, JsonLinesAuditSink, TokenValidator};
use crate::{FhirRouter, Probes, RequestLimits, ServeConfig};
use axum::Router;
use fhir_facade_core::sql::PoolSettings;
use fhir_facade_core::{Error, Facade};
use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable: the socket address to listen on.
pub const LISTEN_ENV: &str = "FHIR_FACADE_LISTEN";
/// Environment variable: the public FHIR base URL.
pub const BASE_URL_ENV: &str = "FHIR_FACADE_BASE_URL";
/// Environment variable: the file audit records are appended to.
pub const AUDIT_FILE_ENV: &str = "FHIR_FACADE_AUDIT_FILE";
/// Environment variable: the most connections the database pool opens.
pub const DB_MAX_CONNECTIONS_ENV: &str = "FHIR_FACADE_DB_MAX_CONNECTIONS";
/// Environment variable: the longest a statement waits for a pooled connection.
pub const DB_ACQUIRE_TIMEOUT_ENV: &str = "FHIR_FACADE_DB_ACQUIRE_TIMEOUT";
/// Environment variable: the longest a statement may take.
pub const DB_STATEMENT_TIMEOUT_ENV: &str = "FHIR_FACADE_DB_STATEMENT_TIMEOUT";
/// Environment variable: the most requests served at once.
pub const MAX_CONCURRENT_REQUESTS_ENV: &str = "FHIR_FACADE_MAX_CONCURRENT_REQUESTS";
/// Environment variable: the longest a request may take.
pub const REQUEST_TIMEOUT_ENV: &str = "FHIR_FACADE_REQUEST_TIMEOUT";
/// Environment variable: the longest a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT_ENV: &str = "FHIR_FACADE_HEADER_READ_TIMEOUT";
/// The path the FHIR API is served under by [`ServerSettings::router`].
pub const FHIR_PATH: &str = "/fhir";

/// How a facade binary is deployed: where it listens, its public base, and its authorization.
///
/// ```
/// use fhir_facade_axum::ServerSettings;
///
/// let settings = ServerSettings::from_lookup(|name| match name {
///     "FHIR_FACADE_LISTEN" => Some("0.0.0.0:9000".to_owned()),
///     "FHIR_FACADE_BASE_URL" => Some("https://fhir.example/fhir".to_owned()),
///     "FHIR_FACADE_OIDC_ISSUER" => Some("https://idp.example/realms/kis".to_owned()),
///     _ => None,
/// })
/// .unwrap();
/// assert_eq!(settings.listen.port(), 9000);
/// // The accepted audience defaults to the base URL.
/// assert_eq!(settings.auth.unwrap().audiences(), ["https://fhir.example/fhir"]);
/// ```
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The socket address to listen on.
    pub listen: SocketAddr,
    /// The public FHIR base URL; `None` derives it from each request.
    pub base_url: Option<String>,
    /// SMART authorization; `None` leaves the API open.
    pub auth: Option<AuthConfig>,
    /// Where audit records go; `None` records none.
    pub audit_file: Option<PathBuf>,
    /// The database pool: its size and time limits, for the adapter the binary connects.
    pub database: PoolSettings,
    /// The request limits of the replica.
    pub limits: RequestLimits,
}

impl ServerSettings {
    /// The settings from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from `lookup` (for tests and other configuration sources).
    ///
    /// Fails on a listen address that does not parse, a base URL that is not `http(s)://`, an
    /// invalid SMART configuration, or an issuer with no audience to check tokens against
    /// (neither `FHIR_FACADE_OIDC_AUDIENCE` nor `FHIR_FACADE_BASE_URL` set), each an
    /// [`Error::Config`]. So is a limit that is not a positive number or duration.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let listen = match value(LISTEN_ENV) {
            Some(addr) => addr.parse().map_err(|_| {
                Error::Config(format!(
                    "{LISTEN_ENV}: {addr:?} is not a socket address (host:port)"
                ))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let base_url = value(BASE_URL_ENV).map(|b| b.trim_end_matches('/').to_owned());
        if let Some(base) = &base_url
            && !(base.starts_with("https://") || base.starts_with("http://"))
        {
            return Err(Error::Config(format!(
                "{BASE_URL_ENV}: {base:?} is not an http(s) URL"
            )));
        }
        let auth = AuthConfig::from_lookup(base_url.as_deref().unwrap_or_default(), &lookup)
            .map_err(|e| Error::Config(e.to_string()))?;
        let pool = PoolSettings::default();
        let limits = RequestLimits::default();
        let count = |name: &str, default: usize| match value(name) {
            Some(text) => positive_count(name, &text),
            None => Ok(default),
        };
        let duration = |name: &str, default: Duration| match value(name) {
            Some(text) => positive_duration(name, &text),
            None => Ok(default),
        };
        Ok(ServerSettings {
            listen,
            base_url,
            auth,
            audit_file: value(AUDIT_FILE_ENV).map(PathBuf::from),
            database: PoolSettings {
                max_connections: u32::try_from(count(
                    DB_MAX_CONNECTIONS_ENV,
                    pool.max_connections as usize,
                )?)
                .unwrap_or(u32::MAX),
                acquire_timeout: duration(DB_ACQUIRE_TIMEOUT_ENV, pool.acquire_timeout)?,
                statement_timeout: duration(DB_STATEMENT_TIMEOUT_ENV, pool.statement_timeout)?,
            },
            limits: RequestLimits {
                max_concurrent_requests: count(
                    MAX_CONCURRENT_REQUESTS_ENV,
                    limits.max_concurrent_requests,
                )?,
                request_timeout: duration(REQUEST_TIMEOUT_ENV, limits.request_timeout)?,
                header_read_timeout: duration(HEADER_READ_TIMEOUT_ENV, limits.header_read_timeout)?,
            },
        })
    }

    /// The application: the FHIR API of `facade` under [`FHIR_PATH`], with authorization and
    /// audit as configured, recording into `probes`. Logs a warning when the API is open.
    ///
    /// A configuration that cannot be used (a CORS origin, the auth settings, the audit file) is
    /// an [`Error::Config`].
    pub fn router(&self, facade: Facade, probes: &Probes) -> Result<Router, Error> {
        let mut fhir = FhirRouter::builder(facade)
            .base_url(self.base_url.clone())
            .limits(self.limits)
            .probes(probes.clone())
            .cors_origins_from_env()?;
        match &self.auth {
            Some(auth) => {
                let validator = TokenValidator::new(auth.clone())?;
                fhir = fhir.auth(validator);
                tracing::info!(issuers = ?auth.issuers(), "SMART authorization enforced");
            }
            None => tracing::warn!(
                "FHIR_FACADE_OIDC_ISSUER is not set: the FHIR API is open to anyone who can reach it"
            ),
        }
        if let Some(path) = &self.audit_file {
            let file: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::Config(format!("{AUDIT_FILE_ENV}: {}: {e}", path.display())))?;
            fhir = fhir.audit(Arc::new(JsonLinesAuditSink::new(file)));
        }
        Ok(Router::new().nest(FHIR_PATH, fhir.build()))
    }

    /// Serves [`router`](Self::router) and the probes routes on [`listen`](Self::listen)
    /// until SIGTERM or Ctrl-C, draining as [`ServeConfig::default`] says, with the header-read
    /// time of [`limits`](Self::limits).
    pub async fn serve(
        &self,
        facade: Facade,
        probes: Probes,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let app = self.router(facade, &probes)?;
        let config = ServeConfig {
            header_read_timeout: self.limits.header_read_timeout,
            ..ServeConfig::default()
        };
        crate::serve(app, self.listen, probes, config).await?;
        Ok(())
    }
}

/// A whole number ≥ 1.
fn positive_count(name: &str, text: &str) -> Result<usize, Error> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::Config(format!(
            "{name}: {text:?} is not a whole number of at least 1"
        ))),
    }
}

/// A duration above zero: `500ms`, `2s`, `1.5s`, or a bare number of seconds.
fn positive_duration(name: &str, text: &str) -> Result<Duration, Error> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 1e-3),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|n| Duration::try_from_secs_f64(n * unit).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Config(format!(
                "{name}: {text:?} is not a duration above zero (500ms, 2s)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<ServerSettings, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ServerSettings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_listen_on_loopback_and_stay_open() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(s.base_url.is_none() && s.auth.is_none() && s.audit_file.is_none());
        assert_eq!(s.database, PoolSettings::default());
        assert_eq!(s.limits, RequestLimits::default());
    }

    #[test]
    fn limits_are_read_with_their_units() {
        let s = settings(&[
            (DB_MAX_CONNECTIONS_ENV, "20"),
            (DB_ACQUIRE_TIMEOUT_ENV, "500ms"),
            (DB_STATEMENT_TIMEOUT_ENV, "1.5s"),
            (MAX_CONCURRENT_REQUESTS_ENV, "64"),
            (REQUEST_TIMEOUT_ENV, "90"),
            (HEADER_READ_TIMEOUT_ENV, "3s"),
        ])
        .unwrap();
        assert_eq!(s.database.max_connections, 20);
        assert_eq!(s.database.acquire_timeout, Duration::from_millis(500));
        assert_eq!(s.database.statement_timeout, Duration::from_millis(1500));
        assert_eq!(s.limits.max_concurrent_requests, 64);
        assert_eq!(s.limits.request_timeout, Duration::from_secs(90));
        assert_eq!(s.limits.header_read_timeout, Duration::from_secs(3));
    }

    #[test]
    fn limits_that_are_no_positive_amount_are_refused() {
        for (name, text) in [
            (DB_MAX_CONNECTIONS_ENV, "0"),
            (MAX_CONCURRENT_REQUESTS_ENV, "many"),
            (DB_ACQUIRE_TIMEOUT_ENV, "0s"),
            (REQUEST_TIMEOUT_ENV, "-1"),
            (HEADER_READ_TIMEOUT_ENV, "10 minutes"),
            (DB_STATEMENT_TIMEOUT_ENV, "1e400"),
        ] {
            let err = settings(&[(name, text)]).unwrap_err();
            assert!(
                matches!(&err, Error::Config(m) if m.starts_with(name)),
                "{name}={text}: {err}"
            );
        }
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash_and_must_be_http() {
        let s = settings(&[(BASE_URL_ENV, "https://h.example/fhir/")]).unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://h.example/fhir"));
        assert!(settings(&[(BASE_URL_ENV, "h.example/fhir")]).is_err());
    }

    #[test]
    fn bad_listen_addresses_are_reported() {
        let err = settings(&[(LISTEN_ENV, "localhost")]).unwrap_err();
        assert!(err.to_string().contains(LISTEN_ENV));
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn an_issuer_needs_an_audience() {
        let issuer = ("FHIR_FACADE_OIDC_ISSUER", "https://idp.example/realms/r");
        assert!(settings(&[issuer]).is_err());
        let s = settings(&[issuer, ("FHIR_FACADE_OIDC_AUDIENCE", "fhir-api")]).unwrap();
        assert_eq!(s.auth.unwrap().audiences(), ["fhir-api"]);
    }
}
