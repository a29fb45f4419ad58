//! The contract suite of issue #8 against the running `omop-facade` binary: the OMOP demo
//! subset (100 persons, committed) served from SQLite and from PostgreSQL, once open and once
//! behind SMART with a local OIDC issuer. Every declared search parameter is exercised with its
//! answer checked against the CDM tables by direct SQL, with the US Core search combinations;
//! reads, paging walks, every declared `_include`/`_revinclude`, error statuses, SMART
//! confinement to one person, the real clients, and the coverage check (a declaration no check
//! used fails the suite). Every resource received is validated by the official R4 JSON schema
//! and by the R4B models of PyPI `fhir.resources`.
//!
//! PostgreSQL is `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), in
//! a schema of the run's own (`omop_contract_<pid>`), dropped afterwards. Unreachable, that
//! half is skipped with a message, except under `CI=true`, where it fails.

mod common;

use fhir_facade_tests::contract::checks::{self, capability};
use fhir_facade_tests::contract::clients::{self, ClientSearch};
use fhir_facade_tests::contract::server::Server;
use fhir_facade_tests::contract::smart::{self, Compartment, Signer};
use fhir_facade_tests::contract::{Group, Http, IncludeKey, Report, Run, includes};
use fhir_facade_tests::idp::{AUDIENCE, Idp, sign_rs256, sign_rs256_unknown_key};
use omop_facade::demo::{Embedded, ensure_demo_db};
use omop_facade::load::load_postgres;
use omop_facade::mapping::{CdmLocation, RESOURCE_TYPES};
use omop_facade::vocab::VITAL_SIGNS_LOINC;

use common::{Arg, Direct, postgres};

const BIN: &str = env!("CARGO_BIN_EXE_omop-facade");

/// The concept a clinical row is coded with: the standard one, else the source one.
fn effective(table: &str, column: &str) -> String {
    format!(
        "CASE WHEN {table}.{column}_concept_id = 0 THEN {table}.{column}_source_concept_id \
         ELSE {table}.{column}_concept_id END"
    )
}

/// A search, and the SQL over the CDM tables that gives its matches as text ids.
struct Case {
    id: &'static str,
    spec: &'static str,
    query: String,
    sql: String,
    args: Vec<Arg>,
    /// For a search whose answer may be empty: the SQL of the rows it narrows (same `args`),
    /// which must hold rows the answer does not, so that an ignored filter fails the check.
    wider: Option<String>,
}

fn case(id: &'static str, spec: &'static str, query: String, sql: &str, args: &[Arg]) -> Case {
    Case {
        id,
        spec,
        query,
        sql: sql.to_owned(),
        args: args.to_vec(),
        wider: None,
    }
}

/// A [`case`] that narrows the rows of `wider` (the same search without the filter under test).
fn narrowing(
    id: &'static str,
    spec: &'static str,
    query: String,
    sql: &str,
    wider: &str,
    args: &[Arg],
) -> Case {
    Case {
        wider: Some(wider.to_owned()),
        ..case(id, spec, query, sql, args)
    }
}

/// Text ids of a CDM key column, as the facade renders them.
fn text(column: &str) -> String {
    format!("CAST({column} AS VARCHAR(20))")
}

/// Two persons with rows in every clinical table the facade serves, and moderate numbers of
/// measurements, so that their compartments are neither empty nor huge.
async fn persons(db: &Direct) -> (i64, i64) {
    let has = |table: &str| {
        format!("EXISTS (SELECT 1 FROM {{s}}{table} x WHERE x.person_id = p.person_id)")
    };
    let sql = format!(
        "SELECT CAST(p.person_id AS BIGINT) FROM {{s}}person p WHERE {} AND {} AND {} AND {} \
         AND {} AND (SELECT COUNT(*) FROM {{s}}measurement m WHERE m.person_id = p.person_id) \
         BETWEEN 20 AND 600 ORDER BY p.person_id",
        has("visit_occurrence"),
        has("condition_occurrence"),
        has("procedure_occurrence"),
        has("drug_exposure"),
        has("observation"),
    );
    let found = db.column::<i64>(&sql, &[]).await;
    assert!(found.len() >= 2, "two persons with data in every table");
    (found[0], found[1])
}

/// Text ids of the rows of `sql` (its first column).
/// One CDM table a served type comes from: its FHIR id, person and visit columns, and
/// `FROM … WHERE` of its rows.
struct Branch {
    id: String,
    person: &'static str,
    visit: &'static str,
    from: String,
}

fn branch(id: String, person: &'static str, visit: &'static str, from: String) -> Branch {
    Branch {
        id,
        person,
        visit,
        from,
    }
}

