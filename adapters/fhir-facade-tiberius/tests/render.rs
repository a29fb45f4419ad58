//! The T-SQL of a representative plan carries every value as an `@P` parameter, never as text.

mod common;

use fhir_facade_core::SearchTranslator;
use fhir_facade_core::search::PageToken;
use fhir_facade_core::sql::{Dialect, MsSqlDialect, SqlTranslator};
use fhir_facade_core::translate::BindValue;

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
