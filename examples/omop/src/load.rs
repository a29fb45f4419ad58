//! The loader: creates the OMOP CDM v5.4 schema with the official DDL and loads OMOP CSV files
//! (a header line, comma-separated, empty for `NULL`, as OHDSI tools and `omop-lite` write them).
//!
//! - PostgreSQL: the official DDL, then `COPY ... FROM STDIN` per table, then the official
//!   primary keys and indexes (without the `CLUSTER` statements, which only reorder the data).
//! - SQLite: DDL derived from the official DuckDB script (see `sql/sqlite/ddl.sql`), every row
//!   inserted by one prepared statement per table in one transaction, then the primary keys (as
//!   unique indexes) and indexes. Date-only values in `TIMESTAMP` columns get `00:00:00`, the
//!   text form SQLite's date functions and the driver read.
//!
//! - SQL Server: the official DDL, rows in multi-row `INSERT`s of bound text values that the
//!   server converts to each column's type, then the official primary keys and indexes.
//!
//! A file the facade needs that is missing, a header naming a column the table does not have, or
//! a malformed line is an error naming the file (and line); nothing is loaded before every
//! needed file was found.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sqlx::Row as _;

use crate::mapping::CdmLocation;

/// The official DDL files, per database.
pub mod ddl {
    /// PostgreSQL: `omop_lite/scripts/pg/omop5_4` of omop-lite 0.9.2, unchanged.
    pub const POSTGRES: [&str; 3] = [
        include_str!("../sql/postgresql/ddl.sql"),
        include_str!("../sql/postgresql/primary_keys.sql"),
        include_str!("../sql/postgresql/indices.sql"),
    ];
    /// SQL Server: `omop_lite/scripts/mssql/omop5_4` of omop-lite 0.9.2, unchanged.
    pub const SQL_SERVER: [&str; 3] = [
        include_str!("../sql/sqlserver/ddl.sql"),
        include_str!("../sql/sqlserver/primary_keys.sql"),
        include_str!("../sql/sqlserver/indices.sql"),
    ];
    /// SQLite: derived from the DuckDB files by `tools/import-omop-lite.py`.
    pub const SQLITE: [&str; 3] = [
        include_str!("../sql/sqlite/ddl.sql"),
        include_str!("../sql/sqlite/primary_keys.sql"),
        include_str!("../sql/sqlite/indices.sql"),
    ];
}

/// The tables the facade reads: their files must be there. `location` and `death` are read
/// too, but a data set may have no rows for them (synthetic/1000 has neither file).
pub const REQUIRED_TABLES: &[&str] = &[
    "person",
    "concept",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
];

/// A loader failure, with the file and line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file the facade needs is not there.
    #[error("{0}: missing (the facade needs this table's CSV file)")]
    Missing(String),
    /// A file could not be read or parsed.
    #[error("{file}: {message}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong (with the line, where known).
        message: String,
    },
    /// The database refused a statement.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A DDL file is not what the loader expects.
    #[error("{0}")]
    Ddl(String),
}

/// An opened CSV file and its size in bytes (for the progress bar).
pub type OpenedFile = (Box<dyn Read + Send>, u64);

/// Where CSV files come from.
pub trait CsvSource: Send + Sync {
    /// The name shown in messages for `table`'s file.
    fn describe(&self, table: &str) -> String;

    /// The file of `table` (lower case, as in the DDL) and its size in bytes, or `None` when
    /// the source has no such file.
    fn open(&self, table: &str) -> Result<Option<OpenedFile>, LoadError>;
}

/// A directory of `PERSON.csv`, `CONCEPT.csv`, ... (upper or lower case names).
#[derive(Debug, Clone)]
pub struct CsvDir(pub PathBuf);

impl CsvDir {
    fn path(&self, table: &str) -> Option<PathBuf> {
        [table.to_ascii_uppercase(), table.to_owned()]
            .into_iter()
            .map(|name| self.0.join(format!("{name}.csv")))
            .find(|p| p.is_file())
    }
}

impl CsvSource for CsvDir {
    fn describe(&self, table: &str) -> String {
        self.path(table)
            .unwrap_or_else(|| self.0.join(format!("{}.csv", table.to_ascii_uppercase())))
            .display()
            .to_string()
    }

