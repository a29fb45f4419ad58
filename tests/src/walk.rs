//! Issue #8's "zero errors across the full example data sets": every resource of every type a
//! facade serves, fetched page by page as a client would (`_count` large, following each `next`
//! link to the end), validated with the official R4 JSON schema ([`crate::schema_errors`]) and
//! with the R4B models of `fhir.resources` ([`crate::r4b`]).

use std::collections::BTreeSet;
use std::time::Instant;

use fhir_facade_core::search::Handling;
use fhir_facade_core::{Context, Facade, SearchRequest};
use serde_json::Value;

/// Resources sent to one Python process of the R4B validator at a time: large enough that its
/// start-up does not count, small enough that a batch's JSON stays modest in memory.
const R4B_BATCH: usize = 20_000;

/// The outcome for one resource type.
#[derive(Debug, Default)]
pub struct TypeReport {
    /// The resource type.
    pub resource_type: String,
    /// Resources fetched (and validated), each id once.
    pub resources: usize,
    /// Pages fetched.
    pub pages: usize,
    /// Schema errors, `Type/id: error` each.
    pub schema_errors: Vec<String>,
    /// R4B model errors, as [`crate::r4b::validate_with`] gives them.
    pub r4b_errors: Vec<String>,
    /// Whether the R4B validation ran (it is skipped, outside CI, without the checkers).
    pub r4b_ran: bool,
    /// Wall-clock seconds for the type, fetching and validating.
    pub seconds: f64,
}

impl TypeReport {
    /// The first `n` errors of both validators, and their count.
    pub fn summary(&self, n: usize) -> String {
        let errors: Vec<&String> = self.schema_errors.iter().chain(&self.r4b_errors).collect();
        format!(
            "{}: {} resources, {} pages, {} schema errors, {} R4B errors{}{}",
            self.resource_type,
            self.resources,
            self.pages,
            self.schema_errors.len(),
            self.r4b_errors.len(),
            if self.r4b_ran { "" } else { " (R4B skipped)" },
            errors
                .iter()
                .take(n)
                .map(|e| format!("\n  {e}"))
                .collect::<String>()
        )
    }
}

/// Validates every resource of every type `facade` serves: searches each type with
/// `_count={count}` and follows `next` links to the end. Panics when a search fails, an id comes
/// twice, or the paging does not end. The caller asserts on the reports (see
/// [`assert_all_valid`]).
///
/// A type listed in `partitions` is fetched as several searches instead, one per query given
/// (e.g. `patient=1`, `patient=2`, …), each paged to its end: for a type whose unfiltered paging
/// is slow on a large table. The partitions must cover the type — the caller compares the count
/// reported with the database — and an id found by two of them fails as a repeat.
pub async fn validate_everything(
    facade: &Facade,
    base_url: &str,
    count: u32,
    partitions: &[(&str, Vec<String>)],
) -> Vec<TypeReport> {
    let checkers = crate::r4b::checkers();
    let mut types: Vec<String> = facade
        .providers()
        .map(|p| p.resource_type().to_owned())
        .collect();
    types.sort();
    let mut reports = Vec::new();
    for resource_type in types {
        let started = Instant::now();
        let mut report = TypeReport {
            resource_type: resource_type.clone(),
            ..TypeReport::default()
        };
        let mut seen = BTreeSet::new();
        let mut batch = Vec::new();
        let queries = partitions
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map_or_else(|| vec![String::new()], |(_, q)| q.clone());
        for first in queries {
            let mut query = if first.is_empty() {
                format!("_count={count}")
            } else {
                format!("{first}&_count={count}")
            };
            loop {
                let bundle = facade
                    .search(
                        &SearchRequest {
                            resource_type: &resource_type,
                            query: &query,
                            handling: Handling::Strict,
                            base_url,
                            compartment: None,
                        },
                        &Context::new(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{resource_type}?{query}: {e}"))
                    .to_json();
                report.pages += 1;
                assert!(
                    report.pages <= 1_000_000,
                    "{resource_type}: paging without end"
                );
                for entry in bundle["entry"].as_array().into_iter().flatten() {
                    if entry["search"]["mode"] != "match" {
                        continue;
                    }
                    let resource = &entry["resource"];
                    let id = resource["id"].as_str().unwrap_or_default().to_owned();
                    assert!(
                        seen.insert(id.clone()),
                        "{resource_type}/{id} came twice while paging"
                    );
                    report.resources += 1;
                    report.schema_errors.extend(
                        crate::schema_errors(resource)
                            .into_iter()
                            .map(|e| format!("{resource_type}/{id}: {e}")),
                    );
                    batch.push(resource.clone());
                }
                if batch.len() >= R4B_BATCH {
                    validate_batch(&checkers, &mut batch, &mut report);
                }
                let next = bundle["link"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|l| l["relation"] == "next")
                    .and_then(|l| l["url"].as_str())
                    .map(|u| u.split_once('?').map_or("", |(_, q)| q).to_owned());
                match next {
                    Some(next) => query = next,
                    None => break,
                }
            }
        }
        validate_batch(&checkers, &mut batch, &mut report);
        report.seconds = started.elapsed().as_secs_f64();
        reports.push(report);
    }
    reports
}

/// Runs the R4B models over `batch` (emptying it) when the checkers are there; under CI their
/// absence is an error of the report.
fn validate_batch(
    checkers: &Result<Option<std::path::PathBuf>, String>,
    batch: &mut Vec<Value>,
    report: &mut TypeReport,
) {
    if batch.is_empty() {
        return;
    }
    match checkers {
        Ok(Some(dir)) => {
            report.r4b_ran = true;
            report
                .r4b_errors
                .extend(crate::r4b::validate_with(dir, batch).unwrap_or_else(|e| vec![e]));
        }
        Ok(None) => {}
        Err(why) => report.r4b_errors.push(why.clone()),
    }
    batch.clear();
}

/// Prints one line per type (counts, pages, seconds) and panics, naming the first errors of
/// each type, unless every resource is valid by both validators and no type is empty.
pub fn assert_all_valid(example: &str, reports: &[TypeReport]) {
    let mut failed = Vec::new();
    for report in reports {
        eprintln!(
            "{example}: {:<18} {:>7} resources in {:>5} pages: {} schema errors, {} R4B errors{} ({:.1} s)",
            report.resource_type,
            report.resources,
            report.pages,
            report.schema_errors.len(),
            report.r4b_errors.len(),
            if report.r4b_ran { "" } else { ", R4B skipped" },
            report.seconds
        );
        if report.resources == 0
            || !report.schema_errors.is_empty()
            || !report.r4b_errors.is_empty()
        {
            failed.push(report.summary(10));
        }
    }
    let total: usize = reports.iter().map(|r| r.resources).sum();
    eprintln!(
        "{example}: {total} resources of {} types validated",
        reports.len()
    );
    assert!(
        failed.is_empty(),
        "{example}: not every resource is valid FHIR R4 (or a type is empty):\n{}",
        failed.join("\n")
    );
}
