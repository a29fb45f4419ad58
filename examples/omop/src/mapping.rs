//! The declarative mapping of OMOP CDM v5.4 tables to FHIR R4 resource types.
//!
//! Every mapping's `FROM` source is a derived table over the stock CDM tables: the clinical table
//! `LEFT JOIN`ed to `concept` for its codes, so codings and token searches are resolved in SQL
//! (PostgreSQL, SQLite and SQL Server all merge such a derived table into the outer query, so
//! the indexes of the base tables still serve `_id`, `patient` and `code`). Nothing is created in
//! the database: a stock schema made by the official DDL is served as it is.
//!
//! `Observation` spans two tables, `measurement` (`Observation/meas-{measurement_id}`) and
//! `observation` (`Observation/obs-{observation_id}`), as one `UNION ALL` derived table with the
//! columns `src` (`meas`/`obs`) and `row_key` (the table's key). `_id` is translated into
//! conditions on those two columns, which the databases push into each branch, so reading
//! `Observation/meas-5` is an index lookup on `measurement` rather than a scan of the union; a
//! search (paging and `_sort` included) runs over the union as over any table.
//!
//! Concept id `0` ("No matching concept") means the source system's code had no standard
//! concept; the mapping then codes the resource with the `*_source_concept_id`'s concept, and
//! the `*_source_value` becomes the CodeableConcept's text.

use std::sync::Arc;

use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::search::{
    Criterion, Modifier, SearchParamDef, SearchValue, TokenSystem, TokenValue,
};
use fhir_facade_core::sql::Dialect;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, QuantityMapping, ReferenceMapping, SqlSchema, TableMapping,
    TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::{Error, Result};

use crate::vocab::{OBSERVATION_CATEGORY, VITAL_SIGNS_LOINC, system_sql};

/// The resource types served, in the order the server lists them.
pub const RESOURCE_TYPES: &[&str] = &[
    "Patient",
    "Encounter",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "Immunization",
    "Observation",
];

/// The id prefix of `Observation`s from the `measurement` table.
pub const MEASUREMENT_PREFIX: &str = "meas-";
/// The id prefix of `Observation`s from the `observation` table.
pub const OBSERVATION_PREFIX: &str = "obs-";

/// Where the CDM tables are: the schema (namespace) that qualifies their names, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdmLocation {
    schema: Option<String>,
}

impl CdmLocation {
    /// Tables named without a schema (the connection's default: `public`, `main`, `dbo`).
    pub fn default_schema() -> Self {
        CdmLocation { schema: None }
    }

    /// Tables in the schema `name`, which must be a plain identifier (letters, digits, `_`, not
    /// starting with a digit): it is written into SQL text.
    pub fn schema(name: &str) -> Result<Self> {
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(Error::Config(format!(
                "the CDM schema name {name:?} is not a plain identifier"
            )));
        }
        Ok(CdmLocation {
            schema: Some(name.to_owned()),
        })
    }

    /// The schema name, if any.
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The qualified name of the CDM table `table`.
    pub fn table(&self, table: &str) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{table}"),
            None => table.to_owned(),
        }
    }
}

fn param(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code)
        .unwrap_or_else(|| panic!("{resource_type}.{code} is an R4 search parameter"))
}

fn reference(fk: &str, target: &str) -> ParamMapping {
    ParamMapping::Reference(ReferenceMapping::new(fk, target))
}

fn date(expr: &str) -> ParamMapping {
    ParamMapping::Date(DateMapping::Point {
        expr: expr.to_owned(),
        kind: TimeKind::Date,
    })
}

/// A token over a computed code with a fixed system.
fn fixed_system_token(code_expr: &str, system: &str) -> ParamMapping {
    ParamMapping::Token(TokenMapping::new(
        TokenCode::Column(code_expr.to_owned()),
        ValueSource::Constant(system.to_owned()),
    ))
}

/// A token over the concept columns `{alias}.{prefix}_code`/`_vocabulary`/`_display`.
fn concept_token(alias: &str, prefix: &str) -> ParamMapping {
    let mut token = TokenMapping::new(
        TokenCode::Column(format!("{alias}.{prefix}_code")),
        ValueSource::Column(system_sql(&format!("{alias}.{prefix}_vocabulary"))),
    );
    token.text = Some(format!("{alias}.{prefix}_display"));
    ParamMapping::Token(token)
}

