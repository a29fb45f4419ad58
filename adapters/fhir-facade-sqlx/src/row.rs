//! A driver-independent view of a result row, for row mappers.

use rust_decimal::Decimal;
use sqlx::Row as _;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::SqlxError;

/// One result row of any enabled driver. The accessors read a column by name (or position) and
/// accept the storage types legacy schemas use for it: any integer width, `CHAR`/`VARCHAR`,
/// timestamps with or without time zone (without: read as UTC), `NUMERIC` (REAL on SQLite).
#[non_exhaustive]
pub enum Row {
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    /// A MySQL/MariaDB row.
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
    /// A SQLite row.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
}

/// Decodes the row's column as the first listed Rust type the value's SQL type is compatible with
/// (the last one when none is, for sqlx's own type-mismatch error), and converts it; `NULL` is
/// `None`. The column is looked up once and the type chosen up front: trying each type in turn
/// would look the name up and build a mismatch error per miss, on every integer column of every
/// row.
macro_rules! first_decoding {
    ($row:expr, $col:expr, $db:ty, $ty:ty => $conv:expr) => {
        $row.try_get::<Option<$ty>, _>($col).map(|v| v.map($conv))
    };
    ($row:expr, $col:expr, $db:ty, $($candidates:tt)+) => {
        match $row.try_column($col) {
            Err(e) => Err(e),
            Ok(column) => {
                let index = sqlx::Column::ordinal(column);
                match $row.try_get_raw(index) {
                    Err(e) => Err(e),
                    Ok(value) if sqlx::ValueRef::is_null(&value) => Ok(None),
                    Ok(value) => {
                        let type_info = sqlx::ValueRef::type_info(&value).into_owned();
                        first_decoding!(@pick $row, index, type_info, $db, $($candidates)+)
                    }
                }
            }
        }
    };
    (@pick $row:expr, $index:expr, $type_info:expr, $db:ty, $ty:ty => $conv:expr) => {
        $row.try_get::<$ty, _>($index).map(|v| Some($conv(v)))
    };
    (@pick $row:expr, $index:expr, $type_info:expr, $db:ty, $ty:ty => $conv:expr, $($rest:tt)+) => {
        if <$ty as sqlx::Type<$db>>::compatible(&$type_info) {
            $row.try_get::<$ty, _>($index).map(|v| Some($conv(v)))
        } else {
            first_decoding!(@pick $row, $index, $type_info, $db, $($rest)+)
        }
    };
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rows hold patient data, which stays out of logs.
        f.write_str("Row(..)")
    }
}

fn column_error(column: impl std::fmt::Display, e: impl std::fmt::Display) -> SqlxError {
    SqlxError::Column {
        column: column.to_string(),
        message: e.to_string(),
    }
}

fn required<T>(column: &str, value: Result<Option<T>, SqlxError>) -> Result<T, SqlxError> {
    value?.ok_or_else(|| column_error(column, "is NULL"))
}

impl Row {
    /// An integer column (any width), `None` for `NULL`.
    pub fn get_opt_i64(&self, column: &str) -> Result<Option<i64>, SqlxError> {
        self.opt_i64(column).map_err(|e| column_error(column, e))
    }

    /// An integer column that must not be `NULL`.
    pub fn get_i64(&self, column: &str) -> Result<i64, SqlxError> {
        required(column, self.get_opt_i64(column))
    }

