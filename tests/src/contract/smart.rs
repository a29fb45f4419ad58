//! SMART checks that hold for any SMART-protected facade: the CapabilityStatement's security
//! section, refused tokens, the smart-configuration document (cases 35–37 and 45 of
//! `shared/conformance/cases.md`), and patient-compartment confinement over the server's own
//! data ([`confinement`]).
//!
//! Tokens come from the caller's [`Signer`], so the suite runs against any issuer the server
//! trusts: the fake IdP of the axum tests, or a real one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::Method;
use serde_json::{Value, json};

use super::harness::{Group, Reply};
use super::run::{Run, fails};

const LAUNCH: &str = "SMART App Launch scopes-and-launch-context";

/// Signs access tokens for the server under test.
pub struct Signer<'a> {
    /// The issuer the server trusts (`iss`).
    pub issuer: String,
    /// The audience the server expects (`aud`): its base URL.
    pub audience: String,
    /// Signs claims with a key the issuer publishes.
    pub sign: &'a (dyn Fn(&Value) -> String + Sync),
    /// Signs claims with a key the issuer does not publish.
    pub sign_unknown_key: &'a (dyn Fn(&Value) -> String + Sync),
}

impl Signer<'_> {
    /// The claims of a valid token for `scope`, with a `patient` launch context when given.
    pub fn claims(&self, scope: &str, patient: Option<&str>) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "exp": now + 300,
            "iat": now,
            "sub": "user-1",
            "azp": "contract-suite",
            "scope": scope,
        });
        if let Some(patient) = patient {
            claims["patient"] = json!(patient);
        }
        claims
    }

    /// A valid token for `scope`.
    pub fn token(&self, scope: &str, patient: Option<&str>) -> String {
        (self.sign)(&self.claims(scope, patient))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn www_authenticate(reply: &Reply) -> String {
    reply.header("www-authenticate").unwrap_or("").to_owned()
}

/// Sends `GET target` as `token` (none: without Authorization).
pub async fn as_token(run: &mut Run<'_>, token: Option<&str>, target: &str) -> Reply {
    let saved = std::mem::replace(&mut run.token, token.map(str::to_owned));
    let reply = run.get(target).await;
    run.token = saved;
    reply
}

/// Case 35: the CapabilityStatement is public and declares SMART.
pub async fn metadata(run: &mut Run<'_>) {
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
}

/// Cases 36 and 37: no token, and tokens that must be refused (expired, bad signature, `alg`
/// none, wrong issuer, wrong audience), each tried on `target`.
pub async fn refused_tokens(run: &mut Run<'_>, signer: &Signer<'_>, target: &str) {
    let reply = as_token(run, None, target).await;
    let challenge = www_authenticate(&reply);
    run.report.check(
        "36",
        Group::Smart,
        "SMART App Launch app-launch, RFC 6750 section 3",
        format!("{target} without an Authorization header ⇒ 401 with WWW-Authenticate: Bearer"),
        fails(&[
            (reply.status == 401, reply.brief()),
            (
                challenge.starts_with("Bearer"),
                format!("WWW-Authenticate {challenge:?}"),
            ),
        ]),
    );
    let scope = format!(
        "patient/{}.rs",
        target.split(['?', '/']).next().unwrap_or("Patient")
    );
    let good = signer.claims(&scope, Some("p-unknown"));
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
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
        ("37a", "expired", (signer.sign)(&expired)),
        ("37b", "bad signature", (signer.sign_unknown_key)(&good)),
        ("37c", "alg none", alg_none),
        ("37d", "wrong iss", (signer.sign)(&wrong_iss)),
        ("37e", "aud account", (signer.sign)(&wrong_aud)),
    ];
    for (id, what, refused_token) in refused {
        let reply = as_token(run, Some(&refused_token), target).await;
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
}

/// Case 45: the SMART configuration document, public, with CORS.
pub async fn configuration(run: &mut Run<'_>) {
    let saved = run.token.take();
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
    run.token = saved;
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

/// Two patients of the server's data and what each has of one compartment type, as the
/// caller read them from the database.
#[derive(Debug, Clone)]
pub struct Compartment {
    /// The patient in the token's launch context.
    pub patient: String,
    /// Another patient, whose data the token must never reach.
    pub other: String,
    /// A type of the Patient compartment both patients have resources of.
    pub resource_type: String,
    /// The search parameter of `resource_type` that names the patient (`patient`, `subject`).
    pub reference: String,
    /// `patient`'s resources of `resource_type`.
    pub own: Vec<String>,
    /// `other`'s resources of `resource_type` (at least one).
    pub others: Vec<String>,
    /// A served type the tokens here never grant.
    pub not_granted: String,
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Every SMART check of a protected facade over its own data: [`metadata`],
/// [`refused_tokens`] on `Type` of the compartment, [`configuration`] and [`confinement`].
pub async fn all(run: &mut Run<'_>, signer: &Signer<'_>, compartment: &Compartment) {
    metadata(run).await;
    refused_tokens(run, signer, &compartment.resource_type).await;
    configuration(run).await;
    confinement(run, signer, compartment).await;
}

/// Cases 38–44 over the server's own data: a patient-scoped token sees its patient's
/// resources only, through search, paging links, read, `_include` and `_revinclude`; a type it
/// does not grant is refused; a system token reads across patients but not beyond its types.
pub async fn confinement(run: &mut Run<'_>, signer: &Signer<'_>, c: &Compartment) {
    let t = c.resource_type.as_str();
    let (patient, other) = (c.patient.as_str(), c.other.as_str());
    let token = signer.token(
        &format!("launch/patient patient/Patient.rs patient/{t}.rs"),
        Some(patient),
    );
    let saved = run.token.replace(token.clone());
    // 38: search and paging links stay in the compartment.
    run.expect(
        "c-own",
        Group::Smart,
        LAUNCH,
        &format!("{t}?_count=3"),
        &c.own.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let reply = run.get(&format!("{t}?{}={other}", c.reference)).await;
    run.report.check(
        "c-other-search",
        Group::Smart,
        LAUNCH,
        format!(
            "patient {patient} + {t}?{}=<other> ⇒ 403, or 200 with no entries",
            c.reference
        ),
        fails(&[(reply.refused_or_empty(), reply.brief())]),
    );
    let reply = run.get(&format!("{t}?_summary=count")).await;
    let total = reply
        .json
        .as_ref()
        .map_or(Value::Null, |j| j["total"].clone());
    run.report.check(
        "c-count",
        Group::Smart,
        "search.html#total with SMART scopes-and-launch-context (patient compartment)",
        format!("patient {patient} + {t}?_summary=count ⇒ the compartment's count"),
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                total == c.own.len(),
                format!("total {total}, expected {}", c.own.len()),
            ),
        ]),
    );
    run.expect("c-patients", Group::Smart, LAUNCH, "Patient", &[patient])
        .await;
    // 39: reads of the other patient's data.
    let mut failures = vec![];
    for target in [format!("{t}/{}", c.others[0]), format!("Patient/{other}")] {
        let reply = run.get(&target).await;
        if !matches!(reply.status, 403 | 404) {
            failures.push(format!("{target}: {}", reply.brief()));
        }
    }
    let reply = run.get(&format!("Patient/{patient}")).await;
    if reply.status != 200 {
        failures.push(format!("Patient/{patient}: {}", reply.brief()));
    }
    run.report.check(
        "c-read",
        Group::Smart,
        LAUNCH,
        format!(
            "patient {patient}: own Patient read ⇒ 200; the other's {t} and Patient ⇒ 403 or 404"
        ),
        failures,
    );
    // _include of the patient: only the token's patient.
    let reply = run
        .get(&format!("{t}?_include={t}:{}&_count=50", c.reference))
        .await;
    let included: Vec<String> = reply
        .entries("include")
        .into_iter()
        .map(|(ty, id)| format!("{ty}/{id}"))
        .collect();
    run.report.check(
        "c-include",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context, search.html#include",
        format!(
            "patient {patient} + {t}?_include={t}:{} ⇒ includes exactly Patient/{patient}",
            c.reference
        ),
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                // Exactly the patient: an ignored `_include` includes nothing, which `all` allows.
                included == [format!("Patient/{patient}")],
                format!("includes {included:?}"),
            ),
        ]),
    );
    // 40: a type the token does not grant.
    let reply = run
        .get(&format!("{}?patient={patient}", c.not_granted))
        .await;
    run.report.check(
        "c-not-granted",
        Group::Smart,
        LAUNCH,
        format!(
            "patient {patient} + {}?patient= (type not granted) ⇒ 401 or 403",
            c.not_granted
        ),
        fails(&[(matches!(reply.status, 401 | 403), reply.brief())]),
    );
    // 43: _revinclude of a type the token does not grant.
    let patient_only = signer.token("patient/Patient.rs", Some(patient));
    run.token = Some(patient_only);
    let reply = run
        .get(&format!(
            "Patient?_id={patient}&_revinclude={t}:{}",
            c.reference
        ))
        .await;
    let all = reply.entry_refs(None);
    run.report.check(
        "c-revinclude",
        Group::Smart,
        "SMART App Launch scopes-and-launch-context, search.html#revinclude",
        format!(
            "patient/Patient.rs + Patient?_id={patient}&_revinclude={t}:{} ⇒ the Patient only",
            c.reference
        ),
        fails(&[
            (reply.status == 200, reply.brief()),
            (
                all == [format!("Patient/{patient}")],
                format!("entries {all:?}"),
            ),
        ]),
    );
    // 44: a backend services token reads across patients, within its types.
    run.token = Some(signer.token(&format!("system/{t}.rs"), None));
    let (_, ids) = run
        .search_all(&format!("{t}?{}={other}&_count=50", c.reference))
        .await;
    let reply = run.get(&format!("Patient/{patient}")).await;
    let challenge = www_authenticate(&reply);
    run.report.check(
        "c-system",
        Group::Smart,
        "SMART App Launch backend-services (system scopes), RFC 6750 section 3.1",
        format!("system/{t}.rs: the other patient's {t} all found; Patient read ⇒ 403 insufficient_scope"),
        fails(&[
            (
                ids.as_ref().map(|i| sorted(i.clone())) == Ok(sorted(c.others.clone())),
                format!("{ids:?}, expected {:?}", c.others),
            ),
            (reply.status == 403, reply.brief()),
            (
                challenge.contains("error=\"insufficient_scope\""),
                format!("WWW-Authenticate {challenge:?}"),
            ),
        ]),
    );
    run.token = saved;
}