/// The select items of a concept joined as `c`: `{prefix}_code`, `_display`, `_vocabulary`;
/// concept 0 has no code or display.
fn concept_columns(c: &str, prefix: &str) -> String {
    format!(
        "CASE WHEN {c}.concept_id <> 0 THEN {c}.concept_code END AS {prefix}_code, \
         CASE WHEN {c}.concept_id <> 0 THEN {c}.concept_name END AS {prefix}_display, \
         {c}.vocabulary_id AS {prefix}_vocabulary"
    )
}

/// The concept of a `*_concept_id`, or of its `*_source_concept_id` when it is 0.
fn effective_concept(concept_id: &str, source_concept_id: &str) -> String {
    format!("CASE WHEN {concept_id} = 0 THEN {source_concept_id} ELSE {concept_id} END")
}

/// `alias.name AS name` for each name: the row mapper reads stable column names.
fn selected(alias: &str, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{alias}.{n} AS {n}"))
        .collect()
}

const CONCEPT_COLUMNS: [&str; 3] = ["code_code", "code_display", "code_vocabulary"];

/// The visit concepts with a `v3-ActCode` encounter class.
pub const ENCOUNTER_CLASSES: &[(i64, &str, &str)] = &[
    (9201, "IMP", "inpatient encounter"),
    (9202, "AMB", "ambulatory"),
    (9203, "EMER", "emergency"),
    (262, "IMP", "inpatient encounter"),
    (581476, "HH", "home health"),
    (5083, "VR", "virtual"),
];

fn patient(at: &CdmLocation) -> TableMapping {
    let a = "pat";
    // One join on the location's key rather than a subquery per address column.
    let location = |column: &str| format!("pat_loc.{column} AS {column}");
    let gender = format!(
        "CASE {a}.gender_concept_id WHEN 8507 THEN 'male' WHEN 8532 THEN 'female' ELSE 'unknown' END"
    );
    // Year, month and day of birth as legacy `YYYYMMDD` text with 00 for an unknown part, which
    // the core compares at the precision present.
    let birth = format!(
        "CAST({a}.year_of_birth * 10000 + COALESCE({a}.month_of_birth, 0) * 100 \
         + COALESCE({a}.day_of_birth, 0) AS VARCHAR(8))"
    );
    let mut identifier = TokenMapping::new(
        TokenCode::Column(format!("{a}.person_source_value")),
        ValueSource::None,
    );
    identifier.text = None;
    TableMapping::new(
        "Patient",
        at.table("person"),
        a,
        format!("{a}.person_id"),
        IdKind::Integer,
    )
    .select([
        format!("{a}.person_id AS id"),
        format!("{a}.gender_concept_id AS gender_concept_id"),
        format!("{a}.year_of_birth AS year_of_birth"),
        format!("{a}.month_of_birth AS month_of_birth"),
        format!("{a}.day_of_birth AS day_of_birth"),
        format!("{a}.person_source_value AS person_source_value"),
        location("address_1"),
        location("address_2"),
        location("city"),
        location("state"),
        location("zip"),
        format!(
            "(SELECT MIN(d.death_date) FROM {} d WHERE d.person_id = {a}.person_id) AS death_date",
            at.table("death")
        ),
    ])
    .join(format!(
        "LEFT JOIN {} pat_loc ON pat_loc.location_id = {a}.location_id",
        at.table("location")
    ))
    .param(param("Patient", "_id"), ParamMapping::Id)
    .param(
        param("Patient", "identifier"),
        ParamMapping::Token(identifier),
    )
    .param(
        param("Patient", "gender"),
        fixed_system_token(&gender, "http://hl7.org/fhir/administrative-gender"),
    )
    .param(
        param("Patient", "birthdate"),
        ParamMapping::Date(DateMapping::Point {
            expr: birth,
            kind: TimeKind::LegacyYmd,
        }),
    )
    .param(
        param("Patient", "death-date"),
        date(&format!(
            "(SELECT MIN(d.death_date) FROM {} d WHERE d.person_id = {a}.person_id)",
            at.table("death")
        )),
    )
}

