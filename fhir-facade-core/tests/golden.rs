//! Golden SQL of the default translator on every dialect, for a small legacy schema.
//!
//! Run with `FHIR_FACADE_BLESS=1` to rewrite the files under `tests/golden/` after an intended
//! change, then review the diff.

use std::sync::Arc;

use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::search::{ParseOptions, SearchQuery};
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, QuantityMapping, ReferenceMapping, SqlSchema, StringColumn,
    TableMapping, TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::sql::{
    Dialect, MsSqlDialect, MySqlDialect, PgDialect, SqlTranslator, SqliteDialect,
};
use fhir_facade_core::{Constraint, SearchTranslator};
use time::macros::datetime;

fn p(resource_type: &str, code: &str) -> &'static fhir_facade_core::search::SearchParamDef {
    r4_param(resource_type, code).unwrap()
}

fn schema() -> SqlSchema {
    let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
        .filter("p.deleted = 0")
        .select([
            "p.id", "p.family", "p.given", "p.gender", "p.birth", "a.city",
        ])
        .join("LEFT JOIN address a ON a.id = p.address_id")
        .param(p("Patient", "_id"), ParamMapping::Id)
        .param(
            p("Patient", "family"),
            ParamMapping::String(vec![StringColumn::new("p.family")]),
        )
        .param(
            p("Patient", "name"),
            ParamMapping::String(vec![
                StringColumn::new("p.family"),
                StringColumn::new("p.given"),
            ]),
        )
        .param(
            p("Patient", "gender"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("p.gender".into()),
                ValueSource::None,
            )),
        )
        .param(
            p("Patient", "birthdate"),
            ParamMapping::Date(DateMapping::Point {
                expr: "p.birth".into(),
                kind: TimeKind::LegacyYmd,
            }),
        )
        .param(p("Patient", "identifier"), ParamMapping::Token(mrn()));
    let lab = TableMapping::new(
        "Observation",
        "lab",
        "l",
        "l.id",
        IdKind::PrefixedInteger("lab-".into()),
    )
    .select([
        "l.id",
        "l.patient_id",
        "l.labcode",
        "l.value",
        "l.unit",
        "l.taken",
    ])
    .param(p("Observation", "_id"), ParamMapping::Id)
    .param(
        p("Observation", "code"),
        ParamMapping::Token(TokenMapping::new(
            TokenCode::Lookup {
                from: "loinc_map m".into(),
                join: "m.local = l.labcode".into(),
                code: "m.loinc".into(),
            },
            ValueSource::Constant("http://loinc.org".into()),
        )),
    )
    .param(
        p("Observation", "date"),
        ParamMapping::Date(DateMapping::Point {
            expr: "l.taken".into(),
            kind: TimeKind::Instant,
        }),
    )
    .param(
        p("Observation", "value-quantity"),
        ParamMapping::Quantity(QuantityMapping {
            value: "l.value".into(),
            system: ValueSource::Constant("http://unitsofmeasure.org".into()),
            code: ValueSource::Column("l.unit".into()),
        }),
    )
    .param(
        p("Observation", "subject"),
        ParamMapping::Reference(
            ReferenceMapping::new("l.patient_id", "Patient").with_identifier("identifier"),
        ),
    )
    .param(
        p("Observation", "_source"),
        ParamMapping::Uri("l.source".into()),
    );
    let encounter = TableMapping::new("Encounter", "encounter", "e", "e.id", IdKind::Integer)
        .select(["e.id", "e.admitted", "e.discharged"])
        .param(
            p("Encounter", "date"),
            ParamMapping::Date(DateMapping::Period {
                start: "e.admitted".into(),
                end: "e.discharged".into(),
                kind: TimeKind::Date,
            }),
        );
    SqlSchema::new([patient, lab, encounter])
        .unwrap()
        .value_set(
            "http://example.org/vs/lab",
            [
                ("http://loinc.org", "718-7"),
                ("http://snomed.info/sct", "1"),
            ],
        )
}

/// Medical record numbers: one identifier type and system for the whole column.
fn mrn() -> TokenMapping {
    let mut mrn = TokenMapping::new(
        TokenCode::Column("p.mrn".into()),
        ValueSource::Constant("urn:oid:1.2.3".into()),
    );
    mrn.identifier_type = Some((
        "http://terminology.hl7.org/CodeSystem/v2-0203".into(),
        "MR".into(),
    ));
    mrn
}

