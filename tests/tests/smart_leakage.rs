//! The patient-compartment leakage check ([`fhir_facade_tests::leakage`]) over HTTP against a
//! SMART-protected facade on SQL: Patient, Practitioner, Encounter, Observation and Condition
//! tables in SQLite (in memory, no server needed) served through the sqlx adapter's
//! `SqlProvider`, with vread and history added as a versionless legacy database answers them.
//!
//! The data has the awkward cases: a Condition of one patient asserted by another (in both
//! compartments), an Observation whose encounter belongs to another patient, an Observation with
//! no subject (in nobody's compartment), a patient without a token, practitioners (in no patient
//! compartment). Tokens are RS256 JWTs signed here and validated by the facade through a local
//! OIDC discovery document and JWKS, as from Keycloak.
//!
//! `a_facade_binary_keeps_each_patient_in_its_compartment` runs the same check against any facade
//! binary configured by `fhir_facade_axum::ServerSettings` (the examples), when
//! `FHIR_FACADE_LEAKAGE_BIN` names it: the binary is started with `FHIR_FACADE_OIDC_ISSUER`
//! pointing at this test's IdP and otherwise the test's environment (`DATABASE_URL`, …);
//! `FHIR_FACADE_LEAKAGE_CASES` sets the number of generated searches (default 200), and
//! `FHIR_FACADE_LEAKAGE_OWNERS` names the SQL of the answer key of its data
//! (`examples/kis/leakage-owners.sql` for the KIS example).
//!
//! The check judges every returned resource by an answer key written apart from the facade (by
//! hand for the data here, from the legacy tables for a binary), never by the facade's own
//! `compartment::contains`: a fault in those rules is a leak here, not an agreement.
//!
//! Two faulty servers show that the check fails when it should: one whose authorization layer
//! loses the patient constraint, and one whose providers drop the compartment constraint (the
//! core's own check on returned resources then stands between the provider and the client).

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::routing::get;
use fhir_facade_axum::FhirRouter;
use fhir_facade_axum::auth::{AuthConfig, TokenValidator};
use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_core::sql::mapping::{
    IdKind, ParamMapping, ReferenceMapping, SqlSchema, StringColumn, TableMapping, TokenCode,
    TokenMapping, ValueSource,
};
use fhir_facade_core::{
    Context, Error, Facade, Interaction, Interactions, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery,
};
use fhir_facade_sqlx::{Database, Pool, Row, RowMapper, SqlxError, SqlxProvider};
use fhir_facade_tests::idp::RSA_PEM;
use fhir_facade_tests::leakage::{LeakageCheck, Owners, PatientToken, Report, list_patients};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const AUDIENCE: &str = "https://fhir.example.org/fhir";

fn p(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code).unwrap()
}

fn reference(fk: &str, target: &str) -> ParamMapping {
    ParamMapping::Reference(ReferenceMapping {
        fk: fk.into(),
        target_type: target.into(),
        identifier: None,
    })
}

fn string(columns: &[&str]) -> ParamMapping {
    ParamMapping::String(columns.iter().map(|c| StringColumn::new(*c)).collect())
}

fn code(column: &str) -> ParamMapping {
    ParamMapping::Token(TokenMapping::new(
        TokenCode::Column(column.into()),
        ValueSource::Constant("http://loinc.org".into()),
    ))
}

