//! Deployment settings from the environment, the same for every binary built on this crate.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `FHIR_FACADE_LISTEN` | the socket address to listen on | `127.0.0.1:8080` |
//! | `FHIR_FACADE_BASE_URL` | the public FHIR base for links (`https://fhir.example/fhir`) | derived from each request |
//! | `FHIR_FACADE_OIDC_*` | SMART on FHIR authorization ([`AuthConfig::from_env`]) | none: the API is open |
//! | `FHIR_FACADE_AUDIT_FILE` | a file that access decisions are appended to, as `AuditEvent` JSON lines | no audit records |
//! | `FHIR_FACADE_CORS_ORIGINS` | the origins CORS allows ([`FhirRouterBuilder::cors_origins_from_env`](crate::FhirRouterBuilder::cors_origins_from_env)) | any origin |
//!
//! Only configuration is read here; nothing a second replica would need is kept.

use crate::auth::{AuthConfig, JsonLinesAuditSink, TokenValidator};
use crate::{FhirRouter, Probes, ShutdownConfig};
use axum::Router;
use fhir_facade_core::{Error, Facade};
use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Environment variable: the socket address to listen on.
pub const LISTEN_ENV: &str = "FHIR_FACADE_LISTEN";
/// Environment variable: the public FHIR base URL.
pub const BASE_URL_ENV: &str = "FHIR_FACADE_BASE_URL";
/// Environment variable: the file audit records are appended to.
pub const AUDIT_FILE_ENV: &str = "FHIR_FACADE_AUDIT_FILE";
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
    /// [`Error::Config`].
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
        Ok(ServerSettings {
            listen,
            base_url,
            auth,
            audit_file: value(AUDIT_FILE_ENV).map(PathBuf::from),
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
    /// until SIGTERM or Ctrl-C, draining as [`ShutdownConfig::default`] says.
    pub async fn serve(
        &self,
        facade: Facade,
        probes: Probes,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let app = self.router(facade, &probes)?;
        crate::serve(app, self.listen, probes, ShutdownConfig::default()).await?;
        Ok(())
    }
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
