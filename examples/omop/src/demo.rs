//! The zero-setup demo: a SQLite database built on first run from the subset of `synthetic/1000`
//! committed under `data/` (the first 100 persons with all their rows and the concepts they use).
//!
//! The file goes to `OMOP_FACADE_DEMO_DB` when set, else to `omop-facade/` under
//! `$XDG_CACHE_HOME`, `$HOME/.cache` or `./.cache`, named after a hash of the embedded data, so
//! a changed subset builds a new file. It is built under a temporary name and renamed into
//! place, so a concurrent process never opens a half-built database: two first runs at once
//! each build one, and the last rename wins with identical content.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::load::{CsvSource, LoadError, OpenedFile, load_sqlite, sqlite_writer};

/// Environment variable: where the demo database file is (built when missing).
pub const DEMO_DB_ENV: &str = "OMOP_FACADE_DEMO_DB";

/// The embedded subset: (table, gzip-compressed CSV).
pub const FILES: &[(&str, &[u8])] = &[
    ("person", include_bytes!("../data/PERSON.csv.gz")),
    ("concept", include_bytes!("../data/CONCEPT.csv.gz")),
    (
        "observation_period",
        include_bytes!("../data/OBSERVATION_PERIOD.csv.gz"),
    ),
    (
        "visit_occurrence",
        include_bytes!("../data/VISIT_OCCURRENCE.csv.gz"),
    ),
    (
        "condition_occurrence",
        include_bytes!("../data/CONDITION_OCCURRENCE.csv.gz"),
    ),
    (
        "drug_exposure",
        include_bytes!("../data/DRUG_EXPOSURE.csv.gz"),
    ),
    (
        "procedure_occurrence",
        include_bytes!("../data/PROCEDURE_OCCURRENCE.csv.gz"),
    ),
    ("measurement", include_bytes!("../data/MEASUREMENT.csv.gz")),
    ("observation", include_bytes!("../data/OBSERVATION.csv.gz")),
    (
        "condition_era",
        include_bytes!("../data/CONDITION_ERA.csv.gz"),
    ),
    ("drug_era", include_bytes!("../data/DRUG_ERA.csv.gz")),
];

/// The embedded subset as a [`CsvSource`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Embedded;

impl CsvSource for Embedded {
    fn describe(&self, table: &str) -> String {
        format!("embedded data/{}.csv.gz", table.to_ascii_uppercase())
    }

    fn open(&self, table: &str) -> Result<Option<OpenedFile>, LoadError> {
        Ok(FILES.iter().find(|(t, _)| *t == table).map(|(_, bytes)| {
            let reader: Box<dyn Read + Send> = Box::new(flate2::read::GzDecoder::new(*bytes));
            (reader, bytes.len() as u64)
        }))
    }
}

/// FNV-1a over the embedded files and the SQLite DDL: names the demo file.
fn fingerprint() -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let parts = FILES
        .iter()
        .map(|(_, b)| *b)
        .chain(crate::load::ddl::SQLITE.iter().map(|s| s.as_bytes()));
    for part in parts {
        for byte in part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Where the demo database is, from `lookup` (the environment in the binary).
pub fn demo_path(lookup: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(path) = lookup(DEMO_DB_ENV).filter(|p| !p.trim().is_empty()) {
        return PathBuf::from(path);
    }
    let dir = lookup("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            lookup("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| Path::new(&h).join(".cache"))
        })
        .unwrap_or_else(|| PathBuf::from(".cache"));
    dir.join("omop-facade")
        .join(format!("demo-{:016x}.sqlite", fingerprint()))
}

/// The demo database at `path`, built there first when it is missing. Returns whether it was
/// built.
pub async fn ensure_demo_db(path: &Path) -> Result<bool, LoadError> {
    if path.is_file() {
        return Ok(false);
    }
    let io = |e: std::io::Error| LoadError::Malformed {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let built = async {
        let pool = sqlite_writer(&tmp).await?;
        let result = load_sqlite(&pool, &Embedded, true).await;
        pool.close().await;
        result
    }
    .await;
    if let Err(e) = built {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_path_follows_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            demo_path(env(&[(DEMO_DB_ENV, "/x/d.sqlite"), ("HOME", "/h")])),
            PathBuf::from("/x/d.sqlite")
        );
        let p = demo_path(env(&[("HOME", "/h")]));
        assert!(p.starts_with("/h/.cache/omop-facade"), "{}", p.display());
        let p = demo_path(env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")]));
        assert!(p.starts_with("/c/omop-facade"), "{}", p.display());
        assert!(demo_path(env(&[])).starts_with(".cache/omop-facade"));
    }
}