    fn open(&self, table: &str) -> Result<Option<OpenedFile>, LoadError> {
        let Some(path) = self.path(table) else {
            return Ok(None);
        };
        let err = |e: std::io::Error| LoadError::Malformed {
            file: path.display().to_string(),
            message: e.to_string(),
        };
        let file = File::open(&path).map_err(err)?;
        let size = file.metadata().map_err(err)?.len();
        Ok(Some((Box::new(file), size)))
    }
}

/// Splits a SQL script into statements: comments removed, `@cdmDatabaseSchema.` replaced by the
/// location's prefix, `CLUSTER` statements left out.
pub fn statements(script: &str, at: &CdmLocation) -> Vec<String> {
    let mut text = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    text.push_str(rest);
    let text: String = text
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let prefix = at
        .schema_name()
        .map(|s| format!("{s}."))
        .unwrap_or_default();
    text.split(';')
        .map(|s| s.trim().replace("@cdmDatabaseSchema.", &prefix))
        .filter(|s| !s.is_empty() && !s.to_ascii_uppercase().starts_with("CLUSTER "))
        .collect()
}

/// The tables a DDL script creates, in its order.
pub fn tables(ddl_script: &str) -> Vec<String> {
    ddl_script
        .split("CREATE TABLE @cdmDatabaseSchema.")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// What a load did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rows loaded per table, in load order.
    pub rows: Vec<(String, u64)>,
}

impl LoadReport {
    /// The rows loaded into `table`.
    pub fn rows_of(&self, table: &str) -> Option<u64> {
        self.rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n)
    }
}

struct Opened {
    table: String,
    file: String,
    reader: Box<dyn Read + Send>,
}