fn encounter(at: &CdmLocation) -> TableMapping {
    let a = "enc";
    let mut class = String::from("CASE v.visit_concept_id");
    for (concept, code, _) in ENCOUNTER_CLASSES {
        class.push_str(&format!(" WHEN {concept} THEN '{code}'"));
    }
    class.push_str(" END");
    let table = format!(
        "(SELECT v.visit_occurrence_id AS id, v.person_id AS person_id, \
         v.visit_concept_id AS visit_concept_id, {class} AS class_code, \
         v.visit_start_date AS start_date, v.visit_end_date AS end_date, \
         v.visit_source_value AS source_value, {} \
         FROM {} v LEFT JOIN {} c ON c.concept_id = v.visit_concept_id)",
        concept_columns("c", "code"),
        at.table("visit_occurrence"),
        at.table("concept"),
    );
    let mut columns = vec![
        "id",
        "person_id",
        "visit_concept_id",
        "class_code",
        "start_date",
        "end_date",
        "source_value",
    ];
    columns.extend(CONCEPT_COLUMNS);
    TableMapping::new("Encounter", table, a, format!("{a}.id"), IdKind::Integer)
        .select(selected(a, &columns))
        .param(param("Encounter", "_id"), ParamMapping::Id)
        .param(
            param("Encounter", "patient"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Encounter", "subject"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Encounter", "date"),
            ParamMapping::Date(DateMapping::Period {
                start: format!("{a}.start_date"),
                end: format!("{a}.end_date"),
                kind: TimeKind::Date,
            }),
        )
        .param(
            param("Encounter", "class"),
            fixed_system_token(
                &format!("{a}.class_code"),
                "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            ),
        )
        .param(param("Encounter", "type"), concept_token(a, "code"))
}

fn condition(at: &CdmLocation) -> TableMapping {
    let a = "cond";
    let table = format!(
        "(SELECT co.condition_occurrence_id AS id, co.person_id AS person_id, \
         co.visit_occurrence_id AS visit_occurrence_id, \
         co.condition_start_date AS onset_date, co.condition_end_date AS abatement_date, \
         CASE WHEN co.condition_end_date IS NULL THEN 'active' ELSE 'resolved' END AS clinical_status, \
         CASE WHEN co.visit_occurrence_id IS NULL THEN 'problem-list-item' \
         ELSE 'encounter-diagnosis' END AS category, \
         co.condition_source_value AS source_value, {} \
         FROM {} co LEFT JOIN {} c ON c.concept_id = {})",
        concept_columns("c", "code"),
        at.table("condition_occurrence"),
        at.table("concept"),
        effective_concept("co.condition_concept_id", "co.condition_source_concept_id"),
    );
    let mut columns = vec![
        "id",
        "person_id",
        "visit_occurrence_id",
        "onset_date",
        "abatement_date",
        "clinical_status",
        "category",
        "source_value",
    ];
    columns.extend(CONCEPT_COLUMNS);
    TableMapping::new("Condition", table, a, format!("{a}.id"), IdKind::Integer)
        .select(selected(a, &columns))
        .param(param("Condition", "_id"), ParamMapping::Id)
        .param(
            param("Condition", "patient"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Condition", "subject"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Condition", "encounter"),
            reference(&format!("{a}.visit_occurrence_id"), "Encounter"),
        )
        .param(param("Condition", "code"), concept_token(a, "code"))
        .param(
            param("Condition", "category"),
            fixed_system_token(
                &format!("{a}.category"),
                "http://terminology.hl7.org/CodeSystem/condition-category",
            ),
        )
        .param(
            param("Condition", "clinical-status"),
            fixed_system_token(
                &format!("{a}.clinical_status"),
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
            ),
        )
        .param(
            param("Condition", "onset-date"),
            date(&format!("{a}.onset_date")),
        )
}

fn procedure(at: &CdmLocation) -> TableMapping {
    let a = "proc";
    let table = format!(
        "(SELECT po.procedure_occurrence_id AS id, po.person_id AS person_id, \
         po.visit_occurrence_id AS visit_occurrence_id, \
         po.procedure_date AS start_date, po.procedure_end_date AS end_date, \
         COALESCE(po.procedure_end_date, po.procedure_date) AS last_date, \
         po.procedure_source_value AS source_value, {} \
         FROM {} po LEFT JOIN {} c ON c.concept_id = {})",
        concept_columns("c", "code"),
        at.table("procedure_occurrence"),
        at.table("concept"),
        effective_concept("po.procedure_concept_id", "po.procedure_source_concept_id"),
    );
    let mut columns = vec![
        "id",
        "person_id",
        "visit_occurrence_id",
        "start_date",
        "end_date",
        "source_value",
    ];
    columns.extend(CONCEPT_COLUMNS);
    TableMapping::new("Procedure", table, a, format!("{a}.id"), IdKind::Integer)
        .select(selected(a, &columns))
        .param(param("Procedure", "_id"), ParamMapping::Id)
        .param(
            param("Procedure", "patient"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Procedure", "subject"),
            reference(&format!("{a}.person_id"), "Patient"),
        )
        .param(
            param("Procedure", "encounter"),
            reference(&format!("{a}.visit_occurrence_id"), "Encounter"),
        )
        .param(param("Procedure", "code"), concept_token(a, "code"))
        .param(
            param("Procedure", "date"),
            ParamMapping::Date(DateMapping::Period {
                start: format!("{a}.start_date"),
                end: format!("{a}.last_date"),
                kind: TimeKind::Date,
            }),
        )
}

/// `drug_exposure` with its concept: MedicationRequest and Immunization share it, split by
/// whether the concept is a CVX vaccine.
fn drug_exposure_table(at: &CdmLocation) -> String {
    format!(
        "(SELECT de.drug_exposure_id AS id, de.person_id AS person_id, \
         de.visit_occurrence_id AS visit_occurrence_id, \
         de.drug_exposure_start_date AS start_date, de.drug_exposure_end_date AS end_date, \
         de.sig AS sig, de.drug_source_value AS source_value, {} \
         FROM {} de LEFT JOIN {} c ON c.concept_id = {})",
        concept_columns("c", "code"),
        at.table("drug_exposure"),
        at.table("concept"),
        effective_concept("de.drug_concept_id", "de.drug_source_concept_id"),
    )
}

const DRUG_COLUMNS: [&str; 10] = [
    "id",
    "person_id",
    "visit_occurrence_id",
    "start_date",
    "end_date",
    "sig",
    "source_value",
    "code_code",
    "code_display",
    "code_vocabulary",
];

fn medication_request(at: &CdmLocation) -> TableMapping {
    let a = "medreq";
    TableMapping::new(
        "MedicationRequest",
        drug_exposure_table(at),
        a,
        format!("{a}.id"),
        IdKind::Integer,
    )
    .filter(format!(
        "{a}.code_vocabulary IS NULL OR {a}.code_vocabulary <> 'CVX'"
    ))
    .select(selected(a, &DRUG_COLUMNS))
    .param(param("MedicationRequest", "_id"), ParamMapping::Id)
    .param(
        param("MedicationRequest", "patient"),
        reference(&format!("{a}.person_id"), "Patient"),
    )
    .param(
        param("MedicationRequest", "subject"),
        reference(&format!("{a}.person_id"), "Patient"),
    )
    .param(
        param("MedicationRequest", "encounter"),
        reference(&format!("{a}.visit_occurrence_id"), "Encounter"),
    )
    .param(param("MedicationRequest", "code"), concept_token(a, "code"))
    .param(
        param("MedicationRequest", "intent"),
        fixed_system_token(
            "'order'",
            "http://hl7.org/fhir/CodeSystem/medicationrequest-intent",
        ),
    )
    .param(
        param("MedicationRequest", "status"),
        fixed_system_token(
            "'completed'",
            "http://hl7.org/fhir/CodeSystem/medicationrequest-status",
        ),
    )
    .param(
        param("MedicationRequest", "authoredon"),
        date(&format!("{a}.start_date")),
    )
}

fn immunization(at: &CdmLocation) -> TableMapping {
    let a = "imm";
    TableMapping::new(
        "Immunization",
        drug_exposure_table(at),
        a,
        format!("{a}.id"),
        IdKind::Integer,
    )
    .filter(format!("{a}.code_vocabulary = 'CVX'"))
    .select(selected(a, &DRUG_COLUMNS))
    .param(param("Immunization", "_id"), ParamMapping::Id)
    .param(
        param("Immunization", "patient"),
        reference(&format!("{a}.person_id"), "Patient"),
    )
    .param(
        param("Immunization", "vaccine-code"),
        concept_token(a, "code"),
    )
    .param(
        param("Immunization", "status"),
        fixed_system_token("'completed'", "http://hl7.org/fhir/event-status"),
    )
    .param(
        param("Immunization", "date"),
        date(&format!("{a}.start_date")),
    )
}

/// The columns of the Observation union, each with its `measurement` and `observation`
/// expression.
fn observation_union(at: &CdmLocation, dialect: &dyn Dialect) -> String {
    let vital = VITAL_SIGNS_LOINC
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let columns: Vec<(&str, String, String)> = vec![
        (
            "id",
            dialect.concat(&[
                &format!("'{MEASUREMENT_PREFIX}'"),
                "CAST(m.measurement_id AS VARCHAR(20))",
            ]),
            dialect.concat(&[
                &format!("'{OBSERVATION_PREFIX}'"),
                "CAST(o.observation_id AS VARCHAR(20))",
            ]),
        ),
        (
            "src",
            format!("'{}'", SOURCES[0]),
            format!("'{}'", SOURCES[1]),
        ),
        (
            "row_key",
            "m.measurement_id".into(),
            "o.observation_id".into(),
        ),
        ("person_id", "m.person_id".into(), "o.person_id".into()),
        (
            "visit_occurrence_id",
            "m.visit_occurrence_id".into(),
            "o.visit_occurrence_id".into(),
        ),
        (
            "obs_date",
            "m.measurement_date".into(),
            "o.observation_date".into(),
        ),
        (
            "obs_datetime",
            "m.measurement_datetime".into(),
            "o.observation_datetime".into(),
        ),
        (
            "category",
            format!(
                "CASE WHEN c.vocabulary_id = 'LOINC' AND c.concept_code IN ({vital}) \
                 THEN 'vital-signs' ELSE 'laboratory' END"
            ),
            "'survey'".into(),
        ),
        (
            "value_as_number",
            "m.value_as_number".into(),
            "o.value_as_number".into(),
        ),
        (
            "value_as_string",
            "CAST(NULL AS VARCHAR(60))".into(),
            "o.value_as_string".into(),
        ),
        (
            "source_value",
            "m.measurement_source_value".into(),
            "o.observation_source_value".into(),
        ),
        (
            "unit_source_value",
            "m.unit_source_value".into(),
            "o.unit_source_value".into(),
        ),
    ];
    let branch = |which: usize, from: String| {
        let mut items: Vec<String> = columns
            .iter()
            .map(|(name, m, o)| format!("{} AS {name}", if which == 0 { m } else { o }))
            .collect();
        items.push(concept_columns("c", "code"));
        items.push(concept_columns("u", "unit"));
        items.push(concept_columns("vc", "value"));
        format!("SELECT {} FROM {from}", items.join(", "))
    };
    let joins = |t: &str, table: &str, concept: &str, source: &str| {
        format!(
            "{} {t} LEFT JOIN {c} c ON c.concept_id = {} \
             LEFT JOIN {c} u ON u.concept_id = {t}.unit_concept_id \
             LEFT JOIN {c} vc ON vc.concept_id = {t}.value_as_concept_id",
            at.table(table),
            effective_concept(&format!("{t}.{concept}"), &format!("{t}.{source}")),
            c = at.table("concept"),
        )
    };
    format!(
        "({} UNION ALL {})",
        branch(
            0,
            joins(
                "m",
                "measurement",
                "measurement_concept_id",
                "measurement_source_concept_id"
            )
        ),
        branch(
            1,
            joins(
                "o",
                "observation",
                "observation_concept_id",
                "observation_source_concept_id"
            )
        ),
    )
}

/// The `src` of the Observation union's branches: `measurement`, then `observation`.
const SOURCES: [&str; 2] = ["meas", "obs"];

/// The union branch (0 `measurement`, 1 `observation`) and row key of an Observation id, or
/// `None` when no row has that id.
fn observation_key(id: &str) -> Option<(usize, i64)> {
    [MEASUREMENT_PREFIX, OBSERVATION_PREFIX]
        .iter()
        .enumerate()
        .find_map(
            |(branch, prefix)| match IdKind::PrefixedInteger((*prefix).to_owned()).key(id) {
                Some(BindValue::Int(key)) => Some((branch, key)),
                _ => None,
            },
        )
}

/// `_id` of the Observation union: `meas-N` and `obs-N` become conditions on `src` and
/// `row_key`, which the databases push into the union's branches (an index lookup each).
fn observation_id(alias: &'static str) -> ParamMapping {
    ParamMapping::Custom(Arc::new(move |criterion: &Criterion, _: &dyn Dialect| {
        let (modifier, values) = match criterion {
            Criterion::Values {
                modifier, values, ..
            } => (modifier, values),
            Criterion::Missing { missing, .. } => {
                return Ok(SqlFragment::sql(if *missing { "1=0" } else { "1=1" }));
            }
            _ => {
                return Err(Error::UnsupportedSearch {
                    param: "_id".into(),
                    message: "not a value search".into(),
                });
            }
        };
        let mut keys: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        for value in values {
            let SearchValue::Token(TokenValue {
                system: TokenSystem::Any,
                code: Some(id),
            }) = value
            else {
                return Err(Error::invalid_search("_id", "an id is expected"));
            };
            if let Some((branch, key)) = observation_key(id) {
                keys[branch].push(key);
            }
        }
        let mut alternatives = Vec::new();
        for (src, keys) in SOURCES.iter().zip(keys) {
            if keys.is_empty() {
                continue;
            }
            let mut part =
                SqlFragment::sql(format!("({alias}.src = '{src}' AND {alias}.row_key IN ("));
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    part.push(", ");
                }
                part.push_bind(BindValue::Int(key));
            }
            part.push("))");
            alternatives.push(part);
        }
        let mut matched = if alternatives.is_empty() {
            SqlFragment::sql("1=0")
        } else {
            let mut any = SqlFragment::sql("(");
            for (i, part) in alternatives.into_iter().enumerate() {
                if i > 0 {
                    any.push(" OR ");
                }
                any.append(part);
            }
            any.push(")");
            any
        };
        match modifier {
            None => {}
            Some(Modifier::Not) => {
                let mut not = SqlFragment::sql("(CASE WHEN ");
                not.append(matched);
                not.push(" THEN 1 ELSE 0 END) = 0");
                matched = not;
            }
            Some(other) => {
                return Err(Error::UnsupportedSearch {
                    param: format!("_id:{}", other.code()),
                    message: "this modifier is not supported on _id".into(),
                });
            }
        }
        Ok(matched)
    }))
}

