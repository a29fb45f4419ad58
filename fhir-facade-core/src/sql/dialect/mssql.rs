//! SQL Server: `@Pn` placeholders, `OFFSET … FETCH`, `Latin1_General_BIN2` for exact
//! comparisons, `N'…'` literals.

use time::OffsetDateTime;

use super::{
    Dialect, LikePattern, eq_then_binary, match_clause, null_greatest, plain_eq, quote_with,
    replace_chain, row_count, sealed, utc,
};
use crate::sql::text::{self, FOLD_MAP, escape_like};
use crate::sql::{BindValue, SqlFragment};

/// Microsoft SQL Server (2012 or later, for `OFFSET … FETCH`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsSqlDialect;

const MSSQL_BIN: &str = "COLLATE Latin1_General_BIN2";

impl sealed::Sealed for MsSqlDialect {}

impl Dialect for MsSqlDialect {
    fn placeholder(&self, n: usize) -> String {
        format!("@P{n}")
    }

    fn max_bind_values(&self) -> usize {
        2_000
    }

    fn quote_ident(&self, ident: &str) -> String {
        quote_with(ident, '[', ']')
    }

    fn paginate(&self, select: &mut SqlFragment, limit: u64, offset: u64) {
        select.push(" OFFSET ");
        select.push_bind(row_count(offset));
        select.push(" ROWS FETCH NEXT ");
        select.push_bind(row_count(limit));
        select.push(" ROWS ONLY");
    }

    fn fold_expr(&self, expr: &str) -> String {
        replace_chain(&format!("({expr} {MSSQL_BIN})"), FOLD_MAP.iter(), "N")
    }

    fn escape_like_value(&self, value: &str) -> String {
        // After the generic escaping, so the added backslashes are not escaped again.
        escape_like(value).replace('[', "\\[")
    }

    fn like(&self, expr: &str, pattern: LikePattern, value: &str, fold: bool) -> SqlFragment {
        let (subject, value) = if fold {
            (self.fold_expr(expr), text::fold(value))
        } else {
            (format!("{expr} {MSSQL_BIN}"), value.to_owned())
        };
        let pattern = pattern.wrap(&self.escape_like_value(&value), '%');
        match_clause(&subject, "LIKE", pattern, " ESCAPE '\\'")
    }

    fn exact_eq(&self, expr: &str, value: BindValue) -> SqlFragment {
        match value {
            BindValue::Text(_) => eq_then_binary(expr, &format!("{expr} {MSSQL_BIN}"), value),
            other => plain_eq(expr, other),
        }
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "1" } else { "0" }
    }

    fn utc_timestamp_param(&self, value: OffsetDateTime) -> SqlFragment {
        let mut param = SqlFragment::sql("CAST(");
        param.push_bind(utc(value));
        param.push(" AS DATETIME2)");
        param
    }

    fn now(&self) -> &'static str {
        "SYSUTCDATETIME()"
    }

    fn concat(&self, parts: &[&str]) -> String {
        match parts {
            [] => "''".to_owned(),
            // CONCAT takes at least two arguments.
            [only] => format!("CONCAT({only}, '')"),
            _ => format!("CONCAT({})", parts.join(", ")),
        }
    }

    fn order_by(&self, expr: &str, descending: bool) -> String {
        null_greatest(expr, descending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::PgDialect;
    use crate::sql::dialect::tests::{statement, text};

    #[test]
    fn mssql_escapes_brackets() {
        assert_eq!(MsSqlDialect.escape_like_value(r"[a]%\"), r"\[a]\%\\");
        assert_eq!(PgDialect.escape_like_value("[a]"), "[a]");
        let like = MsSqlDialect.like("c", LikePattern::StartsWith, "[x", false);
        assert_eq!(like.binds().collect::<Vec<_>>(), vec![&text(r"\[x%")]);
    }

    #[test]
    fn golden_mssql() {
        let folded = MsSqlDialect.fold_expr("family");
        assert_eq!(
            statement(&MsSqlDialect),
            (
                format!(
                    r"SELECT [id] FROM [dbo].[patient] WHERE {folded} LIKE @P1 ESCAPE '\' AND (given = @P2 AND given COLLATE Latin1_General_BIN2 = @P3) ORDER BY CASE WHEN family IS NULL THEN 1 ELSE 0 END ASC, family ASC OFFSET @P4 ROWS FETCH NEXT @P5 ROWS ONLY"
                ),
                vec![
                    text("mu%"),
                    text("Anna"),
                    text("Anna"),
                    BindValue::Int(20),
                    BindValue::Int(10)
                ]
            )
        );
    }
}
