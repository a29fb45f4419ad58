//! # omop-facade
//!
//! An example facade: FHIR R4 over the OHDSI OMOP Common Data Model v5.4, as it is stored in
//! PostgreSQL, SQL Server or SQLite, with nothing added to the database.
//!
//! | FHIR | OMOP |
//! |---|---|
//! | `Patient/{person_id}` | `person` (+ `location`, `death`) |
//! | `Encounter/{visit_occurrence_id}` | `visit_occurrence` |
//! | `Condition/{condition_occurrence_id}` | `condition_occurrence` |
//! | `Procedure/{procedure_occurrence_id}` | `procedure_occurrence` |
//! | `MedicationRequest/{drug_exposure_id}` | `drug_exposure` whose concept is not CVX |
//! | `Immunization/{drug_exposure_id}` | `drug_exposure` whose concept is CVX |
//! | `Observation/meas-{measurement_id}`, `Observation/obs-{observation_id}` | `measurement`, `observation` |
//!
//! Search parameters (US Core's for these types): Patient `_id`, `identifier`, `gender`,
//! `birthdate` (at the precision of year/month/day present), `death-date`; Encounter `patient`,
//! `subject`, `date`, `class`, `type`; Condition `patient`, `subject`, `encounter`, `code`,
//! `category`, `clinical-status`, `onset-date`; Procedure `patient`, `subject`, `encounter`,
//! `code`, `date`; MedicationRequest `patient`, `subject`, `encounter`, `code`, `intent`,
//! `status`, `authoredon`; Immunization `patient`, `vaccine-code`, `status`, `date`; Observation
//! `patient`, `subject`, `encounter`, `code`, `category`, `date`, `value-quantity`,
//! `value-concept`; with `_include`, `_revinclude`, `_sort`, `_count`, chains, `_has` and
//! compartment searches as the core provides them.
//!
//! What the CDM does not record is not invented: `_lastUpdated` is not mapped (the CDM keeps no
//! record timestamps); `Patient.identifier` (`person_source_value`) has no system, since the CDM
//! does not say who issued it, so `identifier=system|value` matches nothing; statuses the CDM
//! has no column for are fixed (`Encounter` finished, `Procedure`/`Immunization`/
//! `MedicationRequest` completed, intent order, `Observation` final); `Condition.clinicalStatus`
//! is resolved when the condition has an end date, active otherwise, and its category is
//! encounter-diagnosis when it has a visit, problem-list-item otherwise; visit concepts outside
//! the `v3-ActCode` table of [`mapping::ENCOUNTER_CLASSES`] get the class `UNK`
//! (`v3-NullFlavor`), their concept still being in `Encounter.type`.
//!
//! [`mapping`] declares the tables and search parameters, [`mappers`] turns rows into
//! resources (one mapper per type, for every database), [`load`] creates the schema with the
//! official DDL and loads OMOP CSV files, and [`demo`] builds the zero-setup SQLite database from
//! the subset committed under `data/`. [`open`] puts them together for a `DATABASE_URL`.

pub mod demo;
pub mod load;
pub mod mappers;
pub mod mapping;
pub mod vocab;

use std::sync::Arc;

use fhir_facade_core::sql::mapping::SqlSchema;
use fhir_facade_core::sql::{DatabaseKind, Executor, PoolSettings, RowMapper, SqlProvider};
use fhir_facade_core::{Error, Facade, Result};

use crate::mappers::{
    ConditionMapper, EncounterMapper, ImmunizationMapper, MedicationRequestMapper,
    ObservationMapper, PatientMapper, ProcedureMapper,
};
use crate::mapping::CdmLocation;

/// Environment variable: the database URL (`sqlite://...`, `postgres://...`, `mssql://...`);
/// unset, the embedded SQLite demo is served.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// Environment variable: the schema holding the CDM tables (default: the connection's own).
pub const CDM_SCHEMA_ENV: &str = "OMOP_CDM_SCHEMA";

