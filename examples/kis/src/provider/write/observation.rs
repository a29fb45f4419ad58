//! The Observation write on `labor_befund`: the LOINC code mapped to `labcode` through
//! `labcode_map`, the patient and case checked, a new `befund_id`.

use fhir_facade_core::sql::BindValue;
use fhir_facade_core::sql::write::{Transact, Transaction};
use fhir_facade_core::sql::{SqlRow, SqlTranslator};
use fhir_facade_core::{Context, Error, Resource, Result};

use super::{opt_text, read_back, run, statement, text};
use crate::Backend;
use crate::mapping::ObservationMapper;
use crate::provider::keys::next_key;
use crate::provider::validate::{ObservationFields, invalid};
use crate::value::LabValue;

/// Inserts the lab result of `fields` under a new key and reads it back.
pub(in crate::provider) async fn create<E>(
    executor: &E,
    backend: Backend,
    translator: &SqlTranslator,
    fields: ObservationFields,
    ctx: &Context,
) -> Result<Resource>
where
    E: Transact,
    E::Row: SqlRow,
{
    run(executor, ctx.request_id.as_deref(), |tx| {
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
