//! What every write shares: the transaction it runs in, retried on a conflict, the statements it
//! builds and the reading back of what it wrote.
//!
//! - [`patient`]: Patient create, update and delete on `patient`;
//! - [`observation`]: Observation create on `labor_befund`.

pub(super) mod observation;
pub(super) mod patient;

use crate::value::{opt_text, text};
use fhir_facade_core::error::DatabaseErrorKind;
use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::write::{Transact, Transaction, Work, in_transaction, is_conflict};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::sql::{RowMapper, SqlTranslator};
use fhir_facade_core::{Context, Error, Resource, Result, SearchQuery};
use time::OffsetDateTime;

use crate::generate::push_value;

/// How often a write that lost a race for a key (or a deadlock) runs in all before answering 409.
const ATTEMPTS: u32 = 10;

/// A pause before running a conflicted write again: growing with the attempt, and jittered so
/// that the writers that collided do not collide again in step.
fn backoff(attempt: u32) -> std::time::Duration {
    let base_ms = (5u64 << attempt.min(5)).min(160);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % base_ms.max(1);
    std::time::Duration::from_millis(base_ms / 2 + jitter)
}

/// Runs `work` as one transaction ([`in_transaction`]); a conflict (a key taken by another
/// replica, a deadlock victim) runs it again on a new transaction after a jittered pause, up to
/// [`ATTEMPTS`] times.
pub(super) async fn run<E, T, F>(executor: &E, request_id: Option<&str>, mut work: F) -> Result<T>
where
    E: Transact,
    T: Send,
    F: for<'t> FnMut(&'t mut E::Transaction) -> Work<'t, T> + Send,
{
    let mut attempt = 1;
    loop {
        match in_transaction(executor, request_id, 1, &mut work).await {
            Err(error) if is_conflict(&error) && attempt < ATTEMPTS => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A statement of SQL text and bound values, in order.
pub(super) fn statement(parts: &[&str], binds: Vec<BindValue>) -> SqlFragment {
    let mut s = SqlFragment::new();
    let mut binds = binds.into_iter();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            push_value(&mut s, binds.next().expect("one value between two parts"));
        }
        s.push(*part);
    }
    s
}

/// The time of a write, in whole seconds (MariaDB's `DATETIME` keeps no fraction).
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// A conflict with a concurrent write, which [`in_transaction`] answers by running again.
fn concurrent(what: &str) -> Error {
    Error::Database {
        kind: DatabaseErrorKind::Conflict,
        source: format!("{what} changed concurrently").into(),
    }
}

/// Reads `id` of `resource_type` back through its mapping, under the request's constraints.
async fn read_back<T, M>(
    tx: &mut T,
    translator: &SqlTranslator,
    mapper: &M,
    resource_type: &str,
    id: i64,
    ctx: &Context,
) -> Result<Option<Resource>>
where
    T: Transaction,
    M: RowMapper<T::Row>,
{
    let query = SearchQuery::by_ids(resource_type, id_param(resource_type), &[id.to_string()]);
    let select = translator.translate_lookup(&query, &ctx.constraints)?;
    let rows = tx.fetch_all(&select).await?;
    rows.first().map(|row| mapper.to_resource(row)).transpose()
}

fn id_param(resource_type: &str) -> &'static SearchParamDef {
    r4_param(resource_type, "_id").expect("every resource type has _id")
}
