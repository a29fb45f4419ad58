//! The check list of the conformance fixture: cases 1–34 of `shared/conformance/cases.md`, the
//! searches that exercise every declared parameter, and the US Core combinations, with the
//! fixture's answers. Each check names the spec section it comes from.

use std::collections::BTreeSet;

use fhir_facade_tests::contract::checks::capability;
use fhir_facade_tests::contract::{Group, Run, fails};
use hyper::Method;
use serde_json::{Value, json};

const CATSYS: &str = crate::fixture::CATSYS;

/// Cases 1–34 on the open server, the CapabilityStatement basics, and the coverage searches.
pub(crate) async fn open_server(run: &mut Run<'_>) {
    capability(run, &crate::fixture::TYPES).await;
    search(run).await;
    paging(run).await;
    include(run).await;
    read(run).await;
    errors(run).await;
}

async fn search(run: &mut Run<'_>) {
    use Group::Search as S;
    let string = "search.html#string";
    run.expect("1", S, string, "Patient?family=muller", &["p1", "p2"])
        .await;
    run.expect(
        "2a",
        S,
        "search.html#modifiers (:exact)",
        "Patient?family:exact=Muller",
        &[],
    )
    .await;
    run.expect(
        "2b",
        S,
        "search.html#modifiers (:exact)",
        "Patient?family:exact=M%C3%BCller",
        &["p1"],
    )
    .await;
    run.expect("3a", S, string, "Patient?name=jose", &["p1"])
        .await;
    run.expect(
        "3b",
        S,
        "search.html#modifiers (:contains)",
        "Patient?given:contains=ELY",
        &["p2"],
    )
    .await;
    run.expect(
        "4a",
        S,
        "search.html#combining (OR)",
        "Patient?given=eve,jose",
        &["p1", "p2"],
    )
    .await;
    run.expect(
        "4b",
        S,
        "search.html#combining (AND)",
        "Patient?given=eve&given=jose",
        &["p1"],
    )
    .await;
    let token = "search.html#token";
    run.expect("5a", S, token, "Patient?identifier=123", &["p1", "p3"])
        .await;
    run.expect("5b", S, token, "Patient?identifier=%7C123", &["p3"])
        .await;
    run.expect(
        "5c",
        S,
        token,
        "Patient?identifier=http://hosp/mrn%7C",
        &["p1"],
    )
    .await;
    run.expect("5d", S, token, "Patient?identifier=http://other%7C123", &[])
        .await;
    run.expect(
        "6",
        S,
        "search.html#modifiers (:of-type)",
        "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7C123",
        &["p1"],
    )
    .await;
    run.expect(
        "7",
        S,
        "search.html#modifiers (:not)",
        "Patient?gender:not=male",
        &["p1", "p2"],
    )
    .await;
    let missing = "search.html#modifiers (:missing)";
    run.expect("8a", S, missing, "Patient?gender:missing=true", &["p2"])
        .await;
    run.expect(
        "8b",
        S,
        missing,
        "Patient?gender:missing=false",
        &["p1", "p3"],
    )
    .await;
    run.expect(
        "9",
        S,
        "search.html#modifiers (:text)",
        "Observation?code:text=potassium",
        &["o1", "o3"],
    )
    .await;
    run.expect(
        "10a",
        S,
        token,
        &format!("Observation?patient=p1&category={CATSYS}%7Claboratory"),
        &["o1"],
    )
    .await;
    run.expect(
        "10b",
        S,
        token,
        "Observation?patient=p1&category=laboratory",
        &["o1"],
    )
    .await;
    let date = "search.html#date";
    run.expect("12", S, date, "Patient?birthdate=1980", &["p1"])
        .await;
    run.expect(
        "13a",
        S,
        "search.html#prefix",
        "Patient?birthdate=gt1980",
        &["p3"],
    )
    .await;
    run.expect(
        "13b",
        S,
        "search.html#prefix",
        "Patient?birthdate=ge1980",
        &["p1", "p3"],
    )
    .await;
    run.expect(
        "13c",
        S,
        "search.html#prefix",
        "Patient?birthdate=lt1980",
        &["p2"],
    )
    .await;
    run.expect(
        "14a",
        S,
        date,
        "Patient?birthdate=gt1980-06-15T10:00:00Z",
        &["p1", "p3"],
    )
    .await;
    run.expect(
        "14b",
        S,
        date,
        "Patient?birthdate=lt1980-06-15T10:00:00Z",
        &["p1", "p2"],
    )
    .await;
    run.expect("15a", S, date, "Observation?date=2020-01-15", &[])
        .await;
    run.expect("15b", S, date, "Observation?date=2020-01", &["o2", "o3"])
        .await;
    run.expect(
        "16a",
        S,
        "search.html#prefix (ge)",
        "Observation?date=ge2020-01-15",
        &["o1", "o3", "o4"],
    )
    .await;
    run.expect(
        "16b",
        S,
        "search.html#prefix (sa)",
        "Observation?date=sa2020-01-05",
        &["o1", "o3", "o4"],
    )
    .await;
    run.expect(
        "16c",
        S,
        "search.html#prefix (eb)",
        "Observation?date=eb2020-01-15",
        &["o2"],
    )
    .await;
    run.expect(
        "17",
        S,
        date,
        "Observation?patient=p1&date=ge2020-01-01&date=lt2020-02-01",
        &["o2"],
    )
    .await;
    run.expect(
        "18",
        S,
        date,
        "Observation?date=lt2020-01-01T05:00:00%2B00:00",
        &["o2"],
    )
    .await;
    let quantity = "search.html#quantity";
    run.expect(
        "20a",
        S,
        quantity,
        "Observation?value-quantity=2.0%7C%7Cmmol/L",
        &["o3"],
    )
    .await;
    run.expect(
        "20b",
        S,
        quantity,
        "Observation?value-quantity=5.4%7Chttp://unitsofmeasure.org%7Cmmol/L",
        &["o1"],
    )
    .await;
    run.expect(
        "20c",
        S,
        quantity,
        "Observation?value-quantity=gt2.04%7C%7Cmmol/L",
        &["o1"],
    )
    .await;
    let composite = "search.html#composite";
    run.expect(
        "21a",
        S,
        composite,
        "Observation?component-code-value-quantity=http://loinc.org%7C8462-4$lt60",
        &["o4"],
    )
    .await;
    run.expect(
        "21b",
        S,
        composite,
        "Observation?component-code-value-quantity=http://loinc.org%7C8480-6$lt60",
        &[],
    )
    .await;
    let reference = "search.html#reference";
    let base = run.http.base.clone();
    run.expect("22a", S, reference, "Observation?patient=p1", &["o1", "o2"])
        .await;
    run.expect(
        "22b",
        S,
        reference,
        "Observation?patient=Patient/p1",
        &["o1", "o2"],
    )
    .await;
    run.expect(
        "22c",
        S,
        reference,
        "Observation?subject:Patient=p1",
        &["o1", "o2"],
    )
    .await;
    run.expect(
        "22d",
        S,
        reference,
        &format!("Observation?patient={base}/Patient/p1"),
        &["o1", "o2"],
    )
    .await;
    let reply = run.get("Observation?patient=nope").await;
    run.report.check(
        "23",
        S,
        "search.html#reference, http.html#search",
        "Observation?patient=nope ⇒ 200, empty searchset",
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                reply
                    .json
                    .as_ref()
                    .is_some_and(|j| j["type"] == "searchset"),
                "not a searchset".to_owned(),
            ),
            (
                reply.match_ids().is_empty(),
                format!("{:?}", reply.match_ids()),
            ),
        ]),
    );
    let reply = run
        .send(
            Method::POST,
            "Observation/_search",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                "patient=p1&category=laboratory".to_owned(),
            )),
        )
        .await;
    run.report.check(
        "24",
        S,
        "http.html#search (POST _search)",
        "POST Observation/_search patient=p1&category=laboratory ⇒ o1",
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                reply.match_ids() == ["o1"],
                format!("{:?}", reply.match_ids()),
            ),
        ]),
    );
    run.expect_ordered(
        "25a",
        "search.html#sort",
        "Observation?patient=p1&_sort=-date",
        &["o1", "o2"],
    )
    .await;
    run.expect_ordered(
        "25b",
        "search.html#sort",
        "Observation?patient=p1&_sort=date",
        &["o2", "o1"],
    )
    .await;
    let intent = "search.html#token, search.html#combining";
    run.expect(
        "29a",
        S,
        intent,
        "MedicationRequest?intent=order,plan",
        &["m1", "m2", "m3"],
    )
    .await;
    run.expect(
        "29b",
        S,
        intent,
        "MedicationRequest?intent=order&intent=plan",
        &[],
    )
    .await;
    let reply = run.get("Patient?bonkers=1").await;
    let mut ids = reply.match_ids();
    ids.sort();
    let self_link = reply.link("self").unwrap_or_default();
    run.report.check(
        "30a",
        S,
        "search.html#errors (lenient handling)",
        "Patient?bonkers=1 ⇒ 200, all patients, self link without bonkers",
        fails(&[
            (reply.status == 200, reply.brief()),
            (ids == ["p1", "p2", "p3"], format!("{ids:?}")),
            (
                !self_link.is_empty() && !self_link.contains("bonkers"),
                format!("self link {self_link:?}"),
            ),
        ]),
    );
    // Every declared parameter is exercised, with answers from the fixture.
    run.expect(
        "x-pat-id",
        S,
        "search.html#id",
        "Patient?_id=p1,p3",
        &["p1", "p3"],
    )
    .await;
    run.expect(
        "x-obs-id",
        S,
        "search.html#id",
        "Observation?_id=o2",
        &["o2"],
    )
    .await;
    run.expect(
        "x-med-id",
        S,
        "search.html#id",
        "Medication?_id=med1",
        &["med1"],
    )
    .await;
    run.expect(
        "x-mr-id",
        S,
        "search.html#id",
        "MedicationRequest?_id=m2",
        &["m2"],
    )
    .await;
    run.expect(
        "x-obs-code",
        S,
        token,
        "Observation?code=http://loinc.org%7C2823-3",
        &["o1", "o3"],
    )
    .await;
    run.expect(
        "x-mr-subject",
        S,
        reference,
        "MedicationRequest?subject=Patient/p1",
        &["m1", "m2"],
    )
    .await;
    run.expect(
        "x-mr-patient",
        S,
        reference,
        "MedicationRequest?patient=p2",
        &["m3"],
    )
    .await;
    run.expect(
        "x-mr-medication",
        S,
        reference,
        "MedicationRequest?medication=Medication/med1",
        &["m1"],
    )
    .await;
    run.expect(
        "x-cond-id",
        S,
        "search.html#id",
        "Condition?_id=c1",
        &["c1"],
    )
    .await;
    run.expect(
        "x-cond-code",
        S,
        token,
        "Condition?code=http://snomed.info/sct%7C44054006",
        &["c1"],
    )
    .await;
    run.expect(
        "x-obs-chain",
        S,
        "search.html#chaining",
        "Observation?subject:Patient.family=mullerson",
        &["o3", "o4"],
    )
    .await;
    // US Core's mandatory search combinations, on this fixture.
    run.expect(
        "us-core-cond",
        S,
        "US Core 3.1.1 Condition: patient+category",
        "Condition?patient=p1&category=problem-list-item",
        &["c1"],
    )
    .await;
    run.expect(
        "us-core-obs",
        S,
        "US Core 3.1.1 Observation Lab: patient+category+date",
        "Observation?patient=p1&category=laboratory&date=ge2015",
        &["o1"],
    )
    .await;
    run.expect(
        "us-core-obs-code",
        S,
        "US Core 3.1.1 Observation: patient+code",
        "Observation?patient=p2&code=http://loinc.org%7C85354-9",
        &["o4"],
    )
    .await;
    run.expect(
        "us-core-pat",
        S,
        "US Core 3.1.1 Patient: birthdate+name",
        "Patient?birthdate=1980-06-15&name=muller",
        &["p1"],
    )
    .await;
    run.expect(
        "us-core-pat-gender",
        S,
        "US Core 3.1.1 Patient: gender+name",
        "Patient?gender=female&name=eve",
        &["p1"],
    )
    .await;
}

