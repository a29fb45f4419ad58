//! Hostile HTTP, table-driven: the KIS facade (over an in-memory SQLite KIS) served on a real
//! socket gets requests a careless or malicious client sends, and must answer each with the
//! right 4xx — with an `OperationOutcome` whenever the request got as far as the FHIR routes —
//! without a 500, and without its memory growing with what it was sent. (One, 5,000 ids, is
//! within what the database binds, and is served.)
//!
//! Requests that break HTTP itself (headers over 64 KiB, more than 100 headers, a bare CR in a
//! header, a URI over 64 KiB) are refused by the HTTP layer before there is a FHIR request:
//! they get the status alone.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use fhir_facade_axum::{FhirRouter, Probes, ServeConfig, serve_with_shutdown};
use fhir_facade_tests::faults::{RawAnswer, exchange, parse_answer};
use kis_facade::Backend;
use kis_facade::server::KisDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve() -> SocketAddr {
    let url = format!(
        "sqlite:file:kis_hostile_{}?mode=memory&cache=shared",
        std::process::id()
    );
    let (db, _) = KisDatabase::connect(&url, 4).await.unwrap();
    db.generate(Backend::Sqlite, 20, 3, false).await.unwrap();
    let fhir = FhirRouter::builder(db.facade(Backend::Sqlite).unwrap()).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with_shutdown(
        listener,
        Router::new().nest("/fhir", fhir),
        Probes::new(),
        ServeConfig::default(),
        std::future::pending(),
    ));
    addr
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").into_bytes()
}

