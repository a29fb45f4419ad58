//! Cases 35–45 against the SMART-protected instance, with tokens signed locally by the fake
//! IdP of the axum tests (its keys in `fhir-facade-axum/tests/keys`, served as JWKS). Cases
//! 35–37 and 45 are the same for every facade (`fhir_facade_tests::contract::smart`); 38–44
//! check the fixture's own answers.

use fhir_facade_tests::contract::smart::{self, Signer, as_token};
use fhir_facade_tests::contract::{Group, Run, fails};
use serde_json::Value;

use fhir_facade_tests::idp::{Idp, sign_rs256, sign_rs256_unknown_key};

const CATSYS: &str = crate::fixture::CATSYS;
const LAUNCH: &str = "SMART App Launch scopes-and-launch-context";

pub(crate) async fn smart_server(run: &mut Run<'_>, idp: &Idp) {
    let b = run.http.base.clone();
    smart::metadata(run).await;
    let signer = Signer {
        issuer: idp.issuer("fhir"),
        audience: b.clone(),
        sign: &sign_rs256,
        sign_unknown_key: &sign_rs256_unknown_key,
    };
    smart::refused_tokens(run, &signer, "Patient").await;

    let token = |scope: &str, patient: Option<&str>| signer.token(scope, patient);
    // 38–40: P1.
    let p1 = token("patient/Patient.rs patient/Observation.rs", Some("p1"));
    let reply = as_token(run, Some(&p1), "Observation?patient=p2").await;
    run.report.check(
        "38a",
        Group::Smart,
        LAUNCH,
        "P1 + Observation?patient=p2 ⇒ 403, or 200 with no entries",
        fails(&[(reply.refused_or_empty(), reply.brief())]),
    );
    run.token = Some(p1.clone());
    run.expect("38b", Group::Smart, LAUNCH, "Observation", &["o1", "o2"])
        .await;
    run.expect("38c", Group::Smart, LAUNCH, "Patient?family=mull", &["p1"])
        .await;
    for (id, target, expected) in [
        ("38d", "Observation?_total=accurate", 2),
        ("38e", "Patient?family=mull&_total=accurate", 1),
        ("38f", "Observation?_summary=count", 2),
        ("38g", "Patient?family=mull&_count=0", 1),
    ] {
        let reply = run.get(target).await;
        let total = reply
            .json
            .as_ref()
            .map_or(Value::Null, |j| j["total"].clone());
        run.report.check(
            id,
            Group::Smart,
            "search.html#total with SMART scopes-and-launch-context (patient compartment)",
            format!("P1 + {target} ⇒ total {expected}: the compartment's matches only"),
            fails(&[
                (reply.status == 200, reply.brief()),
                (total == expected, format!("total {total}")),
            ]),
        );
    }
    let reply = run.get("Observation/o3").await;
    run.report.check(
        "39",
        Group::Smart,
        LAUNCH,
        "P1 + GET Observation/o3 ⇒ 403 or 404, never 200",
        fails(&[(matches!(reply.status, 403 | 404), reply.brief())]),
    );
    let reply = run.get("Condition?patient=p1").await;
    run.report.check(
        "40",
        Group::Smart,
        LAUNCH,
        "P1 + Condition?patient=p1 (type not granted) ⇒ 401 or 403, not an empty 200",
        fails(&[(matches!(reply.status, 401 | 403), reply.brief())]),
    );
    run.token = None;

    // 41: read-only and v1 scopes.
    let read_only = token("patient/Observation.r", Some("p1"));
    let v1 = token("patient/Observation.read", Some("p1"));
    let r1 = as_token(run, Some(&read_only), "Observation/o1").await;
    let r2 = as_token(run, Some(&read_only), "Observation").await;
    run.report.check(
        "41a",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context (v2 .r vs .s)",
        "patient/Observation.r: read o1 ⇒ 200, search ⇒ 403",
        fails(&[
            (r1.status == 200, format!("read: {}", r1.brief())),
            (r2.status == 403, format!("search: {}", r2.brief())),
        ]),
    );
    let r1 = as_token(run, Some(&v1), "Observation/o1").await;
    let r2 = as_token(run, Some(&v1), "Observation").await;
    let mut ids = r2.match_ids();
    ids.sort();
    run.report.check(
        "41b",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context (v1 .read)",
        "patient/Observation.read: read o1 ⇒ 200, search ⇒ 200 (o1, o2)",
        fails(&[
            (r1.status == 200, format!("read: {}", r1.brief())),
            (
                r2.status == 200 && ids == ["o1", "o2"],
                format!("search: {} {ids:?}", r2.brief()),
            ),
        ]),
    );

    // 42: a query-narrowed v2 scope.
    let narrowed = token(
        &format!("patient/Observation.rs?category={CATSYS}|laboratory"),
        Some("p1"),
    );
    let reply = as_token(run, Some(&narrowed), "Observation?patient=p1").await;
    run.report.check(
        "42a",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context (finer-grained scopes)",
        "category-narrowed scope + Observation?patient=p1 ⇒ o1 only, or 403",
        fails(&[(
            reply.status == 403 || (reply.status == 200 && reply.match_ids() == ["o1"]),
            format!("{} {:?}", reply.brief(), reply.match_ids()),
        )]),
    );
    let reply = as_token(run, Some(&narrowed), "Observation/o2").await;
    run.report.check(
        "42b",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context (finer-grained scopes)",
        "category-narrowed scope + GET Observation/o2 (vital-signs) ⇒ 4xx",
        fails(&[((400..500).contains(&reply.status), reply.brief())]),
    );

    // 43: _revinclude of a type the token does not grant.
    let patient_only = token("patient/Patient.rs", Some("p1"));
    let reply = as_token(
        run,
        Some(&patient_only),
        "Patient?_id=p1&_revinclude=Observation:subject",
    )
    .await;
    let all = reply.entry_refs(None);
    run.report.check(
        "43",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context, search.html#revinclude",
        "patient/Patient.rs + Patient?_id=p1&_revinclude=Observation:subject ⇒ p1 only",
        fails(&[
            (reply.status == 200, reply.brief()),
            (all == ["Patient/p1"], format!("entries {all:?}")),
        ]),
    );

    // 44: a backend services token.
    let backend = token("system/Observation.rs", None);
    run.token = Some(backend);
    run.expect(
        "44a",
        Group::Smart,
        "SMART App Launch backend-services (system scopes)",
        "Observation?patient=p2",
        &["o3", "o4"],
    )
    .await;
    let reply = run.get("Patient/p1").await;
    run.token = None;
    let challenge = reply.header("www-authenticate").unwrap_or("").to_owned();
    run.report.check(
        "44b",
        Group::Smart,
        "SMART App Launch backend-services, RFC 6750 section 3.1",
        "system/Observation.rs + GET Patient/p1 ⇒ 403 with error=\"insufficient_scope\"",
        fails(&[
            (reply.status == 403, reply.brief()),
            (
                challenge.contains("error=\"insufficient_scope\""),
                format!("WWW-Authenticate {challenge:?}"),
            ),
        ]),
    );

    smart::configuration(run).await;
}