async fn paging(run: &mut Run<'_>) {
    let base = run.http.base.clone();
    let reply = run.get("Observation?_count=2").await;
    let json = reply.json.clone().unwrap_or(Value::Null);
    let entries = json["entry"].as_array().cloned().unwrap_or_default();
    let mut failures = fails(&[
        (reply.status == 200, reply.brief()),
        (entries.len() <= 2, format!("{} entries", entries.len())),
        (reply.link("self").is_some(), "no self link".to_owned()),
    ]);
    for entry in &entries {
        let id = entry["resource"]["id"].as_str().unwrap_or("");
        if entry["search"]["mode"] != "match" {
            failures.push(format!("{id}: search.mode {}", entry["search"]["mode"]));
        }
        if entry["fullUrl"] != json!(format!("{base}/Observation/{id}")) {
            failures.push(format!("{id}: fullUrl {}", entry["fullUrl"]));
        }
    }
    run.report.check(
        "26a",
        Group::Paging,
        "http.html#paging, bundle.html (fullUrl, search.mode)",
        "Observation?_count=2 ⇒ at most 2 match entries with fullUrl B/Observation/{id}, a self link",
        failures,
    );
    let (_, walked) = run.search_all("Observation?_count=2").await;
    let failures = match walked {
        Ok(ids) => {
            let set: BTreeSet<&String> = ids.iter().collect();
            let mut sorted_ids = ids.clone();
            sorted_ids.sort();
            fails(&[(
                set.len() == ids.len() && sorted_ids == ["o1", "o2", "o3", "o4"],
                format!("walked {ids:?}"),
            )])
        }
        Err(e) => vec![e],
    };
    run.report.check(
        "26b",
        Group::Paging,
        "http.html#paging",
        "following next from Observation?_count=2 yields o1–o4 exactly once",
        failures,
    );
    for (id, target) in [
        ("27a", "Observation?_count=0"),
        ("27b", "Observation?_summary=count"),
    ] {
        let reply = run.get(target).await;
        let json = reply.json.clone().unwrap_or(Value::Null);
        run.report.check(
            id,
            Group::Paging,
            "search.html#count, search.html#summary",
            format!("{target} ⇒ total 4, no entries, no next link"),
            fails(&[
                (reply.status == 200, reply.brief()),
                (json["total"] == 4, format!("total {}", json["total"])),
                (
                    json["entry"].as_array().is_none_or(Vec::is_empty),
                    "has entries".to_owned(),
                ),
                (reply.link("next").is_none(), "has a next link".to_owned()),
            ]),
        );
    }
}

