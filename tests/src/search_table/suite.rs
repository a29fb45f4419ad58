//! The runner of the shared search table ([`fixture`](super::fixture)): every case, the
//! rejected searches, compartments, paging walks and the hostile corpus, through a
//! [`SqlProvider`] over any driver's [`Executor`].

use std::collections::BTreeSet;
use std::sync::Arc;

use fhir_facade_core::search::{PageToken, ParseOptions, SearchValue};
use fhir_facade_core::sql::mapping::SqlSchema;
use fhir_facade_core::sql::{Executor, RowMapper, SqlProvider, SqlRow, fold};
use fhir_facade_core::{Constraint, Context, Resource, ResourceProvider, SearchQuery};
use serde_json::json;

use super::fixture::{
    CASES, COMPARTMENTS, HOSTILE_PARAMS, MRNS, NOW, PAGING_WALKS, PATIENTS, REJECTED,
    hostile_values,
};

/// Maps a row to a resource that carries only its id, which is all the table compares.
struct ById {
    resource_type: &'static str,
    prefix: &'static str,
    column: &'static str,
}

impl<R: SqlRow> RowMapper<R> for ById {
    fn to_resource(&self, row: &R) -> fhir_facade_core::Result<Resource> {
        let id = format!("{}{}", self.prefix, row.get_i64(self.column)?);
        Resource::new(json!({"resourceType": self.resource_type, "id": id}))
    }
}

/// The fixture's three resource types served from one database.
pub struct Suite<E> {
    schema: Arc<SqlSchema>,
    patients: SqlProvider<E, ById>,
    labs: SqlProvider<E, ById>,
    encounters: SqlProvider<E, ById>,
}

