//! The providers: Patient and Observation with their writes, the other types read-only.
//!
//! Every write runs as one transaction through [`in_transaction`]: a write that fails at any
//! step, for a bad request or a database error, leaves the tables as they were; one that
//! conflicts with a concurrent write runs again after a short jittered pause. Keys
//! (`pat_id`, `befund_id`) are assigned by the database inside the transaction (`MAX + 1` under
//! the backend's table lock where it has one); a replica that loses a race for a key fails with
//! a unique-key conflict and the whole write runs again.
//!
//! | interaction | legacy tables |
//! |---|---|
//! | Patient create | new `pat_id`, `pat_nr` = `pat_id` as ten digits, `aend_zaehler` = 1 |
//! | Patient update | all mapped columns; `If-Match` against `aend_zaehler`, which is incremented; an unknown id is a 405 (no client-assigned ids) |
//! | Patient delete | `geloescht = 1` (then read answers 410, search never finds it) |
//! | Observation create | new `labor_befund` row; the LOINC code mapped to `labcode` through `labcode_map` |

use std::sync::Arc;

use async_trait::async_trait;
use fhir_facade_core::error::DatabaseErrorKind;
use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::SqlSchema;
use fhir_facade_core::sql::write::{Transact, Transaction, Work, in_transaction, is_conflict};
use fhir_facade_core::sql::{RowMapper, SqlProvider, SqlRow, SqlTranslator};
use fhir_facade_core::translate::{BindValue, SqlFragment};
use fhir_facade_core::{
    Constraint, Context, Error, Interaction, Interactions, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery, SearchTranslator, Updated,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Backend;
use crate::generate::{pat_nr, push_value};
use crate::mapping::{
    GENDERS, KVID_SYSTEM, LABCODE_SYSTEM, LOINC_SYSTEM, OBSERVATION_STATUSES, ObservationMapper,
    PATNR_SYSTEM, PatientMapper, decimal_from_json,
};
use crate::quantity::UCUM;
use crate::value::{Comparator, LabValue, RefRange, fhir_date_to_legacy};

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
async fn write<E, T, F>(executor: &E, request_id: Option<&str>, mut work: F) -> Result<T>
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

fn invalid(message: impl Into<String>, expression: &str) -> Error {
    Error::InvalidResource {
        message: message.into(),
        expression: Some(expression.to_owned()),
    }
}

fn text(s: &str) -> BindValue {
    BindValue::Text(s.to_owned())
}

fn opt_text(s: &Option<String>) -> BindValue {
    s.as_deref().map_or(BindValue::Null, text)
}

/// A statement of SQL text and bound values, in order.
fn statement(parts: &[&str], binds: Vec<BindValue>) -> SqlFragment {
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
async fn next_key<T: Transaction>(
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
    let plan = translator.translate(&query, &ctx.constraints)?;
    let Some(select) = plan.select else {
        return Ok(None);
    };
    let rows = tx.fetch_all(&select).await?;
    rows.first().map(|row| mapper.to_resource(row)).transpose()
}

fn id_param(resource_type: &str) -> &'static SearchParamDef {
    r4_param(resource_type, "_id").expect("every resource type has _id")
}

/// Whether the request may learn that `Patient/{id}` existed (for 410 instead of 404).
fn may_see_patient(ctx: &Context, id: &str) -> bool {
    ctx.constraints.iter().all(|c| {
        matches!(c, Constraint::Compartment { compartment_type, id: allowed }
            if compartment_type == "Patient" && allowed == id)
    })
}

/// A string element with at most `max` characters.
fn bounded(value: &Value, max: usize, expression: &str) -> Result<String> {
    let s = value
        .as_str()
        .ok_or_else(|| invalid("must be a string", expression))?
        .trim();
    if s.chars().count() > max {
        return Err(invalid(
            format!("is longer than the {max} characters the KIS stores"),
            expression,
        ));
    }
    Ok(s.to_owned())
}

fn only_elements(
    object: &serde_json::Map<String, Value>,
    allowed: &[&str],
    resource: &str,
) -> Result<()> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(invalid(
            format!("the KIS cannot store {resource}.{key}"),
            &format!("{resource}.{key}"),
        )),
        None => Ok(()),
    }
}

