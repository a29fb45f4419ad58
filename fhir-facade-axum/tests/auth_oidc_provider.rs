//! TokenValidator against a real OpenID Connect provider: npm's `oidc-provider`, run by Node.
//!
//! Tokens come from the provider's real token endpoint: client credentials for a backend
//! service, and a SMART standalone launch (authorization code with PKCE) whose browser part is
//! driven by `tests/oidc/pkce.mjs`; the facade validates them through discovery and JWKS.
//!
//! Skipped with a printed reason when `node` or `npm` is missing, except under `CI=true`, where
//! that is a failure. The provider is installed with `npm ci` from the committed lock file into
//! the test's target directory on first run.

mod common;

use bytes::Bytes;
use fhir_facade_axum::auth::{AuthConfig, AuthError, TokenValidator};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const AUDIENCE: &str = "https://fhir.example.org/fhir";
const CLIENT_ID: &str = "backend-service";
const CLIENT_SECRET: &str = "test-only-secret";
const APP_CLIENT_ID: &str = "smart-app";
const USERNAME: &str = "alice";
const PASSWORD: &str = "test-only-password";
/// The test user's `patient` attribute: p1 of the SMART fixture in `common::smart`.
const USER_PATIENT: &str = "p1";
const APP_SCOPE: &str = "openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs";
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");

fn has_tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The install directory with `oidc-provider` installed, `None` when the test must be skipped.
fn installed_provider() -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for tool in ["node", "npm"] {
        if !has_tool(tool) {
            assert!(!ci, "{tool} is required under CI=true");
            eprintln!("skipping the oidc-provider test: {tool} is not installed");
            return None;
        }
    }
    // The tests of this binary run in parallel; one of them installs.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
    std::fs::create_dir_all(&dir).unwrap();
    for file in [
        "package.json",
        "package-lock.json",
        "server.mjs",
        "pkce.mjs",
    ] {
        std::fs::copy(Path::new(SOURCE).join(file), dir.join(file)).unwrap();
    }
    // Reinstall only when the lock file changed since the last install.
    let lock = std::fs::read(dir.join("package-lock.json")).unwrap();
    let marker = dir.join("installed-lock.json");
    if std::fs::read(&marker).ok().as_deref() != Some(lock.as_slice()) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci failed in {}", dir.display());
        std::fs::write(&marker, &lock).unwrap();
    }
    Some(dir)
}