impl<E> Suite<E>
where
    E: Executor + Clone,
    E::Row: SqlRow,
{
    /// The providers of `schema` (the fixture's [`schema`](super::fixture::schema)) on `db`.
    pub fn new(db: E, schema: Arc<SqlSchema>) -> Self {
        let provider = |resource_type: &'static str, prefix: &'static str, column: &'static str| {
            SqlProvider::new(
                db.clone(),
                schema.clone(),
                resource_type,
                ById {
                    resource_type,
                    prefix,
                    column,
                },
            )
            .unwrap()
        };
        Suite {
            patients: provider("Patient", Self::prefix("Patient"), "id"),
            labs: provider("Observation", Self::prefix("Observation"), "id"),
            encounters: provider("Encounter", Self::prefix("Encounter"), "id"),
            schema,
        }
    }
    fn prefix(resource_type: &str) -> &'static str {
        if resource_type == "Observation" {
            "lab-"
        } else {
            ""
        }
    }

    fn provider(&self, resource_type: &str) -> &SqlProvider<E, ById> {
        match resource_type {
            "Patient" => &self.patients,
            "Observation" => &self.labs,
            _ => &self.encounters,
        }
    }

    fn parse(&self, resource_type: &str, query: &str) -> fhir_facade_core::Result<SearchQuery> {
        SearchQuery::parse(
            resource_type,
            query,
            &self.schema.supported_params(),
            &ParseOptions::default(),
        )
    }

    async fn ids(
        &self,
        resource_type: &str,
        query: &SearchQuery,
        ctx: &Context,
    ) -> fhir_facade_core::Result<Vec<String>> {
        let page = self.provider(resource_type).search(query, ctx).await?;
        Ok(page
            .resources
            .iter()
            .map(|r| r.id().unwrap().to_owned())
            .collect())
    }

    /// The ids of one page of `query` as the provider finds them, but with the clock at
    /// [`NOW`].
    async fn ids_at_now(
        &self,
        resource_type: &str,
        query: &SearchQuery,
    ) -> fhir_facade_core::Result<Vec<String>> {
        let provider = self.provider(resource_type);
        let plan = provider.translator().translate_at(query, &[], NOW)?;
        let select = plan.select.expect("the table's searches return rows");
        let rows = provider.executor().fetch_all(&select, Some("test")).await?;
        let prefix = Self::prefix(resource_type);
        rows.iter()
            .take(usize::try_from(plan.limit).unwrap())
            .map(|row| Ok(format!("{prefix}{}", row.get_i64("id")?)))
            .collect()
    }

    /// Runs everything and fails with the list of what went wrong on `db_name`.
    pub async fn run(&self, db_name: &str) {
        let mut failures = Vec::new();
        for (resource_type, query, expected, ordered) in CASES {
            let parsed = self.parse(resource_type, query).unwrap();
            let ids = match self.ids_at_now(resource_type, &parsed).await {
                Ok(ids) => ids,
                Err(e) => {
                    failures.push(format!("{resource_type}?{query}: {e:?}"));
                    continue;
                }
            };
            let ok = if *ordered {
                ids == *expected
            } else {
                ids.iter().collect::<BTreeSet<_>>()
                    == expected
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect::<BTreeSet<_>>()
                        .iter()
                        .collect()
                    && ids.len() == expected.len()
            };
            if !ok {
                failures.push(format!(
                    "{resource_type}?{query}: got {ids:?}, expected {expected:?}"
                ));
            }
        }
        let ctx = Context::new().with_request_id("test");
        for (resource_type, query, message) in REJECTED {
            let parsed = self.parse(resource_type, query).unwrap();
            match self.ids(resource_type, &parsed, &ctx).await {
                Err(e) if e.status() == 400 && e.to_string().contains(message) => {}
                other => failures.push(format!(
                    "{resource_type}?{query}: expected a 400 about {message:?}, got {other:?}"
                )),
            }
        }
        self.compartments(&mut failures).await;
        self.paging(&mut failures).await;
        self.hostile(&mut failures).await;
        assert!(
            failures.is_empty(),
            "{db_name}: {} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        println!(
            "{db_name}: {} table cases and {} rejections passed",
            CASES.len(),
            REJECTED.len()
        );
    }

    async fn compartments(&self, failures: &mut Vec<String>) {
        for (resource_type, query, patient, expected) in COMPARTMENTS {
            let ctx = Context::new().with_constraint(Constraint::Compartment {
                compartment_type: "Patient".into(),
                id: (*patient).into(),
            });
            let parsed = self
                .parse(resource_type, &format!("{query}&_sort=_id"))
                .unwrap();
            match self.ids(resource_type, &parsed, &ctx).await {
                Ok(ids) if ids == *expected => {}
                other => failures.push(format!(
                    "compartment {patient} {resource_type}?{query}: {other:?}"
                )),
            }
        }
        let ctx = Context::new().with_constraint(Constraint::Compartment {
            compartment_type: "Patient".into(),
            id: "1".into(),
        });
        match self.patients.read("3", &ctx).await {
            Err(e) if e.status() == 404 => {}
            other => failures.push(format!("read outside the compartment: {other:?}")),
        }
        match self
            .labs
            .read_many(&["lab-1".into(), "lab-3".into(), "x".into()], &ctx)
            .await
        {
            Ok(r) if r.len() == 1 => {}
            other => failures.push(format!("read_many in the compartment: {other:?}")),
        }
    }

    async fn paging(&self, failures: &mut Vec<String>) {
        let ctx = Context::new();
        for query in PAGING_WALKS {
            let full = self
                .ids(
                    "Patient",
                    &self
                        .parse("Patient", &query.replace("_count=", "_count=10"))
                        .unwrap(),
                    &ctx,
                )
                .await
                .unwrap();
            let mut parsed = self
                .parse("Patient", &format!("{query}&_total=accurate"))
                .unwrap();
            let page_ids = |page: &fhir_facade_core::SearchPage| -> Vec<String> {
                page.resources
                    .iter()
                    .map(|r| r.id().unwrap().to_owned())
                    .collect()
            };
            let mut walked = Vec::new();
            let mut last_page = (Vec::new(), None);
            for _ in 0..20 {
                let page = self.patients.search(&parsed, &ctx).await.unwrap();
                if page.total != Some(7) {
                    failures.push(format!("paging {query}: total {:?}", page.total));
                }
                walked.extend(page_ids(&page));
                last_page = (page_ids(&page), page.previous.clone());
                match page.next {
                    Some(token) => parsed.result.page = Some(token),
                    None => break,
                }
            }
            if walked != full || full.len() != 7 {
                failures.push(format!(
                    "paging {query}: walked {walked:?}, unpaged {full:?}"
                ));
            }
            // Back from the last page by `previous` links: the same pages, in reverse.
            let (mut backward, mut previous) = last_page;
            for _ in 0..20 {
                let Some(token) = previous else { break };
                parsed.result.page = Some(token);
                let page = self.patients.search(&parsed, &ctx).await.unwrap();
                backward.splice(0..0, page_ids(&page));
                previous = page.previous;
            }
            if backward != full {
                failures.push(format!(
                    "paging {query} backwards: walked {backward:?}, unpaged {full:?}"
                ));
            }
        }
        let count_only = self.parse("Patient", "family=smith&_count=0").unwrap();
        match self.patients.search(&count_only, &ctx).await {
            Ok(page) if page.total == Some(2) && page.resources.is_empty() => {}
            other => failures.push(format!("_count=0: {other:?}")),
        }
        for token in [
            PageToken::Cursor("x'--".into()),
            PageToken::Before("x'--".into()),
        ] {
            let mut bad_cursor = self.parse("Patient", "_count=2").unwrap();
            bad_cursor.result.page = Some(token);
            match self.patients.search(&bad_cursor, &ctx).await {
                Err(e) if e.status() == 400 => {}
                other => failures.push(format!("bad cursor: {other:?}")),
            }
        }
    }

    async fn hostile(&self, failures: &mut Vec<String>) {
        let values = hostile_values();
        let ctx = Context::new();
        for &(resource_type, param) in HOSTILE_PARAMS {
            for value in &values {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair(param, value)
                    .finish();
                let parsed = match self.parse(resource_type, &query) {
                    Ok(parsed) => parsed,
                    Err(e) if e.status() == 400 => continue,
                    Err(e) => {
                        failures.push(format!("{param}={value:.40?}: parse {e:?}"));
                        continue;
                    }
                };
                let ids = match self.ids(resource_type, &parsed, &ctx).await {
                    // No hostile value is a declared value set.
                    Err(e) if param.ends_with("in") && e.status() == 400 => continue,
                    Ok(ids) if param.ends_with("in") => {
                        failures.push(format!("{param}={value:.40?}: found {ids:?}"));
                        continue;
                    }
                    Ok(ids) => ids.into_iter().collect::<BTreeSet<_>>(),
                    Err(e) => {
                        failures.push(format!("{param}={value:.40?}: {e:?}"));
                        continue;
                    }
                };
                // A match rather than nested `if`s: the sqlx crate's Rust 1.85 has no let chains.
                match expected_patients(param, &parsed) {
                    Some(expected) if ids != expected => failures.push(format!(
                        "{param}={value:.40?}: got {ids:?}, expected {expected:?}"
                    )),
                    _ => {}
                }
            }
        }
    }
}