/// The answer key of the include checks, over the CDM tables.
fn include_key(db: &Direct) -> IncludeKey {
    let db = db.clone();
    let key = IncludeKey::new(move |sql: String, id: String| {
        let db = db.clone();
        // A union has a `?` per branch, each the id.
        let args = vec![Arg::Text(id); sql.matches('?').count()];
        async move { ids(&db, &sql, &args).await }
    });
    // Each served type as (FHIR id, person, visit, FROM … WHERE) over the CDM; Observation and
    // the drug types are unions and filters of CDM tables, as the mapping serves them.
    let drug = |cvx: bool| {
        let kind = if cvx {
            "c.vocabulary_id = 'CVX'"
        } else {
            "(c.vocabulary_id IS NULL OR c.vocabulary_id <> 'CVX')"
        };
        format!(
            "{{s}}drug_exposure d LEFT JOIN {{s}}concept c ON c.concept_id = {} WHERE {kind}",
            effective("d", "drug")
        )
    };
    let sources: Vec<(&str, Vec<Branch>)> = vec![
        (
            "Encounter",
            vec![branch(
                text("v.visit_occurrence_id"),
                "v.person_id",
                "v.visit_occurrence_id",
                "{s}visit_occurrence v WHERE 1 = 1".to_owned(),
            )],
        ),
        (
            "Condition",
            vec![branch(
                text("x.condition_occurrence_id"),
                "x.person_id",
                "x.visit_occurrence_id",
                "{s}condition_occurrence x WHERE 1 = 1".to_owned(),
            )],
        ),
        (
            "Procedure",
            vec![branch(
                text("x.procedure_occurrence_id"),
                "x.person_id",
                "x.visit_occurrence_id",
                "{s}procedure_occurrence x WHERE 1 = 1".to_owned(),
            )],
        ),
        (
            "MedicationRequest",
            vec![branch(
                text("d.drug_exposure_id"),
                "d.person_id",
                "d.visit_occurrence_id",
                drug(false),
            )],
        ),
        (
            "Immunization",
            vec![branch(
                text("d.drug_exposure_id"),
                "d.person_id",
                "d.visit_occurrence_id",
                drug(true),
            )],
        ),
        (
            "Observation",
            vec![
                branch(
                    format!("'meas-' || {}", text("m.measurement_id")),
                    "m.person_id",
                    "m.visit_occurrence_id",
                    "{s}measurement m WHERE 1 = 1".to_owned(),
                ),
                branch(
                    format!("'obs-' || {}", text("o.observation_id")),
                    "o.person_id",
                    "o.visit_occurrence_id",
                    "{s}observation o WHERE 1 = 1".to_owned(),
                ),
            ],
        ),
    ];
    let union = |parts: Vec<String>| parts.join(" UNION ALL ");
    let mut key = key;
    for (t, tables) in &sources {
        let patient_of = union(
            tables
                .iter()
                .map(
                    |Branch {
                         id, person, from, ..
                     }| {
                        format!(
                            "SELECT {} FROM {from} AND {id} = ? AND EXISTS \
                         (SELECT 1 FROM {{s}}person p WHERE p.person_id = {person})",
                            text(person)
                        )
                    },
                )
                .collect(),
        );
        let rows_of = union(
            tables
                .iter()
                .map(
                    |Branch {
                         id, person, from, ..
                     }| {
                        format!("SELECT {id} FROM {from} AND {} = ?", text(person))
                    },
                )
                .collect(),
        );
        let codes: &[&str] = if *t == "Immunization" {
            &["patient"]
        } else {
            &["patient", "subject"]
        };
        for code in codes {
            key = key
                .include(&format!("{t}:{code}"), "Patient", &patient_of)
                .revinclude("Patient", &format!("{t}:{code}"), &rows_of);
        }
        if matches!(
            *t,
            "Condition" | "Procedure" | "MedicationRequest" | "Observation"
        ) {
            let visit_of = union(
                tables
                    .iter()
                    .map(|Branch { id, visit, from, .. }| {
                        format!(
                            "SELECT {} FROM {from} AND {id} = ? AND EXISTS \
                             (SELECT 1 FROM {{s}}visit_occurrence v WHERE v.visit_occurrence_id = {visit})",
                            text(visit)
                        )
                    })
                    .collect(),
            );
            let rows_of_visit = union(
                tables
                    .iter()
                    .map(
                        |Branch {
                             id, visit, from, ..
                         }| {
                            format!("SELECT {id} FROM {from} AND {} = ?", text(visit))
                        },
                    )
                    .collect(),
            );
            key = key
                .include(&format!("{t}:encounter"), "Encounter", &visit_of)
                .revinclude("Encounter", &format!("{t}:encounter"), &rows_of_visit);
        }
    }
    key
}

