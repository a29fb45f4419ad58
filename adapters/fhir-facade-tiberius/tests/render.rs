//! The T-SQL of the shared search table (`adapters/search-fixture.rs`), without a server: every
//! case, compartment search and first page of a paging walk is rendered with `MsSqlDialect`
//! into `tests/golden/cases.sql`, the fixture's DDL and inserts into `tests/golden/fixture.sql`,
//! and every value of every case and of the hostile corpus must be an `@Pn` parameter.
//!
//! Run with `FHIR_FACADE_BLESS=1` to rewrite the golden files after an intended change, then
//! review the diff: the files are what SQL Server is sent.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use fhir_facade_core::search::ParseOptions;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, SqlSchema, TableMapping, TimeKind, TokenCode, TokenMapping,
    ValueSource,
};
use fhir_facade_core::sql::{Dialect, FOLD_MAP, MsSqlDialect, SqlPlan, SqlTranslator};
use fhir_facade_core::translate::BindValue;
use fhir_facade_core::{Constraint, SearchQuery, SearchTranslator};
use time::macros::datetime;

use fhir_facade_tests::search_table::fixture::{
    self, CASES, COMPARTMENTS, Engine, HOSTILE_PARAMS, NOW, PAGING_WALKS, REJECTED,
};

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// The schema the golden files name the tables in, as the live test puts them in a scratch
/// schema of its own.
const SCRATCH: &str = "scratch.";

fn translator() -> SqlTranslator {
    SqlTranslator {
        dialect: &MsSqlDialect,
        schema: fixture::schema(SCRATCH),
    }
}

fn parse(
    schema: &SqlSchema,
    resource_type: &str,
    query: &str,
) -> fhir_facade_core::Result<SearchQuery> {
    SearchQuery::parse(
        resource_type,
        query,
        &schema.supported_params(),
        &ParseOptions::default(),
    )
}

fn compartment(patient: &str) -> Constraint {
    Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: patient.into(),
    }
}

/// The plan of `query` as the suite runs it: at [`NOW`] and with `constraints`.
fn plan(
    translator: &SqlTranslator,
    resource_type: &str,
    query: &str,
    constraints: &[Constraint],
) -> fhir_facade_core::Result<SqlPlan> {
    let parsed = parse(&translator.schema, resource_type, query)?;
    translator.translate_at(&parsed, constraints, NOW)
}

/// The rendered statements of a plan: (label, SQL, bound values).
fn rendered(plan: &SqlPlan) -> Vec<(&'static str, String, Vec<BindValue>)> {
    [("select", &plan.select), ("count", &plan.count)]
        .into_iter()
        .filter_map(|(label, statement)| {
            let (sql, binds) = MsSqlDialect.render(statement.as_ref()?);
            Some((label, sql, binds))
        })
        .collect()
}

/// Every search the suite sends: (heading, type, query, constraints).
fn searches() -> Vec<(String, &'static str, String, Vec<Constraint>)> {
    let mut searches = Vec::new();
    for (resource_type, query, expected, _) in CASES {
        let heading = format!("{resource_type}?{query} -> {expected:?}");
        searches.push((heading, *resource_type, (*query).to_owned(), Vec::new()));
    }
    for (resource_type, query, patient, expected) in COMPARTMENTS {
        let query = format!("{query}&_sort=_id");
        let heading =
            format!("compartment Patient/{patient}: {resource_type}?{query} -> {expected:?}");
        searches.push((heading, *resource_type, query, vec![compartment(patient)]));
    }
    for walk in PAGING_WALKS {
        let query = format!("{walk}&_total=accurate");
        let heading = format!("first page: Patient?{query}");
        searches.push((heading, "Patient", query, Vec::new()));
    }
    searches
}

/// Compares `actual` with the golden file `name`, or rewrites it under `FHIR_FACADE_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var("FHIR_FACADE_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        // The first differing line, since the files are long.
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendered T-SQL at line {} (FHIR_FACADE_BLESS=1 rewrites it):\n{}",
            path.display(),
            line + 1,
            actual.lines().nth(line).unwrap_or("<end of file>")
        );
    }
}