fn observation(at: &CdmLocation, dialect: &dyn Dialect) -> TableMapping {
    let a = "obsv";
    let columns = [
        "id",
        "src",
        "person_id",
        "visit_occurrence_id",
        "obs_date",
        "obs_datetime",
        "category",
        "value_as_number",
        "value_as_string",
        "source_value",
        "unit_source_value",
        "code_code",
        "code_display",
        "code_vocabulary",
        "unit_code",
        "unit_display",
        "unit_vocabulary",
        "value_code",
        "value_display",
        "value_vocabulary",
    ];
    let mut code = TokenMapping::new(
        TokenCode::Column(format!("{a}.code_code")),
        ValueSource::Column(system_sql(&format!("{a}.code_vocabulary"))),
    );
    code.text = Some(format!("{a}.code_display"));
    TableMapping::new(
        "Observation",
        observation_union(at, dialect),
        a,
        format!("{a}.id"),
        IdKind::Text,
    )
    .select(selected(a, &columns))
    // Pages follow the stored keys, not the computed text id: by branch, then by key, so a
    // cursor is an index position in each table.
    .order_by_key([format!("{a}.src"), format!("{a}.row_key")], |id| {
        let (branch, key) = observation_key(id)?;
        Some(vec![
            BindValue::Text(SOURCES[branch].into()),
            BindValue::Int(key),
        ])
    })
    .param(param("Observation", "_id"), observation_id(a))
    .param(
        param("Observation", "patient"),
        reference(&format!("{a}.person_id"), "Patient"),
    )
    .param(
        param("Observation", "subject"),
        reference(&format!("{a}.person_id"), "Patient"),
    )
    .param(
        param("Observation", "encounter"),
        reference(&format!("{a}.visit_occurrence_id"), "Encounter"),
    )
    .param(param("Observation", "code"), ParamMapping::Token(code))
    .param(
        param("Observation", "category"),
        fixed_system_token(&format!("{a}.category"), OBSERVATION_CATEGORY),
    )
    .param(param("Observation", "date"), date(&format!("{a}.obs_date")))
    .param(
        param("Observation", "value-quantity"),
        ParamMapping::Quantity(QuantityMapping {
            value: format!("{a}.value_as_number"),
            system: ValueSource::Column(system_sql(&format!("{a}.unit_vocabulary"))),
            code: ValueSource::Column(format!("{a}.unit_code")),
        }),
    )
    .param(
        param("Observation", "value-concept"),
        concept_token(a, "value"),
    )
}