/// (file name, resource type, query string, compartment patient)
const CASES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "string_starts_with",
        "Patient",
        "family=M%C3%BCller&_count=10",
        None,
    ),
    (
        "string_exact",
        "Patient",
        "name:exact=Smith&_count=10",
        None,
    ),
    (
        "token_with_system",
        "Observation",
        "code=http://loinc.org|718-7&_count=10",
        None,
    ),
    ("token_not", "Patient", "gender:not=f", None),
    (
        "date_ge_timestamp",
        "Observation",
        "date=ge2024-03-01T10:00:00Z",
        None,
    ),
    ("date_ge_char8", "Patient", "birthdate=ge1980-05-15", None),
    ("date_eq_char8_year", "Patient", "birthdate=1980", None),
    ("period_eq", "Encounter", "date=2024-03", None),
    (
        "quantity",
        "Observation",
        "value-quantity=gt5.4|http://unitsofmeasure.org|mg/dL",
        None,
    ),
    ("reference", "Observation", "subject=Patient/7,8", None),
    ("chain", "Observation", "subject:Patient.name=smi", None),
    (
        "has",
        "Patient",
        "_has:Observation:subject:code=718-7",
        None,
    ),
    ("compartment", "Observation", "code=718-7", Some("7")),
    ("compartment_patient", "Patient", "", Some("7")),
    // The chained Patient and the referring Observation stay inside the compartment too.
    (
        "compartment_chain",
        "Observation",
        "subject:Patient.name=smi",
        Some("7"),
    ),
    (
        "compartment_has",
        "Patient",
        "_has:Observation:subject:code=718-7",
        Some("7"),
    ),
    (
        "sort_and_offset",
        "Patient",
        "_sort=-birthdate,family&_count=5&_offset=10&_total=accurate",
        None,
    ),
    ("cursor", "Patient", "_count=5&_cursor=12", None),
    ("before", "Patient", "_count=5&_before=12", None),
    (
        "sort_repeated",
        "Patient",
        "_sort=family,-family,birthdate,_id,given",
        None,
    ),
    ("count_only", "Patient", "family=x&_count=0", None),
    (
        "missing",
        "Observation",
        "value-quantity:missing=true",
        None,
    ),
    (
        "uri_exact",
        "Observation",
        "_source=http://acme.org/lis",
        None,
    ),
    (
        "uri_below",
        "Observation",
        "_source:below=http://acme.org/l%25_s,http://acme.org/lis/",
        None,
    ),
    (
        "uri_above",
        "Observation",
        "_source:above=http://acme.org/lis/ward-3",
        None,
    ),
    (
        "token_in",
        "Observation",
        "code:in=http://example.org/vs/lab,http://example.org/vs/lab",
        None,
    ),
    (
        "token_not_in",
        "Patient",
        "identifier:not-in=http://example.org/vs/lab",
        None,
    ),
    (
        "reference_identifier",
        "Observation",
        "subject:identifier=urn:oid:1.2.3|M100",
        None,
    ),
    (
        "identifier_of_type",
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|M100",
        None,
    ),
    (
        "date_ap_timestamp",
        "Observation",
        "date=ap2024-03-01",
        None,
    ),
    ("date_ap_char8", "Patient", "birthdate=ap2020-05", None),
    ("period_ap", "Encounter", "date=ap2024-12", None),
];

fn dialects() -> [(&'static str, &'static dyn Dialect); 4] {
    [
        ("postgres", &PgDialect),
        ("mysql", &MySqlDialect),
        ("sqlite", &SqliteDialect),
        ("mssql", &MsSqlDialect),
    ]
}

fn render(
    translator: &SqlTranslator,
    resource_type: &str,
    query: &str,
    compartment: Option<&str>,
) -> String {
    let schema = translator.schema();
    let query = SearchQuery::parse(
        resource_type,
        query,
        &schema.supported_params(),
        &ParseOptions::default(),
    )
    .unwrap();
    let constraints: Vec<Constraint> = compartment
        .map(|id| Constraint::Compartment {
            compartment_type: "Patient".into(),
            id: id.into(),
        })
        .into_iter()
        .collect();
    let plan = translator
        .translate_at(&query, &constraints, datetime!(2025-01-01 00:00 UTC))
        .unwrap();
    let mut out = String::new();
    for (label, statement) in [("select", &plan.select), ("count", &plan.count)] {
        if let Some(statement) = statement {
            let (sql, binds) = translator.dialect().render(statement);
            out.push_str(&format!("-- {label}\n{sql}\n-- binds: {binds:?}\n"));
        }
    }
    out
}

