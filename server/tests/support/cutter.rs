//! Bad links for downloads: a proxy that streams each reply through and, as the test's plan
//! says, cuts the connection after some bytes of the body or flips one of them; and a scripted
//! server that answers whatever a test wants (a catalog that lies, a redirect loop).
//!
//! Every connection carries one request: the proxy asks the server to close after its reply
//! and tells the client so, so each request meets the fault the plan picks for it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does to one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Pass,
    /// The connection is closed after this many bytes of the body.
    After(u64),
    /// The body byte at this offset is flipped.
    Corrupt(u64),
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct CutCounts {
    pub requests: AtomicU64,
    pub cuts: AtomicU64,
    pub corrupted: AtomicU64,
    /// Body bytes passed to the client.
    pub body_bytes: AtomicU64,
}

type Plan = Box<dyn FnMut(&str) -> Cut + Send>;

pub struct CuttingProxy {
    pub addr: SocketAddr,
    pub counts: Arc<CutCounts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CuttingProxy {
    /// A proxy in front of `upstream`; `plan` picks each request's fault from its request
    /// line (`GET /v1/packs/x.tidbit HTTP/1.1`).
    pub fn start(upstream: SocketAddr, plan: impl FnMut(&str) -> Cut + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(CutCounts::default());
        let (stopping, counting) = (stop.clone(), counts.clone());
        let mut plan: Plan = Box::new(plan);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => relay(client, upstream, &mut plan, &counting),
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        CuttingProxy {
            addr,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads up to the blank line ending a head; returns the head's lines and any bytes after it.
fn read_head(stream: &mut TcpStream) -> Option<(Vec<String>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let rest = buffer[end + 4..].to_vec();
            return Some((head.split("\r\n").map(str::to_string).collect(), rest));
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// The head with `Connection: close` in place of any connection header.
fn closing(lines: &[String]) -> Vec<u8> {
    let mut head = String::new();
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    head.into_bytes()
}

fn relay(mut client: TcpStream, upstream: SocketAddr, plan: &mut Plan, counts: &CutCounts) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let Some((request, _)) = read_head(&mut client) else {
        return;
    };
    counts.requests.fetch_add(1, Ordering::Relaxed);
    let cut = plan(&request[0]);
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = server.set_read_timeout(Some(Duration::from_secs(10)));
    if server.write_all(&closing(&request)).is_err() {
        return;
    }
    let Some((reply, mut body)) = read_head(&mut server) else {
        return;
    };
    if client.write_all(&closing(&reply)).is_err() {
        return;
    }
    let mut sent = 0u64;
    let mut chunk = [0u8; 8192];
    loop {
        if body.is_empty() {
            match server.read(&mut chunk) {
                Ok(n) if n > 0 => body.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        let mut piece = std::mem::take(&mut body);
        if let Cut::Corrupt(at) = cut {
            if at >= sent && at < sent + piece.len() as u64 {
                piece[(at - sent) as usize] ^= 0x5a;
                counts.corrupted.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Cut::After(limit) = cut {
            let room = limit.saturating_sub(sent) as usize;
            if piece.len() > room {
                let _ = client.write_all(&piece[..room]);
                counts.body_bytes.fetch_add(room as u64, Ordering::Relaxed);
                counts.cuts.fetch_add(1, Ordering::Relaxed);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
        }
        if client.write_all(&piece).is_err() {
            return;
        }
        sent += piece.len() as u64;
        counts
            .body_bytes
            .fetch_add(piece.len() as u64, Ordering::Relaxed);
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// One scripted reply: status, extra headers, body.
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Script = Box<dyn FnMut(&str) -> Scripted + Send>;

/// A server answering each request (by its path) as `script` says; it records the paths.
pub struct ScriptedServer {
    pub addr: SocketAddr,
    pub paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    pub fn start(script: impl FnMut(&str) -> Scripted + Send + 'static) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (stopping, seen) = (stop.clone(), paths.clone());
        let mut script: Script = Box::new(script);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((mut client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
                let Some((request, _)) = read_head(&mut client) else {
                    continue;
                };
                let path = request[0].split(' ').nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(path.clone());
                let reply = script(&path);
                let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
                let mut has_length = false;
                for (name, value) in &reply.headers {
                    has_length |= name.eq_ignore_ascii_case("content-length");
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                if !has_length {
                    head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
                }
                head.push_str("Connection: close\r\n\r\n");
                let _ = client.write_all(head.as_bytes());
                let _ = client.write_all(&reply.body);
                let _ = client.shutdown(Shutdown::Both);
            }
        });
        ScriptedServer {
            addr,
            paths,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
