//! `tidbit serve`'s settings: a TOML file, environment variables and flags, in that order of
//! precedence (a flag beats its variable, which beats the file), and a file with an unknown
//! setting refused before anything starts.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;

/// The first line `tidbit serve` prints, started in `dir` with `args` and `env`; then stops it.
fn banner(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = tidbit();
    command
        .current_dir(dir)
        .arg("serve")
        .args(args)
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn the_file_sets_what_the_environment_and_the_flags_leave_unset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tidbit.toml"),
        "data = \"from-file\"\naddr = \"127.0.0.1:0\"\nlog_format = \"text\"\ntrust = []\n",
    )
    .unwrap();

    // From the file alone: a text banner, serving the file's data directory.
    let line = banner(dir.path(), &["--config", "tidbit.toml"], &[]);
    assert!(
        line.starts_with("tidbit serve: listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("(data from-file, storage sqlite"), "{line}");
    assert!(dir.path().join("from-file/token.key").is_file());

    // The environment beats the file; a flag beats the environment.
    let line = banner(
        dir.path(),
        &["--config", "tidbit.toml"],
        &[("TIDBIT_LOG_FORMAT", "json"), ("TIDBIT_DATA", "from-env")],
    );
    let logged: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(
        logged["msg"].as_str().unwrap().contains("(data from-env,"),
        "{line}"
    );
    let line = banner(
        dir.path(),
        &["--config", "tidbit.toml", "--data", "from-flag"],
        &[("TIDBIT_DATA", "from-env")],
    );
    assert!(line.contains("(data from-flag,"), "{line}");
}

#[test]
fn a_file_with_an_unknown_setting_is_refused_and_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tidbit.toml"), "adress = \"127.0.0.1:0\"\n").unwrap();
    let out = run(dir.path(), &["serve", "--config", "tidbit.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown setting 'adress'"), "{stderr}");
    assert!(stderr.contains("addr"), "{stderr}");
    assert!(!dir.path().join("server").exists());
}

#[test]
fn a_database_that_cannot_be_reached_or_a_copy_from_no_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let out = run(
        dir.path(),
        &[
            "serve",
            "--data",
            "server",
            "--database",
            "postgres://tidbit@127.0.0.1:1/tidbit",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server database"), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");

    let out = run(
        dir.path(),
        &[
            "serve",
            "copy",
            "--from",
            "sqlite:nowhere",
            "--to",
            "postgres://tidbit@127.0.0.1:1/tidbit",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no SQLite server store"), "{stderr}");
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn malformed_push_credentials_stop_the_server_and_a_trigger_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("account.json"),
        r#"{"client_email": "a@b.example", "token_uri": "https://oauth2.googleapis.com/token", "project_id": "p"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("AuthKey.p8"), "not a key\n").unwrap();
    let out = run(
        dir.path(),
        &[
            "serve",
            "--data",
            "server",
            "--addr",
            "127.0.0.1:0",
            "--fcm-service-account",
            "account.json",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--fcm-service-account account.json"),
        "{stderr}"
    );
    assert!(stderr.contains("'private_key' is missing"), "{stderr}");
    let out = run(
        dir.path(),
        &[
            "serve",
            "trigger",
            "--data",
            "server",
            "--learner",
            "ana",
            "--module",
            "m",
            "--reason",
            "r",
            "--apns-key",
            "AuthKey.p8",
            "--apns-key-id",
            "ABC123DEFG",
            "--apns-team-id",
            "DEF123GHIJ",
            "--apns-topic",
            "org.example.tidbit",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the APNs key is not usable"), "{stderr}");
    // An APNs key without its ids is refused by the options themselves.
    let out = run(
        dir.path(),
        &["serve", "--data", "server", "--apns-key", "AuthKey.p8"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("server").exists(), "nothing was created");
}
