//! What the server keeps about learners beyond their documents: an access log line per request
//! that names a learner only by pseudonym and holds no answer or text, and no token accepted for
//! longer than the configured lifetime.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;
use tidbit_server::Hub;

const LEARNER: &str = "learner-ana-5e1d9c";

/// A hub on `data` whose access log lines are collected in the returned list.
fn logged_hub(data: &std::path::Path) -> (Arc<Hub>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let hub = open_hub(data)
        .with_clock(server_clock())
        .with_access_log(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(line.to_string())
        }))
        .with_max_token_lifetime(Duration::from_secs(30 * 86_400));
    (Arc::new(hub), lines)
}

fn serve(hub: Arc<Hub>) -> String {
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let (addr, _task) = runtime
        .block_on(tidbit_server::spawn("127.0.0.1:0".parse().unwrap(), hub))
        .unwrap();
    format!("http://{addr}")
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn the_access_log_names_learners_by_pseudonym_and_holds_no_answer() {
    let root = tempfile::tempdir().unwrap();
    let (hub, lines) = logged_hub(&root.path().join("server"));
    let url = serve(hub.clone());
    let phone = Device::new(root.path(), LEARNER, "phone");
    learn_for_days(&phone, 1, 2, 3);
    let token = hub.tokens.issue(LEARNER, "phone", now_unix() + 86_400);

    phone.sync(&url, &token).unwrap();

    let lines = lines.lock().unwrap().clone();
    let pseudonym = hub.pseudonym(LEARNER);
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(
            line.rsplitn(3, ' ').nth(2),
            Some(format!("POST /v1/learners/~{pseudonym}/sync").as_str()),
            "{line}"
        );
        assert!(line.contains(" 200 "), "{line}");
        assert!(!line.contains(LEARNER), "{line}");
        assert!(!line.contains("phone"), "{line}");
    }
    assert_ne!(pseudonym, hub.pseudonym("learner-bob"));
}

#[test]
fn a_token_valid_for_longer_than_the_servers_limit_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (hub, _) = logged_hub(&root.path().join("server"));
    let url = serve(hub.clone());
    let phone = Device::new(root.path(), LEARNER, "phone");
    learn_for_days(&phone, 1, 1, 2);
    let too_long = hub.tokens.issue(LEARNER, "phone", now_unix() + 31 * 86_400);
    let within = hub.tokens.issue(LEARNER, "phone", now_unix() + 29 * 86_400);

    let (status, body) = post_sync(
        &url,
        LEARNER,
        Some(&format!("Bearer {too_long}")),
        Vec::new(),
    );

    assert_eq!(status, 401);
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("longer than this server allows (30)"),
        "{body}"
    );
    assert!(hub.storage.documents(LEARNER).unwrap().is_empty());
    phone.sync(&url, &within).unwrap();
    assert!(!hub.storage.documents(LEARNER).unwrap().is_empty());
}
