//! The check list's machinery: an HTTP client that validates every resource it receives and
//! records what it exercised, and a report of checks by group, printed as a table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::schema_errors;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The groups of the test kits the checks are filed under, in the order the table prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// The CapabilityStatement.
    Capability,
    /// Searches and their answers.
    Search,
    /// read, vread and conditional reads.
    Read,
    /// Paging links, `_count`, totals.
    Paging,
    /// `_include` and `_revinclude`.
    Include,
    /// create, update, delete and their conditional forms.
    Write,
    /// Error statuses with OperationOutcomes.
    Errors,
    /// SMART authorization.
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
            Group::Write => "write",
            Group::Errors => "errors",
            Group::Smart => "SMART",
            Group::Validation => "validation",
            Group::Clients => "clients",
            Group::Coverage => "coverage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// How a check ended.
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not hold, and why.
    Fail(String),
    /// It did not hold, and is listed in [`Report::known_gaps`].
    KnownGap(String),
}

/// The file every suite of a run appends its counts to (see [`Report::assert_passes`]).
pub const SUMMARY_ENV: &str = "FHIR_FACADE_CONTRACT_SUMMARY";

/// One check of a run.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its id: the case number of `cases.md`, or a name.
    pub id: String,
    /// Where the table counts it.
    pub group: Group,
    /// The spec section it comes from.
    pub spec: &'static str,
    /// What it checks.
    pub title: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// What was checked (a database, an example).
    pub label: String,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
    /// The CapabilityStatement declarations requests exercised, as
    /// [`super::checks::declarations`] names them (`Type?code`, `Type read`, ...).
    pub exercised: BTreeSet<String>,
    /// Resources validated against the schema (entries counted one by one).
    pub validated: usize,
    /// The schema errors, one line per resource.
    pub invalid: Vec<String>,
    /// Every resource received (top level: Bundles hold their entries), for the second validator.
    pub received: Vec<Value>,
    /// The open instance's CapabilityStatement, as the coverage check read it.
    pub capability: Value,
    /// Checks whose failure is a gap that is known and reported, not hidden: they print as
    /// KNOWN GAP instead of failing the suite. A listed check that passes fails the suite, so
    /// the list cannot go stale. (check id, why)
    pub known_gaps: &'static [(&'static str, &'static str)],
}

impl Report {
    /// An empty report.
    pub fn new(label: impl Into<String>) -> Self {
        Report {
            label: label.into(),
            ..Report::default()
        }
    }

    /// Records one check: `failures` empty is a pass.
    pub fn check(
        &mut self,
        id: &str,
        group: Group,
        spec: &'static str,
        title: impl Into<String>,
        failures: Vec<String>,
    ) {
        let gap = self
            .known_gaps
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

    /// Prints the table, appends its counts to the summary file `FHIR_FACADE_CONTRACT_SUMMARY`
    /// names (if any), then fails the test if any check failed.
    pub fn assert_passes(&self) {
        super::print(&self.table());
        if let Some(path) = std::env::var_os(SUMMARY_ENV) {
            self.append_summary(std::path::Path::new(&path));
        }
        let failed = self.failed();
        assert!(
            failed.is_empty(),
            "{}: {} checks failed: {failed:?} (see the table above)",
            self.label,
            failed.len()
        );
    }

    /// Appends one line per group, `label<TAB>group<TAB>passed<TAB>failed<TAB>known gaps`, so that
    /// `scripts/contract-summary` can print every suite of a test run in one table.
    fn append_summary(&self, path: &std::path::Path) {
        use std::io::Write as _;
        let mut lines = String::new();
        for (group, (pass, fail, gap)) in self.counts() {
            let _ = writeln!(
                lines,
                "{}\t{}\t{pass}\t{fail}\t{gap}",
                self.label,
                group.name()
            );
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(lines.as_bytes()));
        if let Err(e) = written {
            super::print(&format!("cannot append to {}: {e}", path.display()));
        }
    }

    /// (passed, failed, known gaps) by group.
    fn counts(&self) -> BTreeMap<Group, (usize, usize, usize)> {
        let mut rows: BTreeMap<Group, (usize, usize, usize)> = BTreeMap::new();
        for check in &self.checks {
            let row = rows.entry(check.group).or_default();
            match check.outcome {
                Outcome::Pass => row.0 += 1,
                Outcome::Fail(_) => row.1 += 1,
                Outcome::KnownGap(_) => row.2 += 1,
            }
        }
        rows
    }

    /// The ids of the failed checks.
    pub fn failed(&self) -> BTreeSet<String> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .map(|c| c.id.clone())
            .collect()
    }