/// What a string or gender search should find, computed from the fixture in Rust.
fn expected_patients(param: &str, query: &SearchQuery) -> Option<BTreeSet<String>> {
    let fhir_facade_core::search::Criterion::Values { values, .. } = &query.criteria[0] else {
        return None;
    };
    let live = PATIENTS.iter().filter(|p| p.5 == 0);
    let texts: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            SearchValue::String(s) => Some(s.as_str()),
            SearchValue::Token(t) => t.code.as_deref(),
            _ => None,
        })
        .collect();
    let any = |f: &dyn Fn(&str) -> bool| texts.iter().any(|t| !t.contains('\0') && f(t));
    let matched: Vec<i64> = live
        .filter(|(id, family, given, gender, ..)| match param {
            "family" => any(&|t| fold(family).starts_with(&fold(t))),
            "family:exact" => any(&|t| *family == t),
            "family:contains" => any(&|t| fold(family).contains(&fold(t))),
            "name" => {
                any(&|t| fold(family).starts_with(&fold(t)) || fold(given).starts_with(&fold(t)))
            }
            "gender" => any(&|t| *gender == Some(t)),
            "gender:not" => !any(&|t| *gender == Some(t)),
            "identifier" => any(&|t| MRNS.iter().any(|m| m.0 == *id && m.1 == t)),
            _ => false,
        })
        .map(|p| p.0)
        .collect();
    matches!(
        param,
        "family"
            | "family:exact"
            | "family:contains"
            | "name"
            | "gender"
            | "gender:not"
            | "identifier"
    )
    .then(|| matched.into_iter().map(|id| id.to_string()).collect())
}
