//! `kis-facade`: the FHIR R4 facade over the KIS legacy schema.
//!
//! ```text
//! kis-facade                      serve FHIR under /fhir
//! kis-facade generate [--patients N] [--seed S] [--replace]
//!                                 create the legacy schema and fill it with generated data
//! ```
//!
//! Configuration comes from the environment: `DATABASE_URL` (`mssql://`, `postgres://`,
//! `mysql://`, `sqlite:`), and for serving `FHIR_FACADE_LISTEN`, `FHIR_FACADE_BASE_URL`,
//! `FHIR_FACADE_OIDC_*`, `FHIR_FACADE_AUDIT_FILE` and `FHIR_FACADE_CORS_ORIGINS`
//! ([`ServerSettings`]).

use fhir_facade_axum::{Probes, ServerSettings, init_tracing};
use kis_facade::KisError;
use kis_facade::server::KisDatabase;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The database pool size of `generate` (`serve` takes its from the `FHIR_FACADE_DB_*` settings).
const MAX_CONNECTIONS: u32 = 10;

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    Generate {
        patients: u32,
        seed: u64,
        replace: bool,
    },
}

const USAGE: &str = "usage: kis-facade [generate [--patients N] [--seed S] [--replace]]";

fn parse_args(args: &[String]) -> Result<Command, KisError> {
    let bad = |message: String| KisError::Config(format!("{message}\n{USAGE}"));
    match args.split_first() {
        None => Ok(Command::Serve),
        Some((command, rest)) if command == "generate" => {
            let (mut patients, mut seed, mut replace) = (1000, 7, false);
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let mut value = |name: &str| {
                    rest.next()
                        .ok_or_else(|| bad(format!("{name} needs a value")))
                        .cloned()
                };
                match flag.as_str() {
                    "--patients" => {
                        patients = value("--patients")?
                            .parse()
                            .map_err(|_| bad("--patients takes a whole number".into()))?;
                    }
                    "--seed" => {
                        seed = value("--seed")?
                            .parse()
                            .map_err(|_| bad("--seed takes a whole number".into()))?;
                    }
                    "--replace" => replace = true,
                    other => return Err(bad(format!("unknown argument {other:?}"))),
                }
            }
            Ok(Command::Generate {
                patients,
                seed,
                replace,
            })
        }
        Some((other, _)) => Err(bad(format!("unknown command {other:?}"))),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    init_tracing()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = parse_args(&args)?;
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| KisError::Config("DATABASE_URL is not set".into()))?;
    match command {
        Command::Generate {
            patients,
            seed,
            replace,
        } => {
            let (db, backend) = KisDatabase::connect(&url, MAX_CONNECTIONS).await?;
            db.generate(backend, patients, seed, replace).await?;
            tracing::info!(patients, seed, ?backend, "KIS schema created and filled");
            Ok(())
        }
        Command::Serve => {
            let settings = ServerSettings::from_env()?;
            let (db, backend) = KisDatabase::connect_with(&url, &settings.database).await?;
            let facade = db.facade(backend)?;
            let probes = Probes::new().readiness_check(move || {
                let db = db.clone();
                async move { db.ping().await }
            });
            tracing::info!(listen = %settings.listen, ?backend, "serving the KIS facade");
            settings.serve(facade, probes).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_args(&[]).unwrap(), Command::Serve);
        assert_eq!(
            parse_args(&args(&["generate"])).unwrap(),
            Command::Generate {
                patients: 1000,
                seed: 7,
                replace: false
            }
        );
        assert_eq!(
            parse_args(&args(&[
                "generate",
                "--patients",
                "50",
                "--seed",
                "3",
                "--replace"
            ]))
            .unwrap(),
            Command::Generate {
                patients: 50,
                seed: 3,
                replace: true
            }
        );
        for bad in [
            &["generate", "--patients"][..],
            &["generate", "--patients", "x"],
            &["generate", "--nope"],
            &["serve-me"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
