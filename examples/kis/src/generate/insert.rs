//! Writing a [`Dataset`] as `INSERT` statements, and loading it with the schema.

use time::OffsetDateTime;

use crate::value::{opt_text, text};
use fhir_facade_core::sql::write::Transaction;
use fhir_facade_core::sql::{BindValue, SqlFragment};

use super::{Dataset, labcode_map};
use crate::{Backend, schema};

fn opt_int(n: Option<i64>) -> BindValue {
    n.map_or(BindValue::Null, BindValue::Int)
}

fn opt_ts(t: Option<OffsetDateTime>) -> BindValue {
    t.map_or(BindValue::Null, BindValue::Timestamp)
}

/// Appends a bound value, or the literal `NULL` (PostgreSQL types a bound `NULL` as text, which
/// a timestamp or integer column rejects).
pub fn push_value(s: &mut SqlFragment, value: BindValue) {
    match value {
        BindValue::Null => {
            s.push("NULL");
        }
        value => {
            s.push_bind(value);
        }
    }
}

/// Multi-row `INSERT`s of `rows` into `table`, at most `per_statement` rows each (kept under
/// SQL Server's 2,100 parameters and old SQLite's 999).
fn inserts(table: &str, columns: &[&str], rows: Vec<Vec<BindValue>>) -> Vec<SqlFragment> {
    let per_statement = (900 / columns.len()).max(1);
    rows.chunks(per_statement)
        .map(|chunk| {
            let mut s = SqlFragment::sql(format!(
                "INSERT INTO {table} ({}) VALUES ",
                columns.join(", ")
            ));
            for (i, row) in chunk.iter().enumerate() {
                s.push(if i == 0 { "(" } else { ", (" });
                for (j, value) in row.iter().enumerate() {
                    if j > 0 {
                        s.push(", ");
                    }
                    push_value(&mut s, value.clone());
                }
                s.push(")");
            }
            s
        })
        .collect()
}

impl Dataset {
    /// The `INSERT` statements that load this data set (and the lab code map), every value bound.
    pub fn insert_statements(&self) -> Vec<SqlFragment> {
        let mut all = Vec::new();
        all.extend(inserts(
            "labcode_map",
            &["labcode", "loinc", "bezeichnung", "ucum"],
            labcode_map()
                .into_iter()
                .map(|(c, l, b, u)| vec![text(c), text(l), text(b), text(u)])
                .collect(),
        ));
        all.extend(inserts(
            "arzt",
            &["arzt_id", "lanr", "nachname", "vorname", "fachrichtung"],
            self.physicians
                .iter()
                .map(|a| {
                    vec![
                        BindValue::Int(a.arzt_id),
                        text(&a.lanr),
                        text(&a.nachname),
                        text(&a.vorname),
                        text(&a.fachrichtung),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "patient",
            &[
                "pat_id",
                "pat_nr",
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
                "geloescht",
                "aend_zaehler",
                "geaendert_am",
            ],
            self.patients
                .iter()
                .map(|p| {
                    vec![
                        BindValue::Int(p.pat_id),
                        text(&p.pat_nr),
                        opt_text(&p.kvnr),
                        text(&p.nachname),
                        text(&p.vorname),
                        opt_text(&p.titel),
                        text(&p.geb_datum),
                        text(&p.geschlecht),
                        text(&p.strasse),
                        text(&p.plz),
                        text(&p.ort),
                        text(&p.land),
                        opt_text(&p.telefon),
                        opt_text(&p.verstorben_am),
                        BindValue::Int(p.geloescht),
                        BindValue::Int(p.aend_zaehler),
                        BindValue::Timestamp(p.geaendert_am),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "fall",
            &[
                "fall_id",
                "fall_nr",
                "pat_id",
                "fallart",
                "aufnahme",
                "entlassung",
                "station",
                "storniert",
            ],
            self.cases
                .iter()
                .map(|f| {
                    vec![
                        BindValue::Int(f.fall_id),
                        text(&f.fall_nr),
                        BindValue::Int(f.pat_id),
                        text(&f.fallart),
                        BindValue::Timestamp(f.aufnahme),
                        opt_ts(f.entlassung),
                        text(&f.station),
                        BindValue::Int(f.storniert),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "diagnose",
            &[
                "diag_id",
                "fall_id",
                "pat_id",
                "icd",
                "icd_version",
                "diag_art",
                "diag_datum",
                "sicherheit",
            ],
            self.diagnoses
                .iter()
                .map(|d| {
                    vec![
                        BindValue::Int(d.diag_id),
                        BindValue::Int(d.fall_id),
                        BindValue::Int(d.pat_id),
                        text(&d.icd),
                        text(&d.icd_version),
                        text(&d.diag_art),
                        text(&d.diag_datum),
                        text(&d.sicherheit),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "labor_befund",
            &[
                "befund_id",
                "pat_id",
                "fall_id",
                "labcode",
                "wert",
                "einheit",
                "abnahme",
                "status",
                "ref_bereich",
            ],
            self.labs
                .iter()
                .map(|l| {
                    vec![
                        BindValue::Int(l.befund_id),
                        BindValue::Int(l.pat_id),
                        opt_int(l.fall_id),
                        text(&l.labcode),
                        text(&l.wert),
                        text(&l.einheit),
                        BindValue::Timestamp(l.abnahme),
                        text(&l.status),
                        opt_text(&l.ref_bereich),
                    ]
                })
                .collect(),
        ));
        all
    }
}

/// Creates the schema on `tx` (dropping the tables first when `replace`) and loads `data`.
/// The caller commits.
pub async fn load<T: Transaction>(
    tx: &mut T,
    backend: Backend,
    data: &Dataset,
    replace: bool,
) -> fhir_facade_core::Result<()> {
    if replace {
        for statement in schema::drop_statements(backend) {
            tx.execute(&SqlFragment::sql(statement)).await?;
        }
    }
    for statement in schema::create_statements(backend) {
        tx.execute(&SqlFragment::sql(statement)).await?;
    }
    for statement in data.insert_statements() {
        tx.execute(&statement).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_stay_under_the_parameter_limits_and_bind_everything() {
        let data = Dataset::generate(30, 3);
        let statements = data.insert_statements();
        let rows: usize = statements
            .iter()
            .map(|s| {
                let (sql, binds) = s.render(|_| "?".into());
                assert!(binds.len() <= 900);
                assert!(!sql.contains('\''), "values are bound, never inlined");
                sql.matches('(').count() - 1
            })
            .sum();
        let expected = data.patients.len()
            + data.cases.len()
            + data.labs.len()
            + data.diagnoses.len()
            + data.physicians.len()
            + labcode_map().len();
        assert_eq!(rows, expected);
    }
}
