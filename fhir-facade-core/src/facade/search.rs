//! Searches: parsing, the authorization of every type a search touches, paging and the
//! searchset Bundle.

use super::confine::confine;
use super::{Facade, SearchRequest};
use crate::bundle::{Bundle, LinkRelation};
use crate::error::{Issue, IssueType, Severity};
use crate::provider::Interaction;
use crate::search::{Criterion, PageToken, Summary};
use crate::{Constraint, Context, Error, Resource, Result, SearchQuery};
use std::collections::BTreeSet;

impl Facade {
    /// `GET [base]/[type]{?query}`, `POST [base]/[type]/_search` and compartment searches.
    pub async fn search(&self, request: &SearchRequest<'_>, ctx: &Context) -> Result<Bundle> {
        let provider = self.provider_for(request.resource_type, Interaction::SearchType)?;
        let mut query = self.parse_search(
            request.resource_type,
            request.query,
            request.handling,
            request.base_url,
        )?;
        let count = self.page_size.effective(query.result.count);
        query.result.count = Some(count);
        if count == 0 {
            query.result.summary = Some(Summary::Count);
        }
        let mut search_ctx = self.scoped(ctx, request.resource_type, Interaction::SearchType)?;
        // A chain or `_has` searches its types as well: the caller must be allowed to.
        let mut joined = BTreeSet::new();
        joined_types(&query.criteria, &mut joined);
        for resource_type in &joined {
            let joined_ctx = self.scoped(ctx, resource_type, Interaction::SearchType)?;
            // A query-narrowed scope on a joined type would have to hold inside the chain's
            // subquery, where nothing applies it: refuse rather than let the chain look past it.
            let narrowed = joined_ctx.constraints[ctx.constraints.len()..]
                .iter()
                .any(|c| matches!(c, Constraint::Criterion(_)));
            if narrowed {
                return Err(Error::Forbidden(format!(
                    "the scope for {resource_type} is narrowed by a query, which a chain or _has \
                     cannot apply"
                )));
            }
        }
        if let Some((compartment_type, id)) = request.compartment {
            search_ctx.constraints.push(Constraint::Compartment {
                compartment_type: compartment_type.to_owned(),
                id: id.to_owned(),
            });
        }
        let mut page = provider.search(&query, &search_ctx).await?;
        let returned = page.resources.len();
        page.resources = confine(page.resources, &search_ctx, request.base_url);
        if page.resources.len() < returned {
            // The provider ignored a constraint, so its total counted what the caller may not
            // see: how much another patient has is not for this caller either.
            page.total = None;
        }
        // A first page with no next page holds every match, so the total is known for free
        // (search.html#total) — unless the provider ignored a constraint, whose paging is not
        // to be trusted either.
        if page.total.is_none()
            && page.resources.len() == returned
            && page.next.is_none()
            && query.result.page.is_none()
            && query.result.summary != Some(Summary::Count)
        {
            page.total = Some(page.resources.len() as u64);
        }
        let (included, capped) = if query.result.summary == Some(Summary::Count) {
            Default::default()
        } else {
            self.included(&query, &page.resources, request.base_url, ctx)
                .await?
        };
        let path = match request.compartment {
            Some((compartment_type, id)) => {
                format!("{compartment_type}/{id}/{}", request.resource_type)
            }
            None => request.resource_type.to_owned(),
        };
        // A client must not take a capped include for all there is.
        let warnings = (!capped.is_empty()).then(|| Issue {
            severity: Severity::Warning,
            code: IssueType::TooCostly,
            diagnostics: format!(
                "only the first {} resources of each of these were included: {}",
                self.max_included,
                capped.into_iter().collect::<Vec<_>>().join(", ")
            ),
            expression: None,
        });
        Ok(searchset(
            request.base_url,
            &path,
            &query,
            page,
            included,
            warnings.into_iter().collect(),
        ))
    }
}

