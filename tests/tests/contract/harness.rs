//! The check list's machinery: an HTTP client that validates every resource it receives and
//! records what it exercised, and a report of checks by group, printed as a table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use bytes::Bytes;
use fhir_facade_tests::schema_errors;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The groups of the test kits the checks are filed under, in the order the table prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Capability,
    Search,
    Read,
    Paging,
    Include,
    Errors,
    Smart,
    /// Every resource received is valid by the official R4 JSON schema.
    Validation,
    /// Real clients get the same answers.
    Clients,
    /// Every declaration of the CapabilityStatement was exercised.
    Coverage,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Capability => "capability",
            Group::Search => "search",
            Group::Read => "read",
            Group::Paging => "paging",
            Group::Include => "include",
            Group::Errors => "errors",
            Group::Smart => "SMART",
            Group::Validation => "validation",
            Group::Clients => "clients",
            Group::Coverage => "coverage",
        }
    }
}

/// Checks whose failure is a library gap that is known and reported, not hidden: they print as
/// KNOWN GAP instead of failing the suite. A listed check that passes fails the suite, so the
/// list cannot go stale. (check id, why)
pub(crate) const KNOWN_GAPS: &[(&str, &str)] = &[];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    KnownGap(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) id: String,
    pub(crate) group: Group,
    pub(crate) spec: &'static str,
    pub(crate) title: String,
    pub(crate) outcome: Outcome,
}

/// What a run found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) label: String,
    pub(crate) checks: Vec<Check>,
    /// (type, search parameter code) pairs sent in searches.
    pub(crate) params: BTreeSet<(String, String)>,
    /// (type, interaction code) pairs used.
    pub(crate) interactions: BTreeSet<(String, String)>,
    /// Resources validated against the schema (entries counted one by one).
    pub(crate) validated: usize,
    pub(crate) invalid: Vec<String>,
    /// Every resource received (top level: Bundles hold their entries), for the second validator.
    pub(crate) received: Vec<Value>,
    /// The open instance's CapabilityStatement, as the coverage check read it.
    pub(crate) capability: Value,
}

impl Report {
    pub(crate) fn new(label: impl Into<String>) -> Self {
        Report {
            label: label.into(),
            ..Report::default()
        }
    }

    /// Records one check: `failures` empty is a pass.
    pub(crate) fn check(
        &mut self,
        id: &str,
        group: Group,
        spec: &'static str,
        title: impl Into<String>,
        failures: Vec<String>,
    ) {
        let gap = KNOWN_GAPS
            .iter()
            .find(|(g, _)| *g == id)
            .map(|(_, why)| *why);
        let outcome = match (failures.is_empty(), gap) {
            (true, None) => Outcome::Pass,
            (false, None) => Outcome::Fail(failures.join("; ")),
            (false, Some(why)) => Outcome::KnownGap(format!("{why} [{}]", failures.join("; "))),
            (true, Some(_)) => Outcome::Fail(
                "passes but is listed in KNOWN_GAPS: remove it from the list".to_owned(),
            ),
        };
        assert!(
            !self.checks.iter().any(|c| c.id == id),
            "check id {id} is used twice"
        );
        self.checks.push(Check {
            id: id.to_owned(),
            group,
            spec,
            title: title.into(),
            outcome,
        });
    }

    /// The ids of the failed checks.
    pub(crate) fn failed(&self) -> BTreeSet<String> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .map(|c| c.id.clone())
            .collect()
    }

    /// The summary table, then every failure and known gap with its spec section.
    pub(crate) fn table(&self) -> String {
        let mut rows: BTreeMap<Group, (usize, usize, usize)> = BTreeMap::new();
        for check in &self.checks {
            let row = rows.entry(check.group).or_default();
            match check.outcome {
                Outcome::Pass => row.0 += 1,
                Outcome::Fail(_) => row.1 += 1,
                Outcome::KnownGap(_) => row.2 += 1,
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "\ncontract suite: {}", self.label);
        let _ = writeln!(
            out,
            "| {:<11} | {:>6} | {:>6} | {:>9} |",
            "group", "passed", "failed", "KNOWN GAP"
        );
        let _ = writeln!(out, "|{:-<13}|{:->8}|{:->8}|{:->11}|", "", "", "", "");
        let mut total = (0, 0, 0);
        for (group, (pass, fail, gap)) in &rows {
            let _ = writeln!(
                out,
                "| {:<11} | {pass:>6} | {fail:>6} | {gap:>9} |",
                group.name()
            );
            total = (total.0 + pass, total.1 + fail, total.2 + gap);
        }
        let _ = writeln!(
            out,
            "| {:<11} | {:>6} | {:>6} | {:>9} |",
            "total", total.0, total.1, total.2
        );
        let _ = writeln!(
            out,
            "{} resources validated against the official R4 JSON schema, {} invalid",
            self.validated,
            self.invalid.len()
        );
        if self.validated == 0 {
            let _ = writeln!(
                out,
                "schema validation skipped: fhir.schema.json is absent (run scripts/test, or set \
                 FHIR_FACADE_FHIR_SCHEMA)"
            );
        }
        for check in &self.checks {
            match &check.outcome {
                Outcome::Pass => {}
                Outcome::Fail(why) => {
                    let _ = writeln!(
                        out,
                        "FAILED    {} [{}] {}: {why}",
                        check.id, check.spec, check.title
                    );
                }
                Outcome::KnownGap(why) => {
                    let _ = writeln!(
                        out,
                        "KNOWN GAP {} [{}] {}: {why}",
                        check.id, check.spec, check.title
                    );
                }
            }
        }
        out
    }
}