fn array<'a>(value: Option<&'a Value>, expression: &str) -> Result<&'a [Value]> {
    match value {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid("must be an array", expression)),
    }
}

fn at_most_one<'a>(value: Option<&'a Value>, expression: &str) -> Result<Option<&'a Value>> {
    match array(value, expression)? {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(invalid("the KIS stores only one", expression)),
    }
}

/// The `patient` columns a Patient resource writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientFields {
    /// `pat_nr` as the resource gives it (only accepted when it is the stored one).
    pub pat_nr: Option<String>,
    /// `kvnr`
    pub kvnr: Option<String>,
    /// `nachname`
    pub nachname: String,
    /// `vorname`: the given names, space-separated.
    pub vorname: String,
    /// `titel`: the prefixes, space-separated.
    pub titel: Option<String>,
    /// `geb_datum`
    pub geb_datum: String,
    /// `geschlecht`
    pub geschlecht: String,
    /// `strasse`
    pub strasse: String,
    /// `plz`
    pub plz: String,
    /// `ort`
    pub ort: String,
    /// `land`
    pub land: String,
    /// `telefon`
    pub telefon: Option<String>,
    /// `verstorben_am`
    pub verstorben_am: Option<String>,
}

impl PatientFields {
    /// Reads a Patient resource; anything the KIS cannot store is a 422 naming the element.
    pub fn from_resource(resource: &Resource) -> Result<PatientFields> {
        let Some(p) = resource.as_json().as_object() else {
            return Err(invalid("not an object", "Patient"));
        };
        only_elements(
            p,
            &[
                "resourceType",
                "id",
                "meta",
                "text",
                "identifier",
                "active",
                "name",
                "telecom",
                "gender",
                "birthDate",
                "deceasedBoolean",
                "deceasedDateTime",
                "address",
            ],
            "Patient",
        )?;
        if p.get("active").is_some_and(|a| a != &Value::Bool(true)) {
            return Err(invalid(
                "the KIS only holds active patients",
                "Patient.active",
            ));
        }
        let (mut pat_nr, mut kvnr) = (None, None);
        for (i, identifier) in array(p.get("identifier"), "Patient.identifier")?
            .iter()
            .enumerate()
        {
            let path = format!("Patient.identifier[{i}]");
            let value = identifier
                .get("value")
                .ok_or_else(|| invalid("has no value", &path))?;
            match identifier.get("system").and_then(Value::as_str) {
                Some(PATNR_SYSTEM) if pat_nr.is_none() => pat_nr = Some(bounded(value, 10, &path)?),
                Some(KVID_SYSTEM) if kvnr.is_none() => kvnr = Some(bounded(value, 10, &path)?),
                _ => {
                    return Err(invalid(
                        format!(
                            "the KIS stores one identifier each of {PATNR_SYSTEM} and {KVID_SYSTEM}"
                        ),
                        &path,
                    ));
                }
            }
        }
        let name = at_most_one(p.get("name"), "Patient.name")?
            .ok_or_else(|| invalid("a name with family and given is required", "Patient.name"))?;
        let Some(name) = name.as_object() else {
            return Err(invalid("must be an object", "Patient.name[0]"));
        };
        only_elements(
            name,
            &["use", "text", "family", "given", "prefix"],
            "HumanName",
        )?;
        let nachname = bounded(
            name.get("family")
                .ok_or_else(|| invalid("is required", "Patient.name[0].family"))?,
            60,
            "Patient.name[0].family",
        )?;
        let words = |key: &str, max: usize| -> Result<Option<String>> {
            let path = format!("Patient.name[0].{key}");
            let mut parts = Vec::new();
            for item in array(name.get(key), &path)? {
                parts.push(bounded(item, max, &path)?);
            }
            let joined = parts.join(" ");
            if joined.chars().count() > max {
                return Err(invalid(format!("is longer than {max} characters"), &path));
            }
            Ok(Some(joined).filter(|j| !j.is_empty()))
        };
        let vorname =
            words("given", 60)?.ok_or_else(|| invalid("is required", "Patient.name[0].given"))?;
        let titel = words("prefix", 20)?;
        if nachname.is_empty() {
            return Err(invalid("is required", "Patient.name[0].family"));
        }
        let geb_datum = match p.get("birthDate") {
            None => "00000000".to_owned(),
            Some(d) => d
                .as_str()
                .and_then(fhir_date_to_legacy)
                .ok_or_else(|| invalid("is not a date", "Patient.birthDate"))?,
        };
        let geschlecht = match p.get("gender") {
            None => "U".to_owned(),
            Some(g) => GENDERS
                .iter()
                .find(|(_, fhir)| Some(*fhir) == g.as_str())
                .map(|(legacy, _)| (*legacy).to_owned())
                .ok_or_else(|| invalid("is not an administrative gender", "Patient.gender"))?,
        };
        let mut telefon = None;
        for (i, contact) in array(p.get("telecom"), "Patient.telecom")?
            .iter()
            .enumerate()
        {
            let path = format!("Patient.telecom[{i}]");
            if contact.get("system").and_then(Value::as_str) != Some("phone") || telefon.is_some() {
                return Err(invalid("the KIS stores one phone number", &path));
            }
            let value = contact
                .get("value")
                .ok_or_else(|| invalid("has no value", &path))?;
            telefon = Some(bounded(value, 30, &path)?);
        }
        let (mut strasse, mut plz, mut ort, mut land) =
            (String::new(), String::new(), String::new(), String::new());
        if let Some(address) = at_most_one(p.get("address"), "Patient.address")? {
            let Some(address) = address.as_object() else {
                return Err(invalid("must be an object", "Patient.address[0]"));
            };
            only_elements(
                address,
                &[
                    "use",
                    "type",
                    "text",
                    "line",
                    "postalCode",
                    "city",
                    "country",
                ],
                "Address",
            )?;
            let mut lines = Vec::new();
            for line in array(address.get("line"), "Patient.address[0].line")? {
                lines.push(bounded(line, 80, "Patient.address[0].line")?);
            }
            strasse = lines.join(", ");
            if strasse.chars().count() > 80 {
                return Err(invalid(
                    "is longer than 80 characters",
                    "Patient.address[0].line",
                ));
            }
            if let Some(v) = address.get("postalCode") {
                plz = bounded(v, 10, "Patient.address[0].postalCode")?;
            }
            if let Some(v) = address.get("city") {
                ort = bounded(v, 60, "Patient.address[0].city")?;
            }
            if let Some(v) = address.get("country") {
                land = bounded(v, 2, "Patient.address[0].country")?.to_ascii_uppercase();
            }
        }
        let verstorben_am = match (p.get("deceasedDateTime"), p.get("deceasedBoolean")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "only one of deceasedBoolean and deceasedDateTime",
                    "Patient.deceased",
                ));
            }
            (None, None) | (None, Some(Value::Bool(false))) => None,
            (None, Some(_)) => {
                return Err(invalid(
                    "the KIS needs the date of death",
                    "Patient.deceasedBoolean",
                ));
            }
            (Some(d), None) => {
                let d = d.as_str().unwrap_or_default();
                // The date as written; a time of day is not stored.
                let date = d.split('T').next().unwrap_or_default();
                Some(
                    fhir_date_to_legacy(date)
                        .ok_or_else(|| invalid("is not a dateTime", "Patient.deceasedDateTime"))?,
                )
            }
        };
        Ok(PatientFields {
            pat_nr,
            kvnr,
            nachname,
            vorname,
            titel,
            geb_datum,
            geschlecht,
            strasse,
            plz,
            ort,
            land,
            telefon,
            verstorben_am,
        })
    }

    /// The column values, in the order of [`PATIENT_COLUMNS`].
    fn binds(&self) -> Vec<BindValue> {
        vec![
            opt_text(&self.kvnr),
            text(&self.nachname),
            text(&self.vorname),
            opt_text(&self.titel),
            text(&self.geb_datum),
            text(&self.geschlecht),
            text(&self.strasse),
            text(&self.plz),
            text(&self.ort),
            text(&self.land),
            opt_text(&self.telefon),
            opt_text(&self.verstorben_am),
        ]
    }
}

