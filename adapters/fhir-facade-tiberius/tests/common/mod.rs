//! The patient mapping the tests share.

use std::sync::Arc;

use fhir_facade_core::SearchQuery;
use fhir_facade_core::search::ParseOptions;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, SqlSchema, StringColumn, TableMapping, TimeKind,
};

/// `Patient` over `table (id INT, family NVARCHAR, given NVARCHAR, birth CHAR(8), deleted BIT)`;
/// names are folded by the dialect in SQL, birth dates are legacy `YYYYMMDD` text.
pub(crate) fn schema(table: &str) -> Arc<SqlSchema> {
    let p = |code| r4_param("Patient", code).unwrap();
    let string =
        |cols: &[&str]| ParamMapping::String(cols.iter().map(|c| StringColumn::new(*c)).collect());
    let patient = TableMapping::new("Patient", table, "p", "p.id", IdKind::Integer)
        .filter("p.deleted = 0")
        .select(["p.id", "p.family", "p.birth"])
        .param(p("_id"), ParamMapping::Id)
        .param(p("family"), string(&["p.family"]))
        .param(p("name"), string(&["p.family", "p.given"]))
        .param(
            p("birthdate"),
            ParamMapping::Date(DateMapping::Point {
                expr: "p.birth".into(),
                kind: TimeKind::LegacyYmd,
            }),
        );
    Arc::new(SqlSchema::new([patient]).unwrap())
}

/// A parsed `Patient` search.
pub(crate) fn parse(schema: &SqlSchema, query: &str) -> SearchQuery {
    SearchQuery::parse(
        "Patient",
        query,
        &schema.supported_params(),
        &ParseOptions::default(),
    )
    .unwrap()
}
