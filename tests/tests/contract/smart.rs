//! Cases 35–45 against the SMART-protected instance, with tokens signed locally by the fake
//! IdP of the axum tests (its keys in `fhir-facade-axum/tests/keys`, served as JWKS).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::Method;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::checks::Run;
use crate::harness::{Group, Reply};
use crate::idp::{Idp, RSA_OTHER_PEM, now, rsa_key, sign};

const CATSYS: &str = crate::fixture::CATSYS;
const LAUNCH: &str = "SMART App Launch scopes-and-launch-context";

fn claims(idp: &Idp, audience: &str, scope: &str, patient: Option<&str>) -> Value {
    let mut claims = json!({
        "iss": idp.issuer("fhir"),
        "aud": audience,
        "exp": now() + 300,
        "iat": now(),
        "sub": "user-1",
        "azp": "contract-suite",
        "scope": scope,
    });
    if let Some(patient) = patient {
        claims["patient"] = json!(patient);
    }
    claims
}

fn token(claims: &Value) -> String {
    sign(Algorithm::RS256, "rs", &rsa_key(), claims)
}

fn fails(conditions: &[(bool, String)]) -> Vec<String> {
    conditions
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, why)| why.clone())
        .collect()
}

fn www_authenticate(reply: &Reply) -> String {
    reply.header("www-authenticate").unwrap_or("").to_owned()
}

/// Runs `target` as `token` and returns the reply.
async fn as_token(run: &mut Run<'_>, token: Option<&str>, target: &str) -> Reply {
    run.token = token.map(str::to_owned);
    let reply = run.get(target).await;
    run.token = None;
    reply
}