/// The columns a Patient write sets, besides the key, `pat_nr` and the bookkeeping.
const PATIENT_COLUMNS: [&str; 12] = [
    "kvnr",
    "nachname",
    "vorname",
    "titel",
    "geb_datum",
    "geschlecht",
    "strasse",
    "plz",
    "ort",
    "land",
    "telefon",
    "verstorben_am",
];

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

    async fn write<T: Send + 'static>(
        &self,
        ctx: &Context,
        work: impl for<'t> FnMut(&'t mut E::Transaction) -> Work<'t, T> + Send,
    ) -> Result<T> {
        write(self.inner.executor(), ctx.request_id.as_deref(), work).await
    }
}

/// `(pat_nr, geloescht, aend_zaehler)` of a stored patient.
async fn stored_patient<T: Transaction>(tx: &mut T, key: i64) -> Result<Option<(String, i64, i64)>>
where
    T::Row: SqlRow,
{
    let rows = tx
        .fetch_all(&statement(
            &[
                "SELECT pat_nr, geloescht, aend_zaehler FROM patient WHERE pat_id = ",
                "",
            ],
            vec![BindValue::Int(key)],
        ))
        .await?;
    rows.first()
        .map(|r| {
            Ok((
                r.get_str("pat_nr")?.trim().to_owned(),
                r.get_i64("geloescht")?,
                r.get_i64("aend_zaehler")?,
            ))
        })
        .transpose()
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
        if fields.pat_nr.is_some() {
            return Err(invalid(
                "the patient number is assigned by the KIS",
                "Patient.identifier",
            ));
        }
        let backend = self.backend;
        let translator = self.inner.translator();
        self.write(ctx, |tx| {
            let (fields, translator, ctx) = (fields.clone(), translator.clone(), ctx.clone());
            Box::pin(async move {
                let key = next_key(tx, backend, "patient", "pat_id").await?;
                let mut binds = vec![BindValue::Int(key), text(&pat_nr(key))];
                binds.extend(fields.binds());
                binds.extend([BindValue::Int(0), BindValue::Int(1), BindValue::Timestamp(now())]);
                let mut insert = SqlFragment::sql(format!(
                    "INSERT INTO patient (pat_id, pat_nr, {}, geloescht, aend_zaehler, geaendert_am) VALUES (",
                    PATIENT_COLUMNS.join(", ")
                ));
                for (i, value) in binds.into_iter().enumerate() {
                    if i > 0 {
                        insert.push(", ");
                    }
                    push_value(&mut insert, value);
                }
                insert.push(")");
                tx.execute(&insert).await?;
                read_back(tx, &translator, &PatientMapper, "Patient", key, &ctx)
                    .await?
                    .ok_or_else(|| {
                        Error::Forbidden("the new patient lies outside the request's compartment".into())
                    })
            })
        })
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
        let translator = self.inner.translator();
        let id = id.to_owned();
        self.write(ctx, |tx| {
            let (fields, if_match, id) = (fields.clone(), if_match.clone(), id.clone());
            let (translator, ctx) = (translator.clone(), ctx.clone());
            Box::pin(async move {
                let Some((stored_nr, deleted, version)) = stored_patient(tx, key).await? else {
                    // The KIS assigns patient ids (updateCreate is false): 405, as FHIR's update
                    // says, to callers that may know whether this id exists at all.
                    return Err(if may_see_patient(&ctx, &id) {
                        Error::not_supported("Patient", "update as create (client-assigned ids)")
                    } else {
                        Error::NotFound {
                            resource_type: "Patient".into(),
                            id,
                        }
                    });
                };
                if deleted == 1 {
                    return Err(if may_see_patient(&ctx, &id) {
                        Error::Gone {
                            resource_type: "Patient".into(),
                            id,
                        }
                    } else {
                        Error::NotFound {
                            resource_type: "Patient".into(),
                            id,
                        }
                    });
                }
                if read_back(tx, &translator, &PatientMapper, "Patient", key, &ctx)
                    .await?
                    .is_none()
                {
                    return Err(Error::NotFound {
                        resource_type: "Patient".into(),
                        id,
                    });
                }
                if let Some(expected) = &if_match
                    && expected.trim() != version.to_string()
                {
                    return Err(Error::PreconditionFailed(format!(
                        "Patient/{id} is at version {version}, not {expected}"
                    )));
                }
                if fields.pat_nr.as_ref().is_some_and(|nr| *nr != stored_nr) {
                    return Err(invalid(
                        "the patient number cannot be changed",
                        "Patient.identifier",
                    ));
                }
                let mut update = SqlFragment::sql("UPDATE patient SET ");
                for (i, (column, value)) in PATIENT_COLUMNS.iter().zip(fields.binds()).enumerate() {
                    if i > 0 {
                        update.push(", ");
                    }
                    update.push(format!("{column} = "));
                    push_value(&mut update, value);
                }
                update.push(", aend_zaehler = aend_zaehler + 1, geaendert_am = ");
                update.push_bind(BindValue::Timestamp(now()));
                update.push(" WHERE pat_id = ");
                update.push_bind(BindValue::Int(key));
                update.push(" AND geloescht = 0 AND aend_zaehler = ");
                update.push_bind(BindValue::Int(version));
                if tx.execute(&update).await? != 1 {
                    return Err(concurrent("the patient"));
                }
                let resource = read_back(tx, &translator, &PatientMapper, "Patient", key, &ctx)
                    .await?
                    .ok_or_else(|| {
                        Error::Internal("an updated patient could not be read".into())
                    })?;
                Ok(Updated {
                    resource,
                    created: false,
                })
            })
        })
        .await
    }

    async fn delete(&self, id: &str, ctx: &Context) -> Result<()> {
        let key = patient_key(id)?;
        let translator = self.inner.translator();
        let id = id.to_owned();
        self.write(ctx, |tx| {
            let (id, translator, ctx) = (id.clone(), translator.clone(), ctx.clone());
            Box::pin(async move {
                let Some((_, deleted, version)) = stored_patient(tx, key).await? else {
                    return Err(Error::NotFound { resource_type: "Patient".into(), id });
                };
                if deleted == 1 {
                    // Deleting a deleted resource succeeds (FHIR http.html#delete).
                    return if may_see_patient(&ctx, &id) {
                        Ok(())
                    } else {
                        Err(Error::NotFound { resource_type: "Patient".into(), id })
                    };
                }
                if read_back(tx, &translator, &PatientMapper, "Patient", key, &ctx).await?.is_none() {
                    return Err(Error::NotFound { resource_type: "Patient".into(), id });
                }
                let mut update = SqlFragment::sql(
                    "UPDATE patient SET geloescht = 1, aend_zaehler = aend_zaehler + 1, geaendert_am = ",
                );
                update.push_bind(BindValue::Timestamp(now()));
                update.push(" WHERE pat_id = ");
                update.push_bind(BindValue::Int(key));
                update.push(" AND geloescht = 0 AND aend_zaehler = ");
                update.push_bind(BindValue::Int(version));
                if tx.execute(&update).await? != 1 {
                    return Err(concurrent("the patient"));
                }
                Ok(())
            })
        })
        .await
    }
}

