//! Connection URLs: `mssql://user:pass@host:port/database?encrypt=…&trust_server_certificate=…`.

use std::fmt;

use fhir_facade_core::sql::DatabaseKind;
use percent_encoding::percent_decode_str;
use tiberius::{AuthMethod, Config, EncryptionLevel};

use crate::TiberiusError;

/// The default SQL Server port.
const DEFAULT_PORT: u16 = 1433;

/// The parts of a connection URL.
#[derive(Clone, PartialEq)]
struct ConnectUrl {
    host: String,
    port: u16,
    database: Option<String>,
    user: Option<String>,
    password: String,
    encryption: EncryptionLevel,
    trust_server_certificate: bool,
    application_name: Option<String>,
}

impl fmt::Debug for ConnectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("encryption", &self.encryption)
            .field("trust_server_certificate", &self.trust_server_certificate)
            .field("application_name", &self.application_name)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> TiberiusError {
    TiberiusError::Url(message.into())
}

fn decode(part: &str, what: &str) -> Result<String, TiberiusError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid(format!("the {what} is not percent-encoded UTF-8")))
}

fn flag(key: &str, value: &str) -> Result<bool, TiberiusError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(invalid(format!("{key} must be true or false"))),
    }
}

impl ConnectUrl {
    fn parse(url: &str) -> Result<ConnectUrl, TiberiusError> {
        let (_, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected mssql://user:password@host:port/database"))?;
        if !matches!(DatabaseKind::from_url(url), Ok(DatabaseKind::MsSql)) {
            return Err(invalid("the scheme must be mssql:// or sqlserver://"));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some(decode(user, "user")?), decode(password, "password")?)
            }
            None => (None, String::new()),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("an IPv6 host needs a closing ]"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        let port = match port {
            Some(port) => port
                .parse()
                .map_err(|_| invalid("the port must be a number from 0 to 65535"))?,
            None => DEFAULT_PORT,
        };
        let database = match path.trim_end_matches('/') {
            "" => None,
            name => Some(decode(name, "database")?),
        };
        let mut parsed = ConnectUrl {
            host: host.to_owned(),
            port,
            database,
            user,
            password,
            encryption: EncryptionLevel::Required,
            trust_server_certificate: false,
            application_name: None,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "encrypt" => {
                    parsed.encryption = match value.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "required" | "mandatory" => EncryptionLevel::Required,
                        "strict" => EncryptionLevel::Strict,
                        // Only the login packet is encrypted.
                        "false" | "no" | "optional" | "off" => EncryptionLevel::Off,
                        "not_supported" | "none" => EncryptionLevel::NotSupported,
                        _ => {
                            return Err(invalid(
                                "encrypt must be true, strict, false or not_supported",
                            ));
                        }
                    }
                }
                "trust_server_certificate" | "trustservercertificate" => {
                    parsed.trust_server_certificate = flag("trust_server_certificate", &value)?;
                }
                "application_name" => parsed.application_name = Some(value.into_owned()),
                // An unknown option is rejected: a misspelt security setting must not be ignored.
                other => return Err(invalid(format!("unknown option {other:?}"))),
            }
        }
        Ok(parsed)
    }

    fn into_config(self) -> Config {
        let mut config = Config::new();
        config.host(&self.host);
        config.port(self.port);
        if let Some(database) = &self.database {
            config.database(database);
        }
        if let Some(user) = &self.user {
            config.authentication(AuthMethod::sql_server(user, &self.password));
        }
        config.encryption(self.encryption);
        if self.trust_server_certificate {
            config.trust_cert();
        }
        if let Some(name) = &self.application_name {
            config.application_name(name);
        }
        config
    }
}

/// The tiberius [`Config`] for a `mssql://` or `sqlserver://` URL:
/// `mssql://user:password@host:port/database?encrypt=true&trust_server_certificate=false`.
///
/// User, password and database are percent-decoded; the port defaults to 1433. Options:
/// `encrypt` (`true`/`required`, the default; `strict`; `false`/`off`, which encrypts the login
/// only; `not_supported`), `trust_server_certificate` (`false` by default) and
/// `application_name`. Unknown options are an error.
pub fn config_from_url(url: &str) -> Result<Config, TiberiusError> {
    ConnectUrl::parse(url).map(ConnectUrl::into_config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url() {
        let url = ConnectUrl::parse(
            "mssql://sa:p%40ss%3Aw%C3%B6rd@db.example:14330/kis%20prod?encrypt=true&trust_server_certificate=true",
        )
        .unwrap();
        assert_eq!(url.host, "db.example");
        assert_eq!(url.port, 14330);
        assert_eq!(url.database.as_deref(), Some("kis prod"));
        assert_eq!(url.user.as_deref(), Some("sa"));
        assert_eq!(url.password, "p@ss:wörd");
        assert_eq!(url.encryption, EncryptionLevel::Required);
        assert!(url.trust_server_certificate);
        assert!(!format!("{url:?}").contains("ss:w"));
        assert_eq!(url.into_config().get_addr(), "db.example:14330");
    }

    #[test]
    fn defaults_are_safe() {
        let url = ConnectUrl::parse("sqlserver://app@localhost").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("localhost", 1433));
        assert_eq!(url.database, None);
        assert_eq!(url.password, "");
        assert_eq!(url.encryption, EncryptionLevel::Required);
        assert!(!url.trust_server_certificate);
    }

    #[test]
    fn options_and_ipv6() {
        let url = ConnectUrl::parse(
            "MSSQL://u:p@[::1]:1434/db/?encrypt=off&TrustServerCertificate=no&application_name=fhir",
        );
        assert!(url.is_err(), "option names are case-sensitive");
        let url = ConnectUrl::parse(
            "MSSQL://u:p@[::1]:1434/db/?encrypt=off&trustservercertificate=no&application_name=fhir",
        )
        .unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 1434));
        assert_eq!(url.database.as_deref(), Some("db"));
        assert_eq!(url.encryption, EncryptionLevel::Off);
        assert_eq!(url.application_name.as_deref(), Some("fhir"));
        let url = ConnectUrl::parse("mssql://h/?encrypt=not_supported").unwrap();
        assert_eq!(url.encryption, EncryptionLevel::NotSupported);
    }

    #[test]
    fn bad_urls_are_rejected_without_echoing_secrets() {
        for bad in [
            "postgres://u:secret@h/db",
            "mssql:/h",
            "mssql://u:secret@/db",
            "mssql://u:secret@h:99999/db",
            "mssql://u:secret@h/db?encrypt=maybe",
            "mssql://u:secret@h/db?trust_server_certificate=sure",
            "mssql://u:secret@h/db?encrytp=true",
            "mssql://u:secret@[::1/db",
            "mssql://u:%FF@h/db",
        ] {
            let error = ConnectUrl::parse(bad).expect_err(bad);
            assert!(!error.to_string().contains("secret"), "{bad}: {error}");
        }
    }
}
