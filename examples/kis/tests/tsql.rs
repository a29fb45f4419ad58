//! The SQL Server side, checked as text: the DDL, the key assignment, and the searches the
//! facade sends (rendered with `@P` placeholders, every value bound).

use std::sync::Arc;

use fhir_facade_core::SearchQuery;
use fhir_facade_core::search::ParseOptions;
use fhir_facade_core::sql::BindValue;
use fhir_facade_core::sql::{MsSqlDialect, SqlTranslator};
use kis_facade::Backend;
use kis_facade::mapping::shared_schema;
use kis_facade::provider::next_key_statements;
use kis_facade::schema::{create_statements, drop_statements};
use rust_decimal::Decimal;
use time::macros::datetime;

fn tsql(resource_type: &str, query: &str) -> (String, Vec<BindValue>) {
    let schema = shared_schema(Backend::MsSql).unwrap();
    let q = SearchQuery::parse(
        resource_type,
        query,
        &schema.supported_params(),
        &ParseOptions::default(),
    )
    .unwrap();
    let translator = SqlTranslator::new(&MsSqlDialect, Arc::clone(&schema));
    let plan = translator
        .translate_at(&q, &[], datetime!(2026-01-01 00:00 UTC))
        .unwrap();
    fhir_facade_core::sql::Dialect::render(&MsSqlDialect, &plan.select.unwrap())
}

#[test]
fn ddl() {
    let ddl = create_statements(Backend::MsSql);
    assert_eq!(
        ddl[0],
        "CREATE TABLE patient (pat_id INTEGER NOT NULL PRIMARY KEY, pat_nr VARCHAR(10) NOT NULL UNIQUE, \
         kvnr VARCHAR(10) NULL, nachname VARCHAR(60) NOT NULL, vorname VARCHAR(60) NOT NULL, \
         titel VARCHAR(20) NULL, geb_datum CHAR(8) NOT NULL, geschlecht CHAR(1) NOT NULL, \
         strasse VARCHAR(80) NOT NULL, plz VARCHAR(10) NOT NULL, ort VARCHAR(60) NOT NULL, \
         land CHAR(2) NOT NULL, telefon VARCHAR(30) NULL, verstorben_am CHAR(8) NULL, \
         geloescht SMALLINT NOT NULL, aend_zaehler INTEGER NOT NULL, geaendert_am DATETIME2 NOT NULL)"
    );
    assert_eq!(
        ddl[2],
        "CREATE TABLE labor_befund (befund_id INTEGER NOT NULL PRIMARY KEY, pat_id INTEGER NOT NULL, \
         fall_id INTEGER NULL, labcode VARCHAR(10) NOT NULL, wert VARCHAR(20) NOT NULL, \
         einheit VARCHAR(20) NOT NULL, abnahme DATETIME2 NOT NULL, status CHAR(1) NOT NULL, \
         ref_bereich VARCHAR(20) NULL)"
    );
    assert!(
        ddl.iter().all(|s| !s.contains("TIMESTAMP")),
        "TIMESTAMP is a row version in T-SQL"
    );
    assert_eq!(
        drop_statements(Backend::MsSql)[0],
        "IF OBJECT_ID('arzt', 'U') IS NOT NULL DROP TABLE arzt"
    );
}

#[test]
fn key_assignment() {
    assert_eq!(
        next_key_statements(Backend::MsSql, "labor_befund", "befund_id"),
        (
            None,
            "SELECT COALESCE(MAX(befund_id), 0) + 1 AS next_key FROM labor_befund WITH (UPDLOCK, HOLDLOCK)"
                .to_owned()
        )
    );
}

#[test]
fn family_is_folded_and_bound() {
    let (sql, binds) = tsql("Patient", "family=Müller");
    assert!(sql.starts_with("SELECT p.pat_id, p.pat_nr, "), "{sql}");
    assert!(
        sql.contains("FROM patient p WHERE (p.geloescht = 0) AND ("),
        "{sql}"
    );
    // Folded in SQL with the core's table (no collation or extension needed), bound as folded.
    assert!(
        sql.contains("((p.nachname COLLATE Latin1_General_BIN2), N'A', N'a')"),
        "{sql}"
    );
    assert!(sql.contains("N'ß', N'ss') LIKE @P1 ESCAPE '\\'"), "{sql}");
    assert!(
        sql.ends_with("ORDER BY p.pat_id ASC OFFSET @P2 ROWS FETCH NEXT @P3 ROWS ONLY"),
        "{sql}"
    );
    assert_eq!(binds[0], BindValue::Text("muller%".into()));
    assert!(!sql.contains("ller"));
}

