//! `Patient/$everything`.

use super::Facade;
use super::confine::confine;
use super::search::searchset;
use crate::bundle::Bundle;
use crate::provider::Interaction;
use crate::search::{Handling, PageToken, ParseOptions, Summary, SupportedParams};
use crate::{Constraint, Context, Error, Result, SearchQuery};

impl Facade {
    /// Whether `Patient/$everything` can be served: Patient is readable.
    pub fn serves_everything(&self) -> bool {
        self.providers
            .get("Patient")
            .is_some_and(|p| p.interactions().contains(Interaction::Read))
    }

    /// `GET [base]/Patient/[id]/$everything`: the patient and every resource of a served type in
    /// its compartment, as one searchset paged by `_count` and `_offset`.
    ///
    /// The page is cut from the concatenation patient, then each type in name order, each by id:
    /// one count per type, then one search per type the page touches. Types the caller may not
    /// search are left out, as for `_include`.
    pub async fn everything(
        &self,
        patient_id: &str,
        query: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Bundle> {
        if !self.serves_everything() {
            return Err(Error::not_supported("Patient", "$everything"));
        }
        let mut parsed = SearchQuery::parse(
            "Patient",
            query,
            &SupportedParams::new(),
            &ParseOptions {
                handling: Handling::Strict,
                base_url: Some(base_url),
            },
        )?;
        if matches!(
            parsed.result.page,
            Some(PageToken::Cursor(_) | PageToken::Before(_))
        ) {
            return Err(Error::invalid_search(
                "_cursor",
                "$everything pages by _offset",
            ));
        }
        let count = u64::from(self.page_size.effective(parsed.result.count).max(1));
        parsed.result.count = Some(count as u32);
        let offset = match parsed.result.page {
            Some(PageToken::Offset(offset)) => offset,
            _ => 0,
        };
        let patient = self.read("Patient", patient_id, ctx).await?;
        let mut compartment_ctx = ctx.clone();
        compartment_ctx.constraints.push(Constraint::Compartment {
            compartment_type: "Patient".to_owned(),
            id: patient_id.to_owned(),
        });
        // How many resources each type holds in the compartment.
        let mut sources = Vec::new();
        for (resource_type, provider) in &self.providers {
            if resource_type == "Patient"
                || crate::compartment::patient_compartment_params(resource_type).is_empty()
                || !provider.interactions().contains(Interaction::SearchType)
            {
                continue;
            }
            let Some(scoped) =
                self.scoped_include(&compartment_ctx, resource_type, Interaction::SearchType)?
            else {
                continue;
            };
            let mut probe = SearchQuery::new(resource_type.clone());
            probe.result.count = Some(0);
            probe.result.summary = Some(Summary::Count);
            probe.result.total = Some(crate::search::TotalMode::Accurate);
            let total = provider
                .search(&probe, &scoped)
                .await?
                .total
                .ok_or_else(|| {
                    Error::Internal(format!("{resource_type} gave no total for $everything"))
                })?;
            sources.push((provider, scoped, total));
        }
        let grand_total = 1 + sources.iter().map(|(_, _, total)| total).sum::<u64>();
        let end = offset.saturating_add(count).min(grand_total);
        let mut resources = Vec::new();
        if offset == 0 {
            resources.push(patient);
        }
        let mut start = 1u64;
        for (provider, scoped, total) in sources {
            let (from, to) = (start.max(offset), (start + total).min(end));
            if from < to {
                let mut slice = SearchQuery::new(provider.resource_type());
                slice.result.count = Some((to - from) as u32);
                slice.result.page = Some(PageToken::Offset(from - start));
                let page = provider.search(&slice, &scoped).await?;
                resources.extend(confine(page.resources, &scoped, base_url));
            }
            start += total;
        }
        let page = crate::SearchPage {
            resources,
            total: Some(grand_total),
            next: (end < grand_total).then_some(PageToken::Offset(end)),
            previous: (offset > 0).then(|| PageToken::Offset(offset.saturating_sub(count))),
        };
        let path = format!("Patient/{patient_id}/$everything");
        Ok(searchset(
            base_url,
            &path,
            &parsed,
            page,
            Vec::new(),
            Vec::new(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::Context;
    use crate::capability::{CapabilityOptions, Implementation};

    #[tokio::test]
    async fn everything_pages_over_the_patient_and_its_compartment() {
        let (facade, ..) = fixture_honouring(true);
        let mut query = "_count=2".to_owned();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let bundle = facade
                .everything("p1", &query, BASE, &Context::new())
                .await
                .unwrap()
                .to_json();
            assert_eq!(bundle["total"], 4);
            seen.extend(ids(&bundle, "match"));
            match link(&bundle, "next") {
                Some(next) => {
                    assert!(next.starts_with(&format!("{BASE}/Patient/p1/$everything?")));
                    query = next.split_once('?').unwrap().1.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(seen, ["p1", "o1", "o2", "o3"]);
        let err = facade
            .everything("nope", "", BASE, &Context::new())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
        let statement = facade.capability_statement(&CapabilityOptions::new(
            "2026-01-01",
            Implementation {
                description: "t".into(),
                url: None,
            },
        ));
        let patient = statement["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Patient")
            .unwrap();
        assert_eq!(patient["operation"][0]["name"], "everything");
    }
}
