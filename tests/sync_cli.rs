//! `tidbit demo`, and `tidbit serve` / `serve token` / `sync` as separate processes.

mod common;

use common::*;

#[test]
fn the_demo_ends_with_three_equal_digests() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_ok(dir.path(), &["demo", "--days", "4", "--minutes", "5"]);
    let last = output.lines().last().unwrap();
    let digests: Vec<&str> = last
        .strip_prefix("converged: ")
        .unwrap_or_else(|| panic!("last line: {last}"))
        .split(' ')
        .map(|part| part.split_once('=').unwrap().1)
        .collect();
    assert_eq!(digests.len(), 3);
    assert_eq!(digests[0].len(), 64);
    assert!(digests.iter().all(|d| *d == digests[0]), "{last}");
}

#[test]
fn a_store_syncs_with_a_served_process_using_an_issued_token() {
    let work = workdir_with_key();
    let dir = work.path();
    let token = terminal_token(dir, "learner");
    let server = ServedProcess::start(dir);
    let url = server.url.clone();

    install_sample(dir, "field-safety", "device");
    let sync = |token: &str| {
        run(
            dir,
            &[
                "sync", "--data", "device", "--server", &url, "--token", token, "--json",
            ],
        )
    };
    let first = sync(&token);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["round_trips"], 1, "{report}");
    assert_eq!(report["events_received"], 0, "{report}");

    let refused = sync("v1.00.00");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("token"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    drop(server);
}
