//! The providers: Patient and Observation with their writes, the other types read-only.
//!
//! Every write runs as one transaction: a write that fails at any step, for a
//! bad request or a database error, leaves the tables as they were; one that conflicts with a
//! concurrent write runs again after a short jittered pause. Keys (`pat_id`, `befund_id`) are
//! assigned by the database inside the transaction (`MAX + 1` under the backend's table lock
//! where it has one, see [`next_key_statements`]); a replica that loses a race for a key fails
//! with a unique-key conflict and the whole write runs again. An incoming resource is read into
//! the columns it writes ([`PatientFields`], [`ObservationFields`]) before any transaction.
//!
//! | interaction | legacy tables |
//! |---|---|
//! | Patient create | new `pat_id`, `pat_nr` = `pat_id` as ten digits, `aend_zaehler` = 1 |
//! | Patient update | all mapped columns; `If-Match` against `aend_zaehler`, which is incremented; an unknown id is a 405 (no client-assigned ids) |
//! | Patient delete | `geloescht = 1` (then read answers 410, search never finds it) |
//! | Observation create | new `labor_befund` row; the LOINC code mapped to `labcode` through `labcode_map` |

mod keys;
mod validate;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::sql::BindValue;
use fhir_facade_core::sql::mapping::SqlSchema;
use fhir_facade_core::sql::write::Transact;
use fhir_facade_core::sql::{SqlProvider, SqlRow};
use fhir_facade_core::{
    Constraint, Context, Error, Interaction, Interactions, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery, Updated,
};

pub use keys::next_key_statements;
pub use validate::{ObservationFields, PatientFields};

use crate::Backend;
use crate::mapping::{ObservationMapper, PatientMapper};
use write::statement;

/// Whether the request may learn that `Patient/{id}` existed (for 410 instead of 404).
fn may_see_patient(ctx: &Context, id: &str) -> bool {
    ctx.constraints.iter().all(|c| {
        matches!(c, Constraint::Compartment { compartment_type, id: allowed }
            if compartment_type == "Patient" && allowed == id)
    })
}

fn patient_key(id: &str) -> Result<i64> {
    match fhir_facade_core::sql::mapping::IdKind::Integer.key(id) {
        Some(BindValue::Int(key)) => Ok(key),
        _ => Err(Error::NotFound {
            resource_type: "Patient".into(),
            id: id.into(),
        }),
    }
}

/// Patient: reads and searches through the mapping; create, update and delete write the
/// `patient` table.
pub struct PatientProvider<E: Transact> {
    inner: SqlProvider<E, PatientMapper>,
    backend: Backend,
}

impl<E: Transact> std::fmt::Debug for PatientProvider<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientProvider")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl<E> PatientProvider<E>
where
    E: Transact,
    E::Row: SqlRow,
{
    /// The provider over `executor`.
    pub fn new(executor: E, schema: Arc<SqlSchema>, backend: Backend) -> Result<Self> {
        Ok(PatientProvider {
            inner: SqlProvider::new(executor, schema, "Patient", PatientMapper)?,
            backend,
        })
    }
}

#[async_trait]
impl<E> ResourceProvider for PatientProvider<E>
where
    E: Transact + 'static,
    E::Row: SqlRow + 'static,
{
    fn resource_type(&self) -> &str {
        "Patient"
    }

    fn interactions(&self) -> Interactions {
        [
            Interaction::Read,
            Interaction::SearchType,
            Interaction::Create,
            Interaction::Update,
            Interaction::Delete,
        ]
        .into_iter()
        .collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.inner.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        match self.inner.read(id, ctx).await {
            Err(Error::NotFound { resource_type, id }) => {
                let deleted = match patient_key(&id) {
                    Ok(key) if may_see_patient(ctx, &id) => {
                        let rows = self
                            .inner
                            .executor()
                            .fetch_all(
                                &statement(
                                    &["SELECT geloescht FROM patient WHERE pat_id = ", ""],
                                    vec![BindValue::Int(key)],
                                ),
                                ctx.request_id.as_deref(),
                            )
                            .await?;
                        rows.first().map(|r| r.get_i64("geloescht")).transpose()? == Some(1)
                    }
                    _ => false,
                };
                Err(if deleted {
                    Error::Gone { resource_type, id }
                } else {
                    Error::NotFound { resource_type, id }
                })
            }
            other => other,
        }
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.inner.read_many(ids, ctx).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.inner.search(query, ctx).await
    }

    async fn create(&self, resource: Resource, ctx: &Context) -> Result<Resource> {
        let fields = PatientFields::from_resource(&resource)?;
        write::patient::create(
            self.inner.executor(),
            self.backend,
            self.inner.translator(),
            fields,
            ctx,
        )
        .await
    }

    async fn update(
        &self,
        id: &str,
        resource: Resource,
        if_match: Option<String>,
        ctx: &Context,
    ) -> Result<Updated> {
        let key = patient_key(id)?;
        let fields = PatientFields::from_resource(&resource)?;
        write::patient::update(
            self.inner.executor(),
            self.inner.translator(),
            key,
            id,
            fields,
            if_match,
            ctx,
        )
        .await
    }

    async fn delete(&self, id: &str, ctx: &Context) -> Result<()> {
        let key = patient_key(id)?;
        write::patient::delete(self.inner.executor(), self.inner.translator(), key, id, ctx).await
    }
}

/// Observation: reads and searches through the mapping; create writes `labor_befund`.
pub struct ObservationProvider<E: Transact> {
    inner: SqlProvider<E, ObservationMapper>,
    backend: Backend,
}

impl<E: Transact> std::fmt::Debug for ObservationProvider<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservationProvider")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl<E> ObservationProvider<E>
where
    E: Transact,
    E::Row: SqlRow,
{
    /// The provider over `executor`.
    pub fn new(executor: E, schema: Arc<SqlSchema>, backend: Backend) -> Result<Self> {
        Ok(ObservationProvider {
            inner: SqlProvider::new(executor, schema, "Observation", ObservationMapper)?,
            backend,
        })
    }
}

#[async_trait]
impl<E> ResourceProvider for ObservationProvider<E>
where
    E: Transact + 'static,
    E::Row: SqlRow + 'static,
{
    fn resource_type(&self) -> &str {
        "Observation"
    }

    fn interactions(&self) -> Interactions {
        [
            Interaction::Read,
            Interaction::SearchType,
            Interaction::Create,
        ]
        .into_iter()
        .collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.inner.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.inner.read(id, ctx).await
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.inner.read_many(ids, ctx).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.inner.search(query, ctx).await
    }

    async fn create(&self, resource: Resource, ctx: &Context) -> Result<Resource> {
        let fields = ObservationFields::from_resource(&resource)?;
        write::observation::create(
            self.inner.executor(),
            self.backend,
            self.inner.translator(),
            fields,
            ctx,
        )
        .await
    }
}
