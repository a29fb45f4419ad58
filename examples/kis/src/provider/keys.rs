//! The keys of new rows (`pat_id`, `befund_id`), decided by the database inside the write's
//! transaction.

use fhir_facade_core::Result;
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_core::sql::SqlRow;
use fhir_facade_core::sql::write::Transaction;

use crate::Backend;

/// The statements that decide the next key of `table` inside a write transaction on `backend`:
/// an optional lock statement, then a `SELECT` of `next_key` (no row means an empty table: key 1).
/// PostgreSQL locks the table against other writers (readers go on); MariaDB locks the highest
/// key and the gap above it (`ORDER BY ... DESC LIMIT 1 FOR UPDATE`: a second writer waits there
/// instead of both inserting into the gap and deadlocking, as with `MAX(...) FOR UPDATE`); SQL
/// Server locks the range read (`UPDLOCK, HOLDLOCK`); SQLite has one writer at a time anyway. A
/// writer that still loses a race fails on the primary key and runs again.
///
/// ```
/// use kis_facade::Backend;
/// use kis_facade::provider::next_key_statements;
///
/// let (lock, select) = next_key_statements(Backend::MsSql, "patient", "pat_id");
/// assert_eq!(lock, None);
/// assert_eq!(
///     select,
///     "SELECT COALESCE(MAX(pat_id), 0) + 1 AS next_key FROM patient WITH (UPDLOCK, HOLDLOCK)"
/// );
/// ```
pub fn next_key_statements(backend: Backend, table: &str, key: &str) -> (Option<String>, String) {
    let max = format!("SELECT COALESCE(MAX({key}), 0) + 1 AS next_key FROM {table}");
    match backend {
        Backend::Postgres => (
            Some(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")),
            max,
        ),
        Backend::MySql => (
            None,
            format!(
                "SELECT {key} + 1 AS next_key FROM {table} ORDER BY {key} DESC LIMIT 1 FOR UPDATE"
            ),
        ),
        Backend::MsSql => (None, format!("{max} WITH (UPDLOCK, HOLDLOCK)")),
        Backend::Sqlite => (None, max),
    }
}

/// The next key of `table`, decided by the database inside the transaction.
pub(super) async fn next_key<T: Transaction>(
    tx: &mut T,
    backend: Backend,
    table: &str,
    key: &str,
) -> Result<i64>
where
    T::Row: SqlRow,
{
    let (lock, select) = next_key_statements(backend, table, key);
    if let Some(lock) = lock {
        tx.execute(&SqlFragment::sql(lock)).await?;
    }
    let rows = tx.fetch_all(&SqlFragment::sql(select)).await?;
    rows.first().map_or(Ok(1), |row| row.get_i64("next_key"))
}
