//! A fault-injecting HTTP proxy on 127.0.0.1, in front of a real server in its own process
//! ([`ServerProcess`]).
//!
//! Each request the proxy receives meets one seeded [`Fault`]: it passes, is dropped before or
//! after the server processed it, is delivered twice, is delayed a little, is stalled past the
//! client's request timeout, is delivered again (or only) later after other requests, has its
//! reply truncated, or meets a server restart: SIGKILL and a new process on the same data and
//! port, before, during or after the request, so a request in flight is really cut. The proxy
//! speaks just enough HTTP/1.1 for the sync client: one request per connection, a
//! `Content-Length` body, `Connection: close` both ways. It handles one connection at a time,
//! and each sender's requests meet faults from a stream of their own, so a seed replays the
//! same faults on the same requests even when two devices sync at once.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::server_process::ServerProcess;

/// The server the proxy forwards to; the proxy restarts it.
pub type SharedServer = Arc<Mutex<ServerProcess>>;

/// SplitMix64: small, seeded and the same everywhere, so a scenario's seed replays it.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed ^ 0x5EED_F00D_CAFE_D00D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Pass,
    /// Never forwarded; the client gets a 502 or a closed connection.
    DropBefore {
        reply_502: bool,
    },
    /// Forwarded with its body cut short and the connection closed; the client gets a 502.
    CutRequest,
    /// Forwarded and processed; the reply is lost (a 502 or a closed connection instead).
    DropAfter {
        reply_502: bool,
    },
    /// Forwarded twice in a row; the client gets the second reply.
    Duplicate,
    /// Forwarded after a short pause, and answered after another.
    Delay {
        before_ms: u64,
        after_ms: u64,
    },
    /// Held for `ms`, longer than the client waits for a reply, before it is forwarded or
    /// (`after`) before its reply is written: the client's request times out while the server
    /// may still process the request.
    Stall {
        ms: u64,
        after: bool,
    },
    /// Forwarded and answered now, and delivered again after `later` more requests.
    Reorder {
        later: u32,
    },
    /// Not forwarded now (the client gets a 502): delivered only after `later` more requests.
    Hold {
        later: u32,
    },
    /// The reply is cut to `keep_permille`/1000 of its body: either with an honest, shorter
    /// `Content-Length` (a garbled body) or with the full length and the connection closed.
    Truncate {
        keep_permille: u16,
        cut_connection: bool,
    },
    /// The server is killed and started again before the request reaches it.
    RestartBefore,
    /// The server is killed `after_ms` after the request was forwarded, wherever it is in
    /// the request, and started again; a reply that made it out is passed on, else a 502.
    RestartDuring {
        after_ms: u64,
    },
    /// The server processes the request and is killed before the reply leaves: a 502.
    RestartAfter,
}

impl Fault {
    /// A fault for one request: `Pass` with probability `1 - rate`, otherwise any other. A
    /// stall lasts from `stall.0` to `stall.1` milliseconds.
    pub fn pick(rng: &mut SeededRng, rate: f64, stall: (u64, u64)) -> Fault {
        if !rng.chance(rate) {
            return Fault::Pass;
        }
        match rng.below(13) {
            0 => Fault::DropBefore {
                reply_502: rng.chance(0.5),
            },
            1 => Fault::CutRequest,
            2 | 3 => Fault::DropAfter {
                reply_502: rng.chance(0.5),
            },
            4 => Fault::Duplicate,
            5 => Fault::Delay {
                before_ms: rng.below(15),
                after_ms: rng.below(15),
            },
            6 => Fault::Reorder {
                later: rng.between(1, 4) as u32,
            },
            7 => Fault::Hold {
                later: rng.between(1, 4) as u32,
            },
            8 | 9 => Fault::Truncate {
                keep_permille: rng.below(1000) as u16,
                cut_connection: rng.chance(0.5),
            },
            10 => match rng.below(3) {
                0 => Fault::RestartBefore,
                1 => Fault::RestartDuring {
                    after_ms: rng.below(8),
                },
                _ => Fault::RestartAfter,
            },
            11 => Fault::Stall {
                ms: rng.between(stall.0, stall.1),
                after: rng.chance(0.5),
            },
            _ => Fault::Duplicate,
        }
    }

    /// The fault's kind, without its parameters, for tallies.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::DropBefore { .. } => "drop-before",
            Fault::CutRequest => "cut-request",
            Fault::DropAfter { .. } => "drop-after",
            Fault::Duplicate => "duplicate",
            Fault::Delay { .. } => "delay",
            Fault::Stall { .. } => "stall",
            Fault::Reorder { .. } => "reorder",
            Fault::Hold { .. } => "hold",
            Fault::Truncate { .. } => "truncate",
            Fault::RestartBefore | Fault::RestartDuring { .. } | Fault::RestartAfter => "restart",
        }
    }
}

