//! Shared set-up for the server's end-to-end tests: a signed sample pack, a real server on
//! 127.0.0.1 (in this process, or in a process of its own that can be killed:
//! [`server_process`]), devices of one learner on manual clocks, a fault-injecting proxy
//! ([`proxy`]) and a hostile device ([`rogue`]).

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

/// The test server's clock: a year after the devices start learning, so every test event lies
/// well inside the window of times the server accepts, whatever today's date is.
pub fn server_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(start() + chrono::Duration::days(365)))
}

/// The variable naming the PostgreSQL cluster the suite runs on (a URL to its `postgres`
/// database, as `scripts/postgres.sh` writes it); unset, the suite runs on SQLite.
pub const DATABASE_ENV: &str = "TIDBIT_TEST_DATABASE";

/// Whether this run of the suite stores learners' data in PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(DATABASE_ENV).is_ok_and(|url| !url.is_empty())
}

/// The storage of the server on `data`: SQLite in the directory, or on PostgreSQL a database
/// of its own, named after the directory (made on first use), so a restarted server and a
/// second process on the same directory share it.
pub fn storage_config(data: &Path) -> tidbit_server::StorageConfig {
    let Some(admin) = std::env::var(DATABASE_ENV).ok().filter(|u| !u.is_empty()) else {
        return tidbit_server::StorageConfig::Sqlite;
    };
    let name = storage_name(data);
    postgres(&admin, |client| async move {
        match client
            .simple_query(&format!("CREATE DATABASE {name}"))
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => panic!("CREATE DATABASE {name}: {e}"),
        }
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    tidbit_server::StorageConfig::Postgres {
        url: format!("{base}/{}", storage_name(data)),
        pool_size: 8,
    }
}

/// The database name of the server on `data` (see [`storage_config`]).
fn storage_name(data: &Path) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, data.display().to_string().as_bytes());
    format!("tidbit_{}", hex::encode(&hash.as_ref()[..10]))
}

/// Runs `work` with a connection to `url`.
pub fn postgres<F, Fut, T>(url: &str, work: F) -> T
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let runtime = tidbit_core::runtime::runtime().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let driver = tokio::spawn(connection);
        let out = work(client).await;
        driver.abort();
        out
    })
}

/// The hub of the server on `data`, on the suite's storage ([`storage_config`]).
pub fn open_hub(data: &Path) -> Hub {
    Hub::open_with(
        data,
        &storage_config(data),
        tidbit_server::Migrations::Apply,
    )
    .unwrap()
}

/// Where the server on `data` keeps `needle` readable: on SQLite, the files of the data
/// directory whose bytes hold it; on PostgreSQL, the tables with a row holding it, in a text
/// column or in the bytes of a binary one.
pub fn stored_places_holding(data: &Path, needle: &str) -> Vec<String> {
    let tidbit_server::StorageConfig::Postgres { url, .. } = storage_config(data) else {
        return files_holding(data, needle);
    };
    let needle = needle.to_string();
    postgres(&url, |client| async move {
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = 'public' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut found = Vec::new();
        for table in tables {
            let rows = client
                .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
                .await
                .unwrap();
            let holds = rows.iter().any(|row| {
                let text: String = row.get(0);
                text.contains(&needle) || hex_runs(&text).any(|bytes| contains(&bytes, &needle))
            });
            if holds {
                found.push(table);
            }
        }
        found
    })
}