async fn include(run: &mut Run<'_>) {
    let reply = run
        .get("MedicationRequest?patient=p1&intent=order&_include=MedicationRequest:medication")
        .await;
    let json = reply.json.clone().unwrap_or(Value::Null);
    run.report.check(
        "28",
        Group::Include,
        "search.html#include",
        "MedicationRequest?patient=p1&intent=order&_include=MedicationRequest:medication ⇒ m1 match, med1 include, total 1",
        fails(&[
            (reply.status == 200, reply.brief()),
            (reply.match_ids() == ["m1"], format!("matches {:?}", reply.match_ids())),
            (
                reply.entries("include") == [("Medication".to_owned(), "med1".to_owned())],
                format!("includes {:?}", reply.entries("include")),
            ),
            (json["total"] == 1, format!("total {}", json["total"])),
        ]),
    );
}

async fn read(run: &mut Run<'_>) {
    let reply = run.get("Patient/p1").await;
    let json = reply.json.clone().unwrap_or(Value::Null);
    run.report.check(
        "31a",
        Group::Read,
        "http.html#read",
        "GET Patient/p1 ⇒ 200, id p1",
        fails(&[
            (reply.status == 200, reply.brief()),
            (json["id"] == "p1", format!("id {}", json["id"])),
        ]),
    );
    let version = json["meta"]["versionId"].as_str().unwrap_or("").to_owned();
    let etag = reply.header("etag").unwrap_or("").to_owned();
    run.report.check(
        "31b",
        Group::Read,
        "http.html#versioning (ETag)",
        "ETag is W/\"<meta.versionId>\"",
        fails(&[
            (!version.is_empty(), "no meta.versionId".to_owned()),
            (
                etag == format!("W/\"{version}\""),
                format!("ETag {etag:?}, versionId {version:?}"),
            ),
        ]),
    );
    let again = run
        .send(Method::GET, "Patient/p1", &[("if-none-match", &etag)], None)
        .await;
    run.report.check(
        "31c",
        Group::Read,
        "http.html#cread (If-None-Match)",
        "If-None-Match with the ETag ⇒ 304, no body",
        fails(&[
            (!etag.is_empty(), "no ETag to send".to_owned()),
            (again.status == 304, again.brief()),
            (again.json.is_none(), "a body with the 304".to_owned()),
        ]),
    );
    let mut failures = vec![];
    for target in [
        "Observation/o1",
        "Condition/c1",
        "Medication/med1",
        "MedicationRequest/m1",
    ] {
        let reply = run.get(target).await;
        let id = target.split('/').nth(1).unwrap_or("");
        let json = reply.json.clone().unwrap_or(Value::Null);
        if reply.status != 200 || json["id"] != id {
            failures.push(format!("{target}: {}", reply.brief()));
        }
    }
    run.report.check(
        "x-read",
        Group::Read,
        "http.html#read",
        "read of Observation/o1, Condition/c1, Medication/med1, MedicationRequest/m1 ⇒ 200 with that id",
        failures,
    );
}