/// One HTTP request as the proxy read it.
#[derive(Debug, Clone)]
struct Request {
    /// The request line and headers, `Connection` removed, without the blank line.
    head: String,
    body: Vec<u8>,
}

impl Request {
    /// Who sent the request: its `Authorization` header.
    fn sender(&self) -> String {
        self.head
            .lines()
            .find(|line| line.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap_or_default()
            .to_string()
    }
}

/// FNV-1a: a hash that is the same in every process.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A server reply: status and body.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// What the proxy saw besides the faults it injected.
#[derive(Debug, Default)]
pub struct ProxyCounts {
    /// Stalls after which the client had already hung up: its request timed out.
    pub client_timeouts: AtomicU64,
    /// Requests forwarded while the server was killed that got no reply: cut in flight.
    pub cut_by_kill: AtomicU64,
    /// Requests whose replies went back whole.
    pub replies: AtomicU64,
}

/// The running proxy. Dropping it stops it.
pub struct FaultProxy {
    pub addr: SocketAddr,
    /// Every fault injected, in order.
    pub faults: Arc<Mutex<Vec<Fault>>>,
    pub counts: Arc<ProxyCounts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `server`, picking each request's fault from `seed` with the
    /// given fault `rate`. A stall outlasts `client_timeout` (the clients' request timeout) by
    /// 100 ms to half of it again.
    pub fn start(
        server: SharedServer,
        seed: u64,
        rate: f64,
        client_timeout: Duration,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new(ProxyCounts::default());
        let timeout_ms = client_timeout.as_millis() as u64;
        let server_addr = server.lock().unwrap().addr;
        let mut worker = Worker {
            server,
            server_addr,
            seed,
            streams: HashMap::new(),
            rate,
            stall: (timeout_ms + 100, timeout_ms * 3 / 2 + 100),
            held: Vec::new(),
            faults: faults.clone(),
            counts: counts.clone(),
        };
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{seed}"))
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => worker.handle(client),
                        // Nothing to accept yet: the listener does not block, so stop is seen.
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
            })
            .unwrap();
        FaultProxy {
            addr,
            faults,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    server: SharedServer,
    /// Where the server listens, across restarts.
    server_addr: SocketAddr,
    seed: u64,
    /// One fault stream per sender (per `Authorization` header), so the faults a device meets
    /// do not depend on how its requests interleave with another device's.
    streams: HashMap<String, SeededRng>,
    rate: f64,
    /// How long a stall lasts: from, to (ms).
    stall: (u64, u64),
    /// Requests to deliver again later: (requests still to wait, request).
    held: Vec<(u32, Request)>,
    faults: Arc<Mutex<Vec<Fault>>>,
    counts: Arc<ProxyCounts>,
}

impl Worker {
    fn handle(&mut self, mut client: TcpStream) {
        let _ = client.set_nonblocking(false);
        let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
        let Some(request) = read_request(&mut client) else {
            return;
        };
        self.deliver_due();
        let seed = self.seed;
        let stream = self
            .streams
            .entry(request.sender())
            .or_insert_with_key(|sender| SeededRng::new(seed ^ fnv1a(sender.as_bytes())));
        let fault = Fault::pick(stream, self.rate, self.stall);
        self.faults.lock().unwrap().push(fault);
        let server = self.server_addr;
        let reply = match fault {
            Fault::Pass => forward(server, &request),
            Fault::DropBefore { reply_502 } => return lose(client, reply_502),
            Fault::CutRequest => {
                forward_cut(server, &request);
                return lose(client, true);
            }
            Fault::DropAfter { reply_502 } => {
                let _ = forward(server, &request);
                return lose(client, reply_502);
            }
            Fault::Duplicate => {
                let _ = forward(server, &request);
                forward(server, &request)
            }
            Fault::Delay {
                before_ms,
                after_ms,
            } => {
                std::thread::sleep(Duration::from_millis(before_ms));
                let reply = forward(server, &request);
                std::thread::sleep(Duration::from_millis(after_ms));
                reply
            }
            Fault::Stall { ms, after } => {
                if !after {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                let reply = forward(server, &request);
                if after {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                if hung_up(&client) {
                    self.counts.client_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                reply
            }
            Fault::Reorder { later } => {
                self.held.push((later, request.clone()));
                forward(server, &request)
            }
            Fault::Hold { later } => {
                self.held.push((later, request));
                return lose(client, true);
            }
            Fault::Truncate {
                keep_permille,
                cut_connection,
            } => {
                if let Some(reply) = forward(server, &request) {
                    let keep = reply.body.len() * usize::from(keep_permille) / 1000;
                    let declared = if cut_connection {
                        reply.body.len()
                    } else {
                        keep
                    };
                    let _ = write_reply(&mut client, reply.status, declared, &reply.body[..keep]);
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                None
            }
            Fault::RestartBefore => {
                self.restart_server();
                forward(server, &request)
            }
            Fault::RestartDuring { after_ms } => {
                let copy = request.clone();
                let in_flight = std::thread::spawn(move || forward(server, &copy));
                std::thread::sleep(Duration::from_millis(after_ms));
                self.restart_server();
                let reply = in_flight.join().ok().flatten();
                if reply.is_none() {
                    self.counts.cut_by_kill.fetch_add(1, Ordering::Relaxed);
                }
                reply
            }
            Fault::RestartAfter => {
                let _ = forward(server, &request);
                self.restart_server();
                return lose(client, true);
            }
        };
        match reply {
            Some(reply) => {
                if write_reply(&mut client, reply.status, reply.body.len(), &reply.body).is_ok() {
                    self.counts.replies.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                let _ = write_reply(&mut client, 502, 0, b"");
            }
        }
        let _ = client.shutdown(Shutdown::Both);
    }

    /// Delivers the held requests whose wait is over (their replies go nowhere).
    fn deliver_due(&mut self) {
        let mut waiting = Vec::new();
        for (wait, request) in std::mem::take(&mut self.held) {
            if wait <= 1 {
                let _ = forward(self.server_addr, &request);
            } else {
                waiting.push((wait - 1, request));
            }
        }
        self.held = waiting;
    }

    fn restart_server(&self) {
        self.server.lock().unwrap().restart();
    }
}

/// Whether the client has closed its side of the connection (it sent its whole request, so
/// anything readable now is the end of the stream).
fn hung_up(client: &TcpStream) -> bool {
    if client.set_nonblocking(true).is_err() {
        return true;
    }
    let mut byte = [0u8; 1];
    let gone = match client.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    let _ = client.set_nonblocking(false);
    gone
}

/// Reads one request: its head up to the blank line, then `Content-Length` bytes of body.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let (head, mut body) = read_head(stream)?;
    let length = content_length(&head)?;
    read_body(stream, &mut body, length)?;
    let head = head
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    Some(Request { head, body })
}

/// Reads up to the end of the head; returns it and the body bytes read past it.
fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(bytes[..end].to_vec()).ok()?;
            return Some((head, bytes[end + 4..].to_vec()));
        }
        if bytes.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..n]);
    }
}

