//! The KIS facade on a real SQL Server, when `FHIR_FACADE_MSSQL_URL` names one
//! (`mssql://user:password@host:1433/master?trust_server_certificate=true`); `#[ignore]`d otherwise,
//! so cargo reports it as ignored, and run by `scripts/test` when the variable is set.
//!
//! The test creates a database of its own (`kis_test_<pid>_<n>`), generates the data into it with
//! the binary's code path, compares searches with the generated rows, runs the Patient write
//! round trip and a lab Observation create checked in the tables, and drops the database.

use std::time::SystemTime;

use fhir_facade_core::search::{DateRange, DateValue, Handling, ParseOptions, QuantityValue};
use fhir_facade_core::sql::fold;
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::{Context, Facade, Resource, SearchQuery};
use kis_facade::Backend;
use kis_facade::generate::Dataset;
use kis_facade::quantity::stored_value_matches;
use kis_facade::server::KisDatabase;
use kis_facade::value::legacy_date_to_fhir;
use serde_json::json;

const URL_VAR: &str = "FHIR_FACADE_MSSQL_URL";
const PATIENTS: u32 = 30;
const SEED: u64 = 99;

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").expect("a URL") + 3;
    let authority = base[start..].split('/').next().unwrap_or_default();
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}{authority}/{database}{query}", &base[..start])
}

async fn exec(db: &fhir_facade_tiberius::Database, sql: String) {
    db.execute(&SqlFragment::sql(sql), Some("mssql-live"))
        .await
        .unwrap();
}

async fn ids(facade: &Facade, resource_type: &str, query: &str) -> Vec<i64> {
    let options = ParseOptions {
        handling: Handling::Strict,
        base_url: Some("http://kis.test/fhir"),
    };
    let mut q =
        SearchQuery::parse(resource_type, query, facade.supported_params(), &options).unwrap();
    q.result.count = Some(100_000);
    let page = facade
        .provider(resource_type)
        .unwrap()
        .search(&q, &Context::new())
        .await
        .unwrap_or_else(|e| panic!("{resource_type}?{query}: {e}"));
    let mut ids: Vec<i64> = page
        .resources
        .iter()
        .map(|r| r.id().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn suite(url: &str, failures: &mut Vec<String>) {
    let (db, backend) = KisDatabase::connect(url, 4).await.expect("connect");
    assert_eq!(backend, Backend::MsSql);
    db.generate(backend, PATIENTS, SEED, false).await.unwrap();
    let data = Dataset::generate(PATIENTS, SEED);
    let facade = db.facade(backend).unwrap();
    let KisDatabase::MsSql(raw) = &db else {
        unreachable!()
    };
    let live: Vec<_> = data.patients.iter().filter(|p| p.geloescht == 0).collect();
    let mut check = |what: String, got: Vec<i64>, mut expected: Vec<i64>| {
        expected.sort_unstable();
        if got != expected {
            failures.push(format!("{what}: got {got:?}, expected {expected:?}"));
        }
    };

    for q in ["muller", "Müller", "weiß", "weiss", "schro", "oz"] {
        let expected = live
            .iter()
            .filter(|p| fold(&p.nachname).starts_with(&fold(q)))
            .map(|p| p.pat_id)
            .collect();
        let encoded: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        check(
            format!("family={q}"),
            ids(&facade, "Patient", &format!("family={encoded}")).await,
            expected,
        );
    }
    for search in [
        "1980",
        "ge1980-05",
        "lt1975",
        "sa1990-01",
        "eb2000",
        "ne1961",
    ] {
        let value = DateValue::parse(search).unwrap();
        let expected = live
            .iter()
            .filter(|p| {
                legacy_date_to_fhir(&p.geb_datum)
                    .is_some_and(|d| value.matches(&DateRange::parse(&d).unwrap().0))
            })
            .map(|p| p.pat_id)
            .collect();
        check(
            format!("birthdate={search}"),
            ids(&facade, "Patient", &format!("birthdate={search}")).await,
            expected,
        );
    }
    let live_ids: std::collections::HashSet<i64> = live.iter().map(|p| p.pat_id).collect();
    for search in ["lt1", "gt100", "5.4", "ge200", "eb0.5"] {
        let value = QuantityValue::parse(search).unwrap();
        let expected = data
            .labs
            .iter()
            .filter(|l| live_ids.contains(&l.pat_id) && l.labcode == "CRP")
            .filter(|l| stored_value_matches(&l.wert, &value.number))
            .map(|l| l.befund_id)
            .collect();
        check(
            format!("CRP value-quantity={search}"),
            ids(
                &facade,
                "Observation",
                &format!("code=http://loinc.org|1988-5&value-quantity={search}"),
            )
            .await,
            expected,
        );
    }

    // The write round trip, checked in the table.
    let ctx = Context::new();
    let body = json!({"resourceType": "Patient", "name": [{"family": "Größer", "given": ["Jürgen"]}], "birthDate": "1970-03"});
    let created = facade
        .create(
            "Patient",
            Resource::new(body).unwrap(),
            None,
            "http://kis.test/fhir",
            &ctx,
        )
        .await
        .unwrap();
    let id = created.resource.id().unwrap().to_owned();
    let row = |id: String| {
        let raw = raw.clone();
        async move {
            let mut q = SqlFragment::sql(
                "SELECT nachname, geb_datum, geloescht, aend_zaehler FROM patient WHERE pat_id = ",
            );
            q.push_bind(BindValue::Int(id.parse().unwrap()));
            let rows = raw.fetch_all(&q, None).await.unwrap();
            let r = &rows[0];
            (
                r.get_str("nachname").unwrap(),
                r.get_str("geb_datum").unwrap(),
                r.get_i64("geloescht").unwrap(),
                r.get_i64("aend_zaehler").unwrap(),
            )
        }
    };
    assert_eq!(
        row(id.clone()).await,
        ("Größer".into(), "19700300".into(), 0, 1)
    );
    let mut changed = created.resource.as_json().clone();
    changed["birthDate"] = json!("1970-03-09");
    let stale = facade
        .update(
            "Patient",
            &id,
            Resource::new(changed.clone()).unwrap(),
            Some("7".into()),
            &ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status(), 412);
    assert_eq!(row(id.clone()).await.3, 1);
    facade
        .update(
            "Patient",
            &id,
            Resource::new(changed).unwrap(),
            Some("1".into()),
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        row(id.clone()).await,
        ("Größer".into(), "19700309".into(), 0, 2)
    );
    facade.delete("Patient", &id, &ctx).await.unwrap();
    assert_eq!(row(id.clone()).await.2, 1);
    assert_eq!(
        facade
            .read("Patient", &id, &ctx)
            .await
            .unwrap_err()
            .status(),
        410
    );

    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1988-5"}]},
        "subject": {"reference": format!("Patient/{}", live[0].pat_id)},
        "effectiveDateTime": "2024-03-01T08:15:00+01:00",
        "valueQuantity": {"value": 0.5, "comparator": "<"}});
    let created = facade
        .create(
            "Observation",
            Resource::new(obs).unwrap(),
            None,
            "http://kis.test/fhir",
            &ctx,
        )
        .await
        .unwrap();
    let mut q = SqlFragment::sql("SELECT labcode, wert FROM labor_befund WHERE befund_id = ");
    q.push_bind(BindValue::Int(
        created.resource.id().unwrap().parse().unwrap(),
    ));
    let rows = raw.fetch_all(&q, None).await.unwrap();
    assert_eq!(rows[0].get_str("labcode").unwrap().trim(), "CRP");
    assert_eq!(rows[0].get_str("wert").unwrap().trim(), "<0,5");
    let unmapped = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
        "subject": {"reference": format!("Patient/{}", live[0].pat_id)},
        "effectiveDateTime": "2024-03-01T08:15:00Z", "valueQuantity": {"value": 1}});
    let err = facade
        .create(
            "Observation",
            Resource::new(unmapped).unwrap(),
            None,
            "http://kis.test/fhir",
            &ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422);
}

