//! A certificate issued with an author key made by `tidbit keygen` verifies with
//! `tidbit cert verify FILE --trust author.pub`; an altered copy, or the wrong key, fails with a
//! clear message and exit code 1.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use tidbit_core::certificate::{issue_certificate, CertificateRequest};
use tidbit_core::keys::SigningKey;

fn request() -> CertificateRequest<'static> {
    CertificateRequest {
        issuer_name: "Northwind Sales Enablement",
        learner_id: "learner-0042",
        course_id: "customer-objections",
        course_title: "Handling customer objections",
        course_version: "1.0.0",
        path_id: "account-executive",
        path_title: "Account executive",
        mastery_threshold: 0.8,
        skills: vec![
            ("Acknowledge the concern".to_string(), 0.86),
            ("Reframe on value".to_string(), 0.91),
        ],
        completed_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
    }
}

/// Issues a certificate with `<dir>/author.key` and writes it to `<dir>/certificate.json`.
fn issue_into(dir: &Path) -> PathBuf {
    let key = SigningKey::from_file_text(&std::fs::read_to_string(dir.join("author.key")).unwrap())
        .unwrap();
    let json = issue_certificate(&request(), &key).unwrap();
    let path = dir.join("certificate.json");
    std::fs::write(&path, json).unwrap();
    path
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn issued_certificate_verifies_with_the_authors_public_key() {
    let dir = workdir_with_key();
    issue_into(dir.path());
    let stdout = run_ok(
        dir.path(),
        &[
            "cert",
            "verify",
            "certificate.json",
            "--trust",
            "author.pub",
        ],
    );
    assert!(
        stdout.starts_with(
            "ok: certificate Account executive — Handling customer objections for learner \
             learner-0042, issued 2026-09-21T"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("by Northwind Sales Enablement (key "),
        "{stdout}"
    );
}

#[test]
fn verify_with_json_prints_the_verified_certificate() {
    let dir = workdir_with_key();
    issue_into(dir.path());
    let stdout = run_ok(
        dir.path(),
        &[
            "cert",
            "verify",
            "certificate.json",
            "--trust",
            "author.pub",
            "--json",
        ],
    );
    let verified: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verified["learner_id"], "learner-0042");
    assert_eq!(verified["course_id"], "customer-objections");
    assert_eq!(verified["path_id"], "account-executive");
    assert_eq!(verified["issuer_name"], "Northwind Sales Enablement");
    assert_eq!(verified["issuer_key_id"].as_str().unwrap().len(), 16);
}

#[test]
fn altered_certificate_fails_with_exit_code_1_and_names_the_file() {
    let dir = workdir_with_key();
    let original = std::fs::read_to_string(issue_into(dir.path())).unwrap();
    let tampered = original.replacen("\"0.86\"", "\"0.99\"", 1);
    assert_ne!(tampered, original);
    std::fs::write(dir.path().join("tampered.json"), tampered).unwrap();
    let out = run(
        dir.path(),
        &["cert", "verify", "tampered.json", "--trust", "author.pub"],
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("tampered.json"), "{message}");
    assert!(
        message.contains("the certificate was altered after it was issued"),
        "{message}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn certificate_from_an_untrusted_key_fails_with_exit_code_1() {
    let dir = workdir_with_key();
    issue_into(dir.path());
    run_ok(dir.path(), &["keygen", "stranger"]);
    let out = run(
        dir.path(),
        &[
            "cert",
            "verify",
            "certificate.json",
            "--trust",
            "stranger.pub",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("not one of the trusted keys"), "{message}");
}

#[test]
fn file_that_is_not_json_fails_with_exit_code_1() {
    let dir = workdir_with_key();
    std::fs::write(dir.path().join("notes.txt"), "not a certificate").unwrap();
    let out = run(
        dir.path(),
        &["cert", "verify", "notes.txt", "--trust", "author.pub"],
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("notes.txt"), "{message}");
    assert!(message.contains("not valid JSON"), "{message}");
}