/// The `labor_befund` values an Observation resource writes, before the lab code is mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationFields {
    /// `status`
    pub status: String,
    /// The LOINC code to map to `labcode`.
    pub loinc: String,
    /// The local code, when the resource names one too (it must be the mapped one).
    pub local: Option<String>,
    /// `pat_id`
    pub pat_id: i64,
    /// `fall_id`
    pub fall_id: Option<i64>,
    /// `abnahme`
    pub abnahme: OffsetDateTime,
    /// `wert`
    pub value: LabValue,
    /// `valueQuantity.unit`
    pub unit: Option<String>,
    /// `valueQuantity.code` (UCUM)
    pub ucum: Option<String>,
    /// `ref_bereich`
    pub ref_bereich: Option<String>,
}

fn reference_key(value: Option<&Value>, resource_type: &str, path: &str) -> Result<Option<i64>> {
    let Some(value) = value else { return Ok(None) };
    let reference = value
        .get("reference")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("must be a literal reference", path))?;
    reference
        .strip_prefix(&format!("{resource_type}/"))
        .and_then(
            |id| match fhir_facade_core::sql::mapping::IdKind::Integer.key(id) {
                Some(BindValue::Int(k)) => Some(k),
                _ => None,
            },
        )
        .map(Some)
        .ok_or_else(|| {
            invalid(
                format!("must refer to a {resource_type} of this server"),
                path,
            )
        })
}

