//! What operators rely on: the probes, the metrics, request ids in structured logs, and a
//! graceful stop that answers the requests in flight. Runs on the suite's storage (SQLite, or
//! PostgreSQL with `TIDBIT_TEST_DATABASE`).

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use support::*;
use tidbit_core::sync::exchange::Exchange;
use tidbit_server::access_log::LogFormat;
use tidbit_server::Hub;

const LEARNER: &str = "learner-ana-ops-51c2";

fn get(url: &str, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::get(format!("{url}{path}")).unwrap()
}

/// The value of the sample `name` (with its labels, as written) in a Prometheus text body.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn probes_metrics_and_json_logs_with_request_ids() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let hub = open_hub(&data)
        .with_clock(server_clock())
        .with_log_format(LogFormat::Json)
        .with_access_log(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(line.to_string())
        }));
    let server = TestServer::start_with(&data, Arc::new(hub));
    let url = server.url();

    assert_eq!(get(&url, "/healthz").text().unwrap(), "ok\n");
    let ready = get(&url, "/readyz");
    assert_eq!(ready.status(), 200);
    let phone = Device::new(root.path(), LEARNER, "phone");
    learn_for_days(&phone, 3, 2, 3);
    let report = phone.sync(&url, &server.token(LEARNER, "phone")).unwrap();
    // A refused request, named by the caller's id.
    let refused = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/learners/{LEARNER}/sync"))
        .header("x-request-id", "lb-req-0042")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["x-request-id"], "lb-req-0042");

    let metrics = get(&url, "/metrics").text().unwrap();
    let exchanges = sample(&metrics, "tidbit_sync_exchanges_total{outcome=\"ok\"}").unwrap();
    assert_eq!(exchanges, f64::from(report.round_trips), "{metrics}");
    let bytes_in = sample(
        &metrics,
        "tidbit_sync_exchange_bytes_total{direction=\"in\"}",
    );
    assert_eq!(bytes_in, Some(report.bytes_up as f64), "{metrics}");
    assert_eq!(
        sample(&metrics, "tidbit_http_errors_total{kind=\"unauthorized\"}"),
        Some(1.0),
        "{metrics}"
    );
    let synced = sample(
        &metrics,
        "tidbit_http_request_duration_seconds_count{route=\"/v1/learners/{learner}/sync\"}",
    );
    assert_eq!(
        synced,
        Some(f64::from(report.round_trips) + 1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "tidbit_lrs_outbox_statements{state=\"pending\"}"),
        Some(0.0)
    );
    assert!(!metrics.contains(LEARNER));

    let lines = lines.lock().unwrap().clone();
    let pseudonym = server.hub.pseudonym(LEARNER);
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let line = logged
        .iter()
        .find(|l| l["request_id"] == "lb-req-0042")
        .unwrap();
    assert_eq!(line["status"], 401);
    assert_eq!(line["level"], "warn");
    assert_eq!(line["learner"], pseudonym.as_str());
    assert_eq!(line["route"], "/v1/learners/{learner}/sync");
    let ids: std::collections::BTreeSet<&str> = logged
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        logged.len(),
        "every request has an id of its own"
    );
    for line in &lines {
        assert!(!line.contains(LEARNER), "{line}");
    }
}

/// Puts the storage of the server on `data` behind this build's schema.
fn set_schema_behind(data: &std::path::Path) {
    match storage_config(data) {
        tidbit_server::StorageConfig::Sqlite => {
            let conn = rusqlite::Connection::open(data.join(tidbit_server::DATABASE_FILE)).unwrap();
            conn.pragma_update(None, "user_version", 0).unwrap();
        }
        tidbit_server::StorageConfig::Postgres { url, .. } => postgres(&url, |client| async move {
            client
                .simple_query("DELETE FROM tidbit_migrations")
                .await
                .unwrap();
        }),
    }
}

#[test]
fn readiness_fails_on_a_storage_behind_this_builds_schema_and_opening_it_without_migrating_is_refused(
) {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = TestServer::start(&data);
    set_schema_behind(&data);

    let ready = get(&server.url(), "/readyz");
    assert_eq!(ready.status(), 503);
    assert!(ready.text().unwrap().contains("tidbit serve migrate"));
    assert_eq!(get(&server.url(), "/healthz").status(), 200);
    if on_postgres() {
        let refused = Hub::open_with(
            &data,
            &storage_config(&data),
            tidbit_server::Migrations::Require,
        );
        assert!(
            matches!(
                refused,
                Err(tidbit_server::ServerError::Storage(
                    tidbit_server::storage::StorageError::Unmigrated { found: 0, .. }
                ))
            ),
            "{:?}",
            refused.err()
        );
    }
}

#[test]
fn a_graceful_stop_answers_the_exchange_in_flight_and_accepts_nothing_new() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let hub = Arc::new(open_hub(&data).with_clock(server_clock()));
    let token = hub.tokens.issue(LEARNER, "phone", 4_102_444_800);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(tidbit_server::serve_until(
        listener,
        hub.clone(),
        async {
            let _ = stopped.await;
        },
        std::time::Duration::from_secs(20),
    ));

    // An exchange whose body is half sent when the stop begins.
    let body = Exchange::default().encode();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/learners/{LEARNER}/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.send(()).unwrap();
    for _ in 0..100 {
        if hub.observer.draining() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(hub.observer.draining(), "/readyz would still say ready");
    // No new connection is taken.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(std::net::TcpStream::connect(addr).is_err());

    stream.write_all(rest).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let (_, reply) = text.split_once("\r\n\r\n").unwrap();
    assert!(!reply.is_empty());
    runtime.block_on(serving).unwrap().unwrap();
}