#[tokio::test]
#[ignore = "needs a SQL Server: set FHIR_FACADE_MSSQL_URL; scripts/test then runs it"]
async fn kis_on_sql_server() {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "set {URL_VAR} (mssql://user:password@host:1433/master?trust_server_certificate=true)"
        )
    });
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("kis_test_{}_{nanos}", std::process::id());
    let admin = fhir_facade_tiberius::Database::new(
        fhir_facade_tiberius::Pool::connect(&url, 1)
            .await
            .expect("connect to SQL Server"),
        std::time::Duration::from_secs(60),
    );
    exec(&admin, format!("CREATE DATABASE {name}")).await;
    let test_url = with_database(&url, &name);
    let outcome = tokio::spawn(async move {
        let mut failures = Vec::new();
        suite(&test_url, &mut failures).await;
        failures
    })
    .await;
    exec(
        &admin,
        format!("ALTER DATABASE {name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE"),
    )
    .await;
    exec(&admin, format!("DROP DATABASE {name}")).await;
    match outcome {
        Ok(failures) => assert!(failures.is_empty(), "{}", failures.join("\n")),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[test]
fn database_names_replace_the_url_path() {
    assert_eq!(
        with_database(
            "mssql://sa:pw@h:1433/master?trust_server_certificate=true",
            "kis_t"
        ),
        "mssql://sa:pw@h:1433/kis_t?trust_server_certificate=true"
    );
    assert_eq!(
        with_database("mssql://sa:pw@h", "kis_t"),
        "mssql://sa:pw@h/kis_t"
    );
}