/// The searchset for one page: links rebuilt from the parsed query (never from the raw URL, so
/// ignored parameters stay out), matches, includes, and an outcome entry with `warnings` and a
/// warning about what was ignored.
pub(super) fn searchset(
    base_url: &str,
    path: &str,
    query: &SearchQuery,
    page: crate::SearchPage,
    included: Vec<Resource>,
    mut warnings: Vec<Issue>,
) -> Bundle {
    let base = base_url.trim_end_matches('/');
    let link = |token: Option<PageToken>| {
        let mut linked = query.clone();
        linked.result.page = token;
        format!("{base}/{path}?{}", linked.to_query_string())
    };
    let mut bundle = Bundle::searchset(base);
    bundle.add_link(LinkRelation::SelfLink, link(query.result.page.clone()));
    if query.result.page.is_some() {
        bundle.add_link(LinkRelation::First, link(None));
    }
    let summary = query.result.summary;
    if let Some(total) = page.total {
        bundle.set_total(total);
    }
    // A count-only search has no entries, so it has no pages to walk either.
    if summary != Some(Summary::Count) {
        if let Some(previous) = page.previous {
            bundle.add_link(LinkRelation::Previous, link(Some(previous)));
        }
        if let Some(next) = page.next {
            bundle.add_link(LinkRelation::Next, link(Some(next)));
        }
        for resource in page.resources {
            bundle.add_match(resource.project(summary, &query.result.elements));
        }
        for resource in included {
            bundle.add_include(resource.project(summary, &query.result.elements));
        }
    }
    if !query.ignored.is_empty() {
        warnings.push(Issue {
            severity: Severity::Warning,
            code: IssueType::NotSupported,
            diagnostics: format!(
                "ignored unknown or unsupported parameters: {}",
                query.ignored.join(", ")
            ),
            expression: None,
        });
    }
    if !warnings.is_empty() {
        bundle.set_outcome(&warnings);
    }
    bundle
}