fn schema() -> Arc<SqlSchema> {
    let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
        .select(["p.id", "p.family", "p.given", "p.gp"])
        .param(p("Patient", "_id"), ParamMapping::Id)
        .param(p("Patient", "family"), string(&["p.family"]))
        .param(p("Patient", "name"), string(&["p.family", "p.given"]))
        .param(
            p("Patient", "general-practitioner"),
            reference("p.gp", "Practitioner"),
        );
    let practitioner = TableMapping::new(
        "Practitioner",
        "practitioner",
        "pr",
        "pr.id",
        IdKind::Integer,
    )
    .select(["pr.id", "pr.family"])
    .param(p("Practitioner", "_id"), ParamMapping::Id)
    .param(p("Practitioner", "family"), string(&["pr.family"]));
    let encounter = TableMapping::new("Encounter", "encounter", "e", "e.id", IdKind::Integer)
        .select(["e.id", "e.patient_id", "e.practitioner_id"])
        .param(p("Encounter", "_id"), ParamMapping::Id)
        .param(
            p("Encounter", "patient"),
            reference("e.patient_id", "Patient"),
        )
        .param(
            p("Encounter", "subject"),
            reference("e.patient_id", "Patient"),
        )
        .param(
            p("Encounter", "practitioner"),
            reference("e.practitioner_id", "Practitioner"),
        );
    let observation = TableMapping::new(
        "Observation",
        "observation",
        "o",
        "o.id",
        IdKind::PrefixedInteger("obs-".into()),
    )
    .select([
        "o.id",
        "o.patient_id",
        "o.encounter_id",
        "o.performer_id",
        "o.code",
    ])
    .param(p("Observation", "_id"), ParamMapping::Id)
    .param(p("Observation", "code"), code("o.code"))
    .param(
        p("Observation", "subject"),
        reference("o.patient_id", "Patient"),
    )
    .param(
        p("Observation", "patient"),
        reference("o.patient_id", "Patient"),
    )
    .param(
        p("Observation", "encounter"),
        reference("o.encounter_id", "Encounter"),
    )
    .param(
        p("Observation", "performer"),
        reference("o.performer_id", "Practitioner"),
    );
    let condition = TableMapping::new("Condition", "condition", "c", "c.id", IdKind::Integer)
        .select(["c.id", "c.patient_id", "c.asserter_id", "c.code"])
        .param(p("Condition", "_id"), ParamMapping::Id)
        .param(p("Condition", "code"), code("c.code"))
        .param(
            p("Condition", "patient"),
            reference("c.patient_id", "Patient"),
        )
        .param(
            p("Condition", "subject"),
            reference("c.patient_id", "Patient"),
        )
        .param(
            p("Condition", "asserter"),
            reference("c.asserter_id", "Patient"),
        );
    Arc::new(SqlSchema::new([patient, practitioner, encounter, observation, condition]).unwrap())
}

const DATA: &[&str] = &[
    "CREATE TABLE patient (id INTEGER PRIMARY KEY, family TEXT, given TEXT, gp INTEGER)",
    "CREATE TABLE practitioner (id INTEGER PRIMARY KEY, family TEXT)",
    "CREATE TABLE encounter (id INTEGER PRIMARY KEY, patient_id INTEGER, practitioner_id INTEGER)",
    "CREATE TABLE observation (id INTEGER PRIMARY KEY, patient_id INTEGER, encounter_id INTEGER, \
     performer_id INTEGER, code TEXT)",
    "CREATE TABLE condition (id INTEGER PRIMARY KEY, patient_id INTEGER, asserter_id INTEGER, \
     code TEXT)",
    // Patient 4 has no token; 2 and 3 share a family name, so a chain on it matches both.
    "INSERT INTO patient VALUES (1, 'Alder', 'Ann', 1), (2, 'Birch', 'Ben', 1), \
     (3, 'Birch', 'Cy', 2), (4, 'Cedar', 'Di', NULL)",
    "INSERT INTO practitioner VALUES (1, 'House'), (2, 'Quinn')",
    "INSERT INTO encounter VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 3, 2), (5, 4, 1)",
    // obs-23 of patient 2 points at encounter 1 of patient 1; obs-90 has no subject.
    "INSERT INTO observation VALUES (11, 1, 1, 1, '718-7'), (12, 1, 1, NULL, '2345-7'), \
     (13, 1, 2, 2, '718-7'), (21, 2, 3, 1, '718-7'), (22, 2, 3, NULL, '2345-7'), \
     (23, 2, 1, 2, '8867-4'), (31, 3, 4, 2, '718-7'), (41, 4, 5, 1, '718-7'), \
     (90, NULL, NULL, 1, '718-7')",
    // Condition 3 of patient 2 was asserted by patient 1: it is in both compartments.
    "INSERT INTO condition VALUES (1, 1, 1, 'I10'), (2, 2, 2, 'E11'), (3, 2, 1, 'J45'), \
     (4, 3, NULL, 'I10'), (5, 4, 4, 'E11')",
];