/// The running provider, stopped on drop.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Starts the provider, logging to `{log}.log` in `dir`.
    fn start(dir: &Path, log: &str) -> Provider {
        let log_path = dir.join(format!("{log}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .current_dir(dir)
            .env("OIDC_TEST_AUDIENCE", AUDIENCE)
            .env("OIDC_TEST_CLIENT_ID", CLIENT_ID)
            .env("OIDC_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_TEST_PATIENT", "p123")
            .env("OIDC_TEST_APP_CLIENT_ID", APP_CLIENT_ID)
            .env("OIDC_TEST_USERNAME", USERNAME)
            .env("OIDC_TEST_PASSWORD", PASSWORD)
            .env("OIDC_TEST_USER_PATIENT", USER_PATIENT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // The provider prints notices to stdout later; a closed pipe would kill it.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut provider = Provider {
            child,
            issuer: String::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("oidc-provider did not start; see {}", log_path.display()));
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("oidc-provider did not start; see {}", log_path.display()));
        provider.issuer = started["issuer"].as_str().unwrap().to_owned();
        provider
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn http(request: hyper::Request<Full<Bytes>>) -> Value {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{status}: {body:?}");
    serde_json::from_slice(&body).unwrap()
}

/// An access token from the provider's real token endpoint (client credentials, resource
/// indicator for the facade).
async fn client_credentials_token(token_endpoint: &str) -> String {
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let form = "grant_type=client_credentials&scope=system%2F%2A.rs\
                &resource=https%3A%2F%2Ffhir.example.org%2Ffhir";
    let request = hyper::Request::post(token_endpoint)
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(form.as_bytes())))
        .unwrap();
    let response = http(request).await;
    assert_eq!(response["token_type"], "Bearer");
    response["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn validates_a_token_from_a_real_oidc_provider() {
    let Some(dir) = installed_provider() else {
        return;
    };
    let provider = Provider::start(&dir, "client-credentials");
    let validator =
        TokenValidator::new(AuthConfig::new([provider.issuer.clone()], [AUDIENCE]).unwrap())
            .unwrap();
    let discovery = validator.discovery(&provider.issuer).await.unwrap();
    let token_endpoint = discovery.token_endpoint.clone().unwrap();

    let token = client_credentials_token(&token_endpoint).await;
    let valid = validator.validate(&token).await.unwrap();
    assert_eq!(valid.issuer, provider.issuer);
    assert_eq!(valid.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(valid.scope, "system/*.rs");
    assert_eq!(valid.patient.as_deref(), Some("p123"));
    let grant = valid.grant();
    assert_eq!(grant.scopes().len(), 1);
    assert_eq!(grant.patient(), Some("p123"));

    // The same token is refused by a server expecting another audience.
    let other = TokenValidator::new(
        AuthConfig::new(
            [provider.issuer.clone()],
            ["https://other.example.org/fhir"],
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        other.validate(&token).await.unwrap_err(),
        AuthError::InvalidAudience
    );

    let smart = validator
        .smart_configuration(&provider.issuer)
        .await
        .unwrap();
    assert_eq!(smart.token_endpoint, token_endpoint);
    assert_eq!(smart.code_challenge_methods_supported, ["S256"]);
}

/// The result of `pkce.mjs`: the token response of a SMART standalone launch and what the
/// provider refused on the way.
fn pkce_launch(dir: &Path, issuer: &str) -> Value {
    let output = Command::new("node")
        .arg(dir.join("pkce.mjs"))
        .current_dir(dir)
        .env("OIDC_ISSUER", issuer)
        .env("OIDC_CLIENT_ID", APP_CLIENT_ID)
        .env("OIDC_RESOURCE", AUDIENCE)
        .env("OIDC_SCOPE", APP_SCOPE)
        .env("OIDC_USERNAME", USERNAME)
        .env("OIDC_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // stdout carries the tokens: never shown, only stderr is.
    assert!(
        output.status.success(),
        "pkce.mjs failed: {}; provider log in {}",
        String::from_utf8_lossy(&output.stderr),
        dir.join("pkce.log").display()
    );
    serde_json::from_slice(&output.stdout).expect("pkce.mjs prints one JSON line")
}

#[tokio::test]
async fn a_smart_app_launch_with_pkce_reads_only_its_patient() {
    let Some(dir) = installed_provider() else {
        return;
    };
    let provider = Provider::start(&dir, "pkce");
    let launch = tokio::task::spawn_blocking({
        let dir = dir.clone();
        let issuer = provider.issuer.clone();
        move || pkce_launch(&dir, &issuer)
    })
    .await
    .unwrap();

    // What the provider refused: each refusal is its own check of the flow.
    let refused = &launch["refused"];
    assert_eq!(refused["noCodeChallenge"]["error"], "invalid_request");
    assert!(
        refused["noCodeChallenge"]["error_description"]
            .as_str()
            .unwrap()
            .contains("PKCE"),
        "{refused}"
    );
    assert_eq!(refused["wrongPassword"]["status"], 401, "{refused}");
    // The same code is refused with a wrong or no verifier and then redeemed with the right one,
    // so the verifier is what the provider refused; a second redemption is refused.
    for case in ["wrongCodeVerifier", "missingCodeVerifier", "replayedCode"] {
        assert_eq!(refused[case]["status"], 400, "{case}: {refused}");
        assert_eq!(refused[case]["error"], "invalid_grant", "{case}: {refused}");
    }

    let response = &launch["token"];
    assert_eq!(response["token_type"], "Bearer");
    let token = response["access_token"].as_str().unwrap();
    let validator =
        TokenValidator::new(AuthConfig::new([provider.issuer.clone()], [AUDIENCE]).unwrap())
            .unwrap();
    let valid = validator
        .validate(token)
        .await
        .unwrap_or_else(|e| panic!("the launch's token was refused: {e}"));
    assert_eq!(valid.issuer, provider.issuer);
    assert_eq!(valid.client_id.as_deref(), Some(APP_CLIENT_ID));
    assert_eq!(valid.subject.as_deref(), Some(USERNAME));
    assert_eq!(valid.patient.as_deref(), Some(USER_PATIENT));
    assert_eq!(valid.fhir_user.as_deref(), Some("Patient/p1"));
    let mut scopes: Vec<&str> = valid.scope.split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "launch/patient",
            "patient/Observation.rs",
            "patient/Patient.rs"
        ]
    );
    assert_eq!(valid.grant().patient(), Some(USER_PATIENT));

    // The token against a facade with SMART on: the patient's own record, nothing of p2's.
    let app = fhir_facade_axum::FhirRouter::builder(common::smart::facade())
        .auth(validator)
        .build();
    let read = |uri: &'static str| common::smart::get_with(&app, uri, token);
    for (uri, status) in [
        ("/Patient/p1", 200),
        ("/Observation/o1", 200),
        ("/Patient/p2", 404),
        ("/Observation/o2", 404),
        // Condition is outside the granted scopes.
        ("/Condition/c1", 403),
    ] {
        let reply = read(uri).await;
        assert_eq!(reply.status.as_u16(), status, "{uri}");
    }
    let ids = |bundle: Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        let r = &e["resource"];
                        format!(
                            "{}/{}",
                            r["resourceType"].as_str().unwrap(),
                            r["id"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (uri, expected) in [
        ("/Observation", vec!["Observation/o1"]),
        ("/Patient", vec!["Patient/p1"]),
        ("/Patient?_id=p2", vec![]),
        ("/Patient/p1/Observation", vec!["Observation/o1"]),
        ("/Patient/p2/Observation", vec![]),
        (
            "/Patient/p1/$everything",
            vec!["Patient/p1", "Observation/o1"],
        ),
    ] {
        let reply = read(uri).await;
        assert_eq!(reply.status.as_u16(), 200, "{uri}");
        assert_eq!(ids(reply.json()), expected, "{uri}");
    }
    assert_eq!(read("/Patient/p2/$everything").await.status.as_u16(), 404);

    // A token of the same provider for another audience is no key to this facade.
    let other = TokenValidator::new(
        AuthConfig::new(
            [provider.issuer.clone()],
            ["https://other.example.org/fhir"],
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        other.validate(token).await.unwrap_err(),
        AuthError::InvalidAudience
    );
}
