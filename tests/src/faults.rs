//! Fault injection for the fault suites: a TCP proxy between a facade and its database that
//! can stop like a server that went down, start again, or turn slow; and a steady HTTP load
//! whose every answer is recorded with the time it came.
//!
//! The proxy stands in for the database server so that a test can fail *this* facade's
//! connections without stopping the server the other tests on the machine share.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Default)]
struct ProxyState {
    /// Incremented by every stop: connections of an older generation are cut.
    generation: u64,
    up: bool,
    delay: Duration,
    /// The proxy's own ports of its connections to the server, as the server sees them.
    upstream_ports: HashSet<u16>,
}

/// A TCP proxy to a database server.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    generation: watch::Sender<u64>,
    accepting: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // The same port is bound again when the proxy starts after a stop.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

impl FaultProxy {
    /// A running proxy on a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (generation, _) = watch::channel(0);
        let proxy = FaultProxy {
            addr,
            upstream,
            state: Arc::new(Mutex::new(ProxyState {
                up: true,
                ..ProxyState::default()
            })),
            generation,
            accepting: Arc::new(Mutex::new(None)),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Like a server going down: every connection is cut and the port refuses new ones.
    pub fn stop(&self) {
        let generation = {
            let mut state = self.state();
            state.up = false;
            state.generation += 1;
            state.generation
        };
        if let Some(task) = self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        let _ = self.generation.send(generation);
    }

    /// Like the server coming back: the port accepts connections again.
    pub async fn start_again(&self) {
        self.state().up = true;
        // The aborted accept loop releases the listener soon after the abort.
        let listener = loop {
            match bind(self.addr) {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        self.accept_on(listener);
    }

    /// Holds every chunk the server sends for `delay` before passing it on (zero: none).
    pub fn set_delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    /// The local ports of the proxy's open connections to the server: the client ports the
    /// server shows for them (`pg_stat_activity.client_port`, MariaDB's processlist host).
    pub fn upstream_ports(&self) -> Vec<u16> {
        self.state().upstream_ports.iter().copied().collect()
    }

    fn accept_on(&self, listener: TcpListener) {
        let proxy = self.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let proxy = proxy.clone();
                tokio::spawn(async move { proxy.forward(client).await });
            }
        });
        *self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    async fn forward(&self, client: TcpStream) {
        let generation = self.state().generation;
        let mut cut = self.generation.subscribe();
        let Ok(server) = TcpStream::connect(self.upstream).await else {
            return;
        };
        let port = server.local_addr().map(|a| a.port()).unwrap_or(0);
        self.state().upstream_ports.insert(port);
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let upward = async {
            let mut buffer = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                if server_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        };
        let downward = async {
            let mut buffer = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                let delay = self.state().delay;
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if client_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        };
        let stopped = async {
            while *cut.borrow_and_update() <= generation {
                if cut.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = upward => {}
            () = downward => {}
            () = stopped => {}
        }
        self.state().upstream_ports.remove(&port);
    }
}

/// One answer of the load.
#[derive(Debug, Clone)]
pub struct Answer {
    /// When the request was sent, from the start of the load.
    pub at: Duration,
    /// The request, `GET /fhir/...` or `POST /fhir/...`.
    pub request: String,
    /// How long the answer took.
    pub took: Duration,
    /// The status, 0 when no HTTP answer came (the connection failed).
    pub status: u16,
    /// Whether the answer carried `Retry-After`.
    pub retry_after: bool,
    /// Whether the body was an `OperationOutcome`.
    pub operation_outcome: bool,
    /// The body.
    pub body: String,
}

/// A request of the load: a GET of `path`, or a POST of `body` to it.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The path, from the server root.
    pub path: String,
    /// The JSON body of a POST; `None` for a GET.
    pub body: Option<String>,
}

impl LoadRequest {
    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        LoadRequest {
            path: path.into(),
            body: None,
        }
    }

    /// A POST of a FHIR JSON body.
    pub fn post(path: impl Into<String>, body: impl Into<String>) -> Self {
        LoadRequest {
            path: path.into(),
            body: Some(body.into()),
        }
    }
}

