//! [`SqlProvider`]: a resource type served from one mapped table, over any database driver that
//! implements [`Executor`].
//!
//! The driver adapters only run statements and decode rows; how a read, a `read_many` and a
//! paged search become [`SqlPlan`](super::SqlPlan)s, and how their rows become a
//! [`SearchPage`], lives here once.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::mapping::SqlSchema;
use super::{Dialect, SqlTranslator};
use crate::search::SearchParamDef;
use crate::sql::SqlFragment;
use crate::{
    Context, Error, Resource, ResourceProvider, Result, SearchPage, SearchQuery, SearchTranslator,
};

/// Runs rendered statements on one database. Implemented by the driver adapters.
///
/// Implementations bind every value, apply their time limit, log failures (SQL text and error
/// at `error` level, with the request id) and return [`Error::Database`] without driver details
/// for the client.
#[async_trait]
pub trait Executor: Send + Sync {
    /// One result row, as the driver's [`RowMapper`]s read it.
    type Row: Send + Sync;

    /// The SQL dialect of the database.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a `SELECT` and returns its rows.
    async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> Result<Vec<Self::Row>>;

    /// Runs a `SELECT COUNT(*)` and returns the number.
    async fn fetch_count(&self, statement: &SqlFragment, request_id: Option<&str>) -> Result<u64>;
}

/// Turns one row (of a mapping's select columns) into a resource.
pub trait RowMapper<R>: Send + Sync {
    /// The resource for `row`; column errors become a 500.
    fn to_resource(&self, row: &R) -> Result<Resource>;
}

/// A [`ResourceProvider`] for the resource type of one
/// [`TableMapping`](super::mapping::TableMapping): `read`, `search` and `read_many` all run
/// through the [`SqlTranslator`], so the mapping's base filter and the request's constraints
/// apply to each of them. A read is a keyed lookup, `read_many` one `IN` lookup per chunk of
/// ids the database can bind.
#[derive(Debug)]
pub struct SqlProvider<E, M> {
    resource_type: String,
    id_param: &'static SearchParamDef,
    executor: E,
    translator: SqlTranslator,
    mapper: M,
}

impl<E: Executor, M: RowMapper<E::Row>> SqlProvider<E, M> {
    /// A provider of `resource_type`, which must be mapped in `schema` with `_id`
    /// ([`Error::Config`] otherwise).
    pub fn new(
        executor: E,
        schema: Arc<SqlSchema>,
        resource_type: &str,
        mapper: M,
    ) -> Result<Self> {
        let table = schema
            .table(resource_type)
            .ok_or_else(|| Error::Config(format!("{resource_type} is not mapped")))?;
        let id_param = table
            .search_params()
            .into_iter()
            .find(|p| p.code == "_id")
            .ok_or_else(|| Error::Config(format!("{resource_type} does not map _id")))?;
        Ok(SqlProvider {
            resource_type: resource_type.to_owned(),
            id_param,
            translator: SqlTranslator::new(executor.dialect(), schema),
            executor,
            mapper,
        })
    }

    /// The translator, for callers that build queries themselves.
    pub fn translator(&self) -> &SqlTranslator {
        &self.translator
    }

    /// The executor the provider runs on.
    pub fn executor(&self) -> &E {
        &self.executor
    }

    /// The resources with these ids that the request may see, in the order of `ids`: one keyed
    /// statement without sort or paging (see [`SqlTranslator::translate_lookup`]).
    async fn lookup(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = SearchQuery::by_ids(&self.resource_type, self.id_param, ids);
        let statement = self.translator.translate_lookup(&query, &ctx.constraints)?;
        let rows = self
            .executor
            .fetch_all(&statement, ctx.request_id.as_deref())
            .await?;
        let mut resources = rows
            .iter()
            .map(|row| self.mapper.to_resource(row))
            .collect::<Result<Vec<_>>>()?;
        // The database returns a lookup in any order; the same request gives the same answer.
        if resources.len() > 1 {
            let position: HashMap<&str, usize> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            resources.sort_by_key(|r| r.id().and_then(|id| position.get(id).copied()));
        }
        Ok(resources)
    }
}

#[async_trait]
impl<E: Executor, M: RowMapper<E::Row>> ResourceProvider for SqlProvider<E, M> {
    fn resource_type(&self) -> &str {
        &self.resource_type
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.translator
            .schema()
            .table(&self.resource_type)
            .map(|t| t.search_params())
            .unwrap_or_default()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.lookup(std::slice::from_ref(&id.to_owned()), ctx)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound {
                resource_type: self.resource_type.clone(),
                id: id.to_owned(),
            })
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        // One statement per chunk that the database can bind, with room for the constraints.
        let chunk = (self.executor.dialect().max_bind_values() / 2).max(1);
        let mut resources = Vec::with_capacity(ids.len());
        for ids in ids.chunks(chunk) {
            resources.extend(self.lookup(ids, ctx).await?);
        }
        Ok(resources)
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let plan = self.translator.translate(query, &ctx.constraints)?;
        let request_id = ctx.request_id.as_deref();
        let mut page = SearchPage::default();
        if let Some(select) = &plan.select {
            let rows = self.executor.fetch_all(select, request_id).await?;
            let fetched = rows.len();
            for row in rows.iter().take(plan.kept(fetched)) {
                page.resources.push(self.mapper.to_resource(row)?);
            }
            if plan.backward {
                page.resources.reverse();
            }
            let first_id = page.resources.first().and_then(Resource::id);
            let last_id = page.resources.last().and_then(Resource::id);
            (page.next, page.previous) = plan.links(fetched, first_id, last_id);
        }
        if let Some(count) = &plan.count {
            page.total = Some(self.executor.fetch_count(count, request_id).await?);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::registry::r4_param;
    use crate::sql::MsSqlDialect;
    use crate::sql::mapping::{IdKind, ParamMapping, TableMapping};
    use std::sync::Mutex;

    /// Records the number of values each statement binds and returns no rows.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<usize>>);

    #[async_trait]
    impl Executor for Recorder {
        type Row = ();

        fn dialect(&self) -> &'static dyn Dialect {
            &MsSqlDialect
        }

        async fn fetch_all(&self, statement: &SqlFragment, _: Option<&str>) -> Result<Vec<()>> {
            self.0.lock().unwrap().push(statement.binds().count());
            Ok(Vec::new())
        }

        async fn fetch_count(&self, _: &SqlFragment, _: Option<&str>) -> Result<u64> {
            Ok(0)
        }
    }

    struct NoRows;

    impl RowMapper<()> for NoRows {
        fn to_resource(&self, _: &()) -> Result<Resource> {
            Err(Error::Internal("no rows expected".into()))
        }
    }

    #[tokio::test]
    async fn read_many_splits_ids_into_statements_the_database_can_bind() {
        let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
            .select(["p.id"])
            .param(r4_param("Patient", "_id").unwrap(), ParamMapping::Id);
        let schema = Arc::new(SqlSchema::new([patient]).unwrap());
        let provider = SqlProvider::new(Recorder::default(), schema, "Patient", NoRows).unwrap();
        let ids: Vec<String> = (1..=2_500).map(|n| n.to_string()).collect();
        provider.read_many(&ids, &Context::new()).await.unwrap();
        let statements = provider.executor().0.lock().unwrap().clone();
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(
            statements
                .iter()
                .all(|&binds| binds <= MsSqlDialect.max_bind_values())
        );
    }
}
