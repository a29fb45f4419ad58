//! The server's R4 `CapabilityStatement`, derived from the registered providers.
//!
//! Everything in it comes from what the providers declare ([`ResourceProvider::interactions`],
//! [`ResourceProvider::search_params`]) and from [`CapabilityOptions`], so the statement cannot
//! promise what the router does not serve. Output is deterministic: resource types and include
//! lists are sorted, and the date is the caller's.

use crate::provider::{Interaction, ResourceProvider};
use crate::search::{SearchParamDef, SearchParamType};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// `CapabilityStatement.software`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    /// The product name.
    pub name: String,
    /// The product version.
    pub version: Option<String>,
}

/// `CapabilityStatement.implementation`: this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implementation {
    /// What the deployment is.
    pub description: String,
    /// Its base URL.
    pub url: Option<String>,
}

/// SMART on FHIR endpoints, written to `rest.security`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartSecurity {
    /// The OAuth2 authorization endpoint.
    pub authorize_url: String,
    /// The OAuth2 token endpoint.
    pub token_url: String,
    /// The token revocation endpoint.
    pub revoke_url: Option<String>,
    /// The token introspection endpoint.
    pub introspect_url: Option<String>,
    /// The dynamic client registration endpoint.
    pub register_url: Option<String>,
    /// The page where users manage their authorizations.
    pub manage_url: Option<String>,
}

/// What the CapabilityStatement says beyond the providers' declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityOptions {
    /// `date`: when the statement was last changed (a FHIR dateTime), given by the caller so the
    /// output does not depend on the clock.
    pub date: String,
    /// `format`: the media types served.
    pub formats: Vec<String>,
    /// `software`, when named.
    pub software: Option<Software>,
    /// `implementation` (required for an `instance` statement).
    pub implementation: Implementation,
    /// Whether the binding serves `batch` at the system level.
    pub batch: bool,
    /// Whether the binding serves `transaction` at the system level.
    pub transaction: bool,
    /// SMART on FHIR endpoints, when the server is protected by them.
    pub security: Option<SmartSecurity>,
}

impl CapabilityOptions {
    /// JSON formats only, no software, no system-level interactions, no security.
    pub fn new(date: impl Into<String>, implementation: Implementation) -> Self {
        CapabilityOptions {
            date: date.into(),
            formats: vec!["application/fhir+json".to_owned(), "json".to_owned()],
            software: None,
            implementation,
            batch: false,
            transaction: false,
            security: None,
        }
    }
}

const RESTFUL_SECURITY_SERVICE: &str =
    "http://terminology.hl7.org/CodeSystem/restful-security-service";
const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// The CapabilityStatement for a server with these providers.
pub fn capability_statement(
    providers: &[Arc<dyn ResourceProvider>],
    options: &CapabilityOptions,
) -> Value {
    let mut sorted: Vec<&dyn ResourceProvider> = providers.iter().map(Arc::as_ref).collect();
    sorted.sort_by(|a, b| a.resource_type().cmp(b.resource_type()));
    let served: BTreeSet<&str> = sorted.iter().map(|p| p.resource_type()).collect();
    let searchable: Vec<(&str, Vec<&'static SearchParamDef>)> = sorted
        .iter()
        .map(|p| (p.resource_type(), searchable_params(*p)))
        .collect();

    let resources: Vec<Value> = sorted
        .iter()
        .zip(&searchable)
        .map(|(provider, (_, params))| resource_json(*provider, params, &served, &searchable))
        .collect();

    let mut rest = Map::new();
    rest.insert("mode".to_owned(), Value::from("server"));
    if let Some(security) = &options.security {
        rest.insert("security".to_owned(), security_json(security));
    }
    rest.insert("resource".to_owned(), Value::Array(resources));
    let system: Vec<Value> = [
        ("batch", options.batch),
        ("transaction", options.transaction),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(code, _)| json!({ "code": code }))
    .collect();
    if !system.is_empty() {
        rest.insert("interaction".to_owned(), Value::Array(system));
    }

    let mut statement = Map::new();
    statement.insert(
        "resourceType".to_owned(),
        Value::from("CapabilityStatement"),
    );
    statement.insert("status".to_owned(), Value::from("active"));
    statement.insert("date".to_owned(), Value::from(options.date.as_str()));
    statement.insert("kind".to_owned(), Value::from("instance"));
    if let Some(software) = &options.software {
        let mut json = json!({ "name": software.name });
        if let Some(version) = &software.version {
            json["version"] = Value::from(version.as_str());
        }
        statement.insert("software".to_owned(), json);
    }
    let mut implementation = json!({ "description": options.implementation.description });
    if let Some(url) = &options.implementation.url {
        implementation["url"] = Value::from(url.as_str());
    }
    statement.insert("implementation".to_owned(), implementation);
    statement.insert("fhirVersion".to_owned(), Value::from("4.0.1"));
    statement.insert("format".to_owned(), json!(options.formats));
    statement.insert("rest".to_owned(), json!([rest]));
    Value::Object(statement)
}

/// The parameters a provider can be searched with: none unless it serves `search-type`.
fn searchable_params(provider: &dyn ResourceProvider) -> Vec<&'static SearchParamDef> {
    if provider.interactions().contains(Interaction::SearchType) {
        provider.search_params()
    } else {
        Vec::new()
    }
}