/// One HTTP/1.1 request on its own connection, sent now.
pub async fn request_once(addr: SocketAddr, request: &LoadRequest) -> Answer {
    let started = Instant::now();
    let (status, retry_after, body) = send(addr, request).await;
    Answer {
        at: Duration::ZERO,
        took: started.elapsed(),
        request: format!(
            "{} {}",
            if request.body.is_some() {
                "POST"
            } else {
                "GET"
            },
            request.path
        ),
        status,
        retry_after,
        operation_outcome: body.contains("\"OperationOutcome\""),
        body,
    }
}

async fn send(addr: SocketAddr, request: &LoadRequest) -> (u16, bool, String) {
    let text = match &request.body {
        None => format!(
            "GET {} HTTP/1.1\r\nHost: faults\r\nAccept: application/fhir+json\r\nConnection: close\r\n\r\n",
            request.path
        ),
        Some(body) => format!(
            "POST {} HTTP/1.1\r\nHost: faults\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            request.path,
            body.len()
        ),
    };
    let answer = exchange(addr, text.as_bytes()).await;
    let retry_after = answer.header("retry-after").is_some();
    (answer.status, retry_after, answer.body)
}

/// An HTTP answer as it came off the wire.
#[derive(Debug, Clone, Default)]
pub struct RawAnswer {
    /// The status, 0 when no HTTP answer came.
    pub status: u16,
    /// The header lines, as sent.
    pub headers: Vec<String>,
    /// The body, de-chunked.
    pub body: String,
}

impl RawAnswer {
    /// The value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// Sends `request` (bytes, as they go on the wire) on a new connection and reads the answer
/// until the server closes it (within 30 s). The server may answer before it has read the whole
/// request (a 413) and close: what it sent counts, whatever became of the rest of the request.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> RawAnswer {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return RawAnswer::default();
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut answer = Vec::new();
    let sending = async {
        let _ = writer.write_all(request).await;
    };
    let receiving = async {
        // Bytes read before a reset stay in `answer`.
        let _ = reader.read_to_end(&mut answer).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(sending, receiving)
    })
    .await;
    parse_answer(&answer)
}

/// An answer's status, headers and (de-chunked) body.
pub fn parse_answer(answer: &[u8]) -> RawAnswer {
    let answer = String::from_utf8_lossy(answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<String> = lines.map(str::to_owned).collect();
    let mut raw = RawAnswer {
        status,
        headers,
        body: String::new(),
    };
    raw.body = if raw
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    raw
}

/// The payload of a chunked body (RFC 9112 section 7.1); what it has up to a malformed chunk.
fn dechunk(mut body: &str) -> String {
    let mut payload = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16);
        match size {
            Ok(n) if n > 0 && rest.len() >= n => {
                payload.push_str(&rest[..n]);
                body = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
            }
            _ => break,
        }
    }
    payload
}

/// `clients` concurrent clients sending `requests` round-robin to `addr` until `duration` has
/// passed, each waiting for its answer before the next; every answer, in order of sending.
pub async fn steady_load(
    addr: SocketAddr,
    requests: Vec<LoadRequest>,
    clients: usize,
    duration: Duration,
) -> Vec<Answer> {
    let started = Instant::now();
    let requests = Arc::new(requests);
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let mut n = client;
                while started.elapsed() < duration {
                    let request = &requests[n % requests.len()];
                    n += clients;
                    let at = started.elapsed();
                    let answer = Answer {
                        at,
                        ..request_once(addr, request).await
                    };
                    let status = answer.status;
                    answers.push(answer);
                    // A client told to wait does, briefly, as a real one would.
                    if status == 503 || status == 504 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    answers.sort_by_key(|a| a.at);
    answers
}

/// Answers counted by status, as `status: count` lines.
pub fn by_status(answers: &[Answer]) -> String {
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for answer in answers {
        *counts.entry(answer.status).or_default() += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{status}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
