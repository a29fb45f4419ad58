//! Connecting to the KIS database and building the [`Facade`].

use fhir_facade_core::sql::write::Transact;
use fhir_facade_core::sql::{PoolSettings, SqlProvider, SqlRow};
use fhir_facade_core::{Facade, Result};

use crate::mapping::{ConditionMapper, EncounterMapper, PractitionerMapper, shared_schema};
use crate::provider::{ObservationProvider, PatientProvider};
use crate::{Backend, KisError};

/// The facade over `db`: Patient (read, search, create, update, delete), Observation (read,
/// search, create), Encounter, Condition and Practitioner (read, search).
pub fn facade<E>(db: E, backend: Backend) -> Result<Facade>
where
    E: Transact + Clone + 'static,
    E::Row: SqlRow + 'static,
{
    let schema = shared_schema(backend)?;
    Facade::builder()
        .provider(PatientProvider::new(db.clone(), schema.clone(), backend)?)
        .provider(ObservationProvider::new(
            db.clone(),
            schema.clone(),
            backend,
        )?)
        .provider(SqlProvider::new(
            db.clone(),
            schema.clone(),
            "Encounter",
            EncounterMapper,
        )?)
        .provider(SqlProvider::new(
            db.clone(),
            schema.clone(),
            "Condition",
            ConditionMapper,
        )?)
        .provider(SqlProvider::new(
            db,
            schema,
            "Practitioner",
            PractitionerMapper,
        )?)
        .build()
}

async fn load_all<E: Transact>(
    db: &E,
    backend: Backend,
    data: &crate::generate::Dataset,
    replace: bool,
) -> Result<()> {
    use fhir_facade_core::sql::write::Transaction;
    let mut tx = db.begin(Some("generate")).await?;
    crate::generate::load(&mut tx, backend, data, replace).await?;
    tx.commit().await
}

/// A connection pool to the KIS database of a `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum KisDatabase {
    /// PostgreSQL, MariaDB/MySQL or SQLite.
    Sqlx(fhir_facade_sqlx::Database),
    /// SQL Server.
    MsSql(fhir_facade_tiberius::Database),
}

impl KisDatabase {
    /// Connects a pool of at most `max_connections` to `url`, the other [`PoolSettings`] at
    /// their defaults.
    pub async fn connect(
        url: &str,
        max_connections: u32,
    ) -> std::result::Result<(KisDatabase, Backend), KisError> {
        let settings = PoolSettings {
            max_connections,
            ..PoolSettings::default()
        };
        KisDatabase::connect_with(url, &settings).await
    }

    /// Connects a pool to `url`, sized and timed by `settings`.
    pub async fn connect_with(
        url: &str,
        settings: &PoolSettings,
    ) -> std::result::Result<(KisDatabase, Backend), KisError> {
        let backend = Backend::from_url(url)?;
        let connect = |e: &dyn std::fmt::Display| KisError::Connect(e.to_string());
        let db = match backend {
            Backend::MsSql => KisDatabase::MsSql(
                fhir_facade_tiberius::Database::connect(url, settings)
                    .await
                    .map_err(|e| connect(&e))?,
            ),
            _ => KisDatabase::Sqlx(
                fhir_facade_sqlx::Database::connect(url, settings)
                    .await
                    .map_err(|e| connect(&e))?,
            ),
        };
        Ok((db, backend))
    }

    /// Whether the database answers `SELECT 1` (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let one = fhir_facade_core::sql::SqlFragment::sql("SELECT 1");
        match self {
            KisDatabase::Sqlx(db) => db.fetch_all(&one, None).await.is_ok(),
            KisDatabase::MsSql(db) => db.fetch_all(&one, None).await.is_ok(),
        }
    }

    /// Creates the legacy schema (dropping its tables first when `replace`) and fills it with
    /// `patients` generated patients from `seed`, in one transaction.
    pub async fn generate(
        &self,
        backend: Backend,
        patients: u32,
        seed: u64,
        replace: bool,
    ) -> Result<()> {
        let data = crate::generate::Dataset::generate(patients, seed);
        match self {
            KisDatabase::Sqlx(db) => load_all(db, backend, &data, replace).await,
            KisDatabase::MsSql(db) => load_all(db, backend, &data, replace).await,
        }
    }

    /// The facade over this database.
    pub fn facade(&self, backend: Backend) -> Result<Facade> {
        match self {
            KisDatabase::Sqlx(db) => facade(db.clone(), backend),
            KisDatabase::MsSql(db) => facade(db.clone(), backend),
        }
    }
}