async fn ids(db: &Direct, sql: &str, args: &[Arg]) -> Vec<String> {
    db.column::<String>(sql, args).await
}

/// One value of the first column of `sql`.
async fn one(db: &Direct, sql: &str, args: &[Arg]) -> String {
    ids(db, sql, args)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no row: {sql}"))
}

/// Every declared search parameter, and the US Core combinations, with the database's answer.
async fn cases(db: &Direct, p: i64, q: i64) -> Vec<Case> {
    let pa = [Arg::Int(p)];
    let search = "search.html#token, search.html#reference, search.html#date";
    let id_spec = "search.html#id";
    let source = one(
        db,
        "SELECT person_source_value FROM {s}person WHERE person_id = ?",
        &pa,
    )
    .await;
    let year = one(
        db,
        &format!(
            "SELECT {} FROM {{s}}person WHERE person_id = ?",
            text("year_of_birth")
        ),
        &pa,
    )
    .await;
    let visit = one(
        db,
        &format!(
            "SELECT {} FROM {{s}}condition_occurrence co JOIN {{s}}visit_occurrence v \
             ON v.visit_occurrence_id = co.visit_occurrence_id WHERE co.person_id = ?",
            text("MIN(co.visit_occurrence_id)")
        ),
        &pa,
    )
    .await;
    let va = [Arg::Int(visit.parse().expect("a visit id"))];
    let snomed = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}condition_occurrence co JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE c.vocabulary_id = 'SNOMED' \
             GROUP BY c.concept_code ORDER BY COUNT(*) DESC, c.concept_code",
            effective("co", "condition")
        ),
        &[],
    )
    .await;
    let procedure_code = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}procedure_occurrence po JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE po.person_id = ? ORDER BY c.concept_code",
            effective("po", "procedure")
        ),
        &pa,
    )
    .await;
    let drug_code = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}drug_exposure d JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE c.vocabulary_id = 'RxNorm' \
             GROUP BY c.concept_code ORDER BY COUNT(*) DESC, c.concept_code",
            effective("d", "drug")
        ),
        &[],
    )
    .await;
    let cvx = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}drug_exposure d JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE c.vocabulary_id = 'CVX' \
             GROUP BY c.concept_code ORDER BY COUNT(*) DESC, c.concept_code",
            effective("d", "drug")
        ),
        &[],
    )
    .await;
    let loinc = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}measurement m JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE c.vocabulary_id = 'LOINC' AND m.person_id = ? \
             GROUP BY c.concept_code ORDER BY COUNT(*) DESC, c.concept_code",
            effective("m", "measurement")
        ),
        &pa,
    )
    .await;
    let heavy = one(
        db,
        &format!(
            "SELECT c.concept_code FROM {{s}}measurement m JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE c.vocabulary_id = 'LOINC' AND m.value_as_number > 5 \
             GROUP BY c.concept_code ORDER BY COUNT(*) DESC, c.concept_code",
            effective("m", "measurement")
        ),
        &[],
    )
    .await;
    // The smallest key of the person's rows, as text.
    let first = |table: &str, key: &str| {
        format!(
            "SELECT {} FROM {{s}}{table} WHERE person_id = ?",
            text(&format!("MIN({key})"))
        )
    };
    let meas = one(db, &first("measurement", "measurement_id"), &pa).await;
    let obs = one(db, &first("observation", "observation_id"), &pa).await;
    let vital = VITAL_SIGNS_LOINC
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let meas_ids = format!("'meas-' || {}", text("m.measurement_id"));
    let obs_ids = format!("'obs-' || {}", text("o.observation_id"));
    let measured = |condition: &str| {
        format!(
            "SELECT {meas_ids} FROM {{s}}measurement m LEFT JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE {condition}",
            effective("m", "measurement")
        )
    };
    let observed =
        |condition: &str| format!("SELECT {obs_ids} FROM {{s}}observation o WHERE {condition}");
    let drugs = |condition: &str, cvx: bool| {
        let kind = if cvx {
            "c.vocabulary_id = 'CVX'"
        } else {
            "(c.vocabulary_id IS NULL OR c.vocabulary_id <> 'CVX')"
        };
        format!(
            "SELECT {} FROM {{s}}drug_exposure d LEFT JOIN {{s}}concept c ON c.concept_id = {} \
             WHERE {kind} AND {condition}",
            text("d.drug_exposure_id"),
            effective("d", "drug")
        )
    };
    let visits = |condition: &str| {
        format!(
            "SELECT {} FROM {{s}}visit_occurrence v LEFT JOIN {{s}}concept c \
             ON c.concept_id = v.visit_concept_id WHERE {condition}",
            text("v.visit_occurrence_id")
        )
    };
    let conditions = |condition: &str| {
        format!(
            "SELECT {} FROM {{s}}condition_occurrence co LEFT JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE {condition}",
            text("co.condition_occurrence_id"),
            effective("co", "condition")
        )
    };
    let procedures = |condition: &str| {
        format!(
            "SELECT {} FROM {{s}}procedure_occurrence po LEFT JOIN {{s}}concept c \
             ON c.concept_id = {} WHERE {condition}",
            text("po.procedure_occurrence_id"),
            effective("po", "procedure")
        )
    };
    let persons = |condition: &str| {
        format!(
            "SELECT {} FROM {{s}}person p WHERE {condition}",
            text("p.person_id")
        )
    };
    let both = |m: &str, o: &str| format!("{} UNION ALL {}", measured(m), observed(o));
    let us_core = "US Core 3.1.1 (mandatory and optional search combinations)";
    let code = |c: &str| Arg::Text(c.to_owned());
    vec![
        // Patient
        case(
            "pat-id",
            id_spec,
            format!("Patient?_id={p},{q}"),
            &persons("p.person_id IN (?, ?)"),
            &[Arg::Int(p), Arg::Int(q)],
        ),
        case(
            "pat-identifier",
            us_core,
            format!("Patient?identifier={source}"),
            &persons("p.person_source_value = ?"),
            &[code(&source)],
        ),
        case(
            "pat-gender",
            search,
            "Patient?gender=female".to_owned(),
            &persons("p.gender_concept_id = 8532"),
            &[],
        ),
        case(
            "pat-birthdate",
            "search.html#date (year precision)",
            format!("Patient?birthdate={year}"),
            &persons("p.year_of_birth = ?"),
            &[Arg::Int(year.parse().expect("a year"))],
        ),
        case(
            "pat-birthdate-gender",
            us_core,
            "Patient?birthdate=ge1980-06&gender=http://hl7.org/fhir/administrative-gender%7Cmale"
                .to_owned(),
            &persons(
                "p.gender_concept_id = 8507 AND (p.year_of_birth > 1980 \
                 OR (p.year_of_birth = 1980 AND p.month_of_birth >= 6))",
            ),
            &[],
        ),
        case(
            "pat-death-date",
            "search.html#modifiers (:missing)",
            "Patient?death-date:missing=true".to_owned(),
            &persons("NOT EXISTS (SELECT 1 FROM {s}death d WHERE d.person_id = p.person_id)"),
            &[],
        ),
        // Encounter
        case(
            "enc-patient",
            us_core,
            format!("Encounter?patient={p}"),
            &visits("v.person_id = ?"),
            &pa,
        ),
        case(
            "enc-subject-date",
            us_core,
            format!("Encounter?subject=Patient/{p}&date=ge2016-01-01"),
            // A visit's range ends after its last day.
            &visits(
                "v.person_id = ? AND (v.visit_end_date >= '2016-01-02' \
                 OR (v.visit_start_date >= '2016-01-01' AND v.visit_end_date < '2016-01-02'))",
            ),
            &pa,
        ),
        case(
            "enc-class",
            us_core,
            format!("Encounter?patient={p}&class=http://terminology.hl7.org/CodeSystem/v3-ActCode%7CAMB"),
            &visits("v.person_id = ? AND v.visit_concept_id = 9202"),
            &pa,
        ),
        case(
            "enc-type",
            us_core,
            format!("Encounter?patient={p}&type=OP"),
            &visits("v.person_id = ? AND c.concept_code = 'OP'"),
            &pa,
        ),
        case(
            "enc-id",
            id_spec,
            format!("Encounter?_id={visit}"),
            &visits("v.visit_occurrence_id = ?"),
            &va,
        ),
        // Condition
        case(
            "cond-patient-category",
            us_core,
            format!("Condition?patient={p}&category=encounter-diagnosis"),
            &conditions("co.person_id = ? AND co.visit_occurrence_id IS NOT NULL"),
            &pa,
        ),
        case(
            "cond-subject-status",
            us_core,
            format!("Condition?subject=Patient/{p}&clinical-status=active"),
            &conditions("co.person_id = ? AND co.condition_end_date IS NULL"),
            &pa,
        ),
        case(
            "cond-encounter",
            search,
            format!("Condition?encounter=Encounter/{visit}"),
            &conditions("co.visit_occurrence_id = ?"),
            &va,
        ),
        case(
            "cond-code",
            us_core,
            format!("Condition?code=http://snomed.info/sct%7C{snomed}"),
            &conditions("c.vocabulary_id = 'SNOMED' AND c.concept_code = ?"),
            &[code(&snomed)],
        ),
        case(
            "cond-onset",
            us_core,
            format!("Condition?patient={p}&onset-date=lt2015"),
            &conditions("co.person_id = ? AND co.condition_start_date < '2015-01-01'"),
            &pa,
        ),
        case(
            "cond-id",
            id_spec,
            format!("Condition?_id={}", one(db, &first("condition_occurrence", "condition_occurrence_id"), &pa).await),
            &conditions("co.condition_occurrence_id = (SELECT MIN(x.condition_occurrence_id) FROM {s}condition_occurrence x WHERE x.person_id = ?)"),
            &pa,
        ),
        // Procedure
        case(
            "proc-patient-date",
            us_core,
            format!("Procedure?patient={p}&date=ge2015-01-01"),
            &procedures(
                "po.person_id = ? AND (COALESCE(po.procedure_end_date, po.procedure_date) >= '2015-01-02' \
                 OR (po.procedure_date >= '2015-01-01' \
                 AND COALESCE(po.procedure_end_date, po.procedure_date) < '2015-01-02'))",
            ),
            &pa,
        ),
        case(
            "proc-subject-code",
            us_core,
            format!("Procedure?subject=Patient/{p}&code={procedure_code}"),
            &procedures("po.person_id = ? AND c.concept_code = ?"),
            &[Arg::Int(p), code(&procedure_code)],
        ),
        case(
            "proc-encounter",
            search,
            format!("Procedure?encounter={}", one(db, &format!("SELECT {} FROM {{s}}procedure_occurrence WHERE person_id = ?", text("MIN(visit_occurrence_id)")), &pa).await),
            &procedures("po.visit_occurrence_id = (SELECT MIN(x.visit_occurrence_id) FROM {s}procedure_occurrence x WHERE x.person_id = ?)"),
            &pa,
        ),
        case(
            "proc-id",
            id_spec,
            format!("Procedure?_id={}", one(db, &first("procedure_occurrence", "procedure_occurrence_id"), &pa).await),
            &procedures("po.procedure_occurrence_id = (SELECT MIN(x.procedure_occurrence_id) FROM {s}procedure_occurrence x WHERE x.person_id = ?)"),
            &pa,
        ),
        // MedicationRequest
        case(
            "mr-patient-intent",
            us_core,
            format!("MedicationRequest?patient={p}&intent=order"),
            &drugs("d.person_id = ?", false),
            &pa,
        ),
        case(
            "mr-subject-status",
            us_core,
            format!("MedicationRequest?subject=Patient/{p}&status=completed&intent=order,plan"),
            &drugs("d.person_id = ?", false),
            &pa,
        ),
        case(
            "mr-authoredon",
            us_core,
            format!("MedicationRequest?patient={p}&authoredon=lt2015-01-01"),
            &drugs("d.person_id = ? AND d.drug_exposure_start_date < '2015-01-01'", false),
            &pa,
        ),
        case(
            "mr-code",
            search,
            format!("MedicationRequest?code={drug_code}"),
            &drugs("c.concept_code = ?", false),
            &[code(&drug_code)],
        ),
        case(
            "mr-encounter",
            search,
            format!("MedicationRequest?encounter={}", one(db, &format!("SELECT {} FROM {{s}}drug_exposure d LEFT JOIN {{s}}concept c ON c.concept_id = {} WHERE d.person_id = ? AND (c.vocabulary_id IS NULL OR c.vocabulary_id <> 'CVX')", text("MIN(d.visit_occurrence_id)"), effective("d", "drug")), &pa).await),
            &drugs("d.visit_occurrence_id = (SELECT MIN(x.visit_occurrence_id) FROM {s}drug_exposure x LEFT JOIN {s}concept xc ON xc.concept_id = CASE WHEN x.drug_concept_id = 0 THEN x.drug_source_concept_id ELSE x.drug_concept_id END WHERE x.person_id = ? AND (xc.vocabulary_id IS NULL OR xc.vocabulary_id <> 'CVX'))", false),
            &pa,
        ),
        case(
            "mr-id",
            id_spec,
            format!("MedicationRequest?_id={}", one(db, &format!("{} ORDER BY 1", drugs("d.person_id = ?", false)), &pa).await),
            &format!("{} ORDER BY 1 LIMIT 1", drugs("d.person_id = ?", false)),
            &pa,
        ),
        // Immunization
        case(
            "imm-patient-date",
            us_core,
            format!("Immunization?patient={p}&date=ge2015-01-01&status=completed"),
            &drugs("d.person_id = ? AND d.drug_exposure_start_date >= '2015-01-01'", true),
            &pa,
        ),
        case(
            "imm-vaccine-code",
            search,
            format!("Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx%7C{cvx}"),
            &drugs("c.concept_code = ?", true),
            &[code(&cvx)],
        ),
        case(
            "imm-id",
            id_spec,
            format!("Immunization?_id={}", one(db, &format!("{} ORDER BY 1", drugs("d.person_id = ?", true)), &pa).await),
            &format!("{} ORDER BY 1 LIMIT 1", drugs("d.person_id = ?", true)),
            &pa,
        ),
        // Observation
        case(
            "obs-lab",
            us_core,
            format!("Observation?patient={p}&category=laboratory&date=ge2015"),
            &measured(&format!(
                "m.person_id = ? AND m.measurement_date >= '2015-01-01' \
                 AND NOT (COALESCE(c.vocabulary_id, '') = 'LOINC' AND c.concept_code IN ({vital}))"
            )),
            &pa,
        ),
        case(
            "obs-vitals",
            us_core,
            format!("Observation?subject=Patient/{p}&category=vital-signs"),
            &measured(&format!(
                "m.person_id = ? AND c.vocabulary_id = 'LOINC' AND c.concept_code IN ({vital})"
            )),
            &pa,
        ),
        case(
            "obs-survey",
            us_core,
            format!("Observation?patient={p}&category=survey"),
            &observed("o.person_id = ?"),
            &pa,
        ),
        case(
            "obs-code",
            us_core,
            format!("Observation?patient={p}&code=http://loinc.org%7C{loinc}"),
            &measured("m.person_id = ? AND c.vocabulary_id = 'LOINC' AND c.concept_code = ?"),
            &[Arg::Int(p), code(&loinc)],
        ),
        case(
            "obs-value-quantity",
            "search.html#quantity",
            format!("Observation?code={heavy}&value-quantity=gt5"),
            &measured("c.concept_code = ? AND m.value_as_number > 5"),
            &[code(&heavy)],
        ),
        case(
            "obs-value-concept",
            "search.html#modifiers (:missing)",
            format!("Observation?patient={p}&value-concept:missing=true&date=lt2012"),
            &both(
                "m.person_id = ? AND m.measurement_date < '2012-01-01' \
                 AND (m.value_as_concept_id IS NULL OR m.value_as_concept_id = 0)",
                "o.person_id = ? AND o.observation_date < '2012-01-01' \
                 AND (o.value_as_concept_id IS NULL OR o.value_as_concept_id = 0)",
            ),
            &[Arg::Int(p), Arg::Int(p)],
        ),
        case(
            "obs-encounter",
            search,
            format!("Observation?encounter=Encounter/{}", one(db, &format!("SELECT {} FROM {{s}}measurement WHERE person_id = ?", text("MIN(visit_occurrence_id)")), &pa).await),
            &both(
                "m.visit_occurrence_id = (SELECT MIN(x.visit_occurrence_id) FROM {s}measurement x WHERE x.person_id = ?)",
                "o.visit_occurrence_id = (SELECT MIN(x.visit_occurrence_id) FROM {s}measurement x WHERE x.person_id = ?)",
            ),
            &[Arg::Int(p), Arg::Int(p)],
        ),
        case(
            "obs-id",
            id_spec,
            format!("Observation?_id=meas-{meas},obs-{obs},meas-0"),
            &both("m.measurement_id = ?", "o.observation_id = ?"),
            &[Arg::Int(meas.parse().expect("an id")), Arg::Int(obs.parse().expect("an id"))],
        ),
        // Filters that every row of the person (or of the demo) passes above, here on the other
        // side: a constant of the mapping asked for another value, a date on the other side.
        narrowing(
            "cond-category-other",
            us_core,
            format!("Condition?patient={p}&category=problem-list-item"),
            &conditions("co.person_id = ? AND co.visit_occurrence_id IS NULL"),
            &conditions("co.person_id = ?"),
            &pa,
        ),
        narrowing(
            "cond-onset-late",
            us_core,
            format!("Condition?patient={p}&onset-date=ge2015"),
            &conditions("co.person_id = ? AND co.condition_start_date >= '2015-01-01'"),
            &conditions("co.person_id = ?"),
            &pa,
        ),
        narrowing(
            "mr-intent-plan",
            us_core,
            format!("MedicationRequest?patient={p}&intent=plan"),
            // Every drug exposure is an order.
            &drugs("d.person_id = ? AND 1 = 0", false),
            &drugs("d.person_id = ?", false),
            &pa,
        ),
        narrowing(
            "mr-status-stopped",
            us_core,
            format!("MedicationRequest?patient={p}&status=stopped"),
            // Every drug exposure is completed.
            &drugs("d.person_id = ? AND 1 = 0", false),
            &drugs("d.person_id = ?", false),
            &pa,
        ),
        narrowing(
            "mr-authoredon-late",
            us_core,
            format!("MedicationRequest?patient={p}&authoredon=ge2015-01-01"),
            &drugs("d.person_id = ? AND d.drug_exposure_start_date >= '2015-01-01'", false),
            &drugs("d.person_id = ?", false),
            &pa,
        ),
        narrowing(
            "imm-status-not-done",
            us_core,
            "Immunization?status=not-done".to_owned(),
            // Every vaccination is completed.
            &drugs("1 = 0", true),
            &drugs("1 = 1", true),
            &[],
        ),
        narrowing(
            "obs-value-concept-present",
            "search.html#modifiers (:missing)",
            format!("Observation?patient={p}&value-concept:missing=false"),
            &both(
                "m.person_id = ? AND m.value_as_concept_id IS NOT NULL AND m.value_as_concept_id <> 0",
                "o.person_id = ? AND o.value_as_concept_id IS NOT NULL AND o.value_as_concept_id <> 0",
            ),
            &both("m.person_id = ?", "o.person_id = ?"),
            &[Arg::Int(p), Arg::Int(p)],
        ),
        narrowing(
            "pat-death-date-present",
            "search.html#modifiers (:missing)",
            "Patient?death-date:missing=false".to_owned(),
            &persons("EXISTS (SELECT 1 FROM {s}death d WHERE d.person_id = p.person_id)"),
            &persons("1 = 1"),
            &[],
        ),
    ]
}