#[test]
fn golden_sql_per_dialect() {
    let schema = Arc::new(schema());
    let bless = std::env::var("FHIR_FACADE_BLESS").as_deref() == Ok("1");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut mismatches = Vec::new();
    for (name, dialect) in dialects() {
        let translator = SqlTranslator::new(dialect, schema.clone());
        for (case, resource_type, query, compartment) in CASES {
            let actual = render(&translator, resource_type, query, *compartment);
            let path = dir.join(name).join(format!("{case}.sql"));
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &actual).unwrap();
            } else {
                let expected = std::fs::read_to_string(&path).unwrap_or_default();
                if expected != actual {
                    mismatches.push(format!("{}:\n{actual}", path.display()));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden SQL differs (FHIR_FACADE_BLESS=1 rewrites it):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn unmapped_and_unsupported_searches_fail() {
    let schema = Arc::new(schema());
    let translator = SqlTranslator::new(&PgDialect, schema);
    let params = translator.schema().supported_params();
    let parse =
        |t: &str, q: &str| SearchQuery::parse(t, q, &params, &ParseOptions::default()).unwrap();
    let compartment = Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: "7".into(),
    };
    let err = translator
        .translate(&parse("Encounter", ""), &[compartment])
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let err = translator
        .translate(&parse("Patient", "gender:in=http://x"), &[])
        .unwrap_err();
    assert!(matches!(
        err,
        fhir_facade_core::Error::UnsupportedSearch { .. }
    ));
    let err = translator
        .translate(&parse("Patient", "_sort=family&_cursor=3"), &[])
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let err = translator
        .translate(
            &parse("Observation", "code:in=http://example.org/vs/x"),
            &[],
        )
        .unwrap_err();
    assert!(err.to_string().contains("http://example.org/vs/x"), "{err}");
    for (resource_type, query) in [
        ("Observation", "code:below=718-7"),
        ("Observation", "code:above=http://loinc.org|718-7"),
        ("Observation", "subject:above=Patient/1"),
        ("Observation", "subject:below=Patient/1"),
    ] {
        let err = translator
            .translate(&parse(resource_type, query), &[])
            .unwrap_err();
        assert!(
            matches!(err, fhir_facade_core::Error::UnsupportedSearch { .. }),
            "{query}: {err:?}"
        );
    }
    let err = translator
        .translate(
            &parse("Observation", &format!("_source:above={}", "/".repeat(65))),
            &[],
        )
        .unwrap_err();
    assert_eq!(err.status(), 400);
}

#[test]
fn searches_binding_more_values_than_the_database_accepts_are_a_400() {
    let schema = Arc::new(schema());
    let ids: Vec<String> = (1..=2_500).map(|n| n.to_string()).collect();
    let query = format!("_id={}", ids.join(","));
    for (name, dialect) in dialects() {
        let translator = SqlTranslator::new(dialect, schema.clone());
        let params = translator.schema().supported_params();
        let parsed =
            SearchQuery::parse("Patient", &query, &params, &ParseOptions::default()).unwrap();
        let result = translator.translate(&parsed, &[]);
        if dialect.max_bind_values() < 2_500 {
            match result {
                Err(fhir_facade_core::Error::InvalidSearch { param, message }) => {
                    assert_eq!(param, "_id", "{name}");
                    assert!(message.contains("2000"), "{name}: {message}");
                }
                other => panic!("{name}: {other:?}"),
            }
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
}

fn pg_sql(statement: &fhir_facade_core::sql::SqlFragment) -> String {
    PgDialect.render(statement).0
}

#[test]
fn a_read_is_a_keyed_lookup_without_sort_or_limit() {
    let translator = SqlTranslator::new(&PgDialect, Arc::new(schema()));
    let ids = ["7".to_owned(), "9".to_owned()];
    let query = SearchQuery::by_ids("Patient", p("Patient", "_id"), &ids);
    let compartment = Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: "7".into(),
    };
    let lookup = translator.translate_lookup(&query, &[compartment]).unwrap();
    let (sql, binds) = PgDialect.render(&lookup);
    assert_eq!(
        sql,
        "SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p \
         LEFT JOIN address a ON a.id = p.address_id \
         WHERE (p.deleted = 0) AND (p.id IN ($1, $2)) AND (p.id = $3)"
    );
    assert_eq!(binds.len(), 3);
    // The same ids as a search are sorted and paged.
    let search = translator.translate(&query, &[]).unwrap();
    assert!(pg_sql(search.select.as_ref().unwrap()).contains("ORDER BY p.id ASC LIMIT"));
}

#[test]
fn joins_reach_the_row_select_only() {
    let translator = SqlTranslator::new(&PgDialect, Arc::new(schema()));
    let params = translator.schema().supported_params();
    let parse =
        |t: &str, q: &str| SearchQuery::parse(t, q, &params, &ParseOptions::default()).unwrap();
    let join = "LEFT JOIN address";
    let patients = translator
        .translate(&parse("Patient", "family=x&_total=accurate"), &[])
        .unwrap();
    assert!(pg_sql(patients.select.as_ref().unwrap()).contains(join));
    assert!(!pg_sql(patients.count.as_ref().unwrap()).contains(join));
    // A chain into Patient tests the patient table, not its joined columns.
    let chained = translator
        .translate(&parse("Observation", "subject:Patient.family=x"), &[])
        .unwrap();
    let chained = pg_sql(chained.select.as_ref().unwrap());
    assert!(chained.contains("FROM patient"), "{chained}");
    assert!(!chained.contains(join), "{chained}");
}