/// The answer key of `DATA`, written down from the rows by hand with the Patient
/// CompartmentDefinition in mind (Encounter by `patient`, Observation by `subject`/`performer`,
/// Condition by `patient`/`asserter`), not computed by the facade's compartment rules.
fn owners() -> Owners {
    let none: [&str; 0] = [];
    let mut key = Owners::new();
    for patient in ["1", "2", "3", "4"] {
        key.insert("Patient", patient, [patient]);
    }
    // Practitioners are in no patient's compartment, obs-90 has no subject.
    key.insert("Practitioner", "1", none);
    key.insert("Practitioner", "2", none);
    key.insert("Observation", "obs-90", none);
    for (id, patient) in [("1", "1"), ("2", "1"), ("3", "2"), ("4", "3"), ("5", "4")] {
        key.insert("Encounter", id, [patient]);
    }
    // obs-23 is patient 2's although its encounter is patient 1's: an Observation is in a
    // compartment by its subject and performer, never through its encounter.
    for (id, patient) in [
        ("obs-11", "1"),
        ("obs-12", "1"),
        ("obs-13", "1"),
        ("obs-21", "2"),
        ("obs-22", "2"),
        ("obs-23", "2"),
        ("obs-31", "3"),
        ("obs-41", "4"),
    ] {
        key.insert("Observation", id, [patient]);
    }
    // Condition 3 is patient 2's and, as its asserter, patient 1's.
    key.insert("Condition", "1", ["1"]);
    key.insert("Condition", "2", ["2"]);
    key.insert("Condition", "3", ["2", "1"]);
    key.insert("Condition", "4", ["3"]);
    key.insert("Condition", "5", ["4"]);
    key
}

/// Maps a row with a function of the row.
struct Mapper(fn(&Row) -> std::result::Result<Value, SqlxError>);

impl RowMapper<Row> for Mapper {
    fn to_resource(&self, row: &Row) -> Result<Resource> {
        Resource::new((self.0)(row).map_err(Error::from)?)
    }
}

fn optional_reference(
    row: &Row,
    column: &str,
    target: &str,
) -> std::result::Result<Value, SqlxError> {
    Ok(row.get_opt_i64(column)?.map_or(
        Value::Null,
        |id| json!({"reference": format!("{target}/{id}")}),
    ))
}

/// Drops JSON nulls, which FHIR does not allow.
fn clean(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.retain(|_, v| !v.is_null() && v != &json!([null]));
    }
    value
}

/// A legacy table has one version of each row: vread of version 1 and a one-entry history are
/// the current row, read through the inner provider so that the same constraints apply.
struct Versionless<P>(P);

#[async_trait]
impl<P: ResourceProvider> ResourceProvider for Versionless<P> {
    fn resource_type(&self) -> &str {
        self.0.resource_type()
    }

    fn interactions(&self) -> Interactions {
        let inner = self.0.interactions();
        Interaction::ALL
            .into_iter()
            .filter(|i| {
                inner.contains(*i)
                    || matches!(
                        i,
                        Interaction::Vread
                            | Interaction::HistoryInstance
                            | Interaction::HistoryType
                    )
            })
            .collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.0.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.0.read(id, ctx).await
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.0.read_many(ids, ctx).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.0.search(query, ctx).await
    }

    async fn vread(&self, id: &str, version_id: &str, ctx: &Context) -> Result<Resource> {
        if version_id == "1" {
            self.0.read(id, ctx).await
        } else {
            Err(Error::NotFound {
                resource_type: self.resource_type().to_owned(),
                id: id.to_owned(),
            })
        }
    }

    async fn history_instance(
        &self,
        id: &str,
        _query: &SearchQuery,
        ctx: &Context,
    ) -> Result<SearchPage> {
        let current = self.0.read(id, ctx).await?;
        Ok(SearchPage {
            total: Some(1),
            resources: vec![current],
            ..SearchPage::default()
        })
    }