    /// The integer in the column at `index` (for `COUNT(*)`).
    pub fn get_i64_at(&self, index: usize) -> Result<i64, SqlxError> {
        let value: Result<Option<i64>, sqlx::Error> = match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => {
                first_decoding!(r, index, sqlx::Postgres, i64 => |v| v, i32 => i64::from)
            }
            #[cfg(feature = "mysql")]
            Row::MySql(r) => first_decoding!(r, index, sqlx::MySql, i64 => |v| v),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => first_decoding!(r, index, sqlx::Sqlite, i64 => |v| v),
        };
        required("0", value.map_err(|e| column_error(index, e)))
    }

    /// A text column (`CHAR` keeps its padding), `None` for `NULL`.
    pub fn get_opt_str(&self, column: &str) -> Result<Option<String>, SqlxError> {
        let value: Result<Option<String>, sqlx::Error> = match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => first_decoding!(r, column, sqlx::Postgres, String => |v| v),
            #[cfg(feature = "mysql")]
            Row::MySql(r) => first_decoding!(r, column, sqlx::MySql, String => |v| v),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => first_decoding!(r, column, sqlx::Sqlite, String => |v| v),
        };
        value.map_err(|e| column_error(column, e))
    }

    /// A text column that must not be `NULL`.
    pub fn get_str(&self, column: &str) -> Result<String, SqlxError> {
        required(column, self.get_opt_str(column))
    }

    /// A timestamp column; one without time zone is read as UTC. `None` for `NULL`.
    pub fn get_opt_timestamp(&self, column: &str) -> Result<Option<OffsetDateTime>, SqlxError> {
        let naive = PrimitiveDateTime::assume_utc;
        let value: Result<Option<OffsetDateTime>, sqlx::Error> = match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => {
                first_decoding!(r, column, sqlx::Postgres, PrimitiveDateTime => naive, OffsetDateTime => |v| v)
            }
            #[cfg(feature = "mysql")]
            Row::MySql(r) => {
                first_decoding!(r, column, sqlx::MySql, PrimitiveDateTime => naive, OffsetDateTime => |v| v)
            }
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => {
                first_decoding!(r, column, sqlx::Sqlite, PrimitiveDateTime => naive, OffsetDateTime => |v| v)
            }
        };
        value.map_err(|e| column_error(column, e))
    }

    /// A timestamp column that must not be `NULL`.
    pub fn get_timestamp(&self, column: &str) -> Result<OffsetDateTime, SqlxError> {
        required(column, self.get_opt_timestamp(column))
    }

    /// A date column, `None` for `NULL`.
    pub fn get_opt_date(&self, column: &str) -> Result<Option<Date>, SqlxError> {
        let value: Result<Option<Date>, sqlx::Error> = match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => first_decoding!(r, column, sqlx::Postgres, Date => |v| v),
            #[cfg(feature = "mysql")]
            Row::MySql(r) => first_decoding!(r, column, sqlx::MySql, Date => |v| v),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => first_decoding!(r, column, sqlx::Sqlite, Date => |v| v),
        };
        value.map_err(|e| column_error(column, e))
    }

    /// A numeric column, `None` for `NULL`. On SQLite, which has no decimal type, the stored
    /// REAL or INTEGER is converted.
    pub fn get_opt_decimal(&self, column: &str) -> Result<Option<Decimal>, SqlxError> {
        let value: Result<Option<Decimal>, sqlx::Error> = match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => first_decoding!(r, column, sqlx::Postgres, Decimal => |v| v),
            #[cfg(feature = "mysql")]
            Row::MySql(r) => first_decoding!(r, column, sqlx::MySql, Decimal => |v| v),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => {
                // A NUMERIC column keeps whole numbers as INTEGER, which sqlx will not decode
                // as f64: read those as i64 (exactly representable up to 2^53 as f64).
                #[allow(clippy::cast_precision_loss)]
                let real = match first_decoding!(r, column, sqlx::Sqlite, f64 => |v| v, i64 => |v| v as f64)
                {
                    Ok(v) => v,
                    Err(e) => return Err(column_error(column, e)),
                };
                return real
                    .map(|f| Decimal::try_from(f).map_err(|e| column_error(column, e)))
                    .transpose()
                    .map(|d| d.map(|d| d.normalize()));
            }
        };
        value.map_err(|e| column_error(column, e))
    }

    /// A numeric column that must not be `NULL`.
    pub fn get_decimal(&self, column: &str) -> Result<Decimal, SqlxError> {
        required(column, self.get_opt_decimal(column))
    }

    fn opt_i64(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => {
                first_decoding!(r, column, sqlx::Postgres, i64 => |v| v, i32 => i64::from, i16 => i64::from)
            }
            #[cfg(feature = "mysql")]
            Row::MySql(r) => first_decoding!(r, column, sqlx::MySql, i64 => |v| v),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => first_decoding!(r, column, sqlx::Sqlite, i64 => |v| v),
        }
    }
}

/// The driver-independent accessors, so one [`RowMapper`](fhir_facade_core::sql::RowMapper)
/// serves every database.
impl fhir_facade_core::sql::SqlRow for Row {
    fn get_opt_i64(&self, column: &str) -> fhir_facade_core::Result<Option<i64>> {
        Ok(Row::get_opt_i64(self, column)?)
    }

    fn get_opt_str(&self, column: &str) -> fhir_facade_core::Result<Option<String>> {
        Ok(Row::get_opt_str(self, column)?)
    }

    fn get_opt_timestamp(&self, column: &str) -> fhir_facade_core::Result<Option<OffsetDateTime>> {
        Ok(Row::get_opt_timestamp(self, column)?)
    }

    fn get_opt_date(&self, column: &str) -> fhir_facade_core::Result<Option<Date>> {
        Ok(Row::get_opt_date(self, column)?)
    }

    fn get_opt_decimal(&self, column: &str) -> fhir_facade_core::Result<Option<Decimal>> {
        Ok(Row::get_opt_decimal(self, column)?)
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_numeric_columns_read_whole_and_fractional_values() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (v NUMERIC(10,2))")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (72), (5.4), (NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let rows = sqlx::query("SELECT v FROM t ORDER BY rowid")
            .fetch_all(&pool)
            .await
            .unwrap();
        let values: Vec<Option<Decimal>> = rows
            .into_iter()
            .map(|r| Row::Sqlite(r).get_opt_decimal("v").unwrap())
            .collect();
        assert_eq!(
            values,
            vec![Some(Decimal::from(72)), Some(Decimal::new(54, 1)), None]
        );
    }
}