fn with_body(method: &str, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: h\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn post_json(path: &str, body: &str) -> Vec<u8> {
    with_body("POST", path, "application/fhir+json", body.as_bytes())
}

fn ids(n: usize) -> String {
    (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// How an answer must look.
enum Expect {
    /// This status and an `OperationOutcome` whose diagnostics contain the text.
    Outcome(u16, &'static str),
    /// This status from the HTTP layer, no FHIR body needed.
    Http(&'static [u16]),
    /// Not hostile after all: a 200 with a Bundle.
    Served,
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::{Http, Outcome, Served};
    let patient = r#"{"resourceType":"Patient","name":[{"family":"A","given":["B"]}],"gender":"male","birthDate":"1970-01-01"}"#;
    vec![
        (
            "a 20 MB body",
            post_json("/fhir/Patient", &"a".repeat(20_000_000)),
            Outcome(413, "too large"),
        ),
        (
            "JSON nested 100,000 deep",
            post_json(
                "/fhir/Patient",
                &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            ),
            Outcome(400, "recursion limit"),
        ),
        (
            "3,000 repeated parameters",
            get(&format!(
                "/fhir/Patient?{}",
                vec!["gender=female"; 3000].join("&")
            )),
            Outcome(400, "at most 100 parameters"),
        ),
        (
            // Within the dialect's bound values (SQLite: 32,766): a page of the matches.
            "5,000 ids",
            get(&format!("/fhir/Patient?_id={}", ids(5000))),
            Served,
        ),
        (
            "10,000 parameters in a search form",
            with_body(
                "POST",
                "/fhir/Patient/_search",
                "application/x-www-form-urlencoded",
                (0..10_000)
                    .map(|i| format!("x{i}=1"))
                    .collect::<Vec<_>>()
                    .join("&")
                    .as_bytes(),
            ),
            Outcome(400, "at most 100 parameters"),
        ),
        (
            "10,000 parameters in the URL",
            get(&format!(
                "/fhir/Patient?{}",
                (0..10_000)
                    .map(|i| format!("x{i}=1"))
                    .collect::<Vec<_>>()
                    .join("&")
            )),
            Http(&[414, 431]),
        ),
        (
            "invalid UTF-8 in the path",
            get("/fhir/Patient/%ff%fe"),
            Outcome(400, "path"),
        ),
        (
            "a path traversal id",
            get("/fhir/Patient/..%2F..%2Fetc%2Fpasswd"),
            Outcome(404, "not found"),
        ),
        (
            "a CR LF in the path, trying to add a header",
            get("/fhir/Patient/1%0d%0aX-Injected:%20yes"),
            Outcome(404, "not found"),
        ),
        (
            "1e999999 as a number",
            get("/fhir/Observation?value-quantity=1e999999"),
            Outcome(400, "too large"),
        ),
        (
            "a _count beyond any integer",
            get("/fhir/Patient?_count=99999999999999999999"),
            Outcome(400, "_count"),
        ),
        (
            "a tampered _cursor",
            get("/fhir/Patient?_cursor=AAAA%25%25"),
            Outcome(400, "cursor"),
        ),
        (
            "a Bundle whose entry is not a list",
            post_json("/fhir", r#"{"resourceType":"Bundle","type":"batch","entry":5}"#),
            Outcome(422, "Bundle.entry"),
        ),
        (
            "a Bundle of no known type",
            post_json("/fhir", r#"{"resourceType":"Bundle","type":"nonsense"}"#),
            Outcome(422, "Bundle.type"),
        ),
        (
            "a body that is not JSON",
            post_json("/fhir/Patient", "{\"resourceType\": "),
            Outcome(400, "not JSON"),
        ),
        (
            "a body of another media type",
            with_body("POST", "/fhir/Patient", "application/xml", b"<Patient/>"),
            Outcome(415, "media type"),
        ),
        (
            "duplicate JSON keys",
            post_json(
                "/fhir/Patient",
                r#"{"resourceType":"Patient","resourceType":"Observation","gender":"male"}"#,
            ),
            Outcome(400, "duplicate key"),
        ),
        (
            "the wrong resourceType for the endpoint",
            post_json(
                "/fhir/Patient",
                r#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#,
            ),
            Outcome(400, "Observation was sent to the Patient endpoint"),
        ),
        (
            "an id that differs between URL and body",
            with_body(
                "PUT",
                "/fhir/Patient/1",
                "application/fhir+json",
                patient.replacen("{", r#"{"id":"2","#, 1).as_bytes(),
            ),
            Outcome(400, "the id in the URL"),
        ),
        (
            "1e400 in a body",
            post_json(
                "/fhir/Observation",
                r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}"#,
            ),
            Outcome(400, "number out of range"),
        ),
        (
            "a 100 KB header",
            format!(
                "GET /fhir/Patient HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
                "a".repeat(100_000)
            )
            .into_bytes(),
            Http(&[431]),
        ),
        (
            "500 headers",
            format!(
                "GET /fhir/Patient HTTP/1.1\r\nHost: h\r\n{}Connection: close\r\n\r\n",
                (0..500).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            )
            .into_bytes(),
            Http(&[431]),
        ),
        (
            "a bare CR inside a header",
            b"GET /fhir/Patient HTTP/1.1\r\nHost: h\r\nX-Bad: a\rInjected: b\r\nConnection: close\r\n\r\n"
                .to_vec(),
            Http(&[400]),
        ),
    ]
}

fn check(name: &str, answer: &RawAnswer, expect: &Expect) {
    match expect {
        Expect::Outcome(status, text) => {
            assert_eq!(answer.status, *status, "{name}: {answer:?}");
            let body: serde_json::Value = serde_json::from_str(&answer.body)
                .unwrap_or_else(|e| panic!("{name}: {e}: {:?}", answer.body));
            assert_eq!(body["resourceType"], "OperationOutcome", "{name}");
            let diagnostics = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
            assert!(diagnostics.contains(text), "{name}: {diagnostics}");
        }
        Expect::Http(statuses) => {
            assert!(statuses.contains(&answer.status), "{name}: {answer:?}")
        }
        Expect::Served => {
            assert_eq!(answer.status, 200, "{name}: {answer:?}");
            assert!(answer.body.contains(r#""resourceType":"Bundle""#), "{name}");
        }
    }
    assert!(
        answer
            .headers
            .iter()
            .all(|h| !h.to_ascii_lowercase().starts_with("x-injected")),
        "{name}: a header was injected: {:?}",
        answer.headers
    );
}

/// The resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A chunked body of up to 1 GB, sent until the server answers: a 413 long before the end.
async fn a_gigabyte_chunked(addr: SocketAddr) -> (RawAnswer, u64) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /fhir/Patient HTTP/1.1\r\nHost: h\r\nContent-Type: application/fhir+json\r\n\
              Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let chunk = format!("100000\r\n{}\r\n", "a".repeat(0x10_0000));
    let mut sent = 0u64;
    let (mut reader, mut writer) = stream.into_split();
    let sending = async {
        while sent < 1_000_000_000 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
            sent += 0x10_0000;
        }
    };
    let mut answer = Vec::new();
    let reading = async {
        let _ = reader.read_to_end(&mut answer).await;
    };
    // The answer can come before the body is consumed; stop sending once it has.
    tokio::select! {
        () = sending => {}
        () = reading => {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer)).await;
    (parse_answer(&answer), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_the_right_4xx() {
    let addr = serve().await;
    // Warm up, so the allocations of a first request are not counted as growth.
    assert_eq!(
        exchange(addr, &get("/fhir/Patient?_count=5")).await.status,
        200
    );
    let before = rss_kib();
    for (name, request, expect) in cases() {
        let answer = exchange(addr, &request).await;
        check(name, &answer, &expect);
        println!("{name}: {}", answer.status);
    }
    let (answer, sent) = a_gigabyte_chunked(addr).await;
    check(
        "a 1 GB chunked body",
        &answer,
        &Expect::Outcome(413, "too large"),
    );
    println!(
        "a 1 GB chunked body: {} after {} MiB sent",
        answer.status,
        sent >> 20
    );
    assert!(
        sent < 100 << 20,
        "the server read {sent} bytes before refusing"
    );
    let growth = rss_kib().saturating_sub(before);
    println!("resident memory grew by {growth} KiB");
    assert!(growth < 64 * 1024, "memory grew by {growth} KiB");
    // And the server still serves.
    assert_eq!(
        exchange(addr, &get("/fhir/Patient?_count=5")).await.status,
        200
    );
}
