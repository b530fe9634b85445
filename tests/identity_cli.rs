//! `tidbit serve` and identity: admin tokens with a role and an actor, the sign-in options, and
//! what the sign-in route answers when the provider is unreachable or not configured. The whole
//! sign-in against a real provider is `server/tests/identity.rs`.

mod common;

use std::io::{Read, Write};

use common::*;
use tidbit_server::auth::{Role, TokenKey, ADMIN_DEVICE};

/// An ID token's shape naming the issuer `http://127.0.0.1:1` (nothing listens there): header
/// `{"alg":"RS256","kid":"k"}`, claims `{"iss":"http://127.0.0.1:1","aud":"tidbit-app"}`.
const TOKEN_FROM_PORT_1: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjEiLCJhdWQiOiJ0aWRiaXQtYXBwIn0.c2ln";

fn admin_token(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["serve", "token", "--data", "server", "--admin"];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// Posts a sign-in to `url` over plain HTTP/1.1; the status and the body.
fn post_sign_in(url: &str, id_token: &str) -> (u16, String) {
    let addr = url.strip_prefix("http://").unwrap();
    let body = format!(r#"{{"id_token":"{id_token}","device":"ana-phone","nonce":"n"}}"#);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/sign-in HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn an_admin_token_carries_its_role_and_actor_and_is_an_operators_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin_token(
        dir.path(),
        &["--role", "analyst", "--actor", "ali@example.org"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let key = TokenKey::load_or_create(&dir.path().join("server")).unwrap();
    let claims = key.verify(token.trim(), 1_000).unwrap();
    assert_eq!(
        (claims.learner.as_str(), claims.device.as_str(), claims.role),
        ("ali@example.org", ADMIN_DEVICE, Some(Role::Analyst))
    );
    let out = admin_token(dir.path(), &[]);
    let claims = key
        .verify(String::from_utf8(out.stdout).unwrap().trim(), 1_000)
        .unwrap();
    assert_eq!(claims.role, Some(Role::Operator));
}

#[test]
fn an_unknown_role_or_a_role_for_a_device_token_is_refused_and_no_token_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin_token(dir.path(), &["--role", "admin"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'admin' is not a role: operator, author, analyst or manager"),
        "{stderr}"
    );
    let out = run(
        dir.path(),
        &[
            "serve",
            "token",
            "--data",
            "server",
            "--learner",
            "ana",
            "--device",
            "phone",
            "--role",
            "operator",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn sign_in_needs_the_issuer_and_the_client_id_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "serve",
            "--data",
            "server",
            "--oidc-issuer",
            "http://127.0.0.1:1",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--oidc-client-id"), "{stderr}");
}

#[test]
fn a_server_without_sign_in_answers_404_and_one_whose_provider_is_down_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ServedProcess::start(dir.path());
    let (status, body) = post_sign_in(&plain.url, TOKEN_FROM_PORT_1);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("--oidc-issuer"), "{body}");
    drop(plain);

    let with_provider = ServedProcess::start_with(
        dir.path(),
        &[
            "--oidc-issuer",
            "http://127.0.0.1:1",
            "--oidc-client-id",
            "tidbit-app",
        ],
    );
    let (status, body) = post_sign_in(&with_provider.url, TOKEN_FROM_PORT_1);
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("the organisation's provider could not be asked"),
        "{body}"
    );
    let (status, body) = post_sign_in(&with_provider.url, "not-a-jwt");
    assert_eq!(status, 400, "{body}");
}