/// Opens every file of the DDL's tables, failing before anything is loaded when a required one
/// is missing.
fn open_all(
    source: &dyn CsvSource,
    ddl_script: &str,
    progress: &ProgressBar,
) -> Result<Vec<Opened>, LoadError> {
    let mut opened = Vec::new();
    let mut total = 0;
    for table in tables(ddl_script) {
        match source.open(&table)? {
            Some((reader, size)) => {
                total += size;
                opened.push(Opened {
                    file: source.describe(&table),
                    reader: Box::new(progress.wrap_read(reader)),
                    table,
                });
            }
            None if REQUIRED_TABLES.contains(&table.as_str()) => {
                return Err(LoadError::Missing(source.describe(&table)));
            }
            None => {}
        }
    }
    progress.set_length(total);
    Ok(opened)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{msg:24} [{bar:40}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn header_columns(
    file: &str,
    table_columns: &[(String, String)],
    header: &csv::StringRecord,
) -> Result<Vec<usize>, LoadError> {
    header
        .iter()
        .map(|name| {
            let name = name.trim().to_ascii_lowercase();
            table_columns
                .iter()
                .position(|(c, _)| *c == name)
                .ok_or_else(|| LoadError::Malformed {
                    file: file.to_owned(),
                    message: format!("the header names {name:?}, which the table does not have"),
                })
        })
        .collect()
}

fn malformed(file: &str, e: impl std::fmt::Display) -> LoadError {
    LoadError::Malformed {
        file: file.to_owned(),
        message: e.to_string(),
    }
}

/// Creates the CDM schema in the SQLite database of `pool` and loads `source` into it.
pub async fn load_sqlite(
    pool: &sqlx::SqlitePool,
    source: &dyn CsvSource,
    quiet: bool,
) -> Result<LoadReport, LoadError> {
    let at = CdmLocation::default_schema();
    let [ddl, keys, indices] = ddl::SQLITE;
    let progress = progress_bar(quiet);
    let opened = open_all(source, ddl, &progress)?;
    let mut conn = pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for statement in statements(ddl, &at) {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    let mut report = LoadReport::default();
    for Opened {
        table,
        file,
        reader,
    } in opened
    {
        progress.set_message(table.clone());
        let columns: Vec<(String, String)> = sqlx::query(&format!(
            "SELECT name, type FROM pragma_table_info('{table}')"
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(0).to_ascii_lowercase(),
                r.get::<String, _>(1).to_ascii_uppercase(),
            )
        })
        .collect();
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        let header = csv.headers().map_err(|e| malformed(&file, e))?.clone();
        let positions = header_columns(&file, &columns, &header)?;
        let timestamp: Vec<bool> = positions
            .iter()
            .map(|&i| matches!(columns[i].1.as_str(), "TIMESTAMP" | "DATETIME"))
            .collect();
        let insert = |rows: usize| {
            let row = format!("({})", vec!["?"; positions.len()].join(", "));
            format!(
                "INSERT INTO {table} ({}) VALUES {}",
                positions
                    .iter()
                    .map(|&i| columns[i].0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                vec![row; rows].join(", ")
            )
        };
        // Many rows a statement: each statement is a round trip to the driver's worker thread.
        let per_batch = (SQLITE_MAX_PARAMS / positions.len().max(1)).clamp(1, 500);
        let full = insert(per_batch);
        let mut values: Vec<Option<String>> = Vec::with_capacity(per_batch * positions.len());
        let mut record = csv::StringRecord::new();
        let mut count = 0u64;
        loop {
            let more = csv
                .read_record(&mut record)
                .map_err(|e| malformed(&file, e))?;
            if more {
                for (i, value) in record.iter().enumerate() {
                    values.push(if value.is_empty() {
                        None
                    } else if timestamp[i] && value.len() == 10 {
                        Some(format!("{value} 00:00:00"))
                    } else {
                        Some(value.to_owned())
                    });
                }
            }
            let rows = values.len() / positions.len().max(1);
            if rows > 0 && (rows == per_batch || !more) {
                let partial;
                let sql = if rows == per_batch {
                    &full
                } else {
                    partial = insert(rows);
                    &partial
                };
                let mut query = sqlx::query(sql);
                for value in values.drain(..) {
                    query = query.bind(value);
                }
                query.execute(&mut *tx).await.map_err(|e| {
                    malformed(
                        &file,
                        format!(
                            "rows up to line {}: {e}",
                            record.position().map_or(0, |p| p.line())
                        ),
                    )
                })?;
                count += rows as u64;
            }
            if !more {
                break;
            }
        }
        report.rows.push((table, count));
    }
    progress.set_message("indexes");
    for statement in statements(keys, &at)
        .into_iter()
        .chain(statements(indices, &at))
    {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    progress.finish_and_clear();
    Ok(report)
}

/// Creates the CDM schema at `at` (creating the schema itself when named) in the PostgreSQL
/// database of `pool` and loads `source` into it with `COPY`.
pub async fn load_postgres(
    pool: &sqlx::PgPool,
    at: &CdmLocation,
    source: &dyn CsvSource,
    quiet: bool,
) -> Result<LoadReport, LoadError> {
    use sqlx::postgres::PgPoolCopyExt;
    let [ddl, keys, indices] = ddl::POSTGRES;
    let progress = progress_bar(quiet);
    let opened = open_all(source, ddl, &progress)?;
    if let Some(schema) = at.schema_name() {
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(pool)
            .await?;
    }
    for statement in statements(ddl, at) {
        sqlx::query(&statement).execute(pool).await?;
    }
    let mut report = LoadReport::default();
    for Opened {
        table,
        file,
        reader,
    } in opened
    {
        progress.set_message(table.clone());
        let columns: Vec<(String, String)> = sqlx::query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 \
             ORDER BY ordinal_position",
        )
        .bind(at.schema_name())
        .bind(&table)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut first = String::new();
        reader
            .read_line(&mut first)
            .map_err(|e| malformed(&file, e))?;
        let header = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(first.as_bytes())
            .records()
            .next()
            .transpose()
            .map_err(|e| malformed(&file, e))?
            .ok_or_else(|| malformed(&file, "the file is empty (no header line)"))?;
        let positions = header_columns(&file, &columns, &header)?;
        let column_list = positions
            .iter()
            .map(|&i| columns[i].0.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut copy = pool
            .copy_in_raw(&format!(
                "COPY {} ({column_list}) FROM STDIN WITH (FORMAT csv)",
                at.table(&table)
            ))
            .await?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = copy.abort("read error").await;
                    return Err(malformed(&file, e));
                }
            };
            copy.send(&buf[..n]).await?;
        }
        let count = copy.finish().await.map_err(|e| malformed(&file, e))?;
        report.rows.push((table, count));
    }
    progress.set_message("indexes");
    for statement in statements(keys, at)
        .into_iter()
        .chain(statements(indices, at))
    {
        sqlx::query(&statement).execute(pool).await?;
    }
    if let Some(schema) = at.schema_name() {
        sqlx::query(&format!("ANALYZE {schema}.measurement"))
            .execute(pool)
            .await?;
    }
    progress.finish_and_clear();
    Ok(report)
}

/// Bound values per SQLite statement (SQLite 3.32 and later allow 32766).
const SQLITE_MAX_PARAMS: usize = 30_000;

/// The most parameters SQL Server accepts in one statement is 2100; a batch of rows stays under.
const MSSQL_MAX_PARAMS: usize = 2000;

/// A CSV value as SQL Server converts it from `nvarchar` unambiguously: `datetime` columns get
/// ISO 8601 with a `T` (`2013-07-05T00:00:00`), which no `DATEFORMAT` setting reads otherwise.
fn mssql_value(value: &str, datetime: bool) -> fhir_facade_core::sql::BindValue {
    use fhir_facade_core::sql::BindValue;
    if value.is_empty() {
        BindValue::Null
    } else if datetime && value.len() == 10 {
        BindValue::Text(format!("{value}T00:00:00"))
    } else if datetime {
        BindValue::Text(value.replacen(' ', "T", 1))
    } else {
        BindValue::Text(value.to_owned())
    }
}

/// Creates the CDM schema at `at` with the official SQL Server DDL in the database of `db` and
/// loads `source` into it, in multi-row `INSERT`s of bound values (SQL Server converts the text
/// to each column's type).
pub async fn load_mssql(
    db: &fhir_facade_tiberius::Database,
    at: &CdmLocation,
    source: &dyn CsvSource,
    quiet: bool,
) -> Result<LoadReport, LoadError> {
    use fhir_facade_core::sql::SqlRow;
    use fhir_facade_core::sql::{BindValue, SqlFragment};
    let [ddl, keys, indices] = ddl::SQL_SERVER;
    let progress = progress_bar(quiet);
    let opened = open_all(source, ddl, &progress)?;
    let sql_error = |e: fhir_facade_core::Error| LoadError::Ddl(format!("SQL Server: {e}"));
    if let Some(schema) = at.schema_name() {
        let statement = format!("IF SCHEMA_ID('{schema}') IS NULL EXEC('CREATE SCHEMA {schema}')");
        db.execute(&SqlFragment::sql(statement), None)
            .await
            .map_err(sql_error)?;
    }
    for statement in statements(ddl, at) {
        db.execute(&SqlFragment::sql(statement), None)
            .await
            .map_err(sql_error)?;
    }
    let mut report = LoadReport::default();
    for Opened {
        table,
        file,
        reader,
    } in opened
    {
        progress.set_message(table.clone());
        let mut lookup = SqlFragment::sql(
            "SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM INFORMATION_SCHEMA.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(",
        );
        lookup.push_bind(
            at.schema_name()
                .map_or(BindValue::Null, |s| BindValue::Text(s.into())),
        );
        lookup.push(", SCHEMA_NAME()) AND TABLE_NAME = ");
        lookup.push_bind(BindValue::Text(table.clone()));
        lookup.push(" ORDER BY ORDINAL_POSITION");
        let mut columns = Vec::new();
        for row in db.fetch_all(&lookup, None).await.map_err(sql_error)? {
            columns.push((
                SqlRow::get_str(&row, "name")
                    .map_err(sql_error)?
                    .to_ascii_lowercase(),
                SqlRow::get_str(&row, "type")
                    .map_err(sql_error)?
                    .to_ascii_lowercase(),
            ));
        }
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        let header = csv.headers().map_err(|e| malformed(&file, e))?.clone();
        let positions = header_columns(&file, &columns, &header)?;
        let datetime: Vec<bool> = positions
            .iter()
            .map(|&i| columns[i].1.contains("datetime"))
            .collect();
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ",
            at.table(&table),
            positions
                .iter()
                .map(|&i| columns[i].0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let per_batch = (MSSQL_MAX_PARAMS / positions.len().max(1)).max(1);
        let mut record = csv::StringRecord::new();
        let mut count = 0u64;
        let mut batch = SqlFragment::sql(insert.clone());
        let mut in_batch = 0;
        loop {
            let more = csv
                .read_record(&mut record)
                .map_err(|e| malformed(&file, e))?;
            if more {
                if record.len() != positions.len() {
                    return Err(malformed(
                        &file,
                        format!(
                            "line {}: {} fields, the header has {}",
                            record.position().map_or(0, |p| p.line()),
                            record.len(),
                            positions.len()
                        ),
                    ));
                }
                batch.push(if in_batch == 0 { "(" } else { ", (" });
                for (i, value) in record.iter().enumerate() {
                    if i > 0 {
                        batch.push(", ");
                    }
                    batch.push_bind(mssql_value(value, datetime[i]));
                }
                batch.push(")");
                in_batch += 1;
            }
            if in_batch > 0 && (in_batch == per_batch || !more) {
                db.execute(&batch, None).await.map_err(|e| {
                    malformed(
                        &file,
                        format!(
                            "rows up to line {}: {e}",
                            record.position().map_or(0, |p| p.line())
                        ),
                    )
                })?;
                count += in_batch as u64;
                batch = SqlFragment::sql(insert.clone());
                in_batch = 0;
            }
            if !more {
                break;
            }
        }
        report.rows.push((table, count));
    }
    progress.set_message("indexes");
    for statement in statements(keys, at)
        .into_iter()
        .chain(statements(indices, at))
    {
        db.execute(&SqlFragment::sql(statement), None)
            .await
            .map_err(sql_error)?;
    }
    progress.finish_and_clear();
    Ok(report)
}

/// Opens (creating it) the SQLite file at `path` for writing.
pub async fn sqlite_writer(path: &Path) -> Result<sqlx::SqlitePool, LoadError> {
    use std::str::FromStr;
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
            // A load that fails leaves a file to delete anyway; not syncing every page speeds it up.
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off);
    Ok(sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_into_statements_without_comments_or_cluster() {
        let script = "/* a; b */\nCREATE TABLE @cdmDatabaseSchema.x (a int); -- c;\n\
                      CLUSTER @cdmDatabaseSchema.x USING i ;\nCREATE INDEX i ON @cdmDatabaseSchema.x (a);";
        assert_eq!(
            statements(script, &CdmLocation::schema("s").unwrap()),
            ["CREATE TABLE s.x (a int)", "CREATE INDEX i ON s.x (a)"]
        );
        assert_eq!(
            statements(script, &CdmLocation::default_schema())[0],
            "CREATE TABLE x (a int)"
        );
    }

    #[test]
    fn sql_server_gets_unambiguous_datetimes_and_nulls() {
        use fhir_facade_core::sql::BindValue;
        let text = |s: &str| BindValue::Text(s.into());
        assert_eq!(mssql_value("", true), BindValue::Null);
        assert_eq!(mssql_value("", false), BindValue::Null);
        assert_eq!(mssql_value("2013-07-05", true), text("2013-07-05T00:00:00"));
        assert_eq!(
            mssql_value("2013-07-05 10:11:12", true),
            text("2013-07-05T10:11:12")
        );
        assert_eq!(mssql_value("2013-07-05", false), text("2013-07-05"));
        assert_eq!(mssql_value("a b", false), text("a b"));
    }

    #[test]
    fn the_official_ddl_creates_every_table_the_facade_reads() {
        for script in [ddl::POSTGRES[0], ddl::SQL_SERVER[0], ddl::SQLITE[0]] {
            let tables = tables(script);
            for t in REQUIRED_TABLES.iter().chain(&["location", "death"]) {
                assert!(tables.iter().any(|x| x == t), "{t}");
            }
        }
    }
}
