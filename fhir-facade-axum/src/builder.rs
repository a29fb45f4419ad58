//! [`FhirRouter`]: the FHIR REST routes over a [`Facade`], as an `axum::Router`.

#[cfg(feature = "smart")]
use crate::auth::{AuditSink, TokenValidator};
use crate::limits::RequestLimits;
use crate::probes::Probes;
use crate::router::routes;
use crate::state::{AppState, Shared};
#[cfg(feature = "smart")]
use crate::state::{Audit, Guard};
use axum::Router;
use axum::http::HeaderValue;
use fhir_facade_core::capability::Implementation;
use fhir_facade_core::{CapabilityOptions, Error, Facade};
#[cfg(feature = "smart")]
use std::sync::Arc;

/// The default body limit: 4 MiB, enough for a large batch, small enough to bound memory.
const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The environment variable [`FhirRouterBuilder::cors_origins_from_env`] reads.
pub const CORS_ORIGINS_ENV: &str = "FHIR_FACADE_CORS_ORIGINS";

/// The FHIR REST API over a [`Facade`], as an `axum::Router` to serve or nest anywhere.
///
/// See the [crate documentation](crate) for the routes and an example.
#[derive(Debug)]
pub struct FhirRouter;

impl FhirRouter {
    /// Starts a builder over the facade.
    pub fn builder(facade: Facade) -> FhirRouterBuilder {
        FhirRouterBuilder {
            facade,
            base_url: None,
            body_limit: DEFAULT_BODY_LIMIT,
            limits: RequestLimits::default(),
            capability: None,
            cors_origins: None,
            probes: Probes::new(),
            #[cfg(feature = "smart")]
            validator: None,
            #[cfg(feature = "smart")]
            audit: None,
        }
    }
}

/// Builds the FHIR router; see [`FhirRouter::builder`].
#[derive(Debug)]
pub struct FhirRouterBuilder {
    facade: Facade,
    base_url: Option<String>,
    body_limit: usize,
    limits: RequestLimits,
    capability: Option<CapabilityOptions>,
    cors_origins: Option<Vec<HeaderValue>>,
    probes: Probes,
    #[cfg(feature = "smart")]
    validator: Option<TokenValidator>,
    #[cfg(feature = "smart")]
    audit: Option<Audit>,
}

impl FhirRouterBuilder {
    /// The public base URL for links, `fullUrl` and `Location` (`https://fhir.example/r4`).
    ///
    /// When unset, each request's base is derived from `X-Forwarded-Proto`, `X-Forwarded-Host` or
    /// `Host`, and the path the router is nested under.
    #[must_use]
    pub fn base_url(mut self, base_url: Option<String>) -> Self {
        self.base_url = base_url;
        self
    }

    /// The largest request body accepted, in bytes (default 4 MiB); larger ones get a 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The concurrency and time limits of the routes ([`RequestLimits::default`] unless set):
    /// past them a request is answered 503 or 504 with `Retry-After`.
    #[must_use]
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// What `/metadata` says beyond the providers' declarations. `batch` is always on and
    /// `transaction` always off, as served.
    #[must_use]
    pub fn capability(mut self, options: CapabilityOptions) -> Self {
        self.capability = Some(options);
        self
    }

    /// The origins allowed by CORS. By default any origin is, without credentials.
    #[must_use]
    pub fn cors_origins(mut self, origins: impl IntoIterator<Item = HeaderValue>) -> Self {
        self.cors_origins = Some(origins.into_iter().collect());
        self
    }

    /// The CORS origins from `FHIR_FACADE_CORS_ORIGINS` (comma-separated), when it is set; unset
    /// or empty, any origin stays allowed. An origin that is not a valid header value is a
    /// configuration error, reported rather than dropped, so a typo cannot open or close the
    /// server by surprise.
    pub fn cors_origins_from_env(self) -> Result<Self, Error> {
        self.cors_origins_from(std::env::var(CORS_ORIGINS_ENV).ok().as_deref())
    }

    fn cors_origins_from(self, value: Option<&str>) -> Result<Self, Error> {
        let origins: Vec<&str> = value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(self);
        }
        let parsed = origins
            .into_iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    Error::Config(format!("{CORS_ORIGINS_ENV}: {o:?} is not a valid origin"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.cors_origins(parsed))
    }

    /// The probes the requests are recorded in (metrics, draining); share them with
    /// [`probes_router`](crate::probes_router) and `serve`.
    #[must_use]
    pub fn probes(mut self, probes: Probes) -> Self {
        self.probes = probes;
        self
    }

    /// Protects the routes with SMART on FHIR: every request but `GET /metadata`,
    /// `GET /.well-known/smart-configuration` and CORS preflights needs a valid
    /// `Authorization: Bearer` token (401 otherwise), and every interaction is limited to what
    /// the token's scopes grant (403 otherwise). `/.well-known/smart-configuration` and, unless
    /// [`capability`](Self::capability) sets `security`, the CapabilityStatement's
    /// `rest.security` describe the first trusted issuer. Without it the routes are open.
    #[cfg(feature = "smart")]
    #[must_use]
    pub fn auth(mut self, validator: TokenValidator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Records one [`AccessEvent`](crate::auth::AccessEvent) per request that reaches a
    /// resource (not `/metadata` or the SMART document), and one per entry of a batch, with its
    /// final outcome and the token's client, user and patient. A request whose event cannot be
    /// recorded is answered with a 500 instead.
    #[cfg(feature = "smart")]
    #[must_use]
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(Audit(sink));
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        let mut capability = self.capability.unwrap_or_else(|| {
            let today = time::OffsetDateTime::now_utc().date().to_string();
            CapabilityOptions::new(
                today,
                Implementation {
                    description: "FHIR facade".to_owned(),
                    url: self.base_url.clone(),
                },
            )
        });
        capability.batch = true;
        capability.transaction = false;
        let state = AppState::new(Shared {
            facade: self.facade,
            base_url: self.base_url,
            capability,
            probes: self.probes,
            #[cfg(feature = "smart")]
            guard: self.validator.map(Guard::new),
            #[cfg(feature = "smart")]
            audit: self.audit,
        });
        routes(state, self.body_limit, &self.limits, self.cors_origins)
    }
}

#[cfg(test)]
mod cors_configuration {
    use super::*;

    fn builder() -> FhirRouterBuilder {
        FhirRouter::builder(Facade::builder().build().unwrap())
    }

    #[test]
    fn origins_come_from_a_comma_separated_list() {
        let configured = builder()
            .cors_origins_from(Some("https://a.example, https://b.example,"))
            .unwrap();
        assert_eq!(
            configured.cors_origins,
            Some(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("https://b.example"),
            ])
        );
        for open in [None, Some(""), Some(" , ")] {
            assert_eq!(
                builder().cors_origins_from(open).unwrap().cors_origins,
                None
            );
        }
        assert!(
            builder()
                .cors_origins_from(Some("https://a\nexample"))
                .is_err_and(|e| matches!(e, Error::Config(_)))
        );
    }
}