#[test]
fn the_search_table_renders_as_golden_t_sql() {
    let translator = translator();
    let mut out = String::from(
        "-- The shared search table (adapters/search-fixture.rs) as T-SQL, at 2024-03-11T00:00Z.\n\
         -- Generated by tests/render.rs; FHIR_FACADE_BLESS=1 rewrites it.\n",
    );
    let searches = searches();
    assert_eq!(
        searches.len(),
        CASES.len() + COMPARTMENTS.len() + PAGING_WALKS.len()
    );
    for (heading, resource_type, query, constraints) in &searches {
        let plan = plan(&translator, resource_type, query, constraints)
            .unwrap_or_else(|e| panic!("{heading}: {e:?}"));
        let statements = rendered(&plan);
        assert!(!statements.is_empty(), "{heading}");
        let _ = writeln!(out, "\n-- {heading}");
        for (label, sql, binds) in statements {
            let _ = writeln!(out, "-- {label}\n{sql}\n-- binds: {binds:?}");
        }
    }
    for (resource_type, query, message) in REJECTED {
        match plan(&translator, resource_type, query, &[]) {
            Err(e) if e.status() == 400 && e.to_string().contains(message) => {
                let _ = writeln!(out, "\n-- {resource_type}?{query} -> 400: {e}");
            }
            other => {
                panic!("{resource_type}?{query}: expected a 400 about {message:?}, got {other:?}")
            }
        }
    }
    golden("cases.sql", &out);
}

#[test]
fn the_fixture_renders_as_golden_t_sql() {
    let mut out = String::from(
        "-- The shared search fixture (adapters/search-fixture.rs) as the live test creates it.\n\
         -- Generated by tests/render.rs; FHIR_FACADE_BLESS=1 rewrites it.\n",
    );
    let statements = fixture::statements(Engine::MsSql, SCRATCH);
    for statement in &statements {
        let (sql, binds) = MsSqlDialect.render(statement);
        assert_placeholders(&sql, &binds);
        // Text reaches the database only as parameters, so quotes and backslashes need no
        // T-SQL escaping.
        assert!(!sql.contains('\''), "{sql}");
        let _ = writeln!(out, "\n{sql}");
        if !binds.is_empty() {
            let _ = writeln!(out, "-- binds: {binds:?}");
        }
    }
    golden("fixture.sql", &out);
}

/// The placeholders of `sql` are `@P1` … `@Pn`, in order, one per bound value.
fn assert_placeholders(sql: &str, binds: &[BindValue]) {
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
}

/// `sql` carries no value of the request as text: the placeholders are in order, the only
/// string literals are the ones the dialect itself writes (the `LIKE` escape character, the
/// folding table's `N'…'` pairs and `CONCAT`'s `''`), the only number literals are `0` and `1`,
/// and none of `values` appears in it.
fn assert_only_parameters(context: &str, sql: &str, binds: &[BindValue], values: &[&str]) {
    assert_placeholders(sql, binds);
    let mut rest = sql.replace(" ESCAPE '\\'", "").replace(", '')", ")");
    for (from, to) in FOLD_MAP {
        rest = rest.replace(&format!(", N'{from}', N'{to}')"), ")");
    }
    assert!(!rest.contains('\''), "{context}: a string literal in {sql}");
    // Digits that start a token, rather than continue a name or a placeholder.
    let chars: Vec<char> = rest.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        let starts = chars[at].is_ascii_digit()
            && (at == 0
                || !(chars[at - 1].is_alphanumeric() || matches!(chars[at - 1], '_' | '@')));
        if starts {
            let number: String = chars[at..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == '.')
                .collect();
            assert!(
                number == "0" || number == "1",
                "{context}: the number {number} in {sql}"
            );
            at += number.len();
        } else {
            at += 1;
        }
    }
    for value in values {
        // Shorter values ("m", "1") are also names and keywords; longer ones are not.
        if value.chars().count() >= 3 {
            assert!(!sql.contains(value), "{context}: {value:?} in {sql}");
        }
    }
}

/// The search values of a query string: each search parameter's value, split where FHIR
/// separates values (`,` between alternatives, `|` between system and code). The result
/// parameters (`_sort=_id`, `_total`) name columns and modes, not values.
fn query_values(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| !matches!(name.as_ref(), "_sort" | "_count" | "_total"))
        .flat_map(|(_, value)| {
            let mut parts = vec![value.to_string()];
            parts.extend(value.split([',', '|']).map(str::to_owned));
            parts
        })
        .collect()
}