/// The mappings of every served type for a CDM at `at`, in `dialect`'s SQL.
pub fn schema(at: &CdmLocation, dialect: &dyn Dialect) -> Result<SqlSchema> {
    SqlSchema::new([
        patient(at),
        encounter(at),
        condition(at),
        procedure(at),
        medication_request(at),
        immunization(at),
        observation(at, dialect),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_facade_core::sql::BindValue;
    use fhir_facade_core::sql::PgDialect;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert_eq!(
            CdmLocation::schema("cdm_54").unwrap().table("person"),
            "cdm_54.person"
        );
        assert_eq!(CdmLocation::default_schema().table("person"), "person");
        for bad in ["", "1cdm", "cdm;drop", "a.b", "a b", "\"x\""] {
            assert!(CdmLocation::schema(bad).is_err(), "{bad}");
        }
    }

    fn observation_sql(query: &str) -> fhir_facade_core::Result<(String, Vec<BindValue>)> {
        use fhir_facade_core::SearchTranslator;
        let schema = std::sync::Arc::new(schema(&CdmLocation::default_schema(), &PgDialect)?);
        let translator = fhir_facade_core::sql::SqlTranslator::new(&PgDialect, schema.clone());
        let query = fhir_facade_core::SearchQuery::parse(
            "Observation",
            query,
            &schema.supported_params(),
            &Default::default(),
        )?;
        let plan = translator.translate(&query, &[])?;
        let (sql, binds) = PgDialect.render(plan.select.as_ref().unwrap());
        let where_ = sql.rsplit_once(") obsv").unwrap().1.to_owned();
        Ok((where_, binds))
    }

    #[test]
    fn observation_ids_become_branch_keys() {
        let (sql, binds) = observation_sql("_id=meas-5,obs-7,meas-9,x-1,meas-07").unwrap();
        assert_eq!(
            sql,
            " WHERE (((obsv.src = 'meas' AND obsv.row_key IN ($1, $2)) \
             OR (obsv.src = 'obs' AND obsv.row_key IN ($3)))) ORDER BY obsv.src ASC, obsv.row_key ASC LIMIT $4 OFFSET $5"
        );
        assert_eq!(
            binds[..3],
            [BindValue::Int(5), BindValue::Int(9), BindValue::Int(7)]
        );
        let (sql, _) = observation_sql("_id=nothing").unwrap();
        assert!(sql.starts_with(" WHERE (1=0)"), "{sql}");
        let (sql, _) = observation_sql("_id:not=obs-7").unwrap();
        assert!(
            sql.starts_with(
                " WHERE ((CASE WHEN ((obsv.src = 'obs' AND obsv.row_key IN ($1))) THEN 1 ELSE 0 END) = 0)"
            ),
            "{sql}"
        );
        let (sql, _) = observation_sql("_id:missing=true").unwrap();
        assert!(sql.starts_with(" WHERE (1=0)"), "{sql}");
        let (sql, _) = observation_sql("_sort=-_id").unwrap();
        assert!(
            sql.ends_with("ORDER BY obsv.src DESC, obsv.row_key DESC LIMIT $1 OFFSET $2"),
            "{sql}"
        );
    }

    #[test]
    fn every_type_is_mapped_with_id() {
        let schema = schema(&CdmLocation::default_schema(), &PgDialect).unwrap();
        for t in RESOURCE_TYPES {
            let table = schema.table(t).unwrap();
            assert!(table.param_mapping("_id").is_some(), "{t}");
        }
    }
}
