//! A real server in a process of its own, so that a restart is a real one.
//!
//! [`ServerProcess::restart`] sends the process SIGKILL and starts a new one on the same data
//! directory and the same port: whatever the old process was doing (reading a request,
//! applying it, committing, writing the reply) stops where it was, and its connections are cut.
//! Nothing of the old server survives in memory; what the new one serves is what the old one
//! had committed to disk.
//!
//! The process is this test binary again, running one ignored test that serves. A test binary
//! that starts a `ServerProcess` declares that test at its root, named [`ENTRY_TEST`]:
//!
//! ```ignore
//! #[test]
//! #[ignore = "the server process the fault tests start and kill; not a test on its own"]
//! fn server_process() {
//!     support::server_process::serve_from_env();
//! }
//! ```
//!
//! The server holds the read end of a pipe from the test as its stdin: when the test process
//! goes, however it goes, the server sees the pipe close and exits too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tidbit_server::Hub;

use super::GENEROUS_RATE;

/// The name of the test that serves, at the root of the test binary.
pub const ENTRY_TEST: &str = "server_process";
const DATA_ENV: &str = "TIDBIT_TEST_SERVER_DATA";
const ADDR_ENV: &str = "TIDBIT_TEST_SERVER_ADDR";
const READY: &str = "tidbit-test-server listening on ";

/// A server running in a child process, never rate limited.
pub struct ServerProcess {
    /// Where it listens; the same across restarts.
    pub addr: SocketAddr,
    pub data: PathBuf,
    /// This process's own view of the data directory: it issues tokens and reads what the
    /// server stored (SQLite lets both processes in).
    pub hub: Hub,
    /// How many times the process was killed and started again.
    pub restarts: u32,
    child: Child,
    // Held so the server's stdin stays open (see the module header) and its stdout never
    // blocks it.
    _stdin: ChildStdin,
    _stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Starts a server on a free loopback port, on `data` (created if absent).
    pub fn start(data: &Path) -> ServerProcess {
        // The token key is made here, before the server can race to make its own.
        let hub = super::open_hub(data);
        let (child, stdin, stdout, addr) = spawn(data, "127.0.0.1:0".parse().unwrap());
        ServerProcess {
            addr,
            data: data.to_path_buf(),
            hub,
            restarts: 0,
            child,
            _stdin: stdin,
            _stdout: stdout,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self, learner: &str, device: &str) -> String {
        self.hub.tokens.issue(learner, device, 4_102_444_800)
    }

    /// Kills the server with SIGKILL, waits until it is gone, and starts a new one on the
    /// same data and port.
    pub fn restart(&mut self) {
        self.kill();
        let (child, stdin, stdout, addr) = spawn(&self.data, self.addr);
        assert_eq!(addr, self.addr);
        self.child = child;
        self._stdin = stdin;
        self._stdout = stdout;
        self.restarts += 1;
    }

    /// Kills the server with SIGKILL and waits until it is gone (start it again with
    /// [`ServerProcess::restart`]).
    pub fn kill(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no handler runs, nothing is flushed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(data: &Path, addr: SocketAddr) -> (Child, ChildStdin, BufReader<ChildStdout>, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            ENTRY_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DATA_ENV, data)
        .env(ADDR_ENV, addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pipes = child.stdin.take().zip(child.stdout.take());
    let listening = pipes.map(|(stdin, stdout)| {
        let mut stdout = BufReader::new(stdout);
        let bound = wait_until_listening(&mut stdout);
        (stdin, stdout, bound)
    });
    match listening {
        Some((stdin, stdout, Some(bound))) => (child, stdin, stdout, bound),
        _ => {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "the server process on {} exited before it listened on {addr}: {status:?}",
                data.display()
            )
        }
    }
}

/// Reads the server's output up to its line saying where it listens; `None` if it ends first.
fn wait_until_listening(stdout: &mut BufReader<ChildStdout>) -> Option<SocketAddr> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // The test harness may have started the line ("test server_process ... ").
        if let Some((_, bound)) = line.trim().split_once(READY) {
            return bound.parse().ok();
        }
    }
}

/// The server process's body: serves `TIDBIT_TEST_SERVER_DATA` on `TIDBIT_TEST_SERVER_ADDR`
/// until killed or until its stdin closes. Without those variables (a person running the
/// ignored tests) it returns at once.
pub fn serve_from_env() {
    let (Ok(data), Ok(addr)) = (std::env::var(DATA_ENV), std::env::var(ADDR_ENV)) else {
        return;
    };
    let addr: SocketAddr = addr.parse().unwrap();
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    let hub = Arc::new(
        super::open_hub(Path::new(&data))
            .with_rate_limit(GENEROUS_RATE)
            .with_clock(super::server_clock()),
    );
    let runtime = tidbit_core::runtime::runtime().unwrap();
    // The killed server's port is free once it has exited, but give the kernel a moment.
    let mut attempts = 0;
    let (bound, task) = loop {
        match runtime.block_on(tidbit_server::spawn(addr, hub.clone())) {
            Ok(serving) => break serving,
            Err(e) => {
                attempts += 1;
                assert!(attempts < 2_000, "port {addr} stayed busy: {e}");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{READY}{bound}").unwrap();
    stdout.flush().unwrap();
    let served = runtime.block_on(task);
    panic!("the test server stopped serving: {served:?}");
}
