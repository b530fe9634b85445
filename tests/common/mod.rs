//! Shared helpers for the workspace integration tests: run the real `tidbit` binary, build the
//! sample packs, make keys.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn tidbit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tidbit"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the cli crate sits in the workspace")
        .to_path_buf()
}

pub fn sample_course(name: &str) -> PathBuf {
    repo_root().join("content").join(name)
}

pub const SAMPLE_COURSES: [&str; 2] = ["customer-objections", "field-safety"];

/// Runs `tidbit` with `args` in `dir` and returns its output.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    tidbit()
        .current_dir(dir)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1790000000")
        .output()
        .expect("the tidbit binary runs")
}

/// Runs `tidbit` and asserts it succeeded; returns stdout.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "tidbit {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory with an `author` key pair in it.
pub fn workdir_with_key() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    run_ok(dir.path(), &["keygen", "author"]);
    dir
}

/// Builds the sample course `name` into `<dir>/<name>.tidbit` with the `author` key.
pub fn build_sample(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.tidbit"));
    let source = sample_course(name);
    run_ok(
        dir,
        &[
            "pack",
            "build",
            source.to_str().expect("utf-8 path"),
            "--key",
            "author.key",
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
    );
    out
}

/// Copies a directory tree (regular files and folders).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the target directory");
    for entry in std::fs::read_dir(from).expect("read the source directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

/// A `tidbit serve` process on a free loopback port, serving `DIR/server`; killed when dropped.
pub struct ServedProcess {
    child: std::process::Child,
    pub url: String,
}

impl ServedProcess {
    pub fn start(dir: &Path) -> ServedProcess {
        ServedProcess::start_with(dir, &[])
    }

    /// [`ServedProcess::start`] with more options for `tidbit serve`.
    pub fn start_with(dir: &Path, extra: &[&str]) -> ServedProcess {
        use std::io::{BufRead, BufReader};
        let mut child = tidbit()
            .current_dir(dir)
            .args(["serve", "--data", "server", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("tidbit serve starts");
        let mut banner = String::new();
        BufReader::new(child.stderr.take().expect("a piped stderr"))
            .read_line(&mut banner)
            .expect("the server prints where it listens");
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("banner: {banner}"))
            .to_string();
        ServedProcess { child, url }
    }
}

impl Drop for ServedProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token from `tidbit serve token` for `learner` on `terminal`, signed with `DIR/server`'s key.
pub fn terminal_token(dir: &Path, learner: &str) -> String {
    run_ok(
        dir,
        &[
            "serve",
            "token",
            "--data",
            "server",
            "--learner",
            learner,
            "--device",
            "terminal",
        ],
    )
    .trim()
    .to_string()
}

/// Builds the sample course `name` with the `author` key and installs it into `DIR/data`.
pub fn install_sample(dir: &Path, name: &str, data: &str) {
    let pack = build_sample(dir, name);
    run_ok(
        dir,
        &[
            "install",
            pack.to_str().expect("utf-8 path"),
            "--data",
            data,
            "--trust",
            "author.pub",
        ],
    );
}

/// A learner's store after `days` simulated days on the field-safety course (from 2026-01-05),
/// made with `tidbit simulate` in `<dir>/work`; needs the `author` key pair in `dir`.
pub fn simulated_store(dir: &Path, days: u32) -> PathBuf {
    let pack = build_sample(dir, "field-safety");
    let days = days.to_string();
    run_ok(
        dir,
        &[
            "simulate",
            pack.to_str().unwrap(),
            "--trust",
            "author.pub",
            "--days",
            &days,
            "--learners",
            "1",
            "--work",
            "work",
        ],
    );
    std::fs::read_dir(dir.join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("the simulation leaves a learner's store")
}
