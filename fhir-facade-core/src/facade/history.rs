//! The history interactions.

use super::Facade;
use super::confine::confine;
use crate::bundle::{Bundle, LinkRelation};
use crate::provider::Interaction;
use crate::search::{Handling, PageToken, ParseOptions, SupportedParams};
use crate::{Context, Error, Result, SearchQuery};

impl Facade {
    /// `GET [base]/[type]/[id]/_history` (`id` given) or `GET [base]/[type]/_history`.
    ///
    /// The query may carry `_count` and the paging parameters of a previous page's links.
    pub async fn history(
        &self,
        resource_type: &str,
        id: Option<&str>,
        query: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Bundle> {
        let interaction = if id.is_some() {
            Interaction::HistoryInstance
        } else {
            Interaction::HistoryType
        };
        let provider = self.provider_for(resource_type, interaction)?;
        // History takes only result parameters; the type's search parameters do not apply.
        let mut parsed = SearchQuery::parse(
            resource_type,
            query,
            &SupportedParams::new(),
            &ParseOptions {
                handling: Handling::Strict,
                base_url: Some(base_url),
            },
        )?;
        parsed.result.count = Some(self.page_size.effective(parsed.result.count).max(1));
        let ctx = self.scoped(ctx, resource_type, interaction)?;
        let mut page = match id {
            Some(id) => provider.history_instance(id, &parsed, &ctx).await?,
            None => provider.history_type(&parsed, &ctx).await?,
        };
        let returned = page.resources.len();
        let resources = confine(page.resources, &ctx, base_url);
        if resources.len() < returned {
            // As for a search: a total counted past the constraints is not shown.
            page.total = None;
            // Versions that all lie outside the caller's compartment are a resource it may not
            // see: "not found", like a read, instead of an empty history that tells it exists.
            if let Some(id) = id
                && resources.is_empty()
            {
                return Err(Error::NotFound {
                    resource_type: resource_type.to_owned(),
                    id: id.to_owned(),
                });
            }
        }
        let base = base_url.trim_end_matches('/');
        let path = match id {
            Some(id) => format!("{resource_type}/{id}/_history"),
            None => format!("{resource_type}/_history"),
        };
        let link = |token: Option<PageToken>| {
            let mut linked = parsed.clone();
            linked.result.page = token;
            format!("{base}/{path}?{}", linked.to_query_string())
        };
        let mut bundle = Bundle::history(base);
        bundle.add_link(LinkRelation::SelfLink, link(parsed.result.page.clone()));
        if let Some(next) = page.next {
            bundle.add_link(LinkRelation::Next, link(Some(next)));
        }
        if let Some(total) = page.total {
            bundle.set_total(total);
        }
        for resource in resources {
            let created = resource.version_id() == Some("1");
            bundle.add_version(resource, created);
        }
        Ok(bundle)
    }
}