async fn errors(run: &mut Run<'_>) {
    run.expect_error(
        ("11", "search.html#modifiers, search.html#errors"),
        (Method::GET, "Patient?family:fuzzy=x", &[], None),
        &[400],
    )
    .await;
    run.expect_error(
        ("19", "search.html#date, search.html#errors"),
        (Method::GET, "Observation?date=31-12-2019", &[], None),
        &[400],
    )
    .await;
    run.expect_error(
        ("30b", "search.html#errors (Prefer: handling=strict)"),
        (
            Method::GET,
            "Patient?bonkers=1",
            &[("prefer", "handling=strict")],
            None,
        ),
        &[400],
    )
    .await;
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "X"}]});
    let fhir_json = "application/fhir+json";
    run.expect_error(
        (
            "33a",
            "http.html#delete, capabilitystatement.html (not declared ⇒ 405)",
        ),
        (Method::DELETE, "Patient/p1", &[], None),
        &[405],
    )
    .await;
    run.expect_error(
        ("33b", "http.html#update"),
        (
            Method::PUT,
            "Patient/p1",
            &[],
            Some((fhir_json, patient.to_string())),
        ),
        &[405],
    )
    .await;
    let mut new = patient.clone();
    new.as_object_mut().map(|o| o.remove("id"));
    run.expect_error(
        ("33c", "http.html#create"),
        (
            Method::POST,
            "Patient",
            &[],
            Some((fhir_json, new.to_string())),
        ),
        &[405],
    )
    .await;
    let reply = run
        .send(
            Method::GET,
            "Patient/p1",
            &[("accept", "application/xml")],
            None,
        )
        .await;
    run.report.check(
        "34a",
        Group::Errors,
        "http.html#mime (406)",
        "Accept: application/xml on a JSON-only server ⇒ 406",
        fails(&[(reply.status == 406, reply.brief())]),
    );
    let reply = run.get("Patient?_format=json").await;
    let content_type = reply.header("content-type").unwrap_or("").to_owned();
    run.report.check(
        "34b",
        Group::Errors,
        "http.html#mime (_format)",
        "?_format=json ⇒ Content-Type application/fhir+json",
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                content_type.starts_with("application/fhir+json"),
                format!("Content-Type {content_type:?}"),
            ),
        ]),
    );
    run.expect_error(
        ("32", "http.html#read (404)"),
        (Method::GET, "Patient/nope", &[], None),
        &[404],
    )
    .await;
}