    /// The summary table, then every failure and known gap with its spec section.
    pub fn table(&self) -> String {
        let rows = self.counts();
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
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: hyper::HeaderMap,
    /// The body, whole.
    pub body: Bytes,
    /// The body as JSON, when it is.
    pub json: Option<Value>,
}

impl Reply {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The ids of `search.mode = match` entries, in order.
    pub fn match_ids(&self) -> Vec<String> {
        self.entries("match")
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    /// The resources of the entries with search mode `mode` (every entry: `None`), in order.
    pub fn resources(&self, mode: Option<&str>) -> Vec<&Value> {
        self.json
            .as_ref()
            .and_then(|j| j["entry"].as_array())
            .into_iter()
            .flatten()
            .filter(|e| mode.is_none_or(|m| e["search"]["mode"] == m))
            .map(|e| &e["resource"])
            .collect()
    }

    /// 403, or a 200 without entries: what a search outside the caller's access may answer.
    pub fn refused_or_empty(&self) -> bool {
        self.status == 403
            || (self.status == 200 && self.json.is_some() && self.resources(None).is_empty())
    }

    /// `(type, id)` of entries with the given search mode.
    pub fn entries(&self, mode: &str) -> Vec<(String, String)> {
        self.resources(Some(mode))
            .into_iter()
            .map(|r| {
                (
                    r["resourceType"].as_str().unwrap_or("").to_owned(),
                    r["id"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// `Type/id` of the entries with search mode `mode` (every entry: `None`), in order.
    pub fn entry_refs(&self, mode: Option<&str>) -> Vec<String> {
        self.resources(mode)
            .into_iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap_or(""),
                    r["id"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// The URL of a Bundle link.
    pub fn link(&self, relation: &str) -> Option<String> {
        self.json.as_ref()?["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)?["url"]
            .as_str()
            .map(str::to_owned)
    }

    /// A short description for failure messages (never headers: they may carry tokens).
    pub fn brief(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        format!("HTTP {} {body}", self.status)
    }

    /// Whether the body is an OperationOutcome with at least one issue.
    pub fn is_outcome(&self) -> bool {
        self.json.as_ref().is_some_and(|j| {
            j["resourceType"] == "OperationOutcome"
                && j["issue"].as_array().is_some_and(|i| !i.is_empty())
        })
    }
}

/// An HTTP/1.1 client bound to one server's base URL, with an optional bearer token.
#[derive(Clone)]
pub struct Http {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    /// The server's base URL, without a trailing slash.
    pub base: String,
}

impl Http {
    /// A client of the server at `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Http {
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
        }
    }

    /// Sends a request; `target` is a path below the base (`Patient?family=x`) or an absolute
    /// URL (a link to follow).
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Reply {
        let url = if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else if target.is_empty() {
            // The base itself (batch, transaction), without a trailing slash.
            self.base.clone()
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
pub fn validate(report: &mut Report, what: &str, reply: &Reply) {
    let Some(json) = &reply.json else { return };
    if json.get("resourceType").is_none() {
        return;
    }
    report.received.push(json.clone());
    // Without the schema (outside CI only; fhir_schema says why) nothing is counted.
    if crate::fhir_schema().is_none() {
        return;
    }
    let mut resources = vec![json];
    if let Some(entries) = json["entry"].as_array() {
        // A batch-response entry may hold no resource, or an OperationOutcome as its outcome.
        for entry in entries {
            resources.extend(
                [&entry["resource"], &entry["response"]["outcome"]]
                    .into_iter()
                    .filter(|r| r.is_object()),
            );
        }
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