    async fn history_type(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let mut all = SearchQuery::new(self.resource_type().to_owned());
        all.result.count = query.result.count;
        all.result.page = query.result.page.clone();
        self.0.search(&all, ctx).await
    }
}

/// A faulty provider: forgets the request's constraints (the compartment among them).
struct Forgetful(Arc<dyn ResourceProvider>);

fn forget(ctx: &Context) -> Context {
    let mut forgotten = ctx.clone();
    forgotten.constraints.clear();
    forgotten
}

#[async_trait]
impl ResourceProvider for Forgetful {
    fn resource_type(&self) -> &str {
        self.0.resource_type()
    }

    fn interactions(&self) -> Interactions {
        self.0.interactions()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.0.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.0.read(id, &forget(ctx)).await
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.0.read_many(ids, &forget(ctx)).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.0.search(query, &forget(ctx)).await
    }

    async fn vread(&self, id: &str, version_id: &str, ctx: &Context) -> Result<Resource> {
        self.0.vread(id, version_id, &forget(ctx)).await
    }

    async fn history_instance(
        &self,
        id: &str,
        query: &SearchQuery,
        ctx: &Context,
    ) -> Result<SearchPage> {
        self.0.history_instance(id, query, &forget(ctx)).await
    }

    async fn history_type(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.0.history_type(query, &forget(ctx)).await
    }
}

/// The providers over a fresh in-memory database.
async fn providers() -> Vec<Arc<dyn ResourceProvider>> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let db = Database::new(Pool::Sqlite(pool), std::time::Duration::from_secs(30));
    for statement in DATA {
        db.execute(&SqlFragment::sql(*statement), None)
            .await
            .unwrap();
    }
    let schema = schema();
    let provider = |resource_type: &str, mapper: Mapper| -> Arc<dyn ResourceProvider> {
        Arc::new(Versionless(
            SqlxProvider::new(db.clone(), schema.clone(), resource_type, mapper).unwrap(),
        ))
    };
    vec![
        provider(
            "Patient",
            Mapper(|row| {
                Ok(clean(json!({
                    "resourceType": "Patient",
                    "id": row.get_i64("id")?.to_string(),
                    "name": [{"family": row.get_str("family")?, "given": [row.get_str("given")?]}],
                    "generalPractitioner": [optional_reference(row, "gp", "Practitioner")?],
                })))
            }),
        ),
        provider(
            "Practitioner",
            Mapper(|row| {
                Ok(json!({
                    "resourceType": "Practitioner",
                    "id": row.get_i64("id")?.to_string(),
                    "name": [{"family": row.get_str("family")?}],
                }))
            }),
        ),
        provider(
            "Encounter",
            Mapper(|row| {
                Ok(clean(json!({
                    "resourceType": "Encounter",
                    "id": row.get_i64("id")?.to_string(),
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": optional_reference(row, "patient_id", "Patient")?,
                    "participant": [{"individual": optional_reference(row, "practitioner_id", "Practitioner")?}],
                })))
            }),
        ),
        provider(
            "Observation",
            Mapper(|row| {
                Ok(clean(json!({
                    "resourceType": "Observation",
                    "id": format!("obs-{}", row.get_i64("id")?),
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": row.get_str("code")?}]},
                    "subject": optional_reference(row, "patient_id", "Patient")?,
                    "encounter": optional_reference(row, "encounter_id", "Encounter")?,
                    "performer": [optional_reference(row, "performer_id", "Practitioner")?],
                })))
            }),
        ),
        provider(
            "Condition",
            Mapper(|row| {
                Ok(clean(json!({
                    "resourceType": "Condition",
                    "id": row.get_i64("id")?.to_string(),
                    "code": {"coding": [{"system": "http://loinc.org", "code": row.get_str("code")?}]},
                    "subject": optional_reference(row, "patient_id", "Patient")?,
                    "asserter": optional_reference(row, "asserter_id", "Patient")?,
                })))
            }),
        ),
    ]
}

