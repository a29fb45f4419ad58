//! The legacy schema, exactly as the KIS has it, for each [`Backend`].
//!
//! Identifiers are unquoted (PostgreSQL folds them to lower case, which is how they are
//! written). Where a product spells a type differently the closest equivalent is used:
//! `TIMESTAMP` is `DATETIME` on MariaDB (whose `TIMESTAMP` converts time zones and ends in 2038)
//! and `DATETIME2` on SQL Server (whose `TIMESTAMP` is a row version). Columns the schema does
//! not mark nullable are `NOT NULL`. The indexes on the foreign keys are what any KIS has; the
//! facade needs no object beyond these tables.
//!
//! ```
//! use kis_facade::{Backend, schema};
//!
//! let ddl = schema::create_statements(Backend::MsSql);
//! assert!(ddl[0].starts_with("CREATE TABLE patient ("));
//! assert!(ddl[0].contains("geaendert_am DATETIME2 NOT NULL"));
//! ```

use crate::Backend;

/// The tables, in creation order (and reverse drop order).
pub const TABLES: [&str; 6] = [
    "patient",
    "fall",
    "labor_befund",
    "labcode_map",
    "diagnose",
    "arzt",
];

fn timestamp(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres | Backend::Sqlite => "TIMESTAMP",
        Backend::MySql => "DATETIME",
        Backend::MsSql => "DATETIME2",
    }
}

/// The `CREATE TABLE` and `CREATE INDEX` statements for `backend`.
pub fn create_statements(backend: Backend) -> Vec<String> {
    let ts = timestamp(backend);
    vec![
        format!(
            "CREATE TABLE patient (\
             pat_id INTEGER NOT NULL PRIMARY KEY, \
             pat_nr VARCHAR(10) NOT NULL UNIQUE, \
             kvnr VARCHAR(10) NULL, \
             nachname VARCHAR(60) NOT NULL, \
             vorname VARCHAR(60) NOT NULL, \
             titel VARCHAR(20) NULL, \
             geb_datum CHAR(8) NOT NULL, \
             geschlecht CHAR(1) NOT NULL, \
             strasse VARCHAR(80) NOT NULL, \
             plz VARCHAR(10) NOT NULL, \
             ort VARCHAR(60) NOT NULL, \
             land CHAR(2) NOT NULL, \
             telefon VARCHAR(30) NULL, \
             verstorben_am CHAR(8) NULL, \
             geloescht SMALLINT NOT NULL, \
             aend_zaehler INTEGER NOT NULL, \
             geaendert_am {ts} NOT NULL)"
        ),
        format!(
            "CREATE TABLE fall (\
             fall_id INTEGER NOT NULL PRIMARY KEY, \
             fall_nr VARCHAR(12) NOT NULL, \
             pat_id INTEGER NOT NULL, \
             fallart CHAR(1) NOT NULL, \
             aufnahme {ts} NOT NULL, \
             entlassung {ts} NULL, \
             station VARCHAR(10) NOT NULL, \
             storniert SMALLINT NOT NULL)"
        ),
        format!(
            "CREATE TABLE labor_befund (\
             befund_id INTEGER NOT NULL PRIMARY KEY, \
             pat_id INTEGER NOT NULL, \
             fall_id INTEGER NULL, \
             labcode VARCHAR(10) NOT NULL, \
             wert VARCHAR(20) NOT NULL, \
             einheit VARCHAR(20) NOT NULL, \
             abnahme {ts} NOT NULL, \
             status CHAR(1) NOT NULL, \
             ref_bereich VARCHAR(20) NULL)"
        ),
        "CREATE TABLE labcode_map (\
         labcode VARCHAR(10) NOT NULL PRIMARY KEY, \
         loinc VARCHAR(10) NOT NULL, \
         bezeichnung VARCHAR(80) NOT NULL, \
         ucum VARCHAR(20) NOT NULL)"
            .to_owned(),
        "CREATE TABLE diagnose (\
         diag_id INTEGER NOT NULL PRIMARY KEY, \
         fall_id INTEGER NOT NULL, \
         pat_id INTEGER NOT NULL, \
         icd VARCHAR(10) NOT NULL, \
         icd_version VARCHAR(4) NOT NULL, \
         diag_art CHAR(1) NOT NULL, \
         diag_datum CHAR(8) NOT NULL, \
         sicherheit CHAR(1) NOT NULL)"
            .to_owned(),
        "CREATE TABLE arzt (\
         arzt_id INTEGER NOT NULL PRIMARY KEY, \
         lanr VARCHAR(9) NOT NULL, \
         nachname VARCHAR(60) NOT NULL, \
         vorname VARCHAR(60) NOT NULL, \
         fachrichtung VARCHAR(60) NOT NULL)"
            .to_owned(),
        "CREATE INDEX fall_pat ON fall (pat_id)".to_owned(),
        "CREATE INDEX labor_befund_pat ON labor_befund (pat_id)".to_owned(),
        "CREATE INDEX labor_befund_fall ON labor_befund (fall_id)".to_owned(),
        "CREATE INDEX diagnose_pat ON diagnose (pat_id)".to_owned(),
    ]
}

/// `DROP TABLE` statements for every table (that exists), for tests and `generate --replace`.
pub fn drop_statements(backend: Backend) -> Vec<String> {
    TABLES
        .iter()
        .rev()
        .map(|t| match backend {
            Backend::MsSql => format!("IF OBJECT_ID('{t}', 'U') IS NOT NULL DROP TABLE {t}"),
            _ => format!("DROP TABLE IF EXISTS {t}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_created_with_its_timestamp_type() {
        for (backend, ts) in [
            (Backend::Postgres, "TIMESTAMP"),
            (Backend::MySql, "DATETIME"),
            (Backend::Sqlite, "TIMESTAMP"),
            (Backend::MsSql, "DATETIME2"),
        ] {
            let ddl = create_statements(backend);
            for table in TABLES {
                assert!(
                    ddl.iter()
                        .any(|s| s.starts_with(&format!("CREATE TABLE {table} ("))),
                    "{table}"
                );
            }
            assert!(ddl[0].contains(&format!("geaendert_am {ts} NOT NULL)")));
            assert!(ddl[1].contains(&format!("entlassung {ts} NULL")));
        }
    }

    #[test]
    fn the_legacy_columns_are_there_exactly() {
        let ddl = create_statements(Backend::Postgres).join("\n");
        for column in [
            "pat_nr VARCHAR(10) NOT NULL UNIQUE",
            "kvnr VARCHAR(10) NULL",
            "geb_datum CHAR(8) NOT NULL",
            "verstorben_am CHAR(8) NULL",
            "geloescht SMALLINT NOT NULL",
            "aend_zaehler INTEGER NOT NULL",
            "wert VARCHAR(20) NOT NULL",
            "ref_bereich VARCHAR(20) NULL",
            "lanr VARCHAR(9) NOT NULL",
            "icd_version VARCHAR(4) NOT NULL",
        ] {
            assert!(ddl.contains(column), "{column}");
        }
    }
}