#[test]
fn partial_birth_dates_compare_as_text() {
    let (sql, binds) = tsql("Patient", "birthdate=1980-05");
    assert!(
        sql.contains("NULLIF(p.geb_datum, '00000000') >= @P1"),
        "{sql}"
    );
    assert_eq!(binds[0], BindValue::Text("19800500".into()));
    assert!(
        binds.contains(&BindValue::Text("19800600".into())),
        "{binds:?}"
    );
    let (sql, _) = tsql("Patient", "birthdate=lt1980");
    assert!(
        sql.contains("NULLIF(p.geb_datum, '00000000') < @P1"),
        "{sql}"
    );
}

#[test]
fn value_quantity_reads_the_text_with_try_cast() {
    let (sql, binds) = tsql(
        "Observation",
        "value-quantity=lt0.5|http://unitsofmeasure.org|mg/L",
    );
    assert!(sql.contains("TRY_CAST(TRIM(REPLACE(CASE WHEN TRIM(l.wert) LIKE '<=%' OR TRIM(l.wert) LIKE '>=%' THEN SUBSTRING(TRIM(l.wert), 3, 20)"), "{sql}");
    assert!(sql.contains(" AS DECIMAL(38,10))"), "{sql}");
    assert!(sql.contains("TRIM(l.wert) LIKE '<%'"), "{sql}");
    assert!(
        sql.contains("qm.ucum COLLATE Latin1_General_BIN2 = @P"),
        "{sql}"
    );
    assert!(binds.contains(&BindValue::Decimal(Decimal::new(5, 1))));
    assert!(binds.contains(&BindValue::Text("mg/L".into())));
    assert!(
        !sql.contains("0.5") && !sql.contains("mg/L"),
        "values are bound: {sql}"
    );
}

#[test]
fn codes_go_through_the_map_or_the_local_column() {
    let (sql, binds) = tsql("Observation", "code=http://loinc.org|2823-3&_sort=-date");
    assert!(
        sql.contains(
            "EXISTS (SELECT 1 FROM labcode_map cm WHERE cm.labcode = l.labcode AND \
             (cm.loinc = @P1 AND cm.loinc COLLATE Latin1_General_BIN2 = @P2))"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("ORDER BY CASE WHEN l.abnahme IS NULL THEN 1 ELSE 0 END DESC, l.abnahme DESC, l.befund_id ASC"),
        "{sql}"
    );
    assert_eq!(
        binds[..2],
        [
            BindValue::Text("2823-3".into()),
            BindValue::Text("2823-3".into())
        ]
    );
    let (sql, _) = tsql(
        "Observation",
        "code=https://klinikum.example.org/CodeSystem/labcode|K",
    );
    assert!(
        sql.contains("l.labcode COLLATE Latin1_General_BIN2 = @P"),
        "{sql}"
    );
    assert!(sql.contains("lp.geloescht = 0"), "{sql}");
}

#[test]
fn legacy_codes_are_mapped_in_sql() {
    let (sql, binds) = tsql("Patient", "gender=female");
    assert!(
        sql.contains(
            "(CASE p.geschlecht WHEN 'M' THEN 'male' WHEN 'W' THEN 'female' WHEN 'D' THEN 'other' \
             WHEN 'U' THEN 'unknown' END) COLLATE Latin1_General_BIN2 = @P2"
        ),
        "{sql}"
    );
    assert_eq!(binds[0], BindValue::Text("female".into()));
    let (sql, _) = tsql("Encounter", "status=in-progress&class=EMER");
    assert!(
        sql.contains("(CASE WHEN f.storniert = 1 THEN 'cancelled'"),
        "{sql}"
    );
    assert!(
        sql.contains("WHEN 'N' THEN 'EMER' END) COLLATE Latin1_General_BIN2"),
        "{sql}"
    );
}