/// The real clients' searches: several parameters each, with pages small enough that they
/// follow `next` links, keyset and offset (`_sort`) alike.
async fn client_searches(db: &Direct, p: i64) -> Vec<ClientSearch> {
    let pa = [Arg::Int(p)];
    let mut searches = vec![];
    for (t, params, sql, args) in [
        (
            "Patient",
            vec![("gender", "female".to_owned()), ("_count", "10".to_owned())],
            format!(
                "SELECT {} FROM {{s}}person WHERE gender_concept_id = 8532",
                text("person_id")
            ),
            vec![],
        ),
        (
            "Condition",
            vec![("patient", p.to_string()), ("_count", "3".to_owned())],
            format!(
                "SELECT {} FROM {{s}}condition_occurrence WHERE person_id = ?",
                text("condition_occurrence_id")
            ),
            pa.to_vec(),
        ),
        (
            "Encounter",
            vec![
                ("patient", p.to_string()),
                ("date", "ge2016-01-01".to_owned()),
                ("_count", "5".to_owned()),
            ],
            format!(
                "SELECT {} FROM {{s}}visit_occurrence WHERE person_id = ? AND (visit_end_date >= '2016-01-02' \
                 OR (visit_start_date >= '2016-01-01' AND visit_end_date < '2016-01-02'))",
                text("visit_occurrence_id")
            ),
            pa.to_vec(),
        ),
        (
            "Observation",
            vec![
                ("patient", p.to_string()),
                ("category", "survey".to_owned()),
                ("_sort", "-date".to_owned()),
                ("_count", "4".to_owned()),
            ],
            format!(
                "SELECT 'obs-' || {} FROM {{s}}observation WHERE person_id = ?",
                text("observation_id")
            ),
            pa.to_vec(),
        ),
    ] {
        let expected = ids(db, &sql, &args).await;
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        searches.push(ClientSearch::new(t, &params, &expected));
    }
    searches
}