impl ObservationFields {
    /// Reads a lab Observation; anything the KIS cannot store is a 422 naming the element.
    pub fn from_resource(resource: &Resource) -> Result<ObservationFields> {
        let Some(o) = resource.as_json().as_object() else {
            return Err(invalid("not an object", "Observation"));
        };
        only_elements(
            o,
            &[
                "resourceType",
                "id",
                "meta",
                "text",
                "status",
                "category",
                "code",
                "subject",
                "encounter",
                "effectiveDateTime",
                "valueQuantity",
                "valueString",
                "referenceRange",
            ],
            "Observation",
        )?;
        let status = o
            .get("status")
            .and_then(Value::as_str)
            .and_then(|s| OBSERVATION_STATUSES.iter().find(|(_, f)| *f == s))
            .map(|(l, _)| (*l).to_owned())
            .ok_or_else(|| {
                invalid(
                    "must be final, preliminary, amended or cancelled",
                    "Observation.status",
                )
            })?;
        for (i, category) in array(o.get("category"), "Observation.category")?
            .iter()
            .enumerate()
        {
            let laboratory = array(category.get("coding"), "Observation.category")?
                .iter()
                .any(|c| c.get("code").and_then(Value::as_str) == Some("laboratory"));
            if !laboratory {
                return Err(invalid(
                    "the KIS stores laboratory results only",
                    &format!("Observation.category[{i}]"),
                ));
            }
        }
        let codings = array(
            o.get("code").and_then(|c| c.get("coding")),
            "Observation.code.coding",
        )?;
        let code_of = |system: &str| {
            codings
                .iter()
                .find(|c| c.get("system").and_then(Value::as_str) == Some(system))
                .and_then(|c| c.get("code").and_then(Value::as_str))
                .map(str::to_owned)
        };
        let loinc = code_of(LOINC_SYSTEM)
            .ok_or_else(|| invalid("a LOINC coding is required", "Observation.code"))?;
        let local = code_of(LABCODE_SYSTEM);
        let pat_id = reference_key(o.get("subject"), "Patient", "Observation.subject")?
            .ok_or_else(|| invalid("is required", "Observation.subject"))?;
        let fall_id = reference_key(o.get("encounter"), "Encounter", "Observation.encounter")?;
        let abnahme = o
            .get("effectiveDateTime")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| {
                invalid(
                    "a dateTime with time and zone is required (when the specimen was taken)",
                    "Observation.effectiveDateTime",
                )
            })?;
        let (value, unit, ucum) = match (o.get("valueQuantity"), o.get("valueString")) {
            (Some(q), None) => {
                let path = "Observation.valueQuantity";
                let Some(q) = q.as_object() else {
                    return Err(invalid("must be an object", path));
                };
                only_elements(
                    q,
                    &["value", "comparator", "unit", "system", "code"],
                    "Quantity",
                )?;
                let value = q
                    .get("value")
                    .and_then(decimal_from_json)
                    .ok_or_else(|| invalid("a numeric value is required", path))?;
                let comparator = match q.get("comparator") {
                    None => None,
                    Some(c) => Some(
                        c.as_str()
                            .and_then(Comparator::from_fhir)
                            .ok_or_else(|| invalid("is not a comparator", path))?,
                    ),
                };
                if q.get("system").is_some_and(|s| s != UCUM) {
                    return Err(invalid("units must be UCUM", path));
                }
                let unit = q.get("unit").map(|u| bounded(u, 20, path)).transpose()?;
                let ucum = q.get("code").and_then(Value::as_str).map(str::to_owned);
                (LabValue::Quantity { comparator, value }, unit, ucum)
            }
            (None, Some(s)) => {
                let s = bounded(s, 20, "Observation.valueString")?;
                match LabValue::parse(&s) {
                    LabValue::Text(t) if !t.is_empty() => (LabValue::Text(t), None, None),
                    _ => {
                        return Err(invalid(
                            "a number is sent as valueQuantity",
                            "Observation.valueString",
                        ));
                    }
                }
            }
            _ => {
                return Err(invalid(
                    "exactly one of valueQuantity and valueString is required",
                    "Observation.value[x]",
                ));
            }
        };
        if value.to_legacy().chars().count() > 20 {
            return Err(invalid(
                "does not fit the 20 characters of the KIS",
                "Observation.value[x]",
            ));
        }
        let ref_bereich = match at_most_one(o.get("referenceRange"), "Observation.referenceRange")?
        {
            None => None,
            Some(element) => {
                let path = "Observation.referenceRange[0]";
                let bound = |key: &str| {
                    element.get(key).and_then(|q| q.get("value")).map(|v| {
                        decimal_from_json(v).ok_or_else(|| invalid("must be a number", path))
                    })
                };
                let range = RefRange {
                    low: bound("low").transpose()?,
                    high: bound("high").transpose()?,
                };
                let legacy = match range.to_legacy() {
                    Some(l) => l,
                    None => element
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("needs low, high or text", path))?,
                };
                if legacy.chars().count() > 20 {
                    return Err(invalid("does not fit the 20 characters of the KIS", path));
                }
                Some(legacy)
            }
        };
        Ok(ObservationFields {
            status,
            loinc,
            local,
            pat_id,
            fall_id,
            abnahme,
            value,
            unit,
            ucum,
            ref_bereich,
        })
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
        let backend = self.backend;
        let translator = self.inner.translator();
        write(self.inner.executor(), ctx.request_id.as_deref(), |tx| {
            let (f, translator, ctx) = (fields.clone(), translator.clone(), ctx.clone());
            Box::pin(async move {
                let mapped = tx
                    .fetch_all(&statement(
                        &["SELECT labcode, ucum FROM labcode_map WHERE loinc = ", " ORDER BY labcode"],
                        vec![text(&f.loinc)],
                    ))
                    .await?;
                let mut candidates = Vec::new();
                for row in &mapped {
                    candidates.push((row.get_str("labcode")?.trim().to_owned(), row.get_str("ucum")?.trim().to_owned()));
                }
                let chosen = match &f.local {
                    Some(local) => candidates.iter().find(|(c, _)| c == local),
                    None => candidates.first(),
                };
                let Some((labcode, ucum)) = chosen.cloned() else {
                    return Err(invalid(
                        if candidates.is_empty() {
                            "the LOINC code has no local lab code in labcode_map"
                        } else {
                            "the local lab code is not the one mapped to the LOINC code"
                        },
                        "Observation.code",
                    ));
                };
                let einheit = match &f.value {
                    LabValue::Quantity { .. } => {
                        if f.ucum.as_ref().is_some_and(|c| *c != ucum) {
                            return Err(invalid(
                                format!("the KIS stores this test in {ucum}"),
                                "Observation.valueQuantity.code",
                            ));
                        }
                        f.unit.clone().unwrap_or(ucum)
                    }
                    LabValue::Text(_) => String::new(),
                };
                if einheit.chars().count() > 20 {
                    return Err(invalid("is longer than 20 characters", "Observation.valueQuantity.unit"));
                }
                let patient = tx
                    .fetch_all(&statement(
                        &["SELECT pat_id FROM patient WHERE pat_id = ", " AND geloescht = 0"],
                        vec![BindValue::Int(f.pat_id)],
                    ))
                    .await?;
                if patient.is_empty() {
                    return Err(invalid("the patient does not exist", "Observation.subject"));
                }
                if let Some(fall_id) = f.fall_id {
                    let case = tx
                        .fetch_all(&statement(
                            &["SELECT fall_id FROM fall WHERE fall_id = ", " AND pat_id = ", ""],
                            vec![BindValue::Int(fall_id), BindValue::Int(f.pat_id)],
                        ))
                        .await?;
                    if case.is_empty() {
                        return Err(invalid(
                            "the encounter does not exist or is another patient's",
                            "Observation.encounter",
                        ));
                    }
                }
                let key = next_key(tx, backend, "labor_befund", "befund_id").await?;
                tx.execute(&statement(
                    &[
                        "INSERT INTO labor_befund (befund_id, pat_id, fall_id, labcode, wert, einheit, abnahme, status, ref_bereich) VALUES (",
                        ", ", ", ", ", ", ", ", ", ", ", ", ", ", ", ", ")",
                    ],
                    vec![
                        BindValue::Int(key),
                        BindValue::Int(f.pat_id),
                        f.fall_id.map_or(BindValue::Null, BindValue::Int),
                        text(&labcode),
                        text(&f.value.to_legacy()),
                        text(&einheit),
                        BindValue::Timestamp(f.abnahme),
                        text(&f.status),
                        opt_text(&f.ref_bereich),
                    ],
                ))
                .await?;
                read_back(tx, &translator, &ObservationMapper, "Observation", key, &ctx)
                    .await?
                    .ok_or_else(|| {
                        Error::Forbidden("the observation lies outside the request's compartment".into())
                    })
            })
        })
        .await
    }
}
