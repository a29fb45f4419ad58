//! The external checkers: a second, independent validator (PyPI `fhir.resources`, R4B models)
//! and real FHIR clients (PyPI `fhirclient` and `fhirpy`, npm `fhir-kit-client`).
//!
//! `scripts/fetch-external-tools` installs them, pinned, into `.cache/external`; `scripts/test`
//! runs it first. The scripts they run live in `tests/external/`. Each call starts a process and
//! blocks, so async tests call them from `tokio::task::spawn_blocking`.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The installed checkers.
#[derive(Debug)]
pub struct ExternalTools {
    python: PathBuf,
    node_script: PathBuf,
    scripts: PathBuf,
}

/// One search for the clients: a resource type and its parameters, in order (a repeated name is
/// an AND, as in a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientQuery {
    /// The resource type searched.
    pub resource_type: String,
    /// The parameters, unencoded.
    pub params: Vec<(String, String)>,
}

impl ClientQuery {
    /// A query from a type and `(name, value)` pairs.
    pub fn new(resource_type: &str, params: &[(&str, &str)]) -> Self {
        ClientQuery {
            resource_type: resource_type.to_owned(),
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// What one client got for each query: the ids of the matches over every page, in the order
/// served, or the client's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// The client's name (`fhirclient`, `fhirpy`, `fhir-kit-client`).
    pub client: String,
    /// One result per query, in the order asked.
    pub results: Vec<Result<Vec<String>, String>>,
}

/// The installed checkers, or `None` (after printing why) when they are not installed outside
/// CI; under `CI=true` their absence is a failure.
pub fn external_tools() -> Option<&'static ExternalTools> {
    static TOOLS: OnceLock<Option<ExternalTools>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let tools = ExternalTools {
                python: root.join(".cache/external/venv/bin/python"),
                node_script: root.join(".cache/external/node/fhir_kit.mjs"),
                scripts: root.join("tests/external"),
            };
            if tools.python.exists() && tools.node_script.exists() {
                return Some(tools);
            }
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the external checkers are not installed; run scripts/fetch-external-tools"
            );
            eprintln!(
                "skipping the external checkers: not installed; run scripts/fetch-external-tools"
            );
            None
        })
        .as_ref()
}

impl ExternalTools {
    /// The errors the `fhir.resources` R4B models find in `resources`, one line per failing
    /// resource; empty when all are valid.
    pub fn validate(&self, resources: &[Value]) -> Vec<String> {
        let mut input = Vec::new();
        for resource in resources {
            serde_json::to_writer(&mut input, resource).expect("JSON serializes");
            input.push(b'\n');
        }
        let report = self.run(
            Command::new(&self.python).arg(self.scripts.join("validate_r4b.py")),
            &input,
        );
        let failures = report["failures"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            report["checked"].as_u64(),
            Some(resources.len() as u64),
            "the validator checked another number of resources: {report}"
        );
        failures
            .iter()
            .map(|f| format!("{}/{}: {}", f["type"], f["id"], f["error"]))
            .collect()
    }

    /// Runs each query with every client against the FHIR base `base_url`, following every
    /// `next` link.
    pub fn client_ids(&self, base_url: &str, queries: &[ClientQuery]) -> Vec<ClientRun> {
        let input = serde_json::to_vec(
            &queries
                .iter()
                .map(|q| json!({"type": q.resource_type, "params": q.params}))
                .collect::<Vec<_>>(),
        )
        .expect("JSON serializes");
        let python = self.run(
            Command::new(&self.python)
                .arg(self.scripts.join("clients.py"))
                .arg(base_url),
            &input,
        );
        let node = self.run(
            Command::new("node").arg(&self.node_script).arg(base_url),
            &input,
        );
        ["fhirclient", "fhirpy"]
            .into_iter()
            .map(|c| (c, &python[c]))
            .chain([("fhir-kit-client", &node["fhir-kit-client"])])
            .map(|(client, results)| ClientRun {
                client: client.to_owned(),
                results: results
                    .as_array()
                    .unwrap_or_else(|| panic!("{client} printed no results"))
                    .iter()
                    .map(|r| match r["ids"].as_array() {
                        Some(ids) => Ok(ids
                            .iter()
                            .map(|id| id.as_str().unwrap_or_default().to_owned())
                            .collect()),
                        None => Err(r["error"].as_str().unwrap_or("no ids").to_owned()),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Runs `command` with `input` on stdin and reads its stdout as one JSON value.
    fn run(&self, command: &mut Command, input: &[u8]) -> Value {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .expect("the checker reads its input");
        let output = child.wait_with_output().expect("the checker runs");
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{command:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}
