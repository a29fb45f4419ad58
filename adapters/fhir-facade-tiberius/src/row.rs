//! Result rows, for row mappers.

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::TiberiusError;

/// One result row. The accessors read a column by name (or position) and accept the storage
/// types legacy schemas use for it: any integer width, `CHAR`/`VARCHAR`/`NCHAR`/`NVARCHAR`,
/// `datetime`/`datetime2` (read as UTC) or `datetimeoffset`, `decimal`/`numeric`, `date`,
/// `bit`. A column the row does not have is an error, never `NULL`.
pub struct Row(tiberius::Row);

impl From<tiberius::Row> for Row {
    fn from(row: tiberius::Row) -> Self {
        Row(row)
    }
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rows hold patient data, which stays out of logs.
        f.write_str("Row(..)")
    }
}

/// Tries each listed Rust type in turn on the row's column and converts the first that decodes.
macro_rules! first_decoding {
    ($row:expr, $col:expr, $ty:ty => $conv:expr) => {
        $row.try_get::<$ty, _>($col).map(|v| v.map($conv))
    };
    ($row:expr, $col:expr, $ty:ty => $conv:expr, $($rest:tt)+) => {
        first_decoding!($row, $col, $ty => $conv)
            .or_else(|_| first_decoding!($row, $col, $($rest)+))
    };
}

fn column_error(column: impl std::fmt::Display, e: impl std::fmt::Display) -> TiberiusError {
    TiberiusError::Column {
        column: column.to_string(),
        message: e.to_string(),
    }
}

fn required<T>(column: &str, value: Result<Option<T>, TiberiusError>) -> Result<T, TiberiusError> {
    value?.ok_or_else(|| column_error(column, "is NULL"))
}

type Decoded<T> = tiberius::Result<Option<T>>;

impl Row {
    /// An integer column (`tinyint` to `bigint`), `None` for `NULL`.
    pub fn get_opt_i64(&self, column: &str) -> Result<Option<i64>, TiberiusError> {
        let value: Decoded<i64> = first_decoding!(
            self.0, column, i64 => |v| v, i32 => i64::from, i16 => i64::from, u8 => i64::from
        );
        value.map_err(|e| column_error(column, e))
    }

    /// An integer column that must not be `NULL`.
    pub fn get_i64(&self, column: &str) -> Result<i64, TiberiusError> {
        required(column, self.get_opt_i64(column))
    }

    /// The integer in the column at `index` (for `COUNT(*)`, which is an `int`).
    pub fn get_i64_at(&self, index: usize) -> Result<i64, TiberiusError> {
        let value: Decoded<i64> = first_decoding!(self.0, index, i64 => |v| v, i32 => i64::from);
        required("0", value.map_err(|e| column_error(index, e)))
    }

    /// A text column (`CHAR` keeps its padding), `None` for `NULL`.
    pub fn get_opt_str(&self, column: &str) -> Result<Option<String>, TiberiusError> {
        let value: Decoded<String> = first_decoding!(self.0, column, &str => str::to_owned);
        value.map_err(|e| column_error(column, e))
    }

    /// A text column that must not be `NULL`.
    pub fn get_str(&self, column: &str) -> Result<String, TiberiusError> {
        required(column, self.get_opt_str(column))
    }

    /// A timestamp column; `datetime`/`datetime2` are read as UTC. `None` for `NULL`.
    pub fn get_opt_timestamp(&self, column: &str) -> Result<Option<OffsetDateTime>, TiberiusError> {
        let value: Decoded<OffsetDateTime> = first_decoding!(
            self.0, column,
            PrimitiveDateTime => PrimitiveDateTime::assume_utc,
            OffsetDateTime => |v| v
        );
        value.map_err(|e| column_error(column, e))
    }

    /// A timestamp column that must not be `NULL`.
    pub fn get_timestamp(&self, column: &str) -> Result<OffsetDateTime, TiberiusError> {
        required(column, self.get_opt_timestamp(column))
    }

    /// A date column, `None` for `NULL`.
    pub fn get_opt_date(&self, column: &str) -> Result<Option<Date>, TiberiusError> {
        let value: Decoded<Date> = first_decoding!(self.0, column, Date => |v| v);
        value.map_err(|e| column_error(column, e))
    }

    /// A `decimal`/`numeric` column, `None` for `NULL`.
    pub fn get_opt_decimal(&self, column: &str) -> Result<Option<Decimal>, TiberiusError> {
        let value: Decoded<Decimal> = first_decoding!(self.0, column, Decimal => |v| v);
        value.map_err(|e| column_error(column, e))
    }

    /// A `decimal`/`numeric` column that must not be `NULL`.
    pub fn get_decimal(&self, column: &str) -> Result<Decimal, TiberiusError> {
        required(column, self.get_opt_decimal(column))
    }

    /// A `bit` column, `None` for `NULL`.
    pub fn get_opt_bool(&self, column: &str) -> Result<Option<bool>, TiberiusError> {
        let value: Decoded<bool> = first_decoding!(self.0, column, bool => |v| v);
        value.map_err(|e| column_error(column, e))
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
