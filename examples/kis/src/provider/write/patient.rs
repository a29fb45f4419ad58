//! The Patient writes on `patient`: create assigns `pat_id` and `pat_nr`, update and delete
//! check `If-Match` against `aend_zaehler` and increment it; delete sets `geloescht`.

use fhir_facade_core::sql::write::{Transact, Transaction};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::sql::{SqlRow, SqlTranslator};
use fhir_facade_core::{Context, Error, Resource, Result, Updated};

use super::{concurrent, now, opt_text, read_back, run, statement, text};
use crate::Backend;
use crate::generate::{pat_nr, push_value};
use crate::mapping::PatientMapper;
use crate::provider::keys::next_key;
use crate::provider::may_see_patient;
use crate::provider::validate::{PatientFields, invalid};

impl PatientFields {
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

/// Inserts the patient of `fields` under a new key and reads it back.
pub(in crate::provider) async fn create<E>(
    executor: &E,
    backend: Backend,
    translator: &SqlTranslator,
    fields: PatientFields,
    ctx: &Context,
) -> Result<Resource>
where
    E: Transact,
    E::Row: SqlRow,
{
    if fields.pat_nr.is_some() {
        return Err(invalid(
            "the patient number is assigned by the KIS",
            "Patient.identifier",
        ));
    }
    run(executor, ctx.request_id.as_deref(), |tx| {
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

/// Writes `fields` over the patient `key` (`id`), when `if_match` (if any) is its version.
pub(in crate::provider) async fn update<E>(
    executor: &E,
    translator: &SqlTranslator,
    key: i64,
    id: &str,
    fields: PatientFields,
    if_match: Option<String>,
    ctx: &Context,
) -> Result<Updated>
where
    E: Transact,
    E::Row: SqlRow,
{
    let id = id.to_owned();
    run(executor, ctx.request_id.as_deref(), |tx| {
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
                .ok_or_else(|| Error::Internal("an updated patient could not be read".into()))?;
            Ok(Updated {
                resource,
                created: false,
            })
        })
    })
    .await
}

/// Marks the patient `key` (`id`) deleted.
pub(in crate::provider) async fn delete<E>(
    executor: &E,
    translator: &SqlTranslator,
    key: i64,
    id: &str,
    ctx: &Context,
) -> Result<()>
where
    E: Transact,
    E::Row: SqlRow,
{
    let id = id.to_owned();
    run(executor, ctx.request_id.as_deref(), |tx| {
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
