//! A bounded pool of tiberius connections (bb8).

use std::fmt;

use fhir_facade_core::sql::PoolSettings;
use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::{TiberiusError, config_from_url};

/// One connection, with whether a statement on it is unfinished.
pub(crate) struct Connection {
    pub(crate) client: Client<Compat<TcpStream>>,
    /// Set while a statement runs and left set when it did not complete (dropped future, time
    /// limit, I/O or protocol error): such a connection may be mid-message and is discarded.
    pub(crate) in_flight: bool,
}

/// Opens connections for bb8.
pub(crate) struct Manager {
    config: Config,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config holds the password.
        f.debug_struct("Manager")
            .field("addr", &self.config.get_addr())
            .finish_non_exhaustive()
    }
}

/// Logs failures to open a connection, which bb8 retries in the background and does not hand to
/// the waiting request (that one sees no connection within its time limit: 503).
#[derive(Debug, Clone, Copy)]
struct LogConnectErrors;

impl bb8::ErrorSink<tiberius::error::Error> for LogConnectErrors {
    fn sink(&self, error: tiberius::error::Error) {
        tracing::error!(error = %error, "opening a SQL Server connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<tiberius::error::Error>> {
        Box::new(*self)
    }
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = tiberius::error::Error;

    async fn connect(&self) -> Result<Connection, tiberius::error::Error> {
        let tcp = TcpStream::connect(self.config.get_addr()).await?;
        tcp.set_nodelay(true)?;
        let client = Client::connect(self.config.clone(), tcp.compat_write()).await?;
        Ok(Connection {
            client,
            in_flight: false,
        })
    }

    async fn is_valid(&self, conn: &mut Connection) -> Result<(), tiberius::error::Error> {
        conn.in_flight = true;
        conn.client
            .simple_query("SELECT 1")
            .await?
            .into_results()
            .await?;
        conn.in_flight = false;
        Ok(())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.in_flight
    }
}

/// A bounded pool of SQL Server connections. Connections are opened on demand and not pinged
/// before use; a connection whose statement did not finish is dropped instead of reused.
#[derive(Debug, Clone)]
pub struct Pool {
    pub(crate) inner: bb8::Pool<Manager>,
}

impl Pool {
    /// A pool of at most `max_connections` for a `mssql://` or `sqlserver://` URL (see
    /// [`config_from_url`]), with the other [`PoolSettings`] at their defaults. Opens the first
    /// connection at once, so that a wrong address, password or certificate fails here with the
    /// driver's error.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Pool, TiberiusError> {
        let settings = PoolSettings {
            max_connections,
            ..PoolSettings::default()
        };
        Pool::connect_with(url, &settings).await
    }

    /// [`connect`](Self::connect) sized and timed by `settings`: waiting for a connection,
    /// opening one included, ends after `settings.acquire_timeout`.
    pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<Pool, TiberiusError> {
        let manager = Manager {
            config: config_from_url(url)?,
        };
        let first = bb8::ManageConnection::connect(&manager).await?;
        let pool = Pool::with_manager(manager, settings);
        // A full pool cannot happen with one connection; the connection is then simply closed.
        let _ = pool.inner.add(first);
        Ok(pool)
    }

    /// A pool of at most `max_connections` for `config`; nothing is opened until first use.
    pub fn new(config: Config, max_connections: u32) -> Pool {
        let settings = PoolSettings {
            max_connections,
            ..PoolSettings::default()
        };
        Pool::with_manager(Manager { config }, &settings)
    }

    fn with_manager(manager: Manager, settings: &PoolSettings) -> Pool {
        let inner = bb8::Pool::builder()
            .max_size(settings.max_connections.max(1))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false)
            .error_sink(Box::new(LogConnectErrors))
            .build_unchecked(manager);
        Pool { inner }
    }
}
