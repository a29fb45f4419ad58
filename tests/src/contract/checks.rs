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
        .exercised
        .insert("system capabilities".to_owned());
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

/// Every declaration of a CapabilityStatement a client can exercise, named as [`Run`] records
/// them: search parameters `Type?code`, interactions and operations `Type read`,
/// `Type $everything`, conditional interactions `Type conditionalCreate`, includes
/// `Type _include=Type:param` and `Type _revinclude=Other:param`, and system interactions
/// `system batch`.
pub fn declarations(cs: &Value) -> BTreeSet<String> {
    let rest = &cs["rest"][0];
    let mut all = BTreeSet::new();
    for resource in rest["resource"].as_array().into_iter().flatten() {
        let t = resource["type"].as_str().unwrap_or("");
        all.extend(
            search_param_names(resource)
                .into_iter()
                .map(|n| format!("{t}?{n}")),
        );
        all.extend(
            interaction_codes(resource)
                .into_iter()
                .map(|c| format!("{t} {c}")),
        );
        for (list, name) in [
            ("searchInclude", "_include"),
            ("searchRevInclude", "_revinclude"),
        ] {
            for include in resource[list].as_array().into_iter().flatten() {
                if let Some(include) = include.as_str() {
                    all.insert(format!("{t} {name}={include}"));
                }
            }
        }
        for operation in resource["operation"].as_array().into_iter().flatten() {
            if let Some(name) = operation["name"].as_str() {
                all.insert(format!("{t} ${name}"));
            }
        }
        for flag in ["conditionalCreate", "conditionalUpdate"] {
            if resource[flag] == true {
                all.insert(format!("{t} {flag}"));
            }
        }
        if resource["conditionalDelete"]
            .as_str()
            .is_some_and(|d| d != "not-supported")
        {
            all.insert(format!("{t} conditionalDelete"));
        }
    }
    for interaction in rest["interaction"].as_array().into_iter().flatten() {
        if let Some(code) = interaction["code"].as_str() {
            all.insert(format!("system {code}"));
        }
    }
    all
}

/// How many declarations `cs` has, and those of them `exercised` does not contain.
pub fn untested(cs: &Value, exercised: &BTreeSet<String>) -> (usize, Vec<String>) {
    let declared = declarations(cs);
    let untested = declared.difference(exercised).cloned().collect();
    (declared.len(), untested)
}

