//! The SQL the facade sends for each request, recorded by serving the request once in this
//! process over the same database.
//!
//! The raw contender replays exactly these statements, so both sides fetch the same rows: what
//! the facade adds on top of its own queries is what the benchmark measures. The in-process
//! facade is built like the `omop-facade` binary builds its own (the same mapping and router).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use fhir_facade_axum::FhirRouter;
use fhir_facade_core::sql::{Dialect, Executor, SqlFragment};
use fhir_facade_sqlx::{Database, Row};
use http_body_util::BodyExt;
use omop_facade::mapping::{self, CdmLocation};
use tower::ServiceExt;

use crate::workload::{Unit, Workload};

/// The base URL of the in-process facade; `next` links are taken relative to it.
const BASE: &str = "http://bench.invalid/fhir";

/// An executor that runs statements on the database and keeps a copy of each.
#[derive(Clone)]
struct Recording {
    db: Database,
    log: Arc<Mutex<Vec<SqlFragment>>>,
}

impl Recording {
    fn take(&self) -> Vec<SqlFragment> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn push(&self, statement: &SqlFragment) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(statement.clone());
    }
}

#[async_trait]
impl Executor for Recording {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        Executor::dialect(&self.db)
    }

    async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<Vec<Row>> {
        self.push(statement);
        self.db.fetch_all(statement, request_id).await
    }

    async fn fetch_count(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<u64> {
        self.push(statement);
        self.db.fetch_count(statement, request_id).await
    }
}

/// The in-process facade that records the SQL of each request it serves.
pub(crate) struct Recorder {
    recording: Recording,
    router: axum::Router,
}

impl Recorder {
    pub(crate) fn new(db: Database) -> Result<Recorder, String> {
        let recording = Recording {
            db,
            log: Arc::default(),
        };
        let schema = mapping::schema(
            &CdmLocation::default_schema(),
            Executor::dialect(&recording.db),
        )
        .map_err(|e| e.to_string())?;
        let facade = omop_facade::facade_over(recording.clone(), Arc::new(schema))
            .map_err(|e| e.to_string())?;
        let router = FhirRouter::builder(facade)
            .base_url(Some(BASE.to_owned()))
            .build();
        Ok(Recorder { recording, router })
    }

    /// Serves one path; its status, body and the statements it ran.
    async fn get(&self, path: &str) -> Result<(u16, Bytes, Vec<SqlFragment>), String> {
        self.recording.take();
        let request = axum::http::Request::get(format!("/{path}"))
            .header("accept", "application/fhir+json")
            .body(axum::body::Body::empty())
            .map_err(|e| e.to_string())?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body, self.recording.take()))
    }

    /// The unit of work of `workload` for `person`: its requests (a paging walk follows the
    /// `next` links to the end) and their statements. Every request must succeed.
    pub(crate) async fn unit(&self, workload: Workload, person: i64) -> Result<Unit, String> {
        let mut unit = Unit {
            paths: Vec::new(),
            statements: Vec::new(),
            entries: 0,
        };
        let mut next = Some(workload.first_path(person));
        while let Some(path) = next.take() {
            let (status, body, statements) = self.get(&path).await?;
            if status != 200 {
                return Err(format!(
                    "the facade answered {path} with {status}: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let answer: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))?;
            unit.entries += match answer["entry"].as_array() {
                Some(entries) => entries.len(),
                None if answer["resourceType"] == "Bundle" => 0,
                None => 1,
            };
            unit.statements.extend(statements);
            unit.paths.push(path);
            if workload == Workload::W6 {
                next = next_link(&answer)?;
            }
        }
        Ok(unit)
    }
}

/// The `next` link of a searchset Bundle, relative to the in-process base.
fn next_link(bundle: &serde_json::Value) -> Result<Option<String>, String> {
    let Some(links) = bundle["link"].as_array() else {
        return Ok(None);
    };
    let Some(url) = links
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
    else {
        return Ok(None);
    };
    url.strip_prefix(BASE)
        .map(|rest| Some(rest.trim_start_matches('/').to_owned()))
        .ok_or_else(|| format!("a next link outside the base: {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_taken_relative_to_the_base() {
        let bundle = serde_json::json!({
            "resourceType": "Bundle",
            "link": [
                {"relation": "self", "url": format!("{BASE}/Observation?patient=1")},
                {"relation": "next", "url": format!("{BASE}/Observation?patient=1&_page=x")},
            ],
        });
        assert_eq!(
            next_link(&bundle).unwrap().as_deref(),
            Some("Observation?patient=1&_page=x")
        );
        let last = serde_json::json!({"resourceType": "Bundle", "link": [
            {"relation": "self", "url": format!("{BASE}/Observation")}]});
        assert_eq!(next_link(&last).unwrap(), None);
        let foreign = serde_json::json!({"link": [
            {"relation": "next", "url": "http://elsewhere/Observation"}]});
        assert!(next_link(&foreign).is_err());
    }
}
