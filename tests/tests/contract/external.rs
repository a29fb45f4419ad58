//! The independent checkers: PyPI `fhir.resources` (R4B models) validates every resource the
//! suite received, and scripted sessions of real clients — PyPI `fhirclient` (SMART's Python
//! client) and `fhirpy`, npm `fhir-kit-client` — read, search with several parameters and follow
//! every `next` link, and must get the same ids as the suite's own requests.
//!
//! `scripts/fetch-contract-clients` (called by `scripts/test`) installs them, pinned, into
//! `.cache/contract-clients` (`FHIR_FACADE_CONTRACT_CLIENTS` overrides the path). Absent, these
//! checks are skipped with a printed reason, except under `CI=true`, where that is a failure;
//! the R4B validation itself, and that rule, are `fhir_facade_tests::r4b`, which the examples'
//! full-data walks share.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::checks::Run;
use crate::harness::Group;

/// Searches the clients run: several parameters each, and pages of one or two so that every
/// client follows `next` links, keyset (`_cursor`) and offset (`_sort`) alike.
const SEARCHES: &[ClientSearch] = &[
    (
        "Patient",
        &[("family", "muller"), ("_count", "1")],
        &["p1", "p2"],
    ),
    (
        "Patient",
        &[("identifier", "123"), ("gender:missing", "false")],
        &["p1", "p3"],
    ),
    (
        "Observation",
        &[("patient", "p1"), ("category", "laboratory")],
        &["o1"],
    ),
    (
        "Observation",
        &[("date", "ge2020-01-15"), ("_count", "1")],
        &["o1", "o3", "o4"],
    ),
    (
        "Observation",
        &[
            ("code", "http://loinc.org|2823-3"),
            ("_sort", "-date"),
            ("_count", "1"),
        ],
        &["o1", "o3"],
    ),
    (
        "MedicationRequest",
        &[
            ("intent", "order,plan"),
            ("subject", "Patient/p1"),
            ("_count", "1"),
        ],
        &["m1", "m2"],
    ),
];

/// (type, parameters, the fixture's answer)
type ClientSearch = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether the checkers are installed; under CI their absence is a failed check.
fn installed(run: &mut Run<'_>) -> Option<PathBuf> {
    match fhir_facade_tests::r4b::checkers() {
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

/// The clients' sessions against the open instance, compared with the suite's own requests.
pub(crate) async fn clients(run: &mut Run<'_>) {
    let Some(dir) = installed(run) else { return };
    let base = run.http.base.clone();
    let mut direct = Vec::new();
    let mut failures = Vec::new();
    for (resource_type, params, expected) in SEARCHES {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let (_, ids) = run.search_all(&format!("{resource_type}?{query}")).await;
        match ids {
            Ok(ids) => {
                if sorted(ids.clone()) != sorted(expected.iter().map(|s| (*s).to_owned()).collect())
                {
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
        "the clients' searches, sent by the suite itself, give the fixture's answers",
        failures,
    );
    let searches = json!(
        SEARCHES
            .iter()
            .map(|(t, params, _)| json!([t, params]))
            .collect::<Vec<_>>()
    )
    .to_string();
    let python = dir.join("venv/bin/python");
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(root().join("tests/clients/python_clients.py"))
        .arg(&base)
        .arg(&searches);
    let python_out = json_of(command).await;
    let mut command = tokio::process::Command::new("node");
    command
        .arg(root().join("tests/clients/fhir_kit_client.mjs"))
        .arg(&base)
        .arg(&searches)
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
                if session["read"] != "p1" {
                    failures.push(format!("read Patient/p1 gave {}", session["read"]));
                }
                let got = session["searches"].as_array().cloned().unwrap_or_default();
                if got.len() != SEARCHES.len() {
                    failures.push(format!("{} search results", got.len()));
                }
                for ((search, ids), mine) in SEARCHES.iter().zip(&got).zip(&direct) {
                    let ids: Vec<String> = ids
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    if sorted(ids.clone()) != *mine {
                        failures.push(format!(
                            "{}?{:?}: {ids:?}, the suite got {mine:?}",
                            search.0, search.1
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
                SEARCHES.len()
            ),
            failures,
        );
    }
}

/// Every resource received, validated again by fhir.resources' R4B models.
pub(crate) async fn second_validator(run: &mut Run<'_>) {
    let Some(dir) = installed(run) else { return };
    let received = run.report.received.clone();
    let failures = tokio::task::spawn_blocking(move || {
        fhir_facade_tests::r4b::validate_with(&dir, &received).unwrap_or_else(|e| vec![e])
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
