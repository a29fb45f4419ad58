//! The `kis-facade` binary on SQLite: `generate` creates and fills the schema, then the server
//! answers FHIR under `/fhir` (search, create, read, delete, 404/410 OperationOutcomes) and
//! declares its writes in the CapabilityStatement.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_kis-facade");

struct Server {
    child: Child,
    db: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.db);
    }
}

/// One HTTP/1.0 exchange (the server then closes the connection and sends no chunks).
async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String, Value) {
    http_with(port, method, path, body, "").await
}

async fn http_with(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &str,
) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/fhir+json\r\n\
         Content-Type: application/fhir+json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let json = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, head.to_owned(), json)
}

#[tokio::test]
async fn generate_then_serve_on_sqlite() {
    let db = std::env::temp_dir().join(format!(
        "kis-facade-bin-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let url = format!("sqlite:{}?mode=rwc", db.display());
    let generated = Command::new(BIN)
        .args(["generate", "--patients", "20", "--seed", "5"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let bad = Command::new(BIN)
        .args(["generate", "--patients", "many"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .env("DATABASE_URL", &url)
        .env("FHIR_FACADE_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("FHIR_FACADE_OIDC_ISSUER")
        .env_remove("FHIR_FACADE_BASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server { child, db };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, _, metadata) = http(port, "GET", "/fhir/metadata", None).await;
    assert_eq!(status, 200);
    let resources = metadata["rest"][0]["resource"].as_array().unwrap();
    let interactions = |t: &str| -> Vec<String> {
        resources.iter().find(|r| r["type"] == t).unwrap()["interaction"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap().to_owned())
            .collect()
    };
    for code in ["read", "search-type", "create", "update", "delete"] {
        assert!(interactions("Patient").contains(&code.to_owned()), "{code}");
    }
    assert!(interactions("Observation").contains(&"create".to_owned()));
    assert!(!interactions("Encounter").contains(&"create".to_owned()));

    let (status, _, bundle) = http(port, "GET", "/fhir/Patient?_count=100", None).await;
    assert_eq!(status, 200);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert!(!bundle["entry"].as_array().unwrap().is_empty());

    let patient = json!({
        "resourceType": "Patient",
        "name": [{"family": "Weiß", "given": ["Bärbel"]}],
        "gender": "female",
        "birthDate": "1950"
    });
    let (status, head, created) = http(port, "POST", "/fhir/Patient", Some(&patient)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("/fhir/patient/{id}/_history/1")),
        "{head}"
    );
    let (status, _, found) = http(
        port,
        "GET",
        "/fhir/Patient?family=weiss&birthdate=1950",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        found["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"]["id"] == id.as_str()),
        "{found}"
    );
    let mut changed = created.clone();
    changed["birthDate"] = json!("1950-02");
    let path = format!("/fhir/Patient/{id}");
    let (status, _, outcome) =
        http_with(port, "PUT", &path, Some(&changed), "If-Match: W/\"9\"\r\n").await;
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (412, Some("OperationOutcome"))
    );
    let (status, head, updated) =
        http_with(port, "PUT", &path, Some(&changed), "If-Match: W/\"1\"\r\n").await;
    assert_eq!(status, 200, "{updated}");
    assert!(
        head.to_ascii_lowercase().contains("etag: w/\"2\""),
        "{head}"
    );
    assert_eq!(updated["birthDate"], "1950-02");
    let (status, _, outcome) = http(port, "GET", "/fhir/Patient/999999", None).await;
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    let (status, _, _) = http(port, "DELETE", &format!("/fhir/Patient/{id}"), None).await;
    assert!(status == 200 || status == 204, "{status}");
    let (status, _, outcome) = http(port, "GET", &format!("/fhir/Patient/{id}"), None).await;
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (410, Some("OperationOutcome"))
    );
    let bad = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
        "subject": {"reference": "Patient/1"}, "effectiveDateTime": "2024-01-01T10:00:00Z",
        "valueQuantity": {"value": 1}});
    let (status, _, outcome) = http(port, "POST", "/fhir/Observation", Some(&bad)).await;
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (422, Some("OperationOutcome"))
    );
    let text = outcome.to_string();
    assert!(
        !text.contains("SELECT") && !text.contains("labcode_map WHERE"),
        "{text}"
    );
    let (status, _, _) = http(port, "GET", "/fhir/Observation?value-quantity=abc", None).await;
    assert_eq!(status, 400);
}