/// Every declaration of the CapabilityStatement was exercised (see [`declarations`]).
pub async fn coverage(run: &mut Run<'_>) {
    let reply = run.get("metadata").await;
    let cs = reply.json.clone().unwrap_or(Value::Null);
    let (declared, untested) = untested(&cs, &run.report.exercised);
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
        format!("all {declared} declarations (search parameters, interactions, includes, operations) were exercised"),
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

/// Every served type: a few of its resources read one by one, each the same as its search
/// entry, with an ETag of its version; vread where declared; a read of an id that does not
/// exist is a 404 with an OperationOutcome.
pub async fn reads(run: &mut Run<'_>) {
    let cs = run.get("metadata").await.json.unwrap_or(Value::Null);
    for resource in cs["rest"][0]["resource"].as_array().into_iter().flatten() {
        let t = resource["type"].as_str().unwrap_or("").to_owned();
        let interactions = interaction_codes(resource);
        if !interactions.contains("read") {
            continue;
        }
        let page = run.get(&format!("{t}?_count=3")).await;
        let matches: Vec<Value> = page.resources(Some("match")).into_iter().cloned().collect();
        let mut failures = fails(&[(
            page.status == 200 && !matches.is_empty(),
            format!("{t}?_count=3 to find ids: {}", page.brief()),
        )]);
        for found in &matches {
            let id = found["id"].as_str().unwrap_or("");
            let reply = run.get(&format!("{t}/{id}")).await;
            let json = reply.json.clone().unwrap_or(Value::Null);
            if reply.status != 200 || json != *found {
                failures.push(format!(
                    "{t}/{id}: {} differs from its search entry",
                    reply.brief()
                ));
                continue;
            }
            let version = json["meta"]["versionId"].as_str();
            let etag = reply.header("etag");
            if let Some(version) = version {
                if etag != Some(format!("W/\"{version}\"").as_str()) {
                    failures.push(format!("{t}/{id}: ETag {etag:?}, versionId {version}"));
                }
                if interactions.contains("vread") {
                    let again = run.get(&format!("{t}/{id}/_history/{version}")).await;
                    if again.status != 200 || again.json.as_ref() != Some(&json) {
                        failures.push(format!(
                            "vread {t}/{id}/_history/{version}: {}",
                            again.brief()
                        ));
                    }
                }
            }
        }
        let missing = run.get(&format!("{t}/no-such-id-0")).await;
        if missing.status != 404 || !missing.is_outcome() {
            failures.push(format!("{t}/no-such-id-0: {}", missing.brief()));
        }
        run.report.check(
            &format!("read {t}"),
            Group::Read,
            "http.html#read, http.html#vread, http.html#versioning",
            format!(
                "{t}: read of found ids equals the search entry, ETag, vread; unknown id ⇒ 404"
            ),
            failures,
        );
    }
}

/// Paging through every match of `Type?filter` (`expected` of them, as the caller counted them
/// in its database): pages of `count` linked by `next` with no id twice, back by `previous` to
/// the same ids, `_summary=count` and `_total=accurate` giving the number.
pub async fn paging(run: &mut Run<'_>, t: &str, filter: &str, count: usize, expected: usize) {
    let query = |extra: &str| {
        if filter.is_empty() {
            format!("{t}?{extra}")
        } else {
            format!("{t}?{filter}&{extra}")
        }
    };
    let target = query(&format!("_count={count}"));
    let first = run.get(&target).await;
    let base = run.http.base.clone();
    let mut failures = fails(&[
        (first.status == 200, first.brief()),
        (first.link("self").is_some(), "no self link".to_owned()),
        (
            expected > count,
            format!("{expected} matches fit on one page of {count}: nothing to walk"),
        ),
    ]);
    let mut ids: Vec<String> = vec![];
    let mut page = first;
    let mut pages = 0;
    loop {
        pages += 1;
        let matches = page.resources(Some("match"));
        if matches.len() > count {
            failures.push(format!(
                "page {pages}: {} matches for _count={count}",
                matches.len()
            ));
        }
        for entry in page
            .json
            .as_ref()
            .and_then(|j| j["entry"].as_array())
            .into_iter()
            .flatten()
        {
            let id = entry["resource"]["id"].as_str().unwrap_or("");
            if entry["search"]["mode"] == "match"
                && entry["fullUrl"] != format!("{base}/{t}/{id}").as_str()
            {
                failures.push(format!("{t}/{id}: fullUrl {}", entry["fullUrl"]));
            }
        }
        ids.extend(page.match_ids());
        let Some(next) = page.link("next") else { break };
        if pages > expected / count.max(1) + 2 {
            failures.push(format!("{pages} pages for {expected} matches"));
            break;
        }
        page = run.get(&next).await;
        if page.status != 200 {
            failures.push(format!("page {}: {}", pages + 1, page.brief()));
            break;
        }
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    if unique.len() != ids.len() {
        failures.push(format!("{} ids, {} distinct", ids.len(), unique.len()));
    }
    if ids.len() != expected {
        failures.push(format!(
            "walked {} matches, the database has {expected}",
            ids.len()
        ));
    }
    // Back from the last page by `previous` links, when the server gives them.
    if pages > 1 && page.link("previous").is_some() {
        let mut back: Vec<String> = page.match_ids();
        let mut previous = page.link("previous");
        let mut steps = 0;
        while let Some(url) = previous {
            steps += 1;
            if steps > pages {
                failures.push("previous links do not end".to_owned());
                break;
            }
            let reply = run.get(&url).await;
            back.extend(reply.match_ids());
            previous = reply.link("previous");
        }
        let back: BTreeSet<&String> = back.iter().collect();
        if back != unique {
            failures.push(format!(
                "previous links reach {} ids, next links {}",
                back.len(),
                unique.len()
            ));
        }
    }
    for total_target in [query("_summary=count"), query("_count=1&_total=accurate")] {
        let reply = run.get(&total_target).await;
        let total = reply
            .json
            .as_ref()
            .map_or(Value::Null, |j| j["total"].clone());
        if total != expected {
            failures.push(format!(
                "{total_target}: total {total}, expected {expected}"
            ));
        }
    }
    run.report.check(
        &format!("paging {target}"),
        Group::Paging,
        "http.html#paging, search.html#count, search.html#total, bundle.html (fullUrl)",
        format!("{target}: {expected} matches over next links, each once; previous links; totals"),
        failures,
    );
}

/// `Patient/{patient}/$everything`: a Bundle holding the patient and only resources that
/// refer to it, at least `at_least` of them besides the patient.
pub async fn everything(run: &mut Run<'_>, patient: &str, at_least: usize) {
    let (first, ids) = run
        .search_all(&format!("Patient/{patient}/$everything"))
        .await;
    let mut failures = fails(&[(first.status == 200, first.brief())]);
    let needle = format!("Patient/{patient}\"");
    let mut others = 0;
    let mut seen_patient = false;
    let mut page = Some(first);
    let mut pages = 0;
    while let Some(reply) = page.take() {
        pages += 1;
        for resource in reply
            .json
            .as_ref()
            .and_then(|j| j["entry"].as_array())
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
        {
            let is_patient = resource["resourceType"] == "Patient" && resource["id"] == patient;
            if is_patient {
                seen_patient = true;
            } else if resource["resourceType"] != "OperationOutcome" {
                others += 1;
                if !resource.to_string().contains(&needle) {
                    failures.push(format!(
                        "{}/{} does not refer to Patient/{patient}",
                        resource["resourceType"], resource["id"]
                    ));
                }
            }
        }
        if let Some(next) = reply.link("next").filter(|_| pages < 100) {
            page = Some(run.get(&next).await);
        }
    }
    if let Err(e) = ids {
        failures.push(e);
    }
    if !seen_patient {
        failures.push(format!("Patient/{patient} is not in it"));
    }
    if others < at_least {
        failures.push(format!(
            "{others} resources besides the patient, expected at least {at_least}"
        ));
    }
    run.report.check(
        "everything",
        Group::Search,
        "patient-operation-everything.html",
        format!("Patient/{patient}/$everything ⇒ the patient and resources that refer to it"),
        failures,
    );
}

/// A batch of a read, a search and a read of a missing id: a `batch-response` with 200, 200
/// and 404, in order.
pub async fn batch(run: &mut Run<'_>, t: &str, id: &str) {
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": format!("{t}/{id}")}},
            {"request": {"method": "GET", "url": format!("{t}?_id={id}")}},
            {"request": {"method": "GET", "url": format!("{t}/no-such-id-0")}},
        ]
    });
    let reply = run
        .send(
            hyper::Method::POST,
            "",
            &[],
            Some(("application/fhir+json", bundle.to_string())),
        )
        .await;
    let json = reply.json.clone().unwrap_or(Value::Null);
    let statuses: Vec<String> = json["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["response"]["status"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(3)
                .collect()
        })
        .collect();
    run.report.check(
        "batch",
        Group::Read,
        "http.html#transaction (batch)",
        format!("batch of GET {t}/{id}, GET {t}?_id={id}, GET {t}/no-such-id-0 ⇒ batch-response 200, 200, 404"),
        fails(&[
            (reply.status == 200, reply.brief()),
            (json["type"] == "batch-response", format!("type {}", json["type"])),
            (statuses == ["200", "200", "404"], format!("statuses {statuses:?}")),
            (
                json["entry"][0]["resource"]["id"] == id,
                format!("first entry {}", json["entry"][0]["resource"]["id"]),
            ),
        ]),
    );
}