#[test]
fn values_are_only_ever_parameters() {
    let translator = translator();
    let mut checked = 0;
    for (heading, resource_type, query, constraints) in searches() {
        let plan = plan(&translator, resource_type, &query, &constraints).unwrap();
        let values = query_values(&query);
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        for (_, sql, binds) in rendered(&plan) {
            assert_only_parameters(&heading, &sql, &binds, &values);
            checked += 1;
        }
    }
    for value in fixture::hostile_values() {
        for (resource_type, param) in HOSTILE_PARAMS {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(param, &value)
                .finish();
            // A value the parser or translator refuses (a 400) never reaches SQL.
            let Ok(plan) = plan(&translator, resource_type, &query, &[]) else {
                continue;
            };
            let context = format!("{param}={value:.40?}");
            for (_, sql, binds) in rendered(&plan) {
                assert_only_parameters(&context, &sql, &binds, &[value.as_str()]);
                for fragment in ["DROP", "--", ";", "日本"] {
                    assert!(!sql.contains(fragment), "{context}: {sql}");
                }
                checked += 1;
            }
        }
    }
    // Every case has a statement, and most hostile values reach SQL.
    assert!(checked > CASES.len() + 300, "{checked}");
}

/// The check above fails on values written into the SQL, so that it proves something.
#[test]
fn inlined_values_fail_the_check() {
    let ok = "SELECT p.id FROM scratch.patient p WHERE (p.deleted = 0) AND (1=0) \
              AND p.family COLLATE Latin1_General_BIN2 LIKE @P1 ESCAPE '\\' \
              ORDER BY p.id ASC OFFSET @P2 ROWS FETCH NEXT @P3 ROWS ONLY";
    let three = [BindValue::Int(0), BindValue::Int(0), BindValue::Int(0)];
    assert_only_parameters("ok", ok, &three, &["muller"]);
    let bad: [(&str, &[BindValue], &[&str]); 6] = [
        ("SELECT 1 WHERE a = N'x'", &[], &[]),
        ("SELECT 1 WHERE a = 13.5", &[], &[]),
        ("SELECT 1 WHERE a = 42", &[], &[]),
        ("SELECT 1 WHERE a = @P2 AND b = @P1", &three[..2], &[]),
        ("SELECT 1 WHERE a = ?", &three[..0], &[]),
        ("SELECT 1 WHERE muller = @P1", &three[..1], &["muller"]),
    ];
    for (sql, binds, values) in bad {
        let caught = std::panic::catch_unwind(|| assert_only_parameters("bad", sql, binds, values));
        assert!(caught.is_err(), "{sql} passed the check");
    }
}

/// The paging clause of a sorted, offset page: SQL Server's `OFFSET … FETCH NEXT`, after the
/// `ORDER BY` it requires, with both numbers bound and one row more than the page.
#[test]
fn offset_pages_fetch_after_an_order() {
    let translator = translator();
    let mut parsed = parse(
        &translator.schema,
        "Patient",
        "family=M%C3%BCll%27er&_count=7&_total=accurate&_sort=-birthdate",
    )
    .unwrap();
    parsed.result.page = Some(fhir_facade_core::search::PageToken::Offset(21));
    let plan = translator.translate(&parsed, &[]).unwrap();
    let (sql, binds) = MsSqlDialect.render(plan.select.as_ref().unwrap());
    assert!(
        sql.ends_with(
            "ORDER BY CASE WHEN p.birth IS NULL THEN 1 ELSE 0 END DESC, p.birth DESC, p.id ASC \
             OFFSET @P2 ROWS FETCH NEXT @P3 ROWS ONLY"
        ),
        "{sql}"
    );
    assert_eq!(
        binds,
        [
            BindValue::Text("mull'er%".into()),
            BindValue::Int(21),
            BindValue::Int(8)
        ]
    );
    assert!(!sql.contains("LIMIT") && !sql.contains("TOP"), "{sql}");
    // The count has neither an order nor paging, which SQL Server rejects in a derived table.
    let (count, _) = MsSqlDialect.render(plan.count.as_ref().unwrap());
    assert!(
        !count.contains("ORDER BY") && !count.contains("OFFSET"),
        "{count}"
    );
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
        let parsed = parse(&schema, "Patient", query).unwrap();
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
