//! A real xAPI LRS for tests (Learning Locker's statements service, `scripts/lrs.sh`), a gate
//! in front of it that can take it down or cut its replies, and a reader of what it stored.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running LRS, stopped when dropped.
pub struct Lrs {
    env_file: PathBuf,
    /// The xAPI base (`<endpoint>/statements`).
    pub endpoint: String,
    pub user: String,
    pub password: String,
    _dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lrs.sh")
}

impl Lrs {
    pub fn start() -> Lrs {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("lrs.env");
        let status = std::process::Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&env_file)
            .status()
            .expect("bash runs scripts/lrs.sh");
        assert!(status.success(), "scripts/lrs.sh start failed");
        let text = std::fs::read_to_string(&env_file).unwrap();
        let values: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        Lrs {
            endpoint: values["LRS_ENDPOINT"].to_string(),
            user: values["LRS_USER"].to_string(),
            password: values["LRS_PASSWORD"].to_string(),
            env_file,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        let rest = self.endpoint.strip_prefix("http://").unwrap();
        rest.split('/').next().unwrap().parse().unwrap()
    }

    /// The xAPI base path (`/xAPI`).
    pub fn base_path(&self) -> String {
        let rest = self.endpoint.strip_prefix("http://").unwrap();
        format!("/{}", rest.split_once('/').map_or("", |(_, p)| p))
    }

    /// Every statement the LRS holds, following its `more` links.
    pub fn statements(&self) -> Vec<serde_json::Value> {
        let client = reqwest::blocking::Client::new();
        let root = format!("http://{}", self.addr());
        let mut url = format!("{}/statements?limit=500", self.endpoint);
        let mut all = Vec::new();
        loop {
            let page: serde_json::Value = client
                .get(&url)
                .basic_auth(&self.user, Some(&self.password))
                .header("X-Experience-API-Version", "1.0.3")
                .send()
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .unwrap();
            all.extend(page["statements"].as_array().unwrap().iter().cloned());
            match page["more"].as_str() {
                Some(more) if !more.is_empty() => url = format!("{root}{more}"),
                _ => return all,
            }
        }
    }
}

impl Drop for Lrs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.env_file)
            .status();
    }
}

/// What the gate does to connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GateMode {
    /// Passes everything.
    Open = 0,
    /// Refuses: every connection is closed at once (the LRS is down).
    Down = 1,
    /// Passes requests to the LRS but cuts the connection before its reply reaches the server:
    /// the LRS stored what the server believes failed.
    CutReplies = 2,
}

/// A TCP gate on 127.0.0.1 in front of the LRS.
pub struct Gate {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Gate {
    pub fn start(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(GateMode::Open as u8));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (gate_mode, gate_live) = (mode.clone(), live.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let current = gate_mode.load(Ordering::SeqCst);
                if current == GateMode::Down as u8 {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                gate_live
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let cut = current == GateMode::CutReplies as u8;
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    false,
                );
                pipe(server, client, cut);
            }
        });
        Gate { addr, mode, live }
    }

    /// Switches the mode; connections open now are cut, so the next request meets the new one.
    pub fn set(&self, mode: GateMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        for stream in self.live.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Copies `from` into `to` on a thread of its own; with `cut`, the first bytes are thrown away
/// and both connections closed instead.
fn pipe(mut from: TcpStream, mut to: TcpStream, cut: bool) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if cut || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
        std::thread::sleep(Duration::from_millis(1));
    });
}