/// Runs the whole suite against the binary over `db`, started with `env`.
async fn suite(label: &str, db: &Direct, env: &[(&str, &str)]) -> Report {
    let (p, q) = persons(db).await;
    let idp = Idp::start().await;
    let open = Server::start(BIN, &[], env).await;
    let issuer = idp.issuer("fhir");
    let mut smart_env = env.to_vec();
    smart_env.push(("FHIR_FACADE_OIDC_ISSUER", &issuer));
    smart_env.push(("FHIR_FACADE_OIDC_AUDIENCE", AUDIENCE));
    let protected = Server::start(BIN, &[], &smart_env).await;
    let mut report = Report::new(format!("omop-facade, {label}"));
    let mut run = Run {
        http: Http::new(open.base.clone()),
        report: &mut report,
        token: None,
    };
    capability(&mut run, RESOURCE_TYPES).await;
    for c in cases(db, p, q).await {
        let expected = ids(db, &c.sql, &c.args).await;
        if let Some(wider) = &c.wider {
            let mut wider = ids(db, wider, &c.args).await;
            let mut narrowed = expected.clone();
            wider.sort();
            narrowed.sort();
            if wider.is_empty() || wider == narrowed {
                run.report.check(
                    c.id,
                    Group::Search,
                    c.spec,
                    c.query.clone(),
                    vec![
                        "the filter keeps every row it could drop: the check would prove nothing"
                            .to_owned(),
                    ],
                );
                continue;
            }
        } else if expected.is_empty() {
            run.report.check(
                c.id,
                Group::Search,
                c.spec,
                c.query.clone(),
                vec!["the database has no match: the check would prove nothing".to_owned()],
            );
            continue;
        }
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        run.expect(c.id, Group::Search, c.spec, &c.query, &expected)
            .await;
    }
    includes(&mut run, &include_key(db)).await;
    checks::reads(&mut run).await;
    let count = |sql: &'static str| async move { db.column::<i64>(sql, &[]).await[0] as usize };
    checks::paging(
        &mut run,
        "Patient",
        "",
        7,
        count("SELECT COUNT(*) FROM {s}person").await,
    )
    .await;
    checks::paging(
        &mut run,
        "Condition",
        "",
        100,
        count("SELECT COUNT(*) FROM {s}condition_occurrence").await,
    )
    .await;
    let own = db
        .column::<i64>(
            "SELECT (SELECT COUNT(*) FROM {s}measurement WHERE person_id = ?) \
             + (SELECT COUNT(*) FROM {s}observation WHERE person_id = ?)",
            &[Arg::Int(p), Arg::Int(p)],
        )
        .await[0] as usize;
    checks::paging(&mut run, "Observation", &format!("patient={p}"), 40, own).await;
    checks::errors(&mut run, "Observation").await;
    let everything = db
        .column::<i64>(
            "SELECT (SELECT COUNT(*) FROM {s}condition_occurrence WHERE person_id = ?) \
             + (SELECT COUNT(*) FROM {s}visit_occurrence WHERE person_id = ?)",
            &[Arg::Int(p), Arg::Int(p)],
        )
        .await[0] as usize;
    checks::everything(&mut run, &p.to_string(), everything).await;
    checks::batch(&mut run, "Patient", &p.to_string()).await;
    checks::coverage(&mut run).await;
    clients::clients(&mut run, &p.to_string(), &client_searches(db, p).await).await;

    let mut run = Run {
        http: Http::new(protected.base.clone()),
        report: &mut report,
        token: None,
    };
    let signer = Signer {
        issuer,
        audience: AUDIENCE.to_owned(),
        sign: &sign_rs256,
        sign_unknown_key: &sign_rs256_unknown_key,
    };
    let observations = |person: i64| async move {
        ids(
            db,
            &format!(
                "SELECT 'meas-' || {} FROM {{s}}measurement WHERE person_id = ? \
                 UNION ALL SELECT 'obs-' || {} FROM {{s}}observation WHERE person_id = ?",
                text("measurement_id"),
                text("observation_id")
            ),
            &[Arg::Int(person), Arg::Int(person)],
        )
        .await
    };
    let compartment = Compartment {
        patient: p.to_string(),
        other: q.to_string(),
        resource_type: "Observation".to_owned(),
        reference: "patient".to_owned(),
        own: observations(p).await,
        others: observations(q).await,
        not_granted: "Condition".to_owned(),
    };
    smart::all(&mut run, &signer, &compartment).await;
    clients::second_validator(&mut run).await;
    checks::validation(&mut report);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite_sqlite() {
    let path = std::env::temp_dir().join(format!("omop-contract-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    ensure_demo_db(&path).await.expect("the demo database");
    let url = omop_facade::sqlite_read_only_url(&path);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("the demo database opens");
    let db = Direct::Sqlite(pool);
    let path_text = path.display().to_string();
    let report = suite(
        "SQLite demo",
        &db,
        &[("OMOP_FACADE_DEMO_DB", &path_text), ("DATABASE_URL", "")],
    )
    .await;
    let _ = std::fs::remove_file(&path);
    report.assert_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite_postgres() {
    let Some((pool, url)) = postgres(2).await else {
        return;
    };
    let schema = format!("omop_contract_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    let at = CdmLocation::schema(&schema).unwrap();
    load_postgres(&pool, &at, &Embedded, true)
        .await
        .expect("the demo subset loads into PostgreSQL");
    let db = Direct::Pg(pool.clone(), schema.clone());
    let report = suite(
        "PostgreSQL",
        &db,
        &[("DATABASE_URL", &url), ("OMOP_CDM_SCHEMA", &schema)],
    )
    .await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    report.assert_passes();
}
