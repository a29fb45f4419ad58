//! The independent checkers: PyPI `fhir.resources` (R4B models) validates every resource the
//! suite received, and scripted sessions of real clients — PyPI `fhirclient` (SMART's Python
//! client) and `fhirpy`, npm `fhir-kit-client` — read, search with several parameters and follow
//! every `next` link, and must get the same ids as the suite's own requests.
//!
//! `scripts/fetch-contract-clients` (called by `scripts/test`) installs them, pinned, into
//! `.cache/contract-clients` (`FHIR_FACADE_CONTRACT_CLIENTS` overrides the path). Absent, these
//! checks are skipped with a printed reason, except under `CI=true`, where that is a failure;
//! the R4B validation itself, and that rule, are `crate::r4b`, which the examples'
//! full-data walks share.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::harness::Group;
use super::run::Run;

/// A search a client session runs: several parameters, and pages small enough that every
/// client follows `next` links.
#[derive(Debug, Clone)]
pub struct ClientSearch {
    /// The searched type.
    pub resource_type: String,
    /// The query, as name/value pairs.
    pub params: Vec<(String, String)>,
    /// The ids the server must answer, as the caller knows them from its data.
    pub expected: Vec<String>,
}

impl ClientSearch {
    /// A search of `resource_type` with `params`, expected to match `expected`.
    pub fn new(resource_type: &str, params: &[(&str, &str)], expected: &[&str]) -> Self {
        ClientSearch {
            resource_type: resource_type.to_owned(),
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            expected: expected.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether the checkers are installed; under CI their absence is a failed check.
fn installed(run: &mut Run<'_>) -> Option<PathBuf> {
    match crate::r4b::checkers() {
        Ok(dir) => dir,
        Err(why) => {
            run.report.check(
                "external",
                Group::Clients,
                "issue #8 (independent validation, real clients)",
                "the external checkers are installed",
                vec![why],
            );
            None
        }
    }
}

/// Runs a program and parses the JSON it prints.
async fn json_of(mut command: tokio::process::Command) -> Result<Value, String> {
    let output = command
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{:?} exited with {}: {}",
            command.as_std().get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The clients' sessions against the open instance: each reads `Patient/{patient}` and runs
/// `searches`, and must get the ids the suite's own requests got, which must be the expected.
pub async fn clients(run: &mut Run<'_>, patient: &str, searches: &[ClientSearch]) {
    let Some(dir) = installed(run) else { return };
    let base = run.http.base.clone();
    let mut direct = Vec::new();
    let mut failures = Vec::new();
    for search in searches {
        let (resource_type, expected) = (&search.resource_type, &search.expected);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(search.params.iter())
            .finish();
        let (_, ids) = run.search_all(&format!("{resource_type}?{query}")).await;
        match ids {
            Ok(ids) => {
                if sorted(ids.clone()) != sorted(expected.clone()) {
                    failures.push(format!(
                        "{resource_type}?{query}: {ids:?}, expected {expected:?}"
                    ));
                }
                direct.push(sorted(ids));
            }
            Err(e) => {
                failures.push(format!("{resource_type}?{query}: {e}"));
                direct.push(Vec::new());
            }
        }
    }
    run.report.check(
        "clients-direct",
        Group::Clients,
        "http.html#search, http.html#paging",
        "the clients' searches, sent by the suite itself, give the expected answers",
        failures,
    );
    let argument = json!(
        searches
            .iter()
            .map(|s| json!([s.resource_type, s.params]))
            .collect::<Vec<_>>()
    )
    .to_string();
    let python = dir.join("venv/bin/python");
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(root().join("tests/clients/python_clients.py"))
        .arg(&base)
        .arg(&argument)
        .arg(patient);
    let python_out = json_of(command).await;
    let mut command = tokio::process::Command::new("node");
    command
        .arg(root().join("tests/clients/fhir_kit_client.mjs"))
        .arg(&base)
        .arg(&argument)
        .arg(patient)
        .env(
            "FHIR_KIT_CLIENT",
            dir.join("node/node_modules/fhir-kit-client/dist/index.js"),
        );
    let node_out = json_of(command).await;
    let sessions = [
        (
            "fhirclient",
            "PyPI fhirclient 4.4.0",
            python_out.clone().map(|v| v["fhirclient"].clone()),
        ),
        (
            "fhirpy",
            "PyPI fhirpy 2.3.1",
            python_out.map(|v| v["fhirpy"].clone()),
        ),
        (
            "fhir-kit-client",
            "npm fhir-kit-client 2.0.3 (ESM)",
            node_out,
        ),
    ];
    for (id, client, session) in sessions {
        let failures = match session {
            Err(e) => vec![e],
            Ok(session) if session.get("error").is_some() => {
                vec![session["error"].as_str().unwrap_or("").to_owned()]
            }
            Ok(session) => {
                let mut failures = vec![];
                if session["read"] != patient {
                    failures.push(format!("read Patient/{patient} gave {}", session["read"]));
                }
                let got = session["searches"].as_array().cloned().unwrap_or_default();
                if got.len() != searches.len() {
                    failures.push(format!("{} search results", got.len()));
                }
                for ((search, ids), mine) in searches.iter().zip(&got).zip(&direct) {
                    let ids: Vec<String> = ids
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    if sorted(ids.clone()) != *mine {
                        failures.push(format!(
                            "{}?{:?}: {ids:?}, the suite got {mine:?}",
                            search.resource_type, search.params
                        ));
                    }
                }
                failures
            }
        };
        run.report.check(
            &format!("client-{id}"),
            Group::Clients,
            "issue #8 (real clients), http.html#read, http.html#paging",
            format!(
                "{client}: read, {} searches following every next link, same ids as the suite",
                searches.len()
            ),
            failures,
        );
    }
}

/// Every resource received, validated again by fhir.resources' R4B models.
pub async fn second_validator(run: &mut Run<'_>) {
    let Some(dir) = installed(run) else { return };
    let received = run.report.received.clone();
    let failures = tokio::task::spawn_blocking(move || {
        crate::r4b::validate_with(&dir, &received).unwrap_or_else(|e| vec![e])
    })
    .await
    .unwrap_or_else(|e| vec![format!("the R4B validation panicked: {e}")]);
    let count = run.report.received.len();
    run.report.check(
        "r4b-models",
        Group::Validation,
        "issue #8 (independent validation): PyPI fhir.resources 8.3.0, R4B models",
        format!("all {count} resources received are valid by a second, independent model"),
        failures,
    );
}
