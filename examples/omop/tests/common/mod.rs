//! What the OMOP tests share: direct SQL over the CDM tables, to compare the facade's answers
//! with, and the rule for a missing prerequisite.

use sqlx::Row as _;

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

pub(crate) fn skip(why: &str) {
    assert!(
        !in_ci(),
        "{why} (CI=true: a missing prerequisite is a failure)"
    );
    eprintln!("skipping: {why}");
}

/// A pool of `max` connections to the PostgreSQL server `FHIR_FACADE_PG_URL` names (default
/// `postgres://postgres@127.0.0.1:5432/test`), and its URL; `None` (after saying why) when it
/// is unreachable, which fails under `CI=true`.
pub(crate) async fn postgres(max: u32) -> Option<(sqlx::PgPool, String)> {
    let url = std::env::var("FHIR_FACADE_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    match sqlx::postgres::PgPoolOptions::new()
        .max_connections(max)
        .connect(&url)
        .await
    {
        Ok(pool) => Some((pool, url)),
        Err(e) => {
            skip(&format!(
                "PostgreSQL at FHIR_FACADE_PG_URL={url} is unreachable: {e}"
            ));
            None
        }
    }
}

/// A bound value of a direct query.
#[derive(Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// Direct SQL over the OMOP tables, written with `?` placeholders and `{s}` before table names.
#[derive(Clone)]
pub(crate) enum Direct {
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL, with the CDM in the named schema.
    Pg(sqlx::PgPool, String),
}

impl Direct {
    pub(crate) fn sql(&self, sql: &str) -> String {
        match self {
            Direct::Sqlite(_) => sql.replace("{s}", ""),
            Direct::Pg(_, schema) => {
                let mut out = String::new();
                let mut n = 0;
                for c in sql.replace("{s}", &format!("{schema}.")).chars() {
                    if c == '?' {
                        n += 1;
                        out.push_str(&format!("${n}"));
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// The first column of every row.
    pub(crate) async fn column<T>(&self, sql: &str, args: &[Arg]) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        let sql = self.sql(sql);
        // The same binding for both pools, whose query types differ.
        macro_rules! fetch {
            ($pool:expr) => {{
                let mut q = sqlx::query(&sql);
                for a in args {
                    q = match a {
                        Arg::Int(n) => q.bind(*n),
                        Arg::Text(s) => q.bind(s.clone()),
                    };
                }
                q.fetch_all($pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<T, _>(0))
                    .collect()
            }};
        }
        match self {
            Direct::Sqlite(pool) => fetch!(pool),
            Direct::Pg(pool, _) => fetch!(pool),
        }
    }
}
