//! The [`Dialect`] trait, the helpers its implementations share, and one module per database.

use std::fmt::{self, Write as _};

use time::{OffsetDateTime, UtcOffset};

use super::text::escape_like;
use crate::sql::{BindValue, SqlFragment};

mod mssql;
mod mysql;
mod postgres;
mod sqlite;

pub use mssql::MsSqlDialect;
pub use mysql::MySqlDialect;
pub use postgres::PgDialect;
pub use sqlite::SqliteDialect;

/// Keeps [`Dialect`] to this crate's implementations.
mod sealed {
    pub trait Sealed {}
}

/// Where a `LIKE` pattern may match inside the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LikePattern {
    /// The value starts with the search text (FHIR `string` default).
    StartsWith,
    /// The value contains the search text (FHIR `:contains`).
    Contains,
    /// The value ends with the search text.
    EndsWith,
    /// The whole value is the search text.
    Exact,
}

impl LikePattern {
    /// Surrounds an already escaped value with the `any` wildcard where the pattern allows more.
    fn wrap(self, escaped: &str, any: char) -> String {
        let mut pattern = String::with_capacity(escaped.len() + 2);
        if matches!(self, LikePattern::Contains | LikePattern::EndsWith) {
            pattern.push(any);
        }
        pattern.push_str(escaped);
        if matches!(self, LikePattern::Contains | LikePattern::StartsWith) {
            pattern.push(any);
        }
        pattern
    }
}

/// Everything about SQL that differs between the supported databases.
///
/// A translator builds its statements with these methods only, and so produces correct SQL for
/// PostgreSQL ([`PgDialect`]), MySQL/MariaDB ([`MySqlDialect`]), SQLite ([`SqliteDialect`]) and
/// SQL Server ([`MsSqlDialect`]). Expressions (`expr`) passed in are SQL text from the mapping,
/// never from the request; values from the request are always bound.
///
/// The trait is object-safe; adapters hold a `&'static dyn Dialect` from
/// [`DatabaseKind::dialect`](super::DatabaseKind::dialect).
///
/// The trait is sealed: only this crate implements it, one implementation per supported
/// database. A new SQL difference is then a new method, added to all four here, without
/// breaking any code outside, which only calls the methods.
pub trait Dialect: sealed::Sealed + Send + Sync + fmt::Debug {
    /// The placeholder for the `n`-th bound value, counted from 1.
    ///
    /// | PostgreSQL | MySQL | SQLite | SQL Server |
    /// |---|---|---|---|
    /// | `$1` | `?` | `?` | `@P1` |
    fn placeholder(&self, n: usize) -> String;

    /// The most values one statement may bind. A search that needs more is refused with a 400
    /// before it reaches the database, where it would fail as a 500.
    ///
    /// | PostgreSQL | MySQL | SQLite | SQL Server |
    /// |---|---|---|---|
    /// | 65535 | 65535 | 32766 | 2000 (2100 per RPC, less the statement's own) |
    fn max_bind_values(&self) -> usize {
        65_535
    }

    /// The statement text of `fragment` with this dialect's placeholders, and its bound values.
    fn render(&self, fragment: &SqlFragment) -> (String, Vec<BindValue>) {
        fragment.render(|n| self.placeholder(n))
    }

    /// Quotes one identifier, doubling the closing quote character inside it.
    ///
    /// | PostgreSQL, SQLite | MySQL | SQL Server |
    /// |---|---|---|
    /// | `"a""b"` | `` `a``b` `` | `[a]]b]` |
    fn quote_ident(&self, ident: &str) -> String;

