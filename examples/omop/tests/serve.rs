//! The binary as a new user runs it: no `DATABASE_URL`, so it builds the embedded SQLite demo
//! on first run and serves it. Two processes started at once on one demo path both come up
//! (the database is built under a temporary name and renamed into place).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A port nobody listens on right now (`FHIR_FACADE_LISTEN=127.0.0.1:0` would not tell it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(demo_db: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_omop-facade"))
        .env_remove("DATABASE_URL")
        .env_remove("OMOP_CDM_SCHEMA")
        .env_remove("FHIR_FACADE_OIDC_ISSUER")
        .env_remove("FHIR_FACADE_BASE_URL")
        .env("OMOP_FACADE_DEMO_DB", demo_db)
        .env("FHIR_FACADE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the omop-facade binary starts");
    Server { child, port }
}

/// `GET path` with HTTP/1.1 and `Connection: close`: (status, body).
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/fhir+json\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn wait_ready(server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok((200, _)) = get(server.port, "/healthz") {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("omop-facade exited with {status} before it served");
        }
        assert!(Instant::now() < deadline, "omop-facade did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn female_patients(port: u16) -> Value {
    let (status, body) = get(port, "/fhir/Patient?gender=female&_count=5").unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn serves_the_demo_with_no_configuration() {
    let dir = std::env::temp_dir().join(format!("omop-facade-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let demo_db = dir.join("demo.sqlite");
    let mut first = start(&demo_db);
    let mut second = start(&demo_db);
    wait_ready(&mut first);
    wait_ready(&mut second);
    assert!(demo_db.is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n != "demo.sqlite")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    for server in [&first, &second] {
        let bundle = female_patients(server.port);
        assert_eq!(bundle["resourceType"], "Bundle");
        let entries = bundle["entry"].as_array().expect("entries");
        assert_eq!(entries.len(), 5, "the demo has more than 5 women");
        for entry in entries {
            let patient = &entry["resource"];
            assert_eq!(patient["gender"], "female");
            fhir_facade_tests::assert_valid(patient);
        }
        assert!(
            bundle["link"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["relation"] == "next"),
            "a next page"
        );
    }
    // The CapabilityStatement declares every mapped type and is valid FHIR.
    let (status, body) = get(first.port, "/fhir/metadata").unwrap();
    assert_eq!(status, 200, "{body}");
    let capability: Value = serde_json::from_str(&body).unwrap();
    fhir_facade_tests::assert_valid(&capability);
    let declared: Vec<&str> = capability["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    for t in omop_facade::mapping::RESOURCE_TYPES {
        assert!(declared.contains(t), "{t} in {declared:?}");
    }
    // A bad search is a 400 OperationOutcome, not a 500.
    let (status, body) = get(first.port, "/fhir/Observation?date=not-a-date").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("OperationOutcome"));
    drop(first);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