/// The facade serving every mapped type from `executor`.
pub fn facade_over<E>(executor: E, schema: Arc<SqlSchema>) -> Result<Facade>
where
    E: Executor + Clone + 'static,
    PatientMapper: RowMapper<E::Row>,
    EncounterMapper: RowMapper<E::Row>,
    ConditionMapper: RowMapper<E::Row>,
    ProcedureMapper: RowMapper<E::Row>,
    MedicationRequestMapper: RowMapper<E::Row>,
    ImmunizationMapper: RowMapper<E::Row>,
    ObservationMapper: RowMapper<E::Row>,
{
    let e = || executor.clone();
    let s = || schema.clone();
    Facade::builder()
        .provider(SqlProvider::new(e(), s(), "Patient", PatientMapper)?)
        .provider(SqlProvider::new(e(), s(), "Encounter", EncounterMapper)?)
        .provider(SqlProvider::new(e(), s(), "Condition", ConditionMapper)?)
        .provider(SqlProvider::new(e(), s(), "Procedure", ProcedureMapper)?)
        .provider(SqlProvider::new(
            e(),
            s(),
            "MedicationRequest",
            MedicationRequestMapper,
        )?)
        .provider(SqlProvider::new(
            e(),
            s(),
            "Immunization",
            ImmunizationMapper,
        )?)
        .provider(SqlProvider::new(
            e(),
            s(),
            "Observation",
            ObservationMapper,
        )?)
        .build()
}

/// The facade for a database URL: `sqlite:`, `postgres:`/`postgresql:` or
/// `mssql:`/`sqlserver:`, with the CDM tables at `at`, over a pool of at most
/// `max_connections` and the other [`PoolSettings`] at their defaults.
pub async fn open(url: &str, at: &CdmLocation, max_connections: u32) -> Result<Facade> {
    let settings = PoolSettings {
        max_connections,
        ..PoolSettings::default()
    };
    open_with(url, at, &settings).await
}

/// [`open`] over a pool sized and timed by `settings`.
pub async fn open_with(url: &str, at: &CdmLocation, settings: &PoolSettings) -> Result<Facade> {
    CdmDatabase::connect(url, settings).await?.facade(at)
}

/// A connection pool to the CDM database: what the facade reads, and what `/readyz` pings.
#[derive(Debug, Clone)]
pub enum CdmDatabase {
    /// PostgreSQL or SQLite.
    Sqlx(fhir_facade_sqlx::Database),
    /// SQL Server.
    MsSql(fhir_facade_tiberius::Database),
}

impl CdmDatabase {
    /// Connects a pool for a `sqlite:`, `postgres:`/`postgresql:` or `mssql:`/`sqlserver:` URL,
    /// sized and timed by `settings`.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<CdmDatabase> {
        match DatabaseKind::from_url(url)? {
            DatabaseKind::MsSql => Ok(CdmDatabase::MsSql(
                fhir_facade_tiberius::Database::connect(url, settings).await?,
            )),
            DatabaseKind::Sqlite | DatabaseKind::Postgres => Ok(CdmDatabase::Sqlx(
                fhir_facade_sqlx::Database::connect(url, settings).await?,
            )),
            DatabaseKind::MySql => Err(Error::Config(format!(
                "{DATABASE_URL_ENV}: MySQL is not supported (sqlite, postgres, mssql)"
            ))),
        }
    }

    /// The facade over this pool, with the CDM tables at `at`.
    pub fn facade(&self, at: &CdmLocation) -> Result<Facade> {
        match self {
            CdmDatabase::MsSql(db) => {
                let schema = Arc::new(mapping::schema(at, db.dialect())?);
                facade_over(db.clone(), schema)
            }
            CdmDatabase::Sqlx(db) => {
                let schema = Arc::new(mapping::schema(at, Executor::dialect(db))?);
                facade_over(db.clone(), schema)
            }
        }
    }

    /// Whether the database answers `SELECT 1` (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let one = fhir_facade_core::sql::SqlFragment::sql("SELECT 1");
        match self {
            CdmDatabase::Sqlx(db) => db.fetch_all(&one, None).await.is_ok(),
            CdmDatabase::MsSql(db) => db.fetch_all(&one, None).await.is_ok(),
        }
    }
}

/// The URL of a SQLite file, read-only.
pub fn sqlite_read_only_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=ro", path.display())
}
