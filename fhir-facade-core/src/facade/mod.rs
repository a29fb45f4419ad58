//! [`Facade`]: the FHIR interactions over the registered providers, independent of HTTP.
//!
//! The HTTP binding maps routes to these methods; everything FHIR decides — which interactions
//! exist, how a search is parsed, paged and completed with includes — happens here once.

mod confine;
mod everything;
#[cfg(test)]
mod fixture;
mod history;
mod include;
mod search;
mod write;

use crate::capability::{CapabilityOptions, capability_statement};
use crate::provider::Interaction;
use crate::search::{Handling, ParseOptions, SupportedParams};
use crate::{Context, Error, PageSize, ResourceProvider, Result, SearchQuery};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The registered providers and the rules that apply to all of them.
#[derive(Clone)]
pub struct Facade {
    providers: BTreeMap<String, Arc<dyn ResourceProvider>>,
    params: SupportedParams,
    page_size: PageSize,
    max_included: u32,
}

impl std::fmt::Debug for Facade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facade")
            .field("resource_types", &self.providers.keys().collect::<Vec<_>>())
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Facade`].
#[derive(Default)]
pub struct FacadeBuilder {
    providers: Vec<Arc<dyn ResourceProvider>>,
    page_size: Option<PageSize>,
    max_included: Option<u32>,
}

impl FacadeBuilder {
    /// Registers a provider.
    #[must_use]
    pub fn provider(self, provider: impl ResourceProvider + 'static) -> Self {
        self.shared_provider(Arc::new(provider))
    }

    /// Registers a provider that is shared with other code.
    #[must_use]
    pub fn shared_provider(mut self, provider: Arc<dyn ResourceProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// The default and maximum page size (default 20 and 100).
    #[must_use]
    pub fn page_size(mut self, page_size: PageSize) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The most resources one `_include` or `_revinclude` path adds to a page (default 1000).
    #[must_use]
    pub fn max_included(mut self, max: u32) -> Self {
        self.max_included = Some(max);
        self
    }

    /// The facade; two providers for one resource type are a configuration error.
    pub fn build(self) -> Result<Facade> {
        let mut providers = BTreeMap::new();
        let mut params = SupportedParams::new();
        for provider in self.providers {
            let resource_type = provider.resource_type().to_owned();
            params.insert(resource_type.clone(), provider.search_params());
            if providers.insert(resource_type.clone(), provider).is_some() {
                return Err(Error::Config(format!(
                    "two providers registered for {resource_type}"
                )));
            }
        }
        Ok(Facade {
            providers,
            params,
            page_size: self.page_size.unwrap_or_default(),
            max_included: self.max_included.unwrap_or(1000),
        })
    }
}

/// A search as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    /// The resource type searched.
    pub resource_type: &'a str,
    /// The query string or form body, URL-encoded.
    pub query: &'a str,
    /// `Prefer: handling=strict|lenient`.
    pub handling: Handling,
    /// The base URL of this server as the client sees it, for links and `fullUrl`s.
    pub base_url: &'a str,
    /// For a compartment search (`Patient/{id}/Observation`): the compartment's type and id.
    pub compartment: Option<(&'a str, &'a str)>,
}

impl Facade {
    /// Starts a builder.
    pub fn builder() -> FacadeBuilder {
        FacadeBuilder::default()
    }

    /// The registered providers, by resource type.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn ResourceProvider>> {
        self.providers.values()
    }

    /// The search parameters each type supports.
    pub fn supported_params(&self) -> &SupportedParams {
        &self.params
    }

    /// The provider for a type: 404 when the type is not served.
    pub fn provider(&self, resource_type: &str) -> Result<&Arc<dyn ResourceProvider>> {
        self.providers
            .get(resource_type)
            .ok_or_else(|| Error::UnknownResourceType(resource_type.to_owned()))
    }

    /// The provider for a type when it declares `interaction`: 404 for an unknown type, 405 for an
    /// interaction it does not declare.
    pub fn provider_for(
        &self,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<&Arc<dyn ResourceProvider>> {
        let provider = self.provider(resource_type)?;
        if provider.interactions().contains(interaction) {
            Ok(provider)
        } else {
            Err(Error::not_supported(resource_type, interaction.code()))
        }
    }

    /// Parses a search against the parameters the type supports.
    pub fn parse_search(
        &self,
        resource_type: &str,
        query: &str,
        handling: Handling,
        base_url: &str,
    ) -> Result<SearchQuery> {
        let options = ParseOptions {
            handling,
            base_url: Some(base_url),
        };
        SearchQuery::parse(resource_type, query, &self.params, &options)
    }

    /// The criteria of a conditional interaction: parsed strictly, because an ignored parameter
    /// would widen the match, and never empty, because no criteria would match everything.
    pub(super) fn parse_conditional(
        &self,
        resource_type: &str,
        criteria: &str,
        base_url: &str,
    ) -> Result<SearchQuery> {
        let query = self.parse_search(resource_type, criteria, Handling::Strict, base_url)?;
        if query.criteria.is_empty() {
            return Err(Error::BadRequest(
                "a conditional interaction needs search criteria".to_owned(),
            ));
        }
        Ok(query)
    }

    /// The context for one provider call: the request's constraints plus what its access policy
    /// demands for this type and interaction (403 when it allows nothing).
    pub(super) fn scoped(
        &self,
        ctx: &Context,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Context> {
        let mut scoped = ctx.clone();
        if let Some(access) = &ctx.access {
            scoped.constraints.extend(access.constraints(
                resource_type,
                interaction,
                &self.params,
            )?);
        }
        Ok(scoped)
    }

    /// Like [`scoped`](Self::scoped) for the calls that complete a page: a type the caller may not
    /// see is left out of the page (`Ok(None)`), not an error for the whole search.
    pub(super) fn scoped_include(
        &self,
        ctx: &Context,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Option<Context>> {
        match self.scoped(ctx, resource_type, interaction) {
            Ok(scoped) => Ok(Some(scoped)),
            Err(Error::Forbidden(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The CapabilityStatement of exactly what the registered providers declare, with
    /// `Patient/$everything` when [`everything`](Self::everything) can serve it.
    pub fn capability_statement(&self, options: &CapabilityOptions) -> serde_json::Value {
        let providers: Vec<Arc<dyn ResourceProvider>> = self.providers.values().cloned().collect();
        let mut statement = capability_statement(&providers, options);
        if self.serves_everything() {
            let resources = statement["rest"][0]["resource"].as_array_mut();
            if let Some(patient) = resources
                .into_iter()
                .flatten()
                .find(|r| r["type"] == "Patient")
            {
                patient["operation"] = serde_json::json!([{
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }]);
            }
        }
        statement
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;
    use crate::{MemoryProvider, Resource};
    use serde_json::json;

    #[tokio::test]
    async fn undeclared_interactions_and_unknown_types() {
        let (facade, ..) = fixture();
        let ctx = Context::new();
        let patient = Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap();
        let err = facade.delete("Patient", "p1", &ctx).await.unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade
            .update("Patient", "p1", patient.clone(), None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade
            .create("Patient", patient, None, BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade.read("Nonsense", "1", &ctx).await.unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(
            facade
                .read("Patient", "nope", &ctx)
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            facade.read("Patient", "p1", &ctx).await.unwrap().id(),
            Some("p1")
        );
    }

    #[test]
    fn conditional_criteria_are_strict_and_never_empty() {
        let (facade, ..) = fixture();
        for criteria in ["", "_count=1", "bonkers=1"] {
            let err = facade
                .parse_conditional("Patient", criteria, BASE)
                .unwrap_err();
            assert_eq!(err.status(), 400, "{criteria:?}");
        }
        assert!(facade.parse_conditional("Patient", "_id=p1", BASE).is_ok());
    }

    #[tokio::test]
    async fn two_providers_for_one_type_is_a_configuration_error() {
        let result = Facade::builder()
            .provider(MemoryProvider::new("Patient"))
            .provider(MemoryProvider::new("Patient"))
            .build();
        assert!(matches!(result, Err(Error::Config(_))));
    }
}
