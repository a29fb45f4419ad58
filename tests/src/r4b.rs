//! The second, independent validator of issue #8: PyPI `fhir.resources` (pinned in
//! `tests/clients/requirements.txt`), whose R4B pydantic models are generated from the FHIR
//! StructureDefinitions rather than from the JSON schema [`crate::schema_errors`] uses.
//!
//! `scripts/fetch-contract-clients` (called by `scripts/test`) installs it into a venv under
//! `.cache/contract-clients` (`FHIR_FACADE_CONTRACT_CLIENTS` overrides the path), together with
//! the real clients the contract suite drives. Without it, validation is skipped with a printed
//! reason ([`checkers`]), except under `CI=true`, where that is a failure.
//!
//! [`validate`] runs `tests/clients/validate_r4b.py` once for a whole batch of resources, so that
//! hundreds of thousands of resources cost one Python start per batch, not one per resource.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where `scripts/fetch-contract-clients` installs the external checkers:
/// `FHIR_FACADE_CONTRACT_CLIENTS`, or `.cache/contract-clients` at the repository root.
pub fn clients_dir() -> PathBuf {
    std::env::var_os("FHIR_FACADE_CONTRACT_CLIENTS")
        .map_or_else(|| root().join(".cache/contract-clients"), PathBuf::from)
}

/// The checkers' directory when they are installed.
///
/// `Ok(None)` when they are absent outside CI — after printing a message naming
/// `scripts/fetch-contract-clients` — and `Err(why)` when they are absent under `CI=true`,
/// where a skipped validation would pass silently.
pub fn checkers() -> Result<Option<PathBuf>, String> {
    let dir = clients_dir();
    if dir.join("installed").is_file() {
        return Ok(Some(dir));
    }
    let why = format!(
        "the external checkers are not installed in {} (run scripts/fetch-contract-clients, \
         or set FHIR_FACADE_CONTRACT_CLIENTS)",
        dir.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        return Err(format!("{why}; CI=true: a skipped validation is a failure"));
    }
    eprintln!("skipping the fhir.resources R4B validation: {why}");
    Ok(None)
}

/// The venv's Python interpreter under a checkers' directory.
fn python(dir: &Path) -> PathBuf {
    dir.join("venv/bin/python")
}

/// Validates `resources` with the R4B models, in one Python process, using the checkers
/// installed in `dir` (see [`checkers`]).
///
/// Returns one line per invalid resource (`Type/id: pydantic's message`), empty when all are
/// valid; `Err` when the validator could not run or did not validate every resource.
pub fn validate_with(dir: &Path, resources: &[Value]) -> Result<Vec<String>, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let file = std::env::temp_dir().join(format!(
        "fhir-facade-r4b-{}-{nanos}-{}.json",
        std::process::id(),
        resources.len()
    ));
    let text = serde_json::to_vec(resources).map_err(|e| format!("cannot serialize: {e}"))?;
    std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let output = Command::new(python(dir))
        .arg(root().join("tests/clients/validate_r4b.py"))
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    let output = output.map_err(|e| format!("cannot run {}: {e}", python(dir).display()))?;
    if !output.status.success() {
        return Err(format!(
            "validate_r4b.py exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let out: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "validate_r4b.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    if out["validated"] != resources.len() {
        return Err(format!(
            "validate_r4b.py validated {} of {} resources",
            out["validated"],
            resources.len()
        ));
    }
    Ok(out["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
        .collect())
}

/// Validates `resources` with the R4B models: `None` when the checkers are absent outside CI
/// (skipped, with a printed message), otherwise the errors as [`validate_with`] gives them. Under
/// `CI=true` absent checkers are reported as an error line, so the caller's zero-errors
/// assertion fails.
pub fn validate(resources: &[Value]) -> Option<Vec<String>> {
    match checkers() {
        Ok(None) => None,
        Ok(Some(dir)) => Some(validate_with(&dir, resources).unwrap_or_else(|e| vec![e])),
        Err(why) => Some(vec![why]),
    }
}
