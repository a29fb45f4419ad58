//! Deliberately broken providers for the self-test: the suite must notice each fault.

use async_trait::async_trait;
use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::{
    Constraint, Context, Interactions, Resource, ResourceProvider, Result, SearchPage, SearchQuery,
};

/// The fault a [`Faulty`] provider has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Searches ignore `_count` and return up to the translator's default page.
    IgnoresCount,
    /// Every call drops the patient-compartment constraint (a provider that forgot to apply it).
    DropsCompartment,
}

/// A provider with a fault, delegating everything else to a correct one.
pub(crate) struct Faulty<P> {
    pub(crate) inner: P,
    pub(crate) fault: Fault,
}

impl<P> Faulty<P> {
    fn ctx(&self, ctx: &Context) -> Context {
        let mut ctx = ctx.clone();
        if self.fault == Fault::DropsCompartment {
            ctx.constraints
                .retain(|c| !matches!(c, Constraint::Compartment { .. }));
        }
        ctx
    }
}

#[async_trait]
impl<P: ResourceProvider> ResourceProvider for Faulty<P> {
    fn resource_type(&self) -> &str {
        self.inner.resource_type()
    }

    fn interactions(&self) -> Interactions {
        self.inner.interactions()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.inner.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.inner.read(id, &self.ctx(ctx)).await
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.inner.read_many(ids, &self.ctx(ctx)).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let mut query = query.clone();
        if self.fault == Fault::IgnoresCount && query.result.count != Some(0) {
            query.result.count = None;
        }
        self.inner.search(&query, &self.ctx(ctx)).await
    }
}