/// The types that chains and `_has` criteria search, at any depth.
fn joined_types(criteria: &[Criterion], out: &mut BTreeSet<String>) {
    for criterion in criteria {
        match criterion {
            Criterion::Chain {
                target_type: joined,
                inner,
                ..
            }
            | Criterion::Has {
                source_type: joined,
                inner,
                ..
            } => {
                out.insert(joined.clone());
                joined_types(std::slice::from_ref(&**inner), out);
            }
            Criterion::Values { .. } | Criterion::Missing { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::search::{Handling, SearchParamDef};
    use crate::{
        Constraint, Context, Facade, Resource, ResourceProvider, Result, SearchPage, SearchQuery,
    };
    use async_trait::async_trait;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[tokio::test]
    async fn paging_links_walk_every_match_once_under_the_base_url() {
        let (facade, ..) = fixture();
        let mut query = "_count=2".to_owned();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let bundle = facade
                .search(&request("Observation", &query), &Context::new())
                .await
                .unwrap()
                .to_json();
            assert!(
                link(&bundle, "self")
                    .unwrap()
                    .starts_with(&format!("{BASE}/Observation?"))
            );
            for entry in bundle["entry"].as_array().unwrap() {
                assert_eq!(
                    entry["fullUrl"],
                    format!(
                        "{BASE}/Observation/{}",
                        entry["resource"]["id"].as_str().unwrap()
                    )
                );
            }
            seen.extend(ids(&bundle, "match"));
            match link(&bundle, "next") {
                Some(next) => query = next.split_once('?').unwrap().1.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, ["o1", "o2", "o3", "o4", "o5"]);
    }

    /// [`Spy`] without totals, as a provider that only counts when asked.
    struct Untotalled(Arc<Spy>);

    #[async_trait]
    impl ResourceProvider for Untotalled {
        fn resource_type(&self) -> &str {
            self.0.resource_type()
        }

        fn search_params(&self) -> Vec<&'static SearchParamDef> {
            self.0.search_params()
        }

        async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
            self.0.read(id, ctx).await
        }

        async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
            let page = self.0.search(query, ctx).await?;
            Ok(SearchPage {
                total: None,
                ..page
            })
        }
    }

    #[tokio::test]
    async fn a_complete_first_page_gets_its_total_for_free() {
        let (_, _, observations) = fixture();
        let facade = Facade::builder()
            .provider(Untotalled(observations))
            .build()
            .unwrap();
        let total = |query: &'static str| {
            let facade = &facade;
            async move {
                facade
                    .search(&request("Observation", query), &Context::new())
                    .await
                    .unwrap()
                    .to_json()["total"]
                    .clone()
            }
        };
        // One page holds them all.
        assert_eq!(total("_count=10").await, json!(5));
        assert_eq!(total("_id=o2,o3").await, json!(2));
        // More pages follow, or this is not the first page: unknown, so absent.
        assert_eq!(total("_count=2").await, Value::Null);
        assert_eq!(total("_count=2&_offset=4").await, Value::Null);
    }

    #[tokio::test]
    async fn ignored_parameters_stay_out_of_links_and_are_reported() {
        let (facade, ..) = fixture();
        let bundle = facade
            .search(&request("Patient", "bonkers=1&_id=p1"), &Context::new())
            .await
            .unwrap()
            .to_json();
        let self_link = link(&bundle, "self").unwrap();
        assert!(!self_link.contains("bonkers"), "{self_link}");
        assert!(self_link.contains("_id=p1"));
        assert_eq!(ids(&bundle, "match"), ["p1"]);
        let outcome = bundle["entry"].as_array().unwrap().last().unwrap();
        assert_eq!(outcome["search"]["mode"], "outcome");
        assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
        assert!(
            outcome["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("bonkers")
        );

        let mut strict = request("Patient", "bonkers=1");
        strict.handling = Handling::Strict;
        let err = facade.search(&strict, &Context::new()).await.unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn count_zero_returns_only_the_total() {
        let (facade, ..) = fixture();
        let bundle = facade
            .search(&request("Observation", "_count=0"), &Context::new())
            .await
            .unwrap()
            .to_json();
        assert_eq!(bundle["total"], 5);
        assert!(bundle.get("entry").is_none());
        assert!(link(&bundle, "next").is_none());
    }

    #[tokio::test]
    async fn compartment_searches_pass_the_compartment_and_link_to_it() {
        let (facade, _, observations) = fixture();
        let mut req = request("Observation", "");
        req.compartment = Some(("Patient", "p1"));
        let bundle = facade
            .search(&req, &Context::new())
            .await
            .unwrap()
            .to_json();
        assert!(
            link(&bundle, "self")
                .unwrap()
                .starts_with(&format!("{BASE}/Patient/p1/Observation?"))
        );
        assert_eq!(
            observations.seen_constraints.lock().unwrap().as_slice(),
            [Constraint::Compartment {
                compartment_type: "Patient".into(),
                id: "p1".into()
            }]
        );
    }

    #[tokio::test]
    async fn chains_and_has_need_a_scope_for_the_types_they_search() {
        let (facade, ..) = fixture();
        let search = |resource_type: &'static str, query: &'static str, scopes: &'static str| {
            let facade = facade.clone();
            async move {
                facade
                    .search(&request(resource_type, query), &token(scopes, Some("p1")))
                    .await
                    .map(|b| b.to_json())
            }
        };
        let chain = "subject:Patient._id=p1";
        let has = "_has:Observation:subject:_id=o1";
        let err = search("Observation", chain, "patient/Observation.rs")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let err = search("Patient", has, "patient/Patient.rs")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let both = "patient/Patient.rs patient/Observation.rs";
        assert!(search("Observation", chain, both).await.is_ok());
        assert!(search("Patient", has, both).await.is_ok());
        // A narrowed scope on the joined type cannot be applied inside the subquery.
        let narrowed = "patient/Patient.rs patient/Observation.rs?_id=o1";
        let err = search("Patient", has, narrowed).await.unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(search("Observation", chain, narrowed).await.is_ok());
    }

    #[tokio::test]
    async fn scopes_decide_interactions_and_includes() {
        let (facade, _, observations) = fixture();
        let patients_only = token("patient/Patient.rs", Some("p1"));
        let err = facade
            .search(&request("Observation", ""), &patients_only)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        // A revinclude of a type the token cannot see is left out, not an error.
        let bundle = facade
            .search(
                &request("Patient", "_id=p1&_revinclude=Observation:subject"),
                &patients_only,
            )
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["p1"]);
        assert!(ids(&bundle, "include").is_empty());
        assert_eq!(observations.searches.load(Ordering::SeqCst), 0);

        let read_only = token("patient/Observation.r", Some("p1"));
        assert!(facade.read("Observation", "o1", &read_only).await.is_ok());
        let err = facade
            .search(&request("Observation", ""), &read_only)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);

        let backend = token("system/Observation.rs", None);
        let bundle = facade
            .search(&request("Observation", ""), &backend)
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match").len(), 5);
        assert_eq!(
            facade
                .read("Patient", "p1", &backend)
                .await
                .unwrap_err()
                .status(),
            403
        );
    }
}