    /// Quotes a qualified name such as `schema.table` part by part: `"dbo"."patient"`,
    /// `[dbo].[patient]`. The name is split at every `.`; a name whose parts contain `.` must be
    /// quoted with [`quote_ident`](Dialect::quote_ident) part by part instead.
    fn quote_path(&self, path: &str) -> String {
        path.split('.')
            .map(|part| self.quote_ident(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Appends the paging clause to a complete `SELECT`, with both numbers bound:
    ///
    /// - PostgreSQL, MySQL, SQLite: ` LIMIT ? OFFSET ?`
    /// - SQL Server: ` OFFSET @P ROWS FETCH NEXT @P ROWS ONLY`, which SQL Server only accepts
    ///   after an `ORDER BY`. The translator always orders (see [`order_by`](Dialect::order_by))
    ///   because paging without a total order is not stable on any database.
    ///
    /// `limit` must be at least 1: SQL Server rejects `FETCH NEXT 0 ROWS`, so a `_count=0`
    /// search runs only the count query. Numbers beyond `i64::MAX` are clamped to it.
    fn paginate(&self, select: &mut SqlFragment, limit: u64, offset: u64);

    /// The SQL expression that folds `expr` exactly like [`fold`](super::fold) folds a value, using only
    /// built-in functions (no `unaccent`, ICU or user-defined function needed), so that
    /// `fold_expr(col) = fold(value)` holds on every dialect for every character of
    /// [`FOLD_MAP`](super::FOLD_MAP), and every other character compares unchanged.
    ///
    /// - PostgreSQL: one `TRANSLATE(expr, 'AÄ…', 'aa…')` for the one-letter replacements inside
    ///   `REPLACE(…, 'ß', 'ss')` for the others.
    /// - MySQL: a `REPLACE` chain over `CONVERT(expr USING utf8mb4) COLLATE utf8mb4_bin`: the
    ///   conversion makes the literals valid whatever the column's character set (legacy schemas
    ///   are often `latin1`), and the binary collation makes the later comparison exact instead
    ///   of following the column's case- and accent-insensitive collation.
    /// - SQLite: a `REPLACE` chain over `expr` (SQLite's `lower()` only folds ASCII).
    /// - SQL Server: a `REPLACE` chain with `N'…'` literals over `expr COLLATE
    ///   Latin1_General_BIN2`: `REPLACE` matches by the input's collation, and under the usual
    ///   case-insensitive one `'A'` would match `'a'` too.
    ///
    /// The result of every dialect is compared binary, so the value on the other side must be
    /// folded as well (which [`like`](Dialect::like) does). Assumes a UTF-8 database on
    /// PostgreSQL (the literals hold characters outside Latin-1).
    fn fold_expr(&self, expr: &str) -> String;

    /// Escapes a value for a `LIKE` pattern written by [`like`](Dialect::like): `\`, `%` and `_`
    /// everywhere (see [`escape_like`]), and also `[` on SQL Server, where it opens a character
    /// class.
    fn escape_like_value(&self, value: &str) -> String {
        escape_like(value)
    }

    /// `expr` matched against `value` where `pattern` says, with the pattern bound.
    ///
    /// With `fold`, the comparison is case- and accent-insensitive: `fold_expr(expr) LIKE ?`
    /// bound to the escaped [folded](super::fold) value. Without it, the comparison is case- and
    /// accent-sensitive on every dialect (MySQL and SQL Server compare under a binary collation,
    /// and SQLite, whose `LIKE` ignores ASCII case, uses `GLOB` instead).
    ///
    /// | dialect | SQL (`StartsWith`, `fold = false`) | bound value for `a%` |
    /// |---|---|---|
    /// | PostgreSQL | `expr LIKE $1 ESCAPE '\'` | `a\%%` |
    /// | MySQL | ``CONVERT(expr USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE '\\'`` | `a\%%` |
    /// | SQLite | `expr GLOB ?` | `a%*` |
    /// | SQL Server | `expr COLLATE Latin1_General_BIN2 LIKE @P1 ESCAPE '\'` | `a\%%` |
    ///
    /// MySQL reads a backslash in a string literal as an escape, hence `'\\'` for the one
    /// backslash (assuming the default `sql_mode` without `NO_BACKSLASH_ESCAPES`); PostgreSQL is
    /// assumed to run with `standard_conforming_strings = on`, the default since 9.1.
    fn like(&self, expr: &str, pattern: LikePattern, value: &str, fold: bool) -> SqlFragment;

    /// `expr` equal to `value`, case- and accent-sensitive on every dialect (FHIR `:exact`).
    ///
    /// For a [`BindValue::Text`]:
    /// - PostgreSQL: `expr = $1`.
    /// - SQLite: `expr COLLATE BINARY = ?` (a legacy column may be declared `COLLATE NOCASE`).
    /// - MySQL: `(expr = ? AND CONVERT(expr USING utf8mb4) COLLATE utf8mb4_bin = ?)`.
    /// - SQL Server: `(expr = @P1 AND expr COLLATE Latin1_General_BIN2 = @P2)`.
    ///
    /// MySQL and SQL Server bind the value twice: the plain comparison under the column's
    /// collation can use its index, and the binary one then removes case and accent variants.
    /// SQL Server and MySQL's `PAD SPACE` collations still ignore trailing spaces.
    ///
    /// Other values are compared with a plain `expr = ?`: collations do not apply to them.
    fn exact_eq(&self, expr: &str, value: BindValue) -> SqlFragment;

    /// A boolean constant, for comparisons such as `active = 1`: `TRUE`/`FALSE` on PostgreSQL
    /// and MySQL, `1`/`0` on SQLite and SQL Server (which has no boolean literals and stores
    /// flags as `bit`).
    fn bool_literal(&self, b: bool) -> &'static str;

    /// A bound instant, converted so it compares correctly with a timestamp column without time
    /// zone that holds UTC wall-clock time, which is what legacy schemas usually have. The value
    /// is first converted to UTC in Rust.
    ///
    /// - PostgreSQL: `(CAST($1 AS TIMESTAMPTZ) AT TIME ZONE 'UTC')`: drivers bind a
    ///   `timestamptz`, which PostgreSQL would otherwise compare through the session time zone.
    /// - MySQL: `?`: drivers send the UTC wall-clock time as a `DATETIME`.
    /// - SQLite: `datetime(?)`: timestamps are text there, and `datetime` normalises the bound
    ///   ISO 8601 text to SQLite's own `YYYY-MM-DD HH:MM:SS` (seconds precision) in UTC. The
    ///   column is assumed to hold that format.
    /// - SQL Server: `CAST(@P1 AS DATETIME2)`: drivers bind a `datetimeoffset`, which would
    ///   otherwise force a conversion of the column on every row.
    ///
    /// Columns that do carry a time zone (`timestamptz`, `datetimeoffset`) take the value bound
    /// directly. Legacy dates stored as `CHAR(8)` `YYYYMMDD` need no conversion at all: that
    /// format orders lexicographically like the dates, so they compare with a bound
    /// `YYYYMMDD` text on every dialect.
    fn utc_timestamp_param(&self, value: OffsetDateTime) -> SqlFragment;

    /// The current instant as UTC wall-clock time, comparable with the columns
    /// [`utc_timestamp_param`](Dialect::utc_timestamp_param) is for:
    /// `(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')`, `UTC_TIMESTAMP()`, `CURRENT_TIMESTAMP` (UTC in
    /// SQLite) and `SYSUTCDATETIME()`.
    fn now(&self) -> &'static str;

    /// The concatenation of `parts` as text, reading a `NULL` part as the empty string on every
    /// dialect (the databases disagree on `NULL` otherwise): `concat(a, b)` on PostgreSQL,
    /// `CONCAT_WS('', a, b)` on MySQL, `COALESCE(a, '') || COALESCE(b, '')` on SQLite and
    /// `CONCAT(a, b)` on SQL Server. No parts give `''`.
    fn concat(&self, parts: &[&str]) -> String;

    /// One `ORDER BY` item for `expr`. `NULL` sorts as the greatest value on every dialect
    /// (PostgreSQL's default): last ascending, first descending. Paging must see one order
    /// whatever the database.
    ///
    /// - PostgreSQL, SQLite (3.30 or later): `expr ASC NULLS LAST`, `expr DESC NULLS FIRST`.
    /// - MySQL, SQL Server (no `NULLS LAST`; `NULL` is the smallest there):
    ///   `CASE WHEN expr IS NULL THEN 1 ELSE 0 END ASC, expr ASC`, and `DESC` on both keys.
    fn order_by(&self, expr: &str, descending: bool) -> String;

    /// `SELECT COUNT(*) FROM (inner) AS t`, the total of a search. MySQL and SQL Server require
    /// the alias; SQL Server also rejects an `ORDER BY` in `inner` without paging, so the inner
    /// query is the unordered, unpaged one.
    fn count_wrap(&self, inner: SqlFragment) -> SqlFragment {
        let mut count = SqlFragment::sql("SELECT COUNT(*) FROM (");
        count.append(inner);
        count.push(") AS t");
        count
    }
}

fn quote_with(ident: &str, open: char, close: char) -> String {
    let mut quoted = String::with_capacity(ident.len() + 2);
    quoted.push(open);
    for c in ident.chars() {
        if c == close {
            quoted.push(close);
        }
        quoted.push(c);
    }
    quoted.push(close);
    quoted
}

fn row_count(n: u64) -> BindValue {
    BindValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn limit_offset(select: &mut SqlFragment, limit: u64, offset: u64) {
    select.push(" LIMIT ");
    select.push_bind(row_count(limit));
    select.push(" OFFSET ");
    select.push_bind(row_count(offset));
}

/// `REPLACE(…REPLACE(inner, 'from', 'to')…)` for each pair, literals prefixed by `literal`
/// (`N` for SQL Server's Unicode literals).
fn replace_chain<'a>(
    inner: &str,
    pairs: impl Iterator<Item = &'a (char, &'static str)>,
    literal: &str,
) -> String {
    let pairs: Vec<_> = pairs.collect();
    let mut sql = "REPLACE(".repeat(pairs.len());
    sql.push_str(inner);
    for (from, to) in pairs {
        // Writing to a String cannot fail.
        let _ = write!(sql, ", {literal}'{from}', {literal}'{to}')");
    }
    sql
}

/// `subject <op> ?<tail>`, with the pattern bound.
fn match_clause(subject: &str, op: &str, pattern: String, tail: &str) -> SqlFragment {
    let mut clause = SqlFragment::sql(format!("{subject} {op} "));
    clause.push_bind(BindValue::Text(pattern));
    clause.push(tail);
    clause
}

fn plain_eq(expr: &str, value: BindValue) -> SqlFragment {
    let mut eq = SqlFragment::sql(format!("{expr} = "));
    eq.push_bind(value);
    eq
}

/// `(expr = ? AND binary = ?)`: the first comparison keeps the column's index usable.
fn eq_then_binary(expr: &str, binary: &str, value: BindValue) -> SqlFragment {
    let mut eq = SqlFragment::sql(format!("({expr} = "));
    eq.push_bind(value.clone());
    eq.push(format!(" AND {binary} = "));
    eq.push_bind(value);
    eq.push(")");
    eq
}

fn null_greatest(expr: &str, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    format!("CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END {dir}, {expr} {dir}")
}

fn nulls_clause(expr: &str, descending: bool) -> String {
    if descending {
        format!("{expr} DESC NULLS FIRST")
    } else {
        format!("{expr} ASC NULLS LAST")
    }
}

fn utc(value: OffsetDateTime) -> BindValue {
    BindValue::Timestamp(value.to_offset(UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::text::{self, FOLD_MAP};
    use time::macros::datetime;

    const ALL: [&dyn Dialect; 4] = [&PgDialect, &MySqlDialect, &SqliteDialect, &MsSqlDialect];

    pub(super) fn text(s: &str) -> BindValue {
        BindValue::Text(s.to_owned())
    }

    #[test]
    fn placeholders() {
        let mut f = SqlFragment::sql("a = ");
        f.push_bind(BindValue::Int(1));
        f.push(" AND b = ");
        f.push_bind(BindValue::Int(2));
        assert_eq!(PgDialect.render(&f).0, "a = $1 AND b = $2");
        assert_eq!(MySqlDialect.render(&f).0, "a = ? AND b = ?");
        assert_eq!(SqliteDialect.render(&f).0, "a = ? AND b = ?");
        assert_eq!(MsSqlDialect.render(&f).0, "a = @P1 AND b = @P2");
        assert_eq!(
            PgDialect.render(&f).1,
            vec![BindValue::Int(1), BindValue::Int(2)]
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(PgDialect.quote_ident(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(SqliteDialect.quote_ident("pat"), r#""pat""#);
        assert_eq!(MySqlDialect.quote_ident("we`ird"), "`we``ird`");
        assert_eq!(MsSqlDialect.quote_ident("we]ird[x"), "[we]]ird[x]");
        assert_eq!(PgDialect.quote_path("dbo.patient"), r#""dbo"."patient""#);
        assert_eq!(MySqlDialect.quote_path("legacy.pat"), "`legacy`.`pat`");
        assert_eq!(MsSqlDialect.quote_path("db.dbo.pat"), "[db].[dbo].[pat]");
        assert_eq!(SqliteDialect.quote_path("pat"), r#""pat""#);
    }

    #[test]
    fn paging() {
        for (d, expected, binds) in [
            (
                &PgDialect as &dyn Dialect,
                "SELECT 1 ORDER BY 1 LIMIT $1 OFFSET $2",
                [10, 20],
            ),
            (
                &MySqlDialect,
                "SELECT 1 ORDER BY 1 LIMIT ? OFFSET ?",
                [10, 20],
            ),
            (
                &SqliteDialect,
                "SELECT 1 ORDER BY 1 LIMIT ? OFFSET ?",
                [10, 20],
            ),
            (
                &MsSqlDialect,
                "SELECT 1 ORDER BY 1 OFFSET @P1 ROWS FETCH NEXT @P2 ROWS ONLY",
                [20, 10],
            ),
        ] {
            let mut select = SqlFragment::sql("SELECT 1 ORDER BY 1");
            d.paginate(&mut select, 10, 20);
            let (sql, values) = d.render(&select);
            assert_eq!(sql, expected);
            assert_eq!(values, binds.map(BindValue::Int).to_vec(), "{d:?}");
        }
        let mut huge = SqlFragment::new();
        PgDialect.paginate(&mut huge, u64::MAX, 0);
        assert_eq!(huge.binds().next(), Some(&BindValue::Int(i64::MAX)));
    }

    /// The character sequences `fold_expr` replaces, read back from the generated SQL.
    fn replacements_in(sql: &str, literal: &str) -> Vec<(String, String)> {
        let open = format!(", {literal}'");
        sql.split(open.as_str())
            .skip(1)
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|pair| {
                let from = pair[0].strip_suffix('\'').unwrap();
                let to = pair[1].split('\'').next().unwrap();
                (from.to_owned(), to.to_owned())
            })
            .collect()
    }

    #[test]
    fn fold_expr_replaces_exactly_the_fold_map() {
        let expected: Vec<(String, String)> = FOLD_MAP
            .iter()
            .map(|(from, _)| (from.to_string(), text::fold(&from.to_string())))
            .collect();
        for (d, literal) in [
            (&MySqlDialect as &dyn Dialect, ""),
            (&SqliteDialect, ""),
            (&MsSqlDialect, "N"),
        ] {
            let sql = d.fold_expr("family");
            assert_eq!(replacements_in(&sql, literal), expected, "{d:?}");
            assert_eq!(sql.matches("REPLACE(").count(), FOLD_MAP.len(), "{d:?}");
            assert!(!sql.contains("LOWER"), "{d:?}");
        }

        let pg = PgDialect.fold_expr("family");
        let args = pg.split_once("TRANSLATE(family, '").unwrap().1;
        let (from, rest) = args.split_once("', '").unwrap();
        let to = rest.split('\'').next().unwrap();
        let mut pg_pairs: Vec<(String, String)> = from
            .chars()
            .zip(to.chars())
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect();
        assert_eq!(from.chars().count(), to.chars().count());
        pg_pairs.extend(replacements_in(rest.split_once(')').unwrap().1, ""));
        let mut expected = expected;
        expected.sort();
        pg_pairs.sort();
        assert_eq!(pg_pairs, expected);
    }

    #[test]
    fn fold_expr_golden() {
        assert_eq!(
            PgDialect.fold_expr("p.family"),
            "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(TRANSLATE(p.family, \
             'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝŸýÿ', \
             'abcdefghijklmnopqrstuvwxyzaaaaaaaaaaaacceeeeeeeeiiiiiiiinnoooooooooooouuuuuuuuyyyy'), \
             'Æ', 'ae'), 'æ', 'ae'), 'Œ', 'oe'), 'œ', 'oe'), 'ẞ', 'ss'), 'ß', 'ss')"
        );
        let chain = "REPLACE(".repeat(FOLD_MAP.len());
        let mysql = MySqlDialect.fold_expr("p.family");
        assert!(mysql.starts_with(&format!(
            "{chain}(CONVERT(p.family USING utf8mb4) COLLATE utf8mb4_bin), 'A', 'a'), 'B', 'b')"
        )));
        assert!(mysql.ends_with(", 'ẞ', 'ss'), 'ß', 'ss')"));
        let sqlite = SqliteDialect.fold_expr("p.family");
        assert!(sqlite.starts_with(&format!("{chain}p.family, 'A', 'a'), 'B', 'b')")));
        assert!(sqlite.ends_with(", 'ẞ', 'ss'), 'ß', 'ss')"));
        let mssql = MsSqlDialect.fold_expr("p.family");
        assert!(mssql.starts_with(&format!(
            "{chain}(p.family COLLATE Latin1_General_BIN2), N'A', N'a'), N'B', N'b')"
        )));
        assert!(mssql.ends_with(", N'ẞ', N'ss'), N'ß', N'ss')"));
    }

    #[test]
    fn like_patterns_and_escaping() {
        let cases = [
            (LikePattern::StartsWith, "a%", r"a\%%"),
            (LikePattern::Contains, "a_b", r"%a\_b%"),
            (LikePattern::EndsWith, r"a\", r"%a\\"),
            (LikePattern::Exact, "a", "a"),
        ];
        for (pattern, value, bound) in cases {
            for d in [&PgDialect as &dyn Dialect, &MySqlDialect, &MsSqlDialect] {
                let binds: Vec<_> = d
                    .like("c", pattern, value, false)
                    .binds()
                    .cloned()
                    .collect();
                assert_eq!(binds, vec![text(bound)], "{d:?} {pattern:?}");
            }
        }
        assert_eq!(
            PgDialect
                .render(&PgDialect.like("c", LikePattern::Contains, "x", false))
                .0,
            r"c LIKE $1 ESCAPE '\'"
        );
        assert_eq!(
            MySqlDialect
                .render(&MySqlDialect.like("c", LikePattern::Contains, "x", false))
                .0,
            r"CONVERT(c USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE '\\'"
        );
        assert_eq!(
            MsSqlDialect
                .render(&MsSqlDialect.like("c", LikePattern::Contains, "x", false))
                .0,
            r"c COLLATE Latin1_General_BIN2 LIKE @P1 ESCAPE '\'"
        );
    }

    #[test]
    fn folded_like_binds_the_folded_value() {
        for d in ALL {
            let like = d.like("c", LikePattern::Contains, "Müller_Straße", true);
            let (sql, binds) = d.render(&like);
            assert!(sql.starts_with(&d.fold_expr("c")), "{d:?}");
            assert_eq!(binds, vec![text(r"%muller\_strasse%")], "{d:?}");
        }
    }

    #[test]
    fn exact_equality_is_binary() {
        let render = |d: &dyn Dialect, v: BindValue| d.render(&d.exact_eq("c", v));
        assert_eq!(render(&PgDialect, text("A")).0, "c = $1");
        assert_eq!(render(&SqliteDialect, text("A")).0, "c COLLATE BINARY = ?");
        assert_eq!(
            render(&MySqlDialect, text("A")),
            (
                "(c = ? AND CONVERT(c USING utf8mb4) COLLATE utf8mb4_bin = ?)".to_owned(),
                vec![text("A"), text("A")]
            )
        );
        assert_eq!(
            render(&MsSqlDialect, text("A")).0,
            "(c = @P1 AND c COLLATE Latin1_General_BIN2 = @P2)"
        );
        for d in ALL {
            let (sql, binds) = render(d, BindValue::Int(7));
            assert_eq!(sql, format!("c = {}", d.placeholder(1)), "{d:?}");
            assert_eq!(binds, vec![BindValue::Int(7)]);
        }
    }

    #[test]
    fn booleans_now_and_concat() {
        let bools: Vec<_> = ALL
            .iter()
            .map(|d| (d.bool_literal(true), d.bool_literal(false)))
            .collect();
        assert_eq!(
            bools,
            [("TRUE", "FALSE"), ("TRUE", "FALSE"), ("1", "0"), ("1", "0")]
        );
        let now: Vec<_> = ALL.iter().map(|d| d.now()).collect();
        assert_eq!(
            now,
            [
                "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')",
                "UTC_TIMESTAMP()",
                "CURRENT_TIMESTAMP",
                "SYSUTCDATETIME()"
            ]
        );
        let concat: Vec<_> = ALL.iter().map(|d| d.concat(&["a", "'-'", "b"])).collect();
        assert_eq!(
            concat,
            [
                "concat(a, '-', b)",
                "CONCAT_WS('', a, '-', b)",
                "COALESCE(a, '') || COALESCE('-', '') || COALESCE(b, '')",
                "CONCAT(a, '-', b)"
            ]
        );
        assert_eq!(MsSqlDialect.concat(&["a"]), "CONCAT(a, '')");
        assert_eq!(PgDialect.concat(&["a"]), "concat(a)");
        for d in ALL {
            assert_eq!(d.concat(&[]), "''");
        }
    }

    #[test]
    fn timestamps_are_utc() {
        let at = datetime!(2024-03-01 12:30 +02:00);
        let utc = BindValue::Timestamp(datetime!(2024-03-01 10:30 UTC));
        let rendered: Vec<_> = ALL
            .iter()
            .map(|d| d.render(&d.utc_timestamp_param(at)))
            .collect();
        let sql: Vec<_> = rendered.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            sql,
            [
                "(CAST($1 AS TIMESTAMPTZ) AT TIME ZONE 'UTC')",
                "?",
                "datetime(?)",
                "CAST(@P1 AS DATETIME2)"
            ]
        );
        for (_, binds) in rendered {
            assert_eq!(binds, vec![utc.clone()]);
            let BindValue::Timestamp(bound) = &binds[0] else {
                unreachable!()
            };
            assert!(bound.offset().is_utc());
        }
    }

    #[test]
    fn nulls_sort_greatest() {
        assert_eq!(PgDialect.order_by("c", false), "c ASC NULLS LAST");
        assert_eq!(PgDialect.order_by("c", true), "c DESC NULLS FIRST");
        assert_eq!(SqliteDialect.order_by("c", false), "c ASC NULLS LAST");
        assert_eq!(SqliteDialect.order_by("c", true), "c DESC NULLS FIRST");
        for d in [&MySqlDialect as &dyn Dialect, &MsSqlDialect] {
            assert_eq!(
                d.order_by("c", false),
                "CASE WHEN c IS NULL THEN 1 ELSE 0 END ASC, c ASC"
            );
            assert_eq!(
                d.order_by("c", true),
                "CASE WHEN c IS NULL THEN 1 ELSE 0 END DESC, c DESC"
            );
        }
    }

    #[test]
    fn count_wraps_with_alias() {
        let mut inner = SqlFragment::sql("SELECT id FROM pat WHERE a = ");
        inner.push_bind(text("x"));
        for d in ALL {
            let (sql, binds) = d.render(&d.count_wrap(inner.clone()));
            assert_eq!(
                sql,
                format!(
                    "SELECT COUNT(*) FROM (SELECT id FROM pat WHERE a = {}) AS t",
                    d.placeholder(1)
                )
            );
            assert_eq!(binds, vec![text("x")]);
        }
    }

    /// A folded starts-with, an exact match, and an ordered page.
    pub(super) fn statement(d: &dyn Dialect) -> (String, Vec<BindValue>) {
        let mut q = SqlFragment::sql(format!(
            "SELECT {} FROM {} WHERE ",
            d.quote_ident("id"),
            d.quote_path("dbo.patient")
        ));
        q.append(d.like("family", LikePattern::StartsWith, "Mü", true));
        q.push(" AND ");
        q.append(d.exact_eq("given", text("Anna")));
        q.push(format!(" ORDER BY {}", d.order_by("family", false)));
        d.paginate(&mut q, 10, 20);
        d.render(&q)
    }

    #[test]
    fn hostile_values_stay_in_binds() {
        let hostile = ["'; DROP TABLE x; --", "%", "_", "\\", "[", "*?]"];
        let patterns = [
            LikePattern::StartsWith,
            LikePattern::Contains,
            LikePattern::EndsWith,
            LikePattern::Exact,
        ];
        for d in ALL {
            for value in hostile {
                let exact = d.exact_eq("c", text(value));
                assert!(exact.binds().all(|bound| *bound == text(value)));
                let mut fragments = vec![exact];
                for pattern in patterns {
                    fragments.push(d.like("c", pattern, value, true));
                    fragments.push(d.like("c", pattern, value, false));
                }
                let mut harmless = vec![d.exact_eq("c", text("x"))];
                for pattern in patterns {
                    harmless.push(d.like("c", pattern, "x", true));
                    harmless.push(d.like("c", pattern, "x", false));
                }
                for (fragment, reference) in fragments.iter().zip(&harmless) {
                    let (sql, binds) = d.render(fragment);
                    assert_eq!(sql, d.render(reference).0, "{d:?} {value:?}");
                    assert!(!sql.contains("DROP"));
                    assert!(!binds.is_empty());
                }
            }
        }
    }
}
