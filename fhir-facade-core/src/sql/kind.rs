//! [`DatabaseKind`]: which supported database a connection URL names.

use super::{Dialect, MsSqlDialect, MySqlDialect, PgDialect, SqliteDialect};
use crate::{Error, Result};

/// A database product the SQL path supports, as named by a connection URL's scheme.
///
/// The adapters pick their driver by it and the examples their DDL. It is exhaustive, so a
/// `match` over it needs no fallback arm; supporting another database is a breaking release.
///
/// ```
/// use fhir_facade_core::sql::DatabaseKind;
///
/// let kind = DatabaseKind::from_url("postgres://fhir@db/legacy").unwrap();
/// assert_eq!(kind, DatabaseKind::Postgres);
/// assert_eq!(kind.dialect().placeholder(1), "$1");
/// assert!(DatabaseKind::from_url("oracle://db").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatabaseKind {
    /// PostgreSQL: `postgres:` or `postgresql:`.
    Postgres,
    /// MySQL or MariaDB: `mysql:` or `mariadb:`.
    MySql,
    /// SQLite: `sqlite:`.
    Sqlite,
    /// Microsoft SQL Server: `mssql:` or `sqlserver:`.
    MsSql,
}

impl DatabaseKind {
    /// The kind a connection URL's scheme names (case-insensitive), or [`Error::Config`] for
    /// any other scheme. The message names the scheme only, never the rest of the URL, which
    /// may hold a password.
    pub fn from_url(url: &str) -> Result<DatabaseKind> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(DatabaseKind::Postgres),
            "mysql" | "mariadb" => Ok(DatabaseKind::MySql),
            "sqlite" => Ok(DatabaseKind::Sqlite),
            "mssql" | "sqlserver" => Ok(DatabaseKind::MsSql),
            _ => Err(Error::Config(format!(
                "unsupported database URL scheme {scheme:?} (postgres, mysql, mariadb, sqlite, \
                 mssql, sqlserver)"
            ))),
        }
    }

    /// The SQL dialect of this database.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            DatabaseKind::Postgres => &PgDialect,
            DatabaseKind::MySql => &MySqlDialect,
            DatabaseKind::Sqlite => &SqliteDialect,
            DatabaseKind::MsSql => &MsSqlDialect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_from_urls() {
        let name = |url: &str| {
            DatabaseKind::from_url(url)
                .ok()
                .map(|k| format!("{:?}", k.dialect()))
        };
        assert_eq!(name("postgres://u@h/db").as_deref(), Some("PgDialect"));
        assert_eq!(name("postgresql://h/db").as_deref(), Some("PgDialect"));
        assert_eq!(name("mysql://h/db").as_deref(), Some("MySqlDialect"));
        assert_eq!(name("mariadb://h/db").as_deref(), Some("MySqlDialect"));
        assert_eq!(name("sqlite::memory:").as_deref(), Some("SqliteDialect"));
        assert_eq!(name("sqlite://legacy.db").as_deref(), Some("SqliteDialect"));
        assert_eq!(name("mssql://h/db").as_deref(), Some("MsSqlDialect"));
        assert_eq!(name("SQLServer://h").as_deref(), Some("MsSqlDialect"));
        assert_eq!(name("oracle://h"), None);
        assert_eq!(name("no scheme"), None);
        assert_eq!(name("sqlite:kis.db").as_deref(), Some("SqliteDialect"));
        assert_eq!(
            DatabaseKind::from_url("mariadb://h/db").unwrap(),
            DatabaseKind::MySql
        );
        let unknown = DatabaseKind::from_url("oracle://u:secret@h").unwrap_err();
        assert!(matches!(unknown, Error::Config(_)), "{unknown:?}");
        assert!(!unknown.to_string().contains("secret"));
    }
}
