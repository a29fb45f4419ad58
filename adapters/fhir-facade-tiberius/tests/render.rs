//! The T-SQL of a representative plan carries every value as an `@P` parameter, never as text,
//! and the modifiers and `ap` prefix of the shared search table render as SQL Server needs.

mod common;

use std::sync::Arc;

use fhir_facade_core::SearchTranslator;
use fhir_facade_core::search::PageToken;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, SqlSchema, TableMapping, TimeKind, TokenCode, TokenMapping,
    ValueSource,
};
use fhir_facade_core::sql::{Dialect, MsSqlDialect, SqlTranslator};
use fhir_facade_core::translate::BindValue;
use time::macros::datetime;

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

#[test]
fn values_are_only_ever_parameters() {
    let schema = common::schema("dbo.patient");
    let translator = SqlTranslator {
        dialect: &MsSqlDialect,
        schema: schema.clone(),
    };
    let mut query = common::parse(
        &schema,
        "family=M%C3%BCll%27er&name:exact=%C3%96d%C3%B6n&name:contains=x%25_y\
         &birthdate=ge1980-05&birthdate=lt2001-02-03&_id=17,4242&_count=7&_total=accurate\
         &_sort=-birthdate",
    );
    query.result.page = Some(PageToken::Offset(21));
    let plan = translator.translate(&query, &[]).unwrap();
    for statement in [plan.select.as_ref().unwrap(), plan.count.as_ref().unwrap()] {
        let (sql, binds) = MsSqlDialect.render(statement);
        assert!(!binds.is_empty());
        // The placeholders are @P1 … @Pn, in order, one per value.
        let numbers: Vec<usize> = sql
            .match_indices("@P")
            .map(|(at, _)| {
                let digits: String = sql[at + 2..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().unwrap()
            })
            .collect();
        assert_eq!(numbers, (1..=binds.len()).collect::<Vec<_>>(), "{sql}");
        assert!(!sql.contains('$') && !sql.contains('?'), "{sql}");
        // The only quoted literals are the LIKE escape character and the mapping's constant
        // folding table.
        let mut unquoted = sql.replace("ESCAPE '\\'", "");
        for column in ["p.family", "p.given"] {
            unquoted = unquoted.replace(&MsSqlDialect.fold_expr(column), "folded");
        }
        assert!(!unquoted.contains('\''), "{sql}");
        for value in [
            "ller", "MULL", "mull", "dön", "DON", "don", "x%", "1980", "2001", "4242",
        ] {
            assert!(!sql.contains(value), "{value} in {sql}");
        }
        for n in (1..=binds.len()).rev() {
            unquoted = unquoted.replace(&format!("@P{n}"), "@P");
        }
        assert!(
            !unquoted.contains("4242") && !unquoted.contains("17"),
            "{sql}"
        );
        assert!(binds.contains(&BindValue::Int(4242)), "{binds:?}");
    }
    let (sql, binds) = MsSqlDialect.render(plan.select.as_ref().unwrap());
    assert!(
        sql.ends_with("OFFSET @P16 ROWS FETCH NEXT @P17 ROWS ONLY"),
        "{sql}"
    );
    assert_eq!(binds[15..], [BindValue::Int(21), BindValue::Int(8)]);
}

/// The modifiers and the `ap` prefix of the shared search table, as T-SQL: `[` is a LIKE
/// metacharacter only SQL Server has, and every value is still a parameter.
#[test]
fn modifiers_and_ap_render_with_parameters() {
    let p = |code| r4_param("Patient", code).unwrap();
    let mut mrn = TokenMapping::new(
        TokenCode::Column("p.mrn".into()),
        ValueSource::Constant("urn:oid:1.2.3".into()),
    );
    mrn.identifier_type = Some((V2_0203.into(), "MR".into()));
    let patient = TableMapping::new("Patient", "dbo.patient", "p", "p.id", IdKind::Integer)
        .select(["p.id"])
        .param(p("_source"), ParamMapping::Uri("p.source".into()))
        .param(p("identifier"), ParamMapping::Token(mrn))
        .param(
            p("birthdate"),
            ParamMapping::Date(DateMapping::Point {
                expr: "p.birth".into(),
                kind: TimeKind::LegacyYmd,
            }),
        );
    let schema = Arc::new(
        SqlSchema::new([patient])
            .unwrap()
            .value_set("http://example.org/vs/mrn", [("urn:oid:1.2.3", "M1")]),
    );
    let translator = SqlTranslator {
        dialect: &MsSqlDialect,
        schema: schema.clone(),
    };
    let binary_eq = |n: usize| {
        format!(
            "(p.source = @P{n} AND p.source COLLATE Latin1_General_BIN2 = @P{})",
            n + 1
        )
    };
    let above = (0..6)
        .map(|i| binary_eq(2 * i + 1))
        .collect::<Vec<_>>()
        .join(" OR ");
    // (query, WHERE clause, text values bound in it)
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "_source:below=http://a.org/x%5B1%5D_%25",
            format!(
                "(({} OR p.source COLLATE Latin1_General_BIN2 LIKE @P3 ESCAPE '\\'))",
                binary_eq(1)
            ),
            vec![
                "http://a.org/x[1]_%",
                "http://a.org/x[1]_%",
                "http://a.org/x\\[1]\\_\\%/%",
            ],
        ),
        (
            "_source:above=http://a.org/x",
            format!("(({above}))"),
            [
                "http:",
                "http:/",
                "http://",
                "http://a.org",
                "http://a.org/",
                "http://a.org/x",
            ]
            .into_iter()
            .flat_map(|a| [a, a])
            .collect(),
        ),
        (
            "identifier:not-in=http://example.org/vs/mrn",
            "((CASE WHEN (p.mrn = @P1 AND p.mrn COLLATE Latin1_General_BIN2 = @P2) \
             THEN 1 ELSE 0 END) = 0)"
                .to_owned(),
            vec!["M1", "M1"],
        ),
        (
            "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|M1",
            "((p.mrn = @P1 AND p.mrn COLLATE Latin1_General_BIN2 = @P2))".to_owned(),
            vec!["M1", "M1"],
        ),
        // At 2025-01-01, ± 1263.4 days: from 1986-12-15 14:24 to 1993-12-15 09:36.
        (
            "birthdate=ap1990-06",
            "(((p.birth >= @P1 OR p.birth IN (@P2, @P3)) AND p.birth < @P4))".to_owned(),
            vec!["19861215", "19861200", "19860000", "19931216"],
        ),
    ];
    for (query, expected_where, expected_binds) in cases {
        let parsed = common::parse(&schema, query);
        let plan = translator
            .translate_at(&parsed, &[], datetime!(2025-01-01 00:00 UTC))
            .unwrap();
        let (sql, binds) = MsSqlDialect.render(plan.select.as_ref().unwrap());
        let n = expected_binds.len();
        assert_eq!(
            sql,
            format!(
                "SELECT p.id FROM dbo.patient p WHERE {expected_where} ORDER BY p.id ASC \
                 OFFSET @P{} ROWS FETCH NEXT @P{} ROWS ONLY",
                n + 1,
                n + 2
            ),
            "{query}"
        );
        let texts: Vec<BindValue> = expected_binds
            .into_iter()
            .map(|t| BindValue::Text(t.to_owned()))
            .collect();
        assert_eq!(binds[..n], texts, "{query}");
        assert_eq!(
            binds[n..],
            [BindValue::Int(0), BindValue::Int(101)],
            "{query}"
        );
    }
}