/// A discovery document and JWKS for the issuer `{base}`, with the test RSA key.
async fn start_idp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let mut jwk = Jwk::from_encoding_key(&key(), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("rs".to_owned());
    let discovery = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
    });
    let jwks = json!({ "keys": [jwk] });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

fn key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PEM).unwrap()
}

/// A token of `issuer` for the facade with `scope` and, when given, a launch patient.
fn token(issuer: &str, scope: &str, patient: Option<&str>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({
        "iss": issuer, "aud": AUDIENCE, "iat": now, "exp": now + 3600,
        "sub": "leakage-check", "azp": "smart-app", "scope": scope,
    });
    if let Some(patient) = patient {
        claims["patient"] = json!(patient);
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rs".to_owned());
    jsonwebtoken::encode(&header, &claims, &key()).unwrap()
}

/// Serves `router` on a free loopback port; its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// How the facade under test is assembled.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// The providers drop every constraint.
    ForgetfulProviders,
    /// The authorization layer replaces the patient's token by an unrestricted one.
    LostPatientConstraint,
}

/// The facade served with SMART on, and the check against it (tokens for patients 1, 2 and 3 with
/// `patient/*.rs`, an unrestricted `system/*.rs` oracle).
async fn setup(fault: Fault) -> LeakageCheck {
    let issuer = start_idp().await;
    let mut facade = Facade::builder();
    for provider in providers().await {
        facade = if fault == Fault::ForgetfulProviders {
            facade.provider(Forgetful(provider))
        } else {
            facade.shared_provider(provider)
        };
    }
    let validator =
        TokenValidator::new(AuthConfig::new([issuer.clone()], [AUDIENCE]).unwrap()).unwrap();
    let mut router = FhirRouter::builder(facade.build().unwrap())
        .auth(validator)
        .build();
    let oracle = token(&issuer, "system/*.rs", None);
    if fault == Fault::LostPatientConstraint {
        let header = axum::http::HeaderValue::from_str(&format!("Bearer {oracle}")).unwrap();
        router = router.layer(axum::middleware::map_request(
            move |mut request: axum::extract::Request| {
                let header = header.clone();
                async move {
                    if request.headers().contains_key("authorization") {
                        request.headers_mut().insert("authorization", header);
                    }
                    request
                }
            },
        ));
    }
    let base = serve(router).await;
    // Patient 1's app may read every type, the others' the clinical types only (v1 and v2
    // forms): Practitioner, outside every patient compartment, is then left out of their pages.
    let scopes = [
        ("1", "patient/*.rs"),
        (
            "2",
            "patient/Patient.read patient/Encounter.read patient/Observation.read \
             patient/Condition.read",
        ),
        (
            "3",
            "launch/patient patient/Patient.rs patient/Encounter.rs patient/Observation.rs \
             patient/Condition.rs",
        ),
    ];
    let patients = scopes
        .into_iter()
        .map(|(id, scope)| PatientToken {
            patient: id.to_owned(),
            token: token(&issuer, scope, Some(id)),
        })
        .collect();
    LeakageCheck::new(base, patients, owners()).oracle(oracle)
}

