//! Transactions on SQLite: committed work is visible, failed work leaves nothing behind, and a
//! unique-key race is a retryable conflict (409).

use std::time::Duration;

use fhir_facade_core::sql::write::{Transact, Transaction, in_transaction};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_sqlx::{Database, Pool};

async fn db() -> Database {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let db = Database::new(Pool::Sqlite(pool), Duration::from_secs(10));
    db.execute(
        &SqlFragment::sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"),
        None,
    )
    .await
    .unwrap();
    db
}

fn insert(id: i64, v: &str) -> SqlFragment {
    let mut s = SqlFragment::sql("INSERT INTO t (id, v) VALUES (");
    s.push_bind(BindValue::Int(id));
    s.push(", ");
    s.push_bind(BindValue::Text(v.into()));
    s.push(")");
    s
}

async fn ids(db: &Database) -> Vec<i64> {
    let rows = db
        .fetch_all(&SqlFragment::sql("SELECT id FROM t ORDER BY id"), None)
        .await
        .unwrap();
    rows.iter().map(|r| r.get_i64("id").unwrap()).collect()
}

#[tokio::test]
async fn commit_rollback_and_drop() {
    let db = db().await;
    let mut tx = db.begin(Some("t1")).await.unwrap();
    assert_eq!(tx.execute(&insert(1, "a")).await.unwrap(), 1);
    let seen = tx
        .fetch_all(&SqlFragment::sql("SELECT id FROM t"))
        .await
        .unwrap();
    assert_eq!(seen.len(), 1, "a transaction sees its own writes");
    tx.commit().await.unwrap();

    let mut tx = db.begin(None).await.unwrap();
    tx.execute(&insert(2, "b")).await.unwrap();
    tx.rollback().await.unwrap();

    let mut tx = db.begin(None).await.unwrap();
    tx.execute(&insert(3, "c")).await.unwrap();
    drop(tx);
    assert_eq!(ids(&db).await, [1]);
}

#[tokio::test]
async fn a_failed_unit_of_work_leaves_the_table_unchanged() {
    let db = db().await;
    db.execute(&insert(1, "a"), None).await.unwrap();
    let err = in_transaction(&db, None, 3, |tx| {
        Box::pin(async move {
            tx.execute(&insert(2, "b")).await?;
            // NOT NULL violated: an ordinary failure, not retried.
            let mut bad = SqlFragment::sql("INSERT INTO t (id, v) VALUES (3, ");
            bad.push_bind(BindValue::Null);
            bad.push(")");
            tx.execute(&bad).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.status(), 500);
    assert_eq!(ids(&db).await, [1]);
}

#[tokio::test]
async fn a_duplicate_key_is_a_conflict_and_the_unit_reruns() {
    let db = db().await;
    db.execute(&insert(1, "a"), None).await.unwrap();
    let mut runs = 0;
    let next = in_transaction(&db, None, 3, |tx| {
        runs += 1;
        // The first run takes a key another writer has taken (as a stale MAX would).
        let key = if runs == 1 { 1 } else { 2 };
        Box::pin(async move {
            tx.execute(&insert(key, "b")).await?;
            Ok(key)
        })
    })
    .await
    .unwrap();
    assert_eq!((next, runs), (2, 2));
    assert_eq!(ids(&db).await, [1, 2]);

    let err = in_transaction(&db, None, 2, |tx| {
        Box::pin(async move { tx.execute(&insert(1, "again")).await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.status(), 409);
}
