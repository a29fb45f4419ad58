//! A facade binary started for a suite: on a free local port, with the environment a deployment
//! would give it, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Http;

/// A running facade binary.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Its FHIR base URL (`http://127.0.0.1:PORT/fhir`).
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `program` with `env` (and `FHIR_FACADE_LISTEN` on a free port; the variables of a
    /// SMART setup are removed unless `env` sets them), and waits until `GET /fhir/metadata`
    /// answers 200.
    pub async fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut command = Command::new(program);
        command.args(args);
        for inherited in [
            "FHIR_FACADE_OIDC_ISSUER",
            "FHIR_FACADE_OIDC_AUDIENCE",
            "FHIR_FACADE_BASE_URL",
            "FHIR_FACADE_AUDIT_FILE",
        ] {
            command.env_remove(inherited);
        }
        command
            .envs(env.iter().copied())
            .env("FHIR_FACADE_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}/fhir"),
        };
        let http = Http::new(server.base.clone());
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{program} exited with {status}");
            }
            let up = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok();
            if up
                && http
                    .send(hyper::Method::GET, "metadata", &[], None)
                    .await
                    .status
                    == 200
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not come up in 120 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