async fn run(check: LeakageCheck) -> std::result::Result<Report, String> {
    tokio::task::spawn_blocking(move || check.run())
        .await
        .unwrap()
        .map_err(|leak| leak.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_token_sees_only_its_compartment_on_every_path() {
    let check = setup(Fault::None).await.cases(400);
    let report = run(check).await.unwrap_or_else(|leak| panic!("{leak}"));
    eprintln!("{report:?}");
    // Not vacuous: everything was enumerated, most generated searches were served, and own data
    // came back on many paths.
    assert_eq!(report.universe, 4 + 2 + 5 + 9 + 5);
    assert_eq!(report.probes, 400);
    assert!(report.probes_served >= 240, "{report:?}");
    assert!(report.returned >= 150, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_fails_when_the_patient_constraint_is_lost() {
    let check = setup(Fault::LostPatientConstraint).await.cases(50);
    // The sweep finds it on a single-resource route, the generated searches on their own too,
    // shrunk to a minimal search.
    for check in [check.clone(), check.sweep(false)] {
        let leak = run(check).await.unwrap_err();
        eprintln!("{leak}");
        assert!(leak.starts_with("LEAK: "), "{leak}");
        assert!(
            leak.contains("outside that patient's compartment"),
            "{leak}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_that_forget_the_compartment_are_caught() {
    // The core removes the other patients' resources the providers return (and answers their
    // histories with 404), so no entry leaks; but the providers' counts still tell how many
    // resources there are beyond the compartment, and the check sees that.
    let check = setup(Fault::ForgetfulProviders).await.cases(200);
    let leak = run(check).await.unwrap_err();
    eprintln!("{leak}");
    assert!(
        leak.contains("a total counted outside the compartment"),
        "{leak}"
    );
}

/// The binary, stopped on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facade_binary_keeps_each_patient_in_its_compartment() {
    let Some(bin) = std::env::var_os("FHIR_FACADE_LEAKAGE_BIN") else {
        eprintln!("skipping the leakage check of a binary: FHIR_FACADE_LEAKAGE_BIN is not set");
        return;
    };
    let issuer = start_idp().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _child = Child(
        std::process::Command::new(&bin)
            .env("FHIR_FACADE_LISTEN", format!("127.0.0.1:{port}"))
            .env("FHIR_FACADE_OIDC_ISSUER", &issuer)
            .env("FHIR_FACADE_OIDC_AUDIENCE", AUDIENCE)
            .env_remove("FHIR_FACADE_BASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.to_string_lossy())),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the binary did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let base = format!(
        "http://127.0.0.1:{port}{}",
        fhir_facade_axum::settings::FHIR_PATH
    );
    let oracle = token(&issuer, "system/*.rs", None);
    let cases = std::env::var("FHIR_FACADE_LEAKAGE_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    let owners = binary_owners().await;
    let report = tokio::task::spawn_blocking(move || {
        let ids = list_patients(&base, &oracle, 3)?;
        assert!(ids.len() >= 2, "the binary serves fewer than two patients");
        let patients = ids
            .iter()
            .map(|id| PatientToken {
                patient: id.clone(),
                token: token(&issuer, "patient/*.rs", Some(id)),
            })
            .collect();
        let owned: usize = ids.iter().map(|id| owners.owned_by(id)).sum();
        let check = LeakageCheck::new(base, patients, owners)
            .oracle(oracle)
            .cases(cases);
        check.run().map(|report| (report, owned))
    })
    .await
    .unwrap()
    .unwrap_or_else(|leak| panic!("{leak}"));
    let (report, owned) = report;
    eprintln!("{report:?}");
    // The sweep reads every resource with every token: each patient's own resources come back to
    // it at least once, and generated searches were served.
    assert!(
        owned > 0,
        "the answer key gives the chosen patients no resources"
    );
    assert!(
        report.returned >= owned,
        "{owned} own resources, {report:?}"
    );
    assert!(report.probes_served > 0, "{report:?}");
}

/// The answer key of the binary's data: the rows of the query in the file
/// `FHIR_FACADE_LEAKAGE_OWNERS` (resource type, id and patient id as text; a NULL patient for a
/// resource in nobody's compartment), run on `DATABASE_URL` next to the facade, over the legacy
/// tables themselves.
async fn binary_owners() -> Owners {
    let file = std::env::var("FHIR_FACADE_LEAKAGE_OWNERS").expect(
        "FHIR_FACADE_LEAKAGE_OWNERS must name the SQL of the answer key of the binary's data",
    );
    let sql = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL must name the binary's database");
    let db = Database::new(
        Pool::connect(&url, 1).await.unwrap(),
        std::time::Duration::from_secs(30),
    );
    let mut key = Owners::new();
    for row in db.fetch_all(&SqlFragment::sql(sql), None).await.unwrap() {
        let patient = row.get_opt_str("patient").unwrap();
        key.insert(
            &row.get_str("resource_type").unwrap(),
            &row.get_str("id").unwrap(),
            patient,
        );
    }
    key
}