/// One HTTP response, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) json: Option<Value>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The ids of `search.mode = match` entries, in order.
    pub(crate) fn match_ids(&self) -> Vec<String> {
        self.entries("match")
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    /// `(type, id)` of entries with the given search mode.
    pub(crate) fn entries(&self, mode: &str) -> Vec<(String, String)> {
        let Some(json) = &self.json else {
            return Vec::new();
        };
        json["entry"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|e| e["search"]["mode"] == mode)
            .map(|e| {
                (
                    e["resource"]["resourceType"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                    e["resource"]["id"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    pub(crate) fn link(&self, relation: &str) -> Option<String> {
        self.json.as_ref()?["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)?["url"]
            .as_str()
            .map(str::to_owned)
    }

    /// A short description for failure messages (never headers: they may carry tokens).
    pub(crate) fn brief(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        format!("HTTP {} {body}", self.status)
    }

    /// Whether the body is an OperationOutcome with at least one issue.
    pub(crate) fn is_outcome(&self) -> bool {
        self.json.as_ref().is_some_and(|j| {
            j["resourceType"] == "OperationOutcome"
                && j["issue"].as_array().is_some_and(|i| !i.is_empty())
        })
    }
}

/// An HTTP/1.1 client bound to one server's base URL, with an optional bearer token.
#[derive(Clone)]
pub(crate) struct Http {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    pub(crate) base: String,
}

impl Http {
    pub(crate) fn new(base: impl Into<String>) -> Self {
        Http {
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
        }
    }

    /// Sends a request; `target` is a path below the base (`Patient?family=x`) or an absolute
    /// URL (a link to follow).
    pub(crate) async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Reply {
        let url = if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            format!("{}/{}", self.base, target.trim_start_matches('/'))
        };
        let mut request = Request::builder().method(method).uri(&url);
        let mut has_accept = false;
        for (name, value) in headers {
            has_accept |= name.eq_ignore_ascii_case("accept");
            request = request.header(*name, *value);
        }
        if !has_accept {
            request = request.header("accept", "application/fhir+json");
        }
        let payload = match body {
            Some((content_type, body)) => {
                request = request.header("content-type", content_type);
                Bytes::from(body)
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(payload)).expect("a valid request");
        let response = self
            .client
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let json = serde_json::from_slice(&body).ok();
        Reply {
            status,
            headers,
            body,
            json,
        }
    }
}

/// Validates what a reply carries: the resource, and each Bundle entry on its own so that an
/// error names the entry.
pub(crate) fn validate(report: &mut Report, what: &str, reply: &Reply) {
    let Some(json) = &reply.json else { return };
    if json.get("resourceType").is_none() {
        return;
    }
    report.received.push(json.clone());
    // Without the schema (outside CI only; fhir_schema says why) nothing is counted.
    if fhir_facade_tests::fhir_schema().is_none() {
        return;
    }
    let mut resources = vec![json];
    if let Some(entries) = json["entry"].as_array() {
        resources.extend(entries.iter().map(|e| &e["resource"]));
    }
    for resource in resources {
        report.validated += 1;
        let errors = schema_errors(resource);
        if !errors.is_empty() {
            report.invalid.push(format!(
                "{what}: {}/{}: {}",
                resource["resourceType"],
                resource["id"],
                errors.join(" | ")
            ));
        }
    }
}
