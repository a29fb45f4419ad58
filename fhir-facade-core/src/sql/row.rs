//! [`SqlRow`]: column access that row mappers share across drivers.
//!
//! Each driver adapter has its own row type; a mapper written against this trait serves the
//! same schema from any of them (an example facade runs one mapper on PostgreSQL, SQLite and
//! SQL Server).

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use crate::{Error, Result};

/// A result row read by column name. Implemented by the driver adapters' rows.
///
/// The `get_opt_*` accessors return `None` for SQL `NULL`; the `get_*` ones fail on it. A column
/// the row does not have, or one that cannot be read as the asked type, is an error (a 500), so
/// a mapping mistake is never mistaken for a missing value.
///
/// ```
/// use fhir_facade_core::sql::{RowMapper, SqlRow};
/// use fhir_facade_core::{Resource, Result};
/// use serde_json::json;
///
/// /// Maps `SELECT p.pat_id AS id, p.nachname AS family ...` rows, whatever the driver.
/// struct Patients;
///
/// impl<R: SqlRow> RowMapper<R> for Patients {
///     fn to_resource(&self, row: &R) -> Result<Resource> {
///         let mut patient = json!({
///             "resourceType": "Patient",
///             "id": row.get_i64("id")?.to_string(),
///         });
///         if let Some(family) = row.get_opt_str("family")? {
///             patient["name"] = json!([{ "family": family.trim_end() }]);
///         }
///         Resource::new(patient)
///     }
/// }
/// ```
pub trait SqlRow: Send + Sync {
    /// An integer column of any width.
    fn get_opt_i64(&self, column: &str) -> Result<Option<i64>>;

    /// A text column (`CHAR` keeps its padding).
    fn get_opt_str(&self, column: &str) -> Result<Option<String>>;

    /// A timestamp column; one without a time zone is read as UTC.
    fn get_opt_timestamp(&self, column: &str) -> Result<Option<OffsetDateTime>>;

    /// A date column.
    fn get_opt_date(&self, column: &str) -> Result<Option<Date>>;

    /// A numeric column.
    fn get_opt_decimal(&self, column: &str) -> Result<Option<Decimal>>;

    /// An integer column that must not be `NULL`.
    fn get_i64(&self, column: &str) -> Result<i64> {
        required(column, self.get_opt_i64(column))
    }

    /// A text column that must not be `NULL`.
    fn get_str(&self, column: &str) -> Result<String> {
        required(column, self.get_opt_str(column))
    }

    /// A timestamp column that must not be `NULL`.
    fn get_timestamp(&self, column: &str) -> Result<OffsetDateTime> {
        required(column, self.get_opt_timestamp(column))
    }

    /// A numeric column that must not be `NULL`.
    fn get_decimal(&self, column: &str) -> Result<Decimal> {
        required(column, self.get_opt_decimal(column))
    }
}

fn required<T>(column: &str, value: Result<Option<T>>) -> Result<T> {
    // The column name only: values are patient data.
    value?.ok_or_else(|| Error::Internal(format!("column {column} is NULL")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Texts(HashMap<&'static str, Option<&'static str>>);

    impl SqlRow for Texts {
        fn get_opt_i64(&self, column: &str) -> Result<Option<i64>> {
            self.get_opt_str(column)?
                .map(|s| s.parse().map_err(|_| Error::Internal(column.into())))
                .transpose()
        }
        fn get_opt_str(&self, column: &str) -> Result<Option<String>> {
            match self.0.get(column) {
                Some(v) => Ok(v.map(str::to_owned)),
                None => Err(Error::Internal(format!("no column {column}"))),
            }
        }
        fn get_opt_timestamp(&self, _: &str) -> Result<Option<OffsetDateTime>> {
            Ok(None)
        }
        fn get_opt_date(&self, _: &str) -> Result<Option<Date>> {
            Ok(None)
        }
        fn get_opt_decimal(&self, _: &str) -> Result<Option<Decimal>> {
            Ok(None)
        }
    }

    #[test]
    fn required_accessors_fail_on_null_without_the_value() {
        let row = Texts(HashMap::from([("id", Some("7")), ("name", None)]));
        assert_eq!(row.get_i64("id").unwrap(), 7);
        let err = row.get_str("name").unwrap_err();
        assert!(err.to_string().contains("name"));
        assert_eq!(err.status(), 500);
        assert!(row.get_str("missing").is_err());
    }
}