fn resource_json(
    provider: &dyn ResourceProvider,
    params: &[&'static SearchParamDef],
    served: &BTreeSet<&str>,
    searchable: &[(&str, Vec<&'static SearchParamDef>)],
) -> Value {
    let resource_type = provider.resource_type();
    let interactions = provider.interactions();
    let supports = |i| interactions.contains(i);
    let versioned = supports(Interaction::Vread);

    let mut json = Map::new();
    json.insert("type".to_owned(), Value::from(resource_type));
    let codes: Vec<Value> = interactions
        .iter()
        .map(|i| json!({ "code": i.code() }))
        .collect();
    json.insert("interaction".to_owned(), Value::Array(codes));
    let versioning = if versioned { "versioned" } else { "no-version" };
    json.insert("versioning".to_owned(), Value::from(versioning));
    json.insert("readHistory".to_owned(), Value::from(versioned));
    json.insert("updateCreate".to_owned(), Value::from(false));

    // The provided conditional methods search first, then write.
    if supports(Interaction::SearchType) {
        if supports(Interaction::Create) {
            json.insert("conditionalCreate".to_owned(), Value::from(true));
        }
        if supports(Interaction::Update) {
            json.insert("conditionalUpdate".to_owned(), Value::from(true));
        }
        if supports(Interaction::Delete) {
            json.insert("conditionalDelete".to_owned(), Value::from("single"));
        }
    }

    let includes: BTreeSet<String> = params
        .iter()
        .filter(|p| p.kind == SearchParamType::Reference)
        .filter(|p| p.targets.iter().any(|t| served.contains(t)))
        .map(|p| format!("{resource_type}:{}", p.code))
        .collect();
    // A type may refer to itself (Patient.link), so its own parameters count here too.
    let revincludes: BTreeSet<String> = if supports(Interaction::SearchType) {
        searchable
            .iter()
            .flat_map(|(source, source_params)| {
                source_params
                    .iter()
                    .filter(|p| p.kind == SearchParamType::Reference)
                    .filter(|p| p.targets.contains(&resource_type))
                    .map(move |p| format!("{source}:{}", p.code))
            })
            .collect()
    } else {
        BTreeSet::new()
    };
    if !includes.is_empty() {
        json.insert("searchInclude".to_owned(), json!(includes));
    }
    if !revincludes.is_empty() {
        json.insert("searchRevInclude".to_owned(), json!(revincludes));
    }
    if !params.is_empty() {
        let params: Vec<Value> = params.iter().map(|p| search_param_json(p)).collect();
        json.insert("searchParam".to_owned(), Value::Array(params));
    }
    Value::Object(json)
}

fn search_param_json(def: &SearchParamDef) -> Value {
    let mut json = json!({ "name": def.code, "type": def.kind.code() });
    if !def.url.is_empty() {
        json["definition"] = Value::from(def.url);
    }
    json
}

fn security_json(security: &SmartSecurity) -> Value {
    let uris = [
        ("authorize", Some(&security.authorize_url)),
        ("token", Some(&security.token_url)),
        ("register", security.register_url.as_ref()),
        ("manage", security.manage_url.as_ref()),
        ("introspect", security.introspect_url.as_ref()),
        ("revoke", security.revoke_url.as_ref()),
    ];
    let uris: Vec<Value> = uris
        .into_iter()
        .filter_map(|(name, url)| Some(json!({ "url": name, "valueUri": url? })))
        .collect();
    json!({
        "extension": [{ "url": OAUTH_URIS, "extension": uris }],
        "cors": true,
        "service": [{
            "coding": [{
                "system": RESTFUL_SECURITY_SERVICE,
                "code": "SMART-on-FHIR",
                "display": "SMART-on-FHIR"
            }],
            "text": "OAuth2 using SMART-on-FHIR profile"
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Interactions, MockResourceProvider};

    const fn def(
        code: &'static str,
        resource_type: &'static str,
        kind: SearchParamType,
        targets: &'static [&'static str],
        url: &'static str,
    ) -> SearchParamDef {
        SearchParamDef {
            code,
            resource_type,
            kind,
            expression: "",
            targets,
            components: &[],
            url,
        }
    }

    static PATIENT_FAMILY: SearchParamDef = def(
        "family",
        "Patient",
        SearchParamType::String,
        &[],
        "http://hl7.org/fhir/SearchParameter/individual-family",
    );
    static PATIENT_ORGANIZATION: SearchParamDef = def(
        "organization",
        "Patient",
        SearchParamType::Reference,
        &["Organization"],
        "http://hl7.org/fhir/SearchParameter/Patient-organization",
    );
    static PATIENT_LINK: SearchParamDef = def(
        "link",
        "Patient",
        SearchParamType::Reference,
        &["Patient", "RelatedPerson"],
        "http://hl7.org/fhir/SearchParameter/Patient-link",
    );
    static OBS_SUBJECT: SearchParamDef = def(
        "subject",
        "Observation",
        SearchParamType::Reference,
        &["Group", "Device", "Patient", "Location"],
        "http://hl7.org/fhir/SearchParameter/Observation-subject",
    );
    static OBS_PERFORMER: SearchParamDef = def(
        "performer",
        "Observation",
        SearchParamType::Reference,
        &["Practitioner", "Organization"],
        "http://hl7.org/fhir/SearchParameter/Observation-performer",
    );
    static OBS_CODE: SearchParamDef = def(
        "code",
        "Observation",
        SearchParamType::Token,
        &[],
        "http://hl7.org/fhir/SearchParameter/clinical-code",
    );

    fn provider(
        resource_type: &str,
        interactions: &[Interaction],
        params: Vec<&'static SearchParamDef>,
    ) -> Arc<dyn ResourceProvider> {
        let mut mock = MockResourceProvider::new();
        mock.expect_resource_type()
            .return_const(resource_type.to_owned());
        mock.expect_interactions()
            .return_const(interactions.iter().copied().collect::<Interactions>());
        mock.expect_search_params().return_const(params);
        Arc::new(mock)
    }

    fn options() -> CapabilityOptions {
        CapabilityOptions::new(
            "2024-05-01",
            Implementation {
                description: "legacy lab system".to_owned(),
                url: Some("https://fhir.example/r4".to_owned()),
            },
        )
    }

    fn resource<'a>(statement: &'a Value, resource_type: &str) -> &'a Value {
        statement["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == resource_type)
            .unwrap()
    }

    #[test]
    fn header_is_deterministic_r4_instance() {
        let mut options = options();
        options.software = Some(Software {
            name: "fhir-facade".to_owned(),
            version: Some("0.1.0".to_owned()),
        });
        let statement = capability_statement(&[], &options);
        assert_eq!(statement["resourceType"], "CapabilityStatement");
        assert_eq!(statement["fhirVersion"], "4.0.1");
        assert_eq!(statement["status"], "active");
        assert_eq!(statement["kind"], "instance");
        assert_eq!(statement["date"], "2024-05-01");
        assert_eq!(
            statement["format"],
            json!(["application/fhir+json", "json"])
        );
        assert_eq!(
            statement["software"],
            json!({"name": "fhir-facade", "version": "0.1.0"})
        );
        assert_eq!(
            statement["implementation"]["url"],
            "https://fhir.example/r4"
        );
        assert_eq!(statement["rest"][0]["mode"], "server");
        assert!(statement["rest"][0].get("security").is_none());
        assert!(statement["rest"][0].get("interaction").is_none());
        assert_eq!(statement, capability_statement(&[], &options));
    }

    #[test]
    fn read_only_provider_lists_only_read() {
        let statement = capability_statement(
            &[provider("Practitioner", &[Interaction::Read], vec![])],
            &options(),
        );
        let practitioner = resource(&statement, "Practitioner");
        assert_eq!(practitioner["interaction"], json!([{"code": "read"}]));
        assert_eq!(practitioner["versioning"], "no-version");
        assert_eq!(practitioner["readHistory"], false);
        assert_eq!(practitioner["updateCreate"], false);
        for absent in [
            "conditionalCreate",
            "conditionalUpdate",
            "conditionalDelete",
            "searchParam",
            "searchInclude",
            "searchRevInclude",
        ] {
            assert!(practitioner.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn search_params_interactions_and_conditionals() {
        let statement = capability_statement(
            &[provider(
                "Observation",
                &[
                    Interaction::Read,
                    Interaction::Vread,
                    Interaction::SearchType,
                    Interaction::Create,
                    Interaction::Delete,
                ],
                vec![&OBS_CODE, &OBS_SUBJECT],
            )],
            &options(),
        );
        let observation = resource(&statement, "Observation");
        assert_eq!(
            observation["interaction"],
            json!([{"code": "read"}, {"code": "vread"}, {"code": "delete"},
                   {"code": "create"}, {"code": "search-type"}])
        );
        assert_eq!(observation["versioning"], "versioned");
        assert_eq!(observation["readHistory"], true);
        assert_eq!(observation["conditionalCreate"], true);
        assert_eq!(observation["conditionalDelete"], "single");
        assert!(observation.get("conditionalUpdate").is_none());
        assert_eq!(
            observation["searchParam"],
            json!([
                {"name": "code", "type": "token",
                 "definition": "http://hl7.org/fhir/SearchParameter/clinical-code"},
                {"name": "subject", "type": "reference",
                 "definition": "http://hl7.org/fhir/SearchParameter/Observation-subject"}
            ])
        );
        // Patient is not served, so subject cannot be included.
        assert!(observation.get("searchInclude").is_none());
    }

    #[test]
    fn writes_without_search_have_no_conditionals() {
        let statement = capability_statement(
            &[provider(
                "Patient",
                &[Interaction::Read, Interaction::Create, Interaction::Update],
                vec![&PATIENT_FAMILY],
            )],
            &options(),
        );
        let patient = resource(&statement, "Patient");
        assert!(patient.get("conditionalCreate").is_none());
        assert!(patient.get("conditionalUpdate").is_none());
        // Declared parameters are not advertised when search-type is not served.
        assert!(patient.get("searchParam").is_none());
    }

    #[test]
    fn includes_and_revincludes_follow_served_types() {
        let search = [Interaction::Read, Interaction::SearchType];
        let statement = capability_statement(
            &[
                provider(
                    "Patient",
                    &search,
                    vec![&PATIENT_FAMILY, &PATIENT_ORGANIZATION, &PATIENT_LINK],
                ),
                provider("Observation", &search, vec![&OBS_SUBJECT, &OBS_PERFORMER]),
                provider("Organization", &[Interaction::Read], vec![]),
            ],
            &options(),
        );
        let types: Vec<&Value> = statement["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["type"])
            .collect();
        assert_eq!(types, ["Observation", "Organization", "Patient"]);

        let observation = resource(&statement, "Observation");
        assert_eq!(
            observation["searchInclude"],
            json!(["Observation:performer", "Observation:subject"])
        );
        assert!(observation.get("searchRevInclude").is_none());

        let patient = resource(&statement, "Patient");
        assert_eq!(
            patient["searchInclude"],
            json!(["Patient:link", "Patient:organization"])
        );
        assert_eq!(
            patient["searchRevInclude"],
            json!(["Observation:subject", "Patient:link"])
        );
        // Organization cannot be searched, so nothing can be revincluded on it.
        assert!(
            resource(&statement, "Organization")
                .get("searchRevInclude")
                .is_none()
        );
    }

    #[test]
    fn system_interactions_only_when_configured() {
        let mut options = options();
        options.batch = true;
        let statement = capability_statement(&[], &options);
        assert_eq!(
            statement["rest"][0]["interaction"],
            json!([{"code": "batch"}])
        );
        options.transaction = true;
        let statement = capability_statement(&[], &options);
        assert_eq!(
            statement["rest"][0]["interaction"],
            json!([{"code": "batch"}, {"code": "transaction"}])
        );
    }

    #[test]
    fn smart_security_extension() {
        let mut options = options();
        options.security = Some(SmartSecurity {
            authorize_url: "https://auth.example/authorize".to_owned(),
            token_url: "https://auth.example/token".to_owned(),
            revoke_url: Some("https://auth.example/revoke".to_owned()),
            introspect_url: None,
            register_url: None,
            manage_url: None,
        });
        let statement = capability_statement(&[], &options);
        let security = &statement["rest"][0]["security"];
        assert_eq!(security["cors"], true);
        assert_eq!(
            security["service"][0]["coding"][0],
            json!({
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR",
                "display": "SMART-on-FHIR"
            })
        );
        assert_eq!(
            security["extension"],
            json!([{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [
                    {"url": "authorize", "valueUri": "https://auth.example/authorize"},
                    {"url": "token", "valueUri": "https://auth.example/token"},
                    {"url": "revoke", "valueUri": "https://auth.example/revoke"}
                ]
            }])
        );
    }
}
