//! The Keycloak realm export parses and has what the facade relies on.

use serde_json::Value;

const REALM: &str = include_str!("../../deploy/keycloak/fhir-facade-realm.json");

fn realm() -> Value {
    serde_json::from_str(REALM).unwrap()
}

fn named<'a>(items: &'a Value, key: &str, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i[key] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn smart_scopes_are_in_the_token_scope() {
    let realm = realm();
    assert_eq!(realm["realm"], "fhir");
    for scope in [
        "patient/*.read",
        "patient/*.rs",
        "patient/Observation.rs",
        "user/*.rs",
        "system/*.rs",
        "launch/patient",
        "fhirUser",
        "offline_access",
    ] {
        let s = named(&realm["clientScopes"], "name", scope);
        assert_eq!(s["attributes"]["include.in.token.scope"], "true", "{scope}");
    }
}

#[test]
fn patient_and_audience_mappers() {
    let realm = realm();
    let launch = named(&realm["clientScopes"], "name", "launch/patient");
    let mapper = &launch["protocolMappers"][0];
    assert_eq!(mapper["protocolMapper"], "oidc-usermodel-attribute-mapper");
    assert_eq!(mapper["config"]["user.attribute"], "patient");
    assert_eq!(mapper["config"]["claim.name"], "patient");
    assert_eq!(mapper["config"]["access.token.claim"], "true");

    let audience = named(&realm["clientScopes"], "name", "fhir-audience");
    let mapper = &audience["protocolMappers"][0];
    assert_eq!(mapper["protocolMapper"], "oidc-audience-mapper");
    assert_eq!(
        mapper["config"]["included.custom.audience"],
        "https://fhir.example.org/fhir"
    );
    assert_eq!(mapper["config"]["access.token.claim"], "true");
}

#[test]
fn clients() {
    let realm = realm();
    let scope_names: Vec<&str> = realm["clientScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();

    let app = named(&realm["clients"], "clientId", "smart-app");
    assert_eq!(app["publicClient"], true);
    assert_eq!(app["standardFlowEnabled"], true);
    assert_eq!(app["implicitFlowEnabled"], false);
    assert_eq!(app["attributes"]["pkce.code.challenge.method"], "S256");
    assert!(!app["redirectUris"].as_array().unwrap().is_empty());

    let backend = named(&realm["clients"], "clientId", "backend-service");
    assert_eq!(backend["publicClient"], false);
    assert_eq!(backend["serviceAccountsEnabled"], true);
    assert_eq!(backend["standardFlowEnabled"], false);
    assert_eq!(backend["clientAuthenticatorType"], "client-jwt");

    for client in [app, backend] {
        for list in ["defaultClientScopes", "optionalClientScopes"] {
            for scope in client[list].as_array().unwrap() {
                assert!(scope_names.contains(&scope.as_str().unwrap()), "{scope}");
            }
        }
    }
}

#[test]
fn only_admins_set_the_patient_attribute() {
    let realm = realm();
    let provider = &realm["components"]["org.keycloak.userprofile.UserProfileProvider"][0];
    let config: Value = serde_json::from_str(
        provider["config"]["kc.user.profile.config"][0]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for attribute in ["patient", "fhirUser"] {
        let attr = named(&config["attributes"], "name", attribute);
        assert_eq!(attr["permissions"]["edit"], serde_json::json!(["admin"]));
    }
}
