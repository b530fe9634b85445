//! Shared set-up for the server's end-to-end tests: a signed sample pack, a real server on
//! 127.0.0.1, and devices of one learner on manual clocks.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::tidbit::{Tidbit, TidbitConfig};
use tidbit_server::Hub;

pub const COURSE: &str = "field-safety";

/// The field-safety sample course, signed once per test process.
pub fn sample_pack() -> &'static (PathBuf, TrustedKeys) {
    static PACK: OnceLock<(PathBuf, TrustedKeys)> = OnceLock::new();
    PACK.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let key = SigningKey::generate().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../content")
            .join(COURSE);
        let compiled = compile_course(&source).unwrap();
        let path = dir.join(format!("{COURSE}.tidbit"));
        let mut out = std::fs::File::create(&path).unwrap();
        write_course_pack(&compiled, &key, start(), &mut out, &mut |_, _| {}).unwrap();
        (path, TrustedKeys::from_keys([key.public_key()]))
    })
}

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A running server on a free loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    pub data: PathBuf,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn start(data: &Path) -> TestServer {
        Self::start_on(data, "127.0.0.1:0".parse().unwrap())
    }

    pub fn start_on(data: &Path, addr: SocketAddr) -> TestServer {
        let hub = Arc::new(Hub::open(data).unwrap());
        let runtime = tidbit_core::sync::runtime().unwrap();
        let (addr, task) = runtime
            .block_on(tidbit_server::spawn(addr, hub.clone()))
            .unwrap();
        TestServer {
            addr,
            hub,
            data: data.to_path_buf(),
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self, learner: &str, device: &str) -> String {
        self.hub.tokens.issue(learner, device, 4_102_444_800)
    }

    /// Stops serving (connections in flight are cut) and starts again on the same port.
    pub fn restart(self) -> TestServer {
        self.task.abort();
        let addr = self.addr;
        let data = self.data.clone();
        drop(self);
        // The port is free again once the listener task has gone.
        for _ in 0..100 {
            if std::net::TcpListener::bind(addr).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        TestServer::start_on(&data, addr)
    }
}

/// One device of a learner: its own store and clock.
pub struct Device {
    pub name: String,
    pub tidbit: Mutex<Tidbit>,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
}

impl Device {
    pub fn new(root: &Path, learner: &str, name: &str) -> Device {
        let (pack, trusted) = sample_pack();
        let clock = Arc::new(ManualClock::new(start()));
        let dir = root.join(name);
        let mut tidbit = Tidbit::open(
            TidbitConfig {
                data_dir: dir.clone(),
                learner_id: learner.into(),
                device_id: name.into(),
                time_zone: "Europe/Berlin".into(),
                trusted_keys: trusted.clone(),
            },
            clock.clone(),
        )
        .unwrap();
        tidbit.install_pack(pack, &mut |_, _| {}).unwrap();
        Device {
            name: name.into(),
            tidbit: Mutex::new(tidbit),
            clock,
            dir,
        }
    }

    pub fn sync(
        &self,
        server: &str,
        token: &str,
    ) -> Result<tidbit_core::sync::client::SyncReport, tidbit_core::sync::client::SyncError> {
        let options = tidbit_core::sync::client::SyncOptions::new(server, token);
        tidbit_core::sync::runtime()
            .unwrap()
            .block_on(tidbit_core::sync::client::sync(&self.tidbit, &options))
    }

    pub fn digest(&self) -> String {
        self.tidbit.lock().unwrap().projection_digest().unwrap()
    }

    pub fn event_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .tidbit
            .lock()
            .unwrap()
            .events()
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    }
}

/// The server's projected state for `learner`: its events replayed on a fresh replica store.
pub fn server_digest(server: &TestServer, learner: &str, root: &Path) -> String {
    let events = tidbit_server::sync::learner_events(server.hub.storage.as_ref(), learner).unwrap();
    let replica = Device::new(root, learner, "server-replica");
    let mut tidbit = replica.tidbit.lock().unwrap();
    tidbit.replay_events(&events).unwrap();
    tidbit.projection_digest().unwrap()
}
