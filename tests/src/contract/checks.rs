//! Checks that hold for every facade, whatever its data: the CapabilityStatement's basics, the
//! coverage of its declarations, and schema validity of everything received.

use std::collections::BTreeSet;

use serde_json::Value;

use super::harness::{Group, Report};
use super::run::{Run, fails};

/// The CapabilityStatement: FHIR 4.0.1, JSON, a server; each of `types` declares read,
/// search-type and typed search parameters.
pub async fn capability(run: &mut Run<'_>, types: &[&str]) {
    let spec = "http.html#capabilities";
    let reply = run.get("metadata").await;
    let cs = reply.json.clone().unwrap_or(Value::Null);
    run.report.check(
        "cap-1",
        Group::Capability,
        spec,
        "GET /metadata ⇒ 200, a CapabilityStatement of FHIR 4.0.1",
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                cs["resourceType"] == "CapabilityStatement",
                format!("resourceType {}", cs["resourceType"]),
            ),
            (
                cs["fhirVersion"] == "4.0.1",
                format!("fhirVersion {}", cs["fhirVersion"]),
            ),
        ]),
    );
    let formats: Vec<&str> = cs["format"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    run.report.check(
        "cap-2",
        Group::Capability,
        "capabilitystatement.html (format), http.html#mime",
        "format declares JSON; kind instance; rest mode server",
        fails(&[
            (
                formats
                    .iter()
                    .any(|f| *f == "json" || f.contains("fhir+json")),
                format!("format {formats:?}"),
            ),
            (cs["kind"] == "instance", format!("kind {}", cs["kind"])),
            (
                cs["rest"][0]["mode"] == "server",
                format!("rest.mode {}", cs["rest"][0]["mode"]),
            ),
        ]),
    );
    let mut failures = vec![];
    for t in types {
        let declared = declared_resource(&cs, t);
        let interactions = declared.map(interaction_codes).unwrap_or_default();
        for wanted in ["read", "search-type"] {
            if !interactions.contains(wanted) {
                failures.push(format!("{t} does not declare {wanted}"));
            }
        }
        let params = declared.map(search_param_names).unwrap_or_default();
        if let Some(r) = declared {
            for p in r["searchParam"].as_array().into_iter().flatten() {
                if p["type"].as_str().is_none() {
                    failures.push(format!("{t}.{} has no type", p["name"]));
                }
            }
        }
        if params.is_empty() {
            failures.push(format!("{t} declares no search parameter"));
        }
    }
    run.report.check(
        "cap-3",
        Group::Capability,
        "capabilitystatement.html (rest.resource)",
        "every served type declares read, search-type and typed search parameters",
        failures,
    );
    run.report
        .interactions
        .insert(("*".to_owned(), "capabilities".to_owned()));
}

/// `rest.resource` of `resource_type` in a CapabilityStatement.
pub fn declared_resource<'a>(cs: &'a Value, resource_type: &str) -> Option<&'a Value> {
    cs["rest"][0]["resource"]
        .as_array()?
        .iter()
        .find(|r| r["type"] == resource_type)
}

/// The interaction codes a `rest.resource` declares.
pub fn interaction_codes(resource: &Value) -> BTreeSet<String> {
    resource["interaction"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["code"].as_str().map(str::to_owned))
        .collect()
}

/// The search parameter names a `rest.resource` declares.
pub fn search_param_names(resource: &Value) -> BTreeSet<String> {
    resource["searchParam"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

/// The declarations of `cs` (search parameters as `Type?name`, interactions as
/// `Type interaction`) and those of them that `params` and `interactions` do not contain.
pub fn untested(
    cs: &Value,
    params: &BTreeSet<(String, String)>,
    interactions: &BTreeSet<(String, String)>,
) -> (usize, Vec<String>) {
    let mut declared = 0;
    let mut untested = vec![];
    for resource in cs["rest"][0]["resource"].as_array().into_iter().flatten() {
        let t = resource["type"].as_str().unwrap_or("").to_owned();
        for name in search_param_names(resource) {
            declared += 1;
            if !params.contains(&(t.clone(), name.clone())) {
                untested.push(format!("{t}?{name}"));
            }
        }
        for code in interaction_codes(resource) {
            declared += 1;
            if !interactions.contains(&(t.clone(), code.clone())) {
                untested.push(format!("{t} {code}"));
            }
        }
    }
    (declared, untested)
}

/// Every search parameter and interaction the CapabilityStatement declares was exercised.
pub async fn coverage(run: &mut Run<'_>) {
    let reply = run.get("metadata").await;
    let cs = reply.json.clone().unwrap_or(Value::Null);
    let (declared, untested) = untested(&cs, &run.report.params, &run.report.interactions);
    let failures = if declared == 0 {
        vec![format!("no declarations found: {}", reply.brief())]
    } else if untested.is_empty() {
        vec![]
    } else {
        vec![format!(
            "declared but never tested: {}",
            untested.join(", ")
        )]
    };
    run.report.capability = cs;
    run.report.check(
        "coverage",
        Group::Coverage,
        "issue #8: every CapabilityStatement declaration is exercised",
        format!("all {declared} declared search parameters and interactions were exercised"),
        failures,
    );
}

/// Zero schema errors across everything received.
pub fn validation(report: &mut Report) {
    if crate::fhir_schema().is_none() {
        // Outside CI only (fhir_schema fails under CI=true), and it has printed why.
        return;
    }
    let failures = if report.validated == 0 {
        vec!["nothing was validated".to_owned()]
    } else {
        report.invalid.clone()
    };
    let validated = report.validated;
    report.check(
        "schema",
        Group::Validation,
        "json.html, fhir.schema.json (official R4 JSON schema)",
        format!("all {validated} resources received are valid R4"),
        failures,
    );
}