/// Bad requests to `Type` answered with the right status and an OperationOutcome: an unknown
/// type, an unknown modifier, an unknown parameter under strict handling, a malformed date and
/// `_count`, an unsupported `Accept`, and the write interactions `Type` does not declare; a
/// declared create refuses a body that is not FHIR JSON.
pub async fn errors(run: &mut Run<'_>, t: &str) {
    use hyper::Method;
    let cs = run.get("metadata").await.json.unwrap_or(Value::Null);
    let declared = declared_resource(&cs, t).cloned().unwrap_or(Value::Null);
    let interactions = interaction_codes(&declared);
    let date = declared["searchParam"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["type"] == "date")
        .and_then(|p| p["name"].as_str())
        .map(str::to_owned);
    let errors = "search.html#errors";
    run.expect_error(
        ("err-type", "http.html#read (unknown type)"),
        (Method::GET, "NoSuchType?_id=1", &[], None),
        &[400, 404],
    )
    .await;
    run.expect_error(
        ("err-modifier", errors),
        (Method::GET, &format!("{t}?_id:fuzzy=x"), &[], None),
        &[400],
    )
    .await;
    run.expect_error(
        ("err-strict", "search.html#errors (Prefer: handling=strict)"),
        (
            Method::GET,
            &format!("{t}?bonkers=1"),
            &[("prefer", "handling=strict")],
            None,
        ),
        &[400],
    )
    .await;
    if let Some(date) = date {
        run.expect_error(
            ("err-date", "search.html#date"),
            (Method::GET, &format!("{t}?{date}=31-12-2019"), &[], None),
            &[400],
        )
        .await;
    }
    run.expect_error(
        ("err-count", "search.html#count"),
        (Method::GET, &format!("{t}?_count=many"), &[], None),
        &[400],
    )
    .await;
    let reply = run
        .send(
            Method::GET,
            &format!("{t}?_count=1"),
            &[("accept", "application/xml")],
            None,
        )
        .await;
    run.report.check(
        "err-accept",
        Group::Errors,
        "http.html#mime (406)",
        "Accept: application/xml on a JSON-only server ⇒ 406",
        fails(&[(reply.status == 406, reply.brief())]),
    );
    let body = serde_json::json!({"resourceType": t}).to_string();
    let fhir_json = "application/fhir+json";
    for (code, method, target) in [
        ("create", Method::POST, t.to_owned()),
        ("update", Method::PUT, format!("{t}/no-such-id-0")),
        ("delete", Method::DELETE, format!("{t}/no-such-id-0")),
    ] {
        if interactions.contains(code) {
            continue;
        }
        let payload = (method != Method::DELETE).then(|| (fhir_json, body.clone()));
        run.expect_error(
            (
                &format!("err-{code}"),
                "http.html, capabilitystatement.html (not declared ⇒ 405)",
            ),
            (method, &target, &[], payload),
            &[405],
        )
        .await;
    }
    if interactions.contains("create") {
        run.expect_error(
            ("err-media-type", "http.html#mime (415)"),
            (Method::POST, t, &[], Some(("text/plain", body.clone()))),
            &[415],
        )
        .await;
        run.expect_error(
            ("err-not-json", "http.html#create, json.html"),
            (
                Method::POST,
                t,
                &[],
                Some((fhir_json, "{\"resourceType\":".to_owned())),
            ),
            &[400],
        )
        .await;
        run.expect_error(
            ("err-wrong-type", "http.html#create"),
            (
                Method::POST,
                t,
                &[],
                Some((
                    fhir_json,
                    serde_json::json!({"resourceType": "Basic", "code": {}}).to_string(),
                )),
            ),
            &[400, 422],
        )
        .await;
    }
}