pub(crate) async fn smart_server(run: &mut Run<'_>, idp: &Idp) {
    let b = run.http.base.clone();
    // 35: the CapabilityStatement is public and declares SMART.
    let reply = as_token(run, None, "metadata").await;
    let cs = reply.json.clone().unwrap_or(Value::Null);
    run.report.check(
        "35a",
        Group::Capability,
        "http.html#capabilities, SMART App Launch conformance",
        "GET /metadata without a token ⇒ 200, fhirVersion 4.0.1",
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                cs["fhirVersion"] == "4.0.1",
                format!("fhirVersion {}", cs["fhirVersion"]),
            ),
        ]),
    );
    let security = &cs["rest"][0]["security"];
    let smart_coding = security["service"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["coding"].as_array().into_iter().flatten())
        .any(|c| {
            c["system"] == "http://terminology.hl7.org/CodeSystem/restful-security-service"
                && c["code"] == "SMART-on-FHIR"
        });
    let oauth = security["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
        })
        .cloned()
        .unwrap_or(Value::Null);
    let oauth_urls: Vec<&str> = oauth["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["url"].as_str())
        .collect();
    run.report.check(
        "35b",
        Group::Capability,
        "SMART App Launch conformance (rest.security)",
        "rest.security carries the SMART-on-FHIR service coding and the oauth-uris extension",
        fails(&[
            (smart_coding, format!("service {}", security["service"])),
            (
                oauth_urls.contains(&"authorize") && oauth_urls.contains(&"token"),
                format!("oauth-uris {oauth_urls:?}"),
            ),
        ]),
    );

    // 36: no token.
    let reply = as_token(run, None, "Patient").await;
    let challenge = www_authenticate(&reply);
    run.report.check(
        "36",
        Group::Smart,
        "SMART App Launch app-launch, RFC 6750 section 3",
        "no Authorization header ⇒ 401 with WWW-Authenticate: Bearer",
        fails(&[
            (reply.status == 401, reply.brief()),
            (
                challenge.starts_with("Bearer"),
                format!("WWW-Authenticate {challenge:?}"),
            ),
        ]),
    );

    // 37: tokens that must be refused.
    let p1_scope = "patient/Patient.rs patient/Observation.rs";
    let good = claims(idp, &b, p1_scope, Some("p1"));
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
    let bad_signature = sign(
        Algorithm::RS256,
        "rs",
        &EncodingKey::from_rsa_pem(RSA_OTHER_PEM).expect("the test key"),
        &good,
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://idp.example.org/realms/fhir");
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("account");
    let refused = [
        ("37a", "expired", token(&expired)),
        ("37b", "bad signature", bad_signature),
        ("37c", "alg none", alg_none),
        ("37d", "wrong iss", token(&wrong_iss)),
        ("37e", "aud account", token(&wrong_aud)),
    ];
    for (id, what, refused_token) in refused {
        let reply = as_token(run, Some(&refused_token), "Patient").await;
        let challenge = www_authenticate(&reply);
        run.report.check(
            id,
            Group::Smart,
            "RFC 6750 section 3.1, SMART App Launch (token validation)",
            format!("{what} token ⇒ 401 with error=\"invalid_token\""),
            fails(&[
                (reply.status == 401, reply.brief()),
                (
                    challenge.starts_with("Bearer")
                        && challenge.contains("error=\"invalid_token\""),
                    format!("WWW-Authenticate {challenge:?}"),
                ),
            ]),
        );
    }

    // 38–40: P1.
    let p1 = token(&good);
    let reply = as_token(run, Some(&p1), "Observation?patient=p2").await;
    run.report.check(
        "38a",
        Group::Smart,
        LAUNCH,
        "P1 + Observation?patient=p2 ⇒ 403, or 200 with no entries",
        fails(&[(
            reply.status == 403
                || (reply.status == 200
                    && reply
                        .json
                        .as_ref()
                        .is_some_and(|j| j["entry"].as_array().is_none_or(Vec::is_empty))),
            reply.brief(),
        )]),
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
    let read_only = token(&claims(idp, &b, "patient/Observation.r", Some("p1")));
    let v1 = token(&claims(idp, &b, "patient/Observation.read", Some("p1")));
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
    let narrowed = token(&claims(
        idp,
        &b,
        &format!("patient/Observation.rs?category={CATSYS}|laboratory"),
        Some("p1"),
    ));
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
    let patient_only = token(&claims(idp, &b, "patient/Patient.rs", Some("p1")));
    let reply = as_token(
        run,
        Some(&patient_only),
        "Patient?_id=p1&_revinclude=Observation:subject",
    )
    .await;
    let all: Vec<String> = reply
        .json
        .as_ref()
        .and_then(|j| j["entry"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or(""),
                e["resource"]["id"].as_str().unwrap_or("")
            )
        })
        .collect();
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
    let backend = token(&claims(idp, &b, "system/Observation.rs", None));
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
    let challenge = www_authenticate(&reply);
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

    // 45: the SMART configuration document.
    let reply = run
        .send(
            Method::GET,
            ".well-known/smart-configuration",
            &[
                ("accept", "application/fhir+json"),
                ("origin", "https://app.example.org"),
            ],
            None,
        )
        .await;
    let doc = reply.json.clone().unwrap_or(Value::Null);
    let methods: Vec<&str> = doc["code_challenge_methods_supported"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let content_type = reply.header("content-type").unwrap_or("").to_owned();
    run.report.check(
        "45",
        Group::Smart,
        "SMART App Launch conformance (.well-known/smart-configuration)",
        "smart-configuration without a token ⇒ 200 application/json with the required fields, S256 only, CORS",
        fails(&[
            (reply.status == 200, reply.brief()),
            (content_type.starts_with("application/json"), format!("Content-Type {content_type:?}")),
            (doc["authorization_endpoint"].is_string(), "no authorization_endpoint".to_owned()),
            (doc["token_endpoint"].is_string(), "no token_endpoint".to_owned()),
            (doc["capabilities"].is_array(), "no capabilities".to_owned()),
            (
                methods.contains(&"S256") && !methods.contains(&"plain"),
                format!("code_challenge_methods_supported {methods:?}"),
            ),
            (
                reply.header("access-control-allow-origin").is_some(),
                "no Access-Control-Allow-Origin".to_owned(),
            ),
        ]),
    );
}