/// The bytes of every `\\x…` hex run in a row's text form (how bytea columns print).
fn hex_runs(text: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    text.split("\\x").skip(1).filter_map(|run| {
        let digits: String = run.chars().take_while(char::is_ascii_hexdigit).collect();
        hex::decode(&digits[..digits.len() / 2 * 2]).ok()
    })
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The files under `dir` whose bytes hold `needle`.
pub fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if contains(&std::fs::read(&path).unwrap(), needle) {
            found.push(path.display().to_string());
        }
    }
    found
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
        let hub = Arc::new(open_hub(data).with_clock(server_clock()));
        Self::serve(data, addr, hub)
    }

    /// Serves `hub` (opened on `data`) on a free loopback port.
    pub fn start_with(data: &Path, hub: Arc<Hub>) -> TestServer {
        Self::serve(data, "127.0.0.1:0".parse().unwrap(), hub)
    }

    fn serve(data: &Path, addr: SocketAddr, hub: Arc<Hub>) -> TestServer {
        let runtime = tidbit_core::runtime::runtime().unwrap();
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

    pub fn admin_token(&self) -> String {
        self.token("*", tidbit_server::auth::ADMIN_DEVICE)
    }

    /// Stops serving (connections in flight are cut).
    pub fn stop(self) {
        self.task.abort();
        let runtime = tidbit_core::runtime::runtime().unwrap();
        let _ = runtime.block_on(self.task);
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
                at_rest_key: None,
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
    ) -> Result<
        tidbit_core::tidbit::sync_client::SyncReport,
        tidbit_core::tidbit::sync_client::SyncError,
    > {
        let options = tidbit_core::tidbit::sync_client::SyncOptions::new(server, token);
        tidbit_core::runtime::runtime()
            .unwrap()
            .block_on(tidbit_core::tidbit::sync_client::sync(
                &self.tidbit,
                &options,
            ))
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
    hub_digest(&server.hub, learner, root)
}

/// [`server_digest`] of what `hub`'s storage holds.
pub fn hub_digest(hub: &Hub, learner: &str, root: &Path) -> String {
    let events = tidbit_server::exchange::learner_events(hub.storage.as_ref(), learner).unwrap();
    let replica = Device::new(root, learner, "server-replica");
    let mut tidbit = replica.tidbit.lock().unwrap();
    tidbit.replay_events(&events).unwrap();
    tidbit.projection_digest().unwrap()
}

pub mod cohort;
pub mod courses;
pub mod cutter;
pub mod lrs;
pub mod oidc;
pub mod proxy;
pub mod rogue;
pub mod server_process;

/// A rate limit no test device reaches, for tests whose faults make devices retry a lot.
pub const GENEROUS_RATE: tidbit_server::RateLimit = tidbit_server::RateLimit {
    burst: 1e9,
    per_second: 1e9,
};

/// Posts `body` to `learner`'s sync endpoint with the given `Authorization` header value (none
/// when `None`); returns the status and the reply body.
pub fn post_sync(
    server_url: &str,
    learner: &str,
    authorization: Option<&str>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let url = format!("{server_url}/v1/learners/{learner}/sync");
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/octet-stream")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    })
}

/// The learner's documents on the server with their heads (each list sorted).
pub fn stored_heads(
    server: &TestServer,
    learner: &str,
) -> Vec<(String, Vec<automerge::ChangeHash>)> {
    let mut documents = server.hub.storage.documents(learner).unwrap();
    for (_, heads) in &mut documents {
        heads.sort();
    }
    documents
}

/// Enrolls the device's learner (again, if it was) and practises for `minutes` on each of
/// `days` days from the sample start, never turning the device's clock back.
pub fn learn_for_days(device: &Device, seed: u64, days: i64, minutes: u32) {
    let mut tidbit = device.tidbit.lock().unwrap();
    tidbit.enroll(COURSE, "field-volunteer").unwrap();
    let mut learner = tidbit_core::simulate::PracticeDevice::new(&tidbit, seed, 0.75).unwrap();
    for day in 0..days {
        let at = start() + chrono::Duration::days(day) + chrono::Duration::hours(2);
        if at > tidbit_core::events::Clock::now(device.clock.as_ref()) {
            device.clock.set(at);
        }
        learner
            .practise(&mut tidbit, &device.clock, minutes)
            .unwrap();
    }
}

/// The device's stored documents, loaded the way the device loads them (snapshot, then chunks
/// in order), read through a connection of their own.
pub fn device_documents(device: &Device) -> Vec<(String, automerge::AutoCommit)> {
    let conn = rusqlite::Connection::open_with_flags(
        device.dir.join(tidbit_core::store::DATABASE_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let stored: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT name, snapshot FROM sync_documents ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    stored
        .into_iter()
        .map(|(name, snapshot)| {
            let mut doc = automerge::AutoCommit::load(&snapshot).unwrap();
            let chunks: Vec<Vec<u8>> = conn
                .prepare("SELECT bytes FROM sync_chunks WHERE name = ?1 ORDER BY id")
                .unwrap()
                .query_map([&name], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            for chunk in chunks {
                doc.load_incremental(&chunk).unwrap();
            }
            (name, doc)
        })
        .collect()
}

/// The heads the device's store records for each document (each list sorted).
pub fn device_heads(device: &Device) -> Vec<(String, Vec<automerge::ChangeHash>)> {
    let conn = rusqlite::Connection::open_with_flags(
        device.dir.join(tidbit_core::store::DATABASE_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let rows: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT name, heads FROM sync_documents ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows.into_iter()
        .map(|(name, bytes)| {
            let mut heads: Vec<automerge::ChangeHash> = bytes
                .chunks_exact(32)
                .map(|c| automerge::ChangeHash(c.try_into().unwrap()))
                .collect();
            heads.sort();
            (name, heads)
        })
        .collect()
}

/// A sync message carrying what `doc` holds past `before`, as a peer would send it.
pub fn message_after(doc: &mut automerge::AutoCommit, before: &[automerge::ChangeHash]) -> Vec<u8> {
    automerge::sync::Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: doc.save_after(before).into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// An encoded exchange carrying `message` for document `name`.
pub fn exchange_with(name: &str, message: Vec<u8>) -> Vec<u8> {
    tidbit_core::sync::exchange::Exchange {
        messages: vec![tidbit_core::sync::exchange::DocumentMessage {
            doc: name.into(),
            message,
        }],
        ..Default::default()
    }
    .encode()
}
