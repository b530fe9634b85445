//! `tidbit serve erase` beside a running `tidbit serve`: the learner is erased through the same
//! store and lock rules as the HTTP endpoint, their device's next sync is refused as erased,
//! their id gets no new token, a second erasure changes nothing and an unknown id is an error.

mod common;

use common::*;

/// Appends an intervention for `learner` (so the server holds a document of theirs).
fn trigger(dir: &std::path::Path, learner: &str) -> std::process::Output {
    run(
        dir,
        &[
            "serve",
            "trigger",
            "--data",
            "server",
            "--learner",
            learner,
            "--module",
            "primary-survey",
            "--reason",
            "practise again",
        ],
    )
}

fn erase(dir: &std::path::Path, learner: &str) -> std::process::Output {
    run(
        dir,
        &[
            "serve",
            "erase",
            "--data",
            "server",
            "--learner",
            learner,
            "--json",
        ],
    )
}

#[test]
fn serve_erase_erases_a_learner_beside_a_running_server() {
    let work = workdir_with_key();
    let dir = work.path();
    let token = terminal_token(dir, "learner");
    let server = ServedProcess::start(dir);
    install_sample(dir, "field-safety", "device");
    assert!(trigger(dir, "learner").status.success());
    let sync = || {
        run(
            dir,
            &[
                "sync",
                "--data",
                "device",
                "--server",
                &server.url,
                "--token",
                &token,
            ],
        )
    };
    let first = sync();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    let erased = erase(dir, "learner");

    assert!(
        erased.status.success(),
        "{}",
        String::from_utf8_lossy(&erased.stderr)
    );
    let receipt: serde_json::Value = serde_json::from_slice(&erased.stdout).unwrap();
    assert_eq!(receipt["status"], "erased", "{receipt}");
    assert_eq!(receipt["documents"], 1, "{receipt}");
    assert_eq!(receipt["erasure"].as_str().unwrap().len(), 32, "{receipt}");
    let refused = sync();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("erased this learner's data"), "{stderr}");
    let new_token = run(
        dir,
        &[
            "serve",
            "token",
            "--data",
            "server",
            "--learner",
            "learner",
            "--device",
            "tablet",
        ],
    );
    assert_eq!(new_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&new_token.stderr).contains("was erased"));
    let again = trigger(dir, "learner");
    assert_eq!(again.status.code(), Some(1));
    drop(server);
}

#[test]
fn serve_erase_twice_answers_already_erased_and_an_unknown_learner_is_an_error() {
    let work = workdir_with_key();
    let dir = work.path();
    terminal_token(dir, "learner");
    assert!(trigger(dir, "learner").status.success());
    assert!(erase(dir, "learner").status.success());

    let again = erase(dir, "learner");
    let unknown = erase(dir, "nobody");
    let invalid = erase(dir, "has space");

    assert!(again.status.success());
    let receipt: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(receipt, serde_json::json!({"status": "already_erased"}));
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("holds nothing for learner 'nobody'"));
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("not a valid learner id"));
}