fn read_body(stream: &mut TcpStream, body: &mut Vec<u8>, length: usize) -> Option<()> {
    let mut buffer = [0u8; 64 * 1024];
    while body.len() < length {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buffer[..n]);
    }
    body.truncate(length);
    Some(())
}

fn content_length(head: &str) -> Option<usize> {
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return value.trim().parse().ok();
            }
        }
    }
    Some(0)
}

fn connect(server: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&server, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    Some(stream)
}

/// Sends `request` to the server and reads its whole reply; `None` if the server could not be
/// reached or the reply was cut.
fn forward(server: SocketAddr, request: &Request) -> Option<Reply> {
    let mut stream = connect(server)?;
    stream
        .write_all(format!("{}\r\nConnection: close\r\n\r\n", request.head).as_bytes())
        .ok()?;
    stream.write_all(&request.body).ok()?;
    let (head, mut body) = read_head(&mut stream)?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = content_length(&head)?;
    read_body(&mut stream, &mut body, length)?;
    Some(Reply { status, body })
}

/// Sends `request` with its body cut in half, then closes the connection.
fn forward_cut(server: SocketAddr, request: &Request) {
    if let Some(mut stream) = connect(server) {
        let _ =
            stream.write_all(format!("{}\r\nConnection: close\r\n\r\n", request.head).as_bytes());
        let _ = stream.write_all(&request.body[..request.body.len() / 2]);
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Loses the reply: a 502, or the connection closed without a word.
fn lose(mut client: TcpStream, reply_502: bool) {
    if reply_502 {
        let _ = write_reply(&mut client, 502, 0, b"");
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn write_reply(
    client: &mut TcpStream,
    status: u16,
    declared_length: usize,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        502 => "Bad Gateway",
        _ => "Status",
    };
    client.write_all(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/octet-stream\r\n\
             content-length: {declared_length}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    )?;
    client.write_all(body)?;
    client.flush()
}
