//! Push delivery against a local vendor: each sender's requests checked exactly as FCM and APNs
//! document them (method, path, headers, JSON body, the JWT's header and claims, its signature
//! verified with the public key), what each vendor answer becomes, and end to end through a
//! real server on 127.0.0.1: a device registers a token and syncs, an admin triggers an
//! intervention, the vendor receives exactly one push; a token the vendor reports unregistered
//! reaches the device through sync (the planner says the push failed, the app is told to
//! register a fresh token) and is never pushed to again.
//!
//! The local vendor ([`push_support::LocalVendor`]) is an HTTP/2 server speaking h2c with prior
//! knowledge; the real FCM and APNs endpoints cannot be reached from the machines these tests
//! run on. The FCM key under `tests/fixtures/` is a throwaway test key.

mod push_support;
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Days;
use push_support::*;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::json;
use support::*;
use tidbit_core::events::{push_token_sha256, Clock, EventKind, PushOutcome};
use tidbit_core::nudge::NudgePreferences;
use tidbit_core::tidbit::TidbitError;
use tidbit_server::push::apns::{ApnsSender, ApnsSettings};
use tidbit_server::push::fcm::{FcmSender, FCM_SCOPE, JWT_BEARER_GRANT};
use tidbit_server::push::{Delivery, PushConfigError, PushMessage, Retry, VendorPushSender};

const KEY_ID: &str = "ABC123DEFG";
const TEAM_ID: &str = "DEF123GHIJ";
const TOPIC: &str = "org.example.tidbit";
const FCM_TOKEN: &str = "cH4nGe-T0k3n:APA91bHtidbit_test-token_0123456789";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Retries quick enough for tests.
fn quick_retry() -> Retry {
    Retry {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    }
}

/// The test service account with its token URI at the local vendor.
fn service_account(vendor: &LocalVendor) -> String {
    let mut account: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("fcm-test-service-account.json")).unwrap())
            .unwrap();
    account["token_uri"] = format!("{}/token", vendor.url()).into();
    account.to_string()
}

fn fcm_sender(vendor: &LocalVendor) -> FcmSender {
    FcmSender::from_json(&service_account(vendor), Some(&vendor.url()))
        .unwrap()
        .with_retry(quick_retry())
}

/// A fresh APNs signing key: its `.p8` text and its public key.
fn apns_key() -> (String, Vec<u8>) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let base64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pkcs8.as_ref());
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, key.public_key().as_ref().to_vec())
}

fn apns_settings(vendor: &LocalVendor) -> ApnsSettings {
    ApnsSettings {
        key_id: KEY_ID.into(),
        team_id: TEAM_ID.into(),
        topic: TOPIC.into(),
        endpoint: Some(vendor.url()),
    }
}

fn apns_token(n: u8) -> String {
    hex::encode([n; 32])
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn intervention_message() -> PushMessage {
    PushMessage {
        intervention: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
        deadline_ms: Some(1_821_700_000_000),
    }
}

/// The form fields of a token request.
fn form(received: &Received) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://form/?{}", received.text()))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[test]
fn fcm_gets_an_access_token_by_the_jwt_bearer_grant_and_sends_a_data_message() {
    let vendor = LocalVendor::start();
    let sender = fcm_sender(&vendor);
    let before = unix_now();
    for _ in 0..2 {
        assert_eq!(
            block_on(sender.send_to(FCM_TOKEN, &intervention_message())),
            Delivery::Delivered
        );
    }
    // One access token, reused for the second push.
    let grants = vendor.token_requests();
    assert_eq!(grants.len(), 1);
    let grant = &grants[0];
    assert_eq!(grant.method, "POST");
    assert_eq!(grant.version, hyper::Version::HTTP_2);
    assert_eq!(
        grant.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let fields = form(grant);
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0], ("grant_type".into(), JWT_BEARER_GRANT.into()));
    assert_eq!(fields[1].0, "assertion");
    let (header, claims, signed, signature) = jwt_parts(&fields[1].1);
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let iat = claims["iat"].as_i64().unwrap();
    assert!((before - 1..=unix_now() + 1).contains(&iat), "iat {iat}");
    assert_eq!(
        claims,
        json!({
            "iss": "tidbit-push-test@tidbit-push-test.iam.gserviceaccount.com",
            "scope": FCM_SCOPE,
            "aud": format!("{}/token", vendor.url()),
            "iat": iat,
            "exp": iat + 3600,
        })
    );
    assert_eq!(
        FCM_SCOPE,
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    let public = std::fs::read(fixture("fcm-test-key.pub.der")).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
        .verify(signed.as_bytes(), &signature)
        .expect("the assertion's RS256 signature verifies with the service account's public key");

    let pushes = vendor.pushes();
    assert_eq!(pushes.len(), 2);
    for push in &pushes {
        assert_eq!(push.method, "POST");
        assert_eq!(push.version, hyper::Version::HTTP_2);
        assert_eq!(push.path, "/v1/projects/tidbit-push-test/messages:send");
        assert_eq!(push.header("authorization"), Some("Bearer ya29.test-1"));
        assert_eq!(push.header("content-type"), Some("application/json"));
        assert_eq!(
            push.json(),
            json!({
                "message": {
                    "token": FCM_TOKEN,
                    "data": {
                        "kind": "sync",
                        "intervention": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                        "deadline_ms": "1821700000000",
                    },
                    "android": {"priority": "high"},
                }
            })
        );
    }
}

#[test]
fn fcm_answers_become_outcomes_dead_tokens_retries_and_refusals() {
    let vendor = LocalVendor::start();
    let sender = fcm_sender(&vendor);
    let error = |status: u16, code: &str, message: &str| {
        Answer::new(
            status,
            &json!({"error": {
                "code": status,
                "message": message,
                "status": if status == 404 { "NOT_FOUND" } else { "INVALID_ARGUMENT" },
                "details": [{
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": code,
                }],
            }})
            .to_string(),
        )
    };
    let send = || block_on(sender.send_to(FCM_TOKEN, &PushMessage::default()));
    vendor.script([error(
        404,
        "UNREGISTERED",
        "Requested entity was not found.",
    )]);
    assert_eq!(
        send(),
        Delivery::Unregistered("UNREGISTERED: Requested entity was not found.".into())
    );
    vendor.script([error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    )]);
    assert!(matches!(send(), Delivery::Unregistered(why) if why.starts_with("INVALID_ARGUMENT")));
    // Too many requests, then a server error: retried with backoff, then delivered.
    vendor.script([
        Answer::new(429, "{}").header("retry-after", "0"),
        Answer::new(503, ""),
    ]);
    let before = vendor.pushes().len();
    assert_eq!(send(), Delivery::Delivered);
    assert_eq!(vendor.pushes().len(), before + 3);
    // Failing every attempt: three, then failed with FCM's reason.
    vendor.script((0..3).map(|_| error(500, "INTERNAL", "Internal error")));
    let before = vendor.pushes().len();
    assert_eq!(send(), Delivery::Failed("INTERNAL: Internal error".into()));
    assert_eq!(vendor.pushes().len(), before + 3);
    // A refused access token: a new one, and the push goes through.
    vendor.script([Answer::new(
        401,
        r#"{"error": {"status": "UNAUTHENTICATED"}}"#,
    )]);
    assert_eq!(send(), Delivery::Delivered);
    assert_eq!(vendor.token_requests().len(), 2);
    assert_eq!(
        vendor.pushes().last().unwrap().header("authorization"),
        Some("Bearer ya29.test-2")
    );
    // A plain wake-up carries no intervention.
    assert_eq!(
        vendor.pushes().last().unwrap().json()["message"]["data"],
        json!({"kind": "sync"})
    );
}

#[test]
fn apns_signs_an_es256_provider_token_and_sends_a_background_push() {
    let vendor = LocalVendor::start();
    let (pem, public) = apns_key();
    let sender = ApnsSender::from_pem(&pem, apns_settings(&vendor))
        .unwrap()
        .with_retry(quick_retry());
    let token = apns_token(0xab);
    let before = unix_now();
    for _ in 0..2 {
        assert_eq!(
            block_on(sender.send_to(&token, &intervention_message())),
            Delivery::Delivered
        );
    }
    let pushes = vendor.pushes();
    assert_eq!(pushes.len(), 2);
    for push in &pushes {
        assert_eq!(push.method, "POST");
        assert_eq!(push.version, hyper::Version::HTTP_2);
        assert_eq!(push.path, format!("/3/device/{token}"));
        assert_eq!(push.header("apns-topic"), Some(TOPIC));
        assert_eq!(push.header("apns-push-type"), Some("background"));
        assert_eq!(push.header("apns-priority"), Some("5"));
        // The intervention's deadline, in seconds.
        assert_eq!(push.header("apns-expiration"), Some("1821700000"));
        assert_eq!(
            push.json(),
            json!({
                "aps": {"content-available": 1},
                "intervention": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "deadline_ms": 1_821_700_000_000i64,
            })
        );
    }
    // The same provider token for both pushes (APNs wants it reused, for up to an hour).
    let authorization = pushes[0].header("authorization").unwrap();
    assert_eq!(pushes[1].header("authorization"), Some(authorization));
    let jwt = authorization.strip_prefix("bearer ").unwrap();
    let (header, claims, signed, signature) = jwt_parts(jwt);
    assert_eq!(header, json!({"alg": "ES256", "kid": KEY_ID}));
    let iat = claims["iat"].as_i64().unwrap();
    assert!((before - 1..=unix_now() + 1).contains(&iat), "iat {iat}");
    assert_eq!(claims, json!({"iss": TEAM_ID, "iat": iat}));
    assert_eq!(signature.len(), 64, "JWS wants r || s, not DER");
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
        .verify(signed.as_bytes(), &signature)
        .expect("the provider token's ES256 signature verifies with the key's public half");
}

#[test]
fn apns_answers_become_outcomes_dead_tokens_retries_and_refusals() {
    let vendor = LocalVendor::start();
    let (pem, _) = apns_key();
    let sender = ApnsSender::from_pem(&pem, apns_settings(&vendor))
        .unwrap()
        .with_retry(quick_retry());
    let send = || block_on(sender.send_to(&apns_token(1), &PushMessage::default()));
    vendor.script([Answer::new(
        410,
        r#"{"reason": "Unregistered", "timestamp": 1790000000000}"#,
    )]);
    assert_eq!(send(), Delivery::Unregistered("Unregistered".into()));
    vendor.script([Answer::new(400, r#"{"reason": "BadDeviceToken"}"#)]);
    assert_eq!(send(), Delivery::Unregistered("BadDeviceToken".into()));
    // The wrong topic says nothing about the token: failed, not dead.
    vendor.script([Answer::new(400, r#"{"reason": "DeviceTokenNotForTopic"}"#)]);
    assert_eq!(send(), Delivery::Failed("DeviceTokenNotForTopic".into()));
    vendor.script([
        Answer::new(429, r#"{"reason": "TooManyRequests"}"#),
        Answer::new(503, r#"{"reason": "ServiceUnavailable"}"#),
    ]);
    let before = vendor.pushes().len();
    assert_eq!(send(), Delivery::Delivered);
    assert_eq!(vendor.pushes().len(), before + 3);
    vendor.script((0..3).map(|_| Answer::new(500, r#"{"reason": "InternalServerError"}"#)));
    assert_eq!(send(), Delivery::Failed("InternalServerError".into()));
    // An expired provider token is renewed at once.
    vendor.script([Answer::new(403, r#"{"reason": "ExpiredProviderToken"}"#)]);
    assert_eq!(send(), Delivery::Delivered);
    let pushes = vendor.pushes();
    let [.., expired, renewed] = pushes.as_slice() else {
        panic!("two pushes at least");
    };
    assert_ne!(
        expired.header("authorization"),
        renewed.header("authorization")
    );
    // A wake-up without a deadline expires in a day.
    let expiration: i64 = renewed.header("apns-expiration").unwrap().parse().unwrap();
    assert!((unix_now() + 86_390..=unix_now() + 86_410).contains(&expiration));
    assert_eq!(renewed.json(), json!({"aps": {"content-available": 1}}));
}

#[test]
fn malformed_credentials_are_refused_at_start_with_a_reason() {
    let vendor = LocalVendor::start();
    let account: serde_json::Value = serde_json::from_str(&service_account(&vendor)).unwrap();
    let with = |field: &str, value: serde_json::Value| {
        let mut account = account.clone();
        account[field] = value;
        account.to_string()
    };
    let (apns_pem, _) = apns_key();
    let cases = [
        ("not JSON".to_string(), "not JSON of a service account key"),
        (with("private_key", json!(null)), "'private_key' is missing"),
        (with("client_email", json!("")), "'client_email' is missing"),
        (with("token_uri", json!("ftp://x")), "'token_uri'"),
        (with("project_id", json!("a/../b")), "is not a project id"),
        (
            with(
                "private_key",
                json!("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"),
            ),
            "legacy PEM format",
        ),
        // An EC key where an RSA key belongs.
        (with("private_key", json!(apns_pem)), "not a PKCS#8 RSA key"),
    ];
    for (json, expected) in cases {
        let error = FcmSender::from_json(&json, None).unwrap_err();
        assert!(matches!(error, PushConfigError::ServiceAccount(_)));
        let message = error.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("Firebase console"), "{message}");
    }
    let missing = FcmSender::from_file(&fixture("no-such-file.json"), None).unwrap_err();
    assert!(matches!(missing, PushConfigError::Unreadable { .. }));

    let rsa_pem = account["private_key"].as_str().unwrap().to_string();
    for (pem, expected) in [
        (
            "garbage".to_string(),
            "no '-----BEGIN PRIVATE KEY-----' block",
        ),
        (rsa_pem, "not a PKCS#8 EC P-256 key"),
    ] {
        let error = ApnsSender::from_pem(&pem, apns_settings(&vendor)).unwrap_err();
        assert!(matches!(error, PushConfigError::ApnsKey(_)));
        assert!(error.to_string().contains(expected), "{error}");
        assert!(error.to_string().contains(".p8"), "{error}");
    }
    for settings in [
        ApnsSettings {
            key_id: "ABC/../x".into(),
            ..apns_settings(&vendor)
        },
        ApnsSettings {
            topic: "org.example tidbit".into(),
            ..apns_settings(&vendor)
        },
        ApnsSettings {
            endpoint: Some("apns.example".into()),
            ..apns_settings(&vendor)
        },
    ] {
        let error = ApnsSender::from_pem(&apns_pem, settings).unwrap_err();
        assert!(matches!(error, PushConfigError::Setting(_)), "{error}");
    }
    assert!(vendor.received().is_empty());
}

#[test]
fn a_push_token_of_the_wrong_shape_is_refused_and_nothing_is_sent_or_recorded() {
    let vendor = LocalVendor::start();
    let (pem, _) = apns_key();
    let apns = ApnsSender::from_pem(&pem, apns_settings(&vendor)).unwrap();
    let fcm = fcm_sender(&vendor);
    let message = PushMessage::default();
    for delivery in [
        block_on(apns.send_to("../../v1/projects/x", &message)),
        block_on(apns.send_to("abcd", &message)),
        block_on(fcm.send_to("a token\r\nx-injected: 1", &message)),
    ] {
        assert!(
            matches!(&delivery, Delivery::Failed(why) if why.starts_with("not sent:")),
            "{delivery:?}"
        );
    }
    assert!(vendor.received().is_empty(), "nothing reached the vendor");

    let root = tempfile::tempdir().unwrap();
    let phone = Device::new(root.path(), "eve", "phone");
    let mut tidbit = phone.tidbit.lock().unwrap();
    let before = tidbit.nudge_events().unwrap();
    for (platform, token) in [("apns", "not-hex"), ("fcm", "two words"), ("sms", "0f0f")] {
        let error = tidbit.register_push_token(platform, token).unwrap_err();
        assert!(matches!(error, TidbitError::InvalidPushToken(_)), "{error}");
        assert!(
            error.to_string().starts_with("not a push token:"),
            "{error}"
        );
    }
    assert_eq!(tidbit.nudge_events().unwrap(), before);
    assert!(!tidbit.push_token_needed().unwrap());
}

/// POSTs `path` on the server with the admin token; the status and the answer.
fn admin_post(server: &TestServer, path: &str, body: &str, token: &str) -> (u16, String) {
    let url = format!("{}{path}", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

const INTERVENTION: &str =
    r#"{"module": "primary-survey", "reason": "two below-target sprints", "within_hours": 48}"#;

fn trigger(server: &TestServer, learner: &str) -> tidbit_server::interventions::Triggered {
    let path = format!("/v1/admin/learners/{learner}/interventions");
    let (status, reply) = admin_post(server, &path, INTERVENTION, &server.admin_token());
    assert_eq!(status, 201, "{reply}");
    serde_json::from_str(&reply).unwrap()
}

fn wake(server: &TestServer, learner: &str) -> tidbit_server::push::Woken {
    let path = format!("/v1/admin/learners/{learner}/wake");
    let (status, reply) = admin_post(server, &path, "", &server.admin_token());
    assert_eq!(status, 200, "{reply}");
    serde_json::from_str(&reply).unwrap()
}

/// A server whose pushes go to `vendor`, for one platform's device.
fn server_pushing_to(vendor: &LocalVendor, data: &std::path::Path) -> TestServer {
    let (pem, _) = apns_key();
    let sender = VendorPushSender {
        fcm: Some(fcm_sender(vendor)),
        apns: Some(
            ApnsSender::from_pem(&pem, apns_settings(vendor))
                .unwrap()
                .with_retry(quick_retry()),
        ),
    };
    let hub = open_hub(data)
        .with_clock(server_clock())
        .with_push(Arc::new(sender));
    TestServer::start_with(data, Arc::new(hub))
}

/// End to end for one platform: see the module's header.
fn a_dead_token_reaches_the_device_and_is_not_used_again(
    platform: &str,
    token: &str,
    fresh: &str,
    dead_answer: Answer,
    dead_reason: &str,
) {
    let root = tempfile::tempdir().unwrap();
    let vendor = LocalVendor::start();
    let server = server_pushing_to(&vendor, &root.path().join("server"));
    let learner = "dee-learner";
    let phone = Device::new(root.path(), learner, "phone");
    let sync = || {
        phone
            .sync(&server.url(), &server.token(learner, "phone"))
            .unwrap()
    };
    // The phone's clock runs three hours ahead of the server's: its registration sorts after
    // the server's outcomes in the log, which must not make a dead token look alive.
    phone.clock.set(server_clock().now() + Days::hours(3));
    phone
        .tidbit
        .lock()
        .unwrap()
        .register_push_token(platform, token)
        .unwrap();
    sync();

    // An intervention: exactly one push, delivered, naming no learner and no module.
    let first = trigger(&server, learner);
    assert!(first.pushed);
    assert_eq!(first.pushes.len(), 1);
    assert_eq!(first.pushes[0].outcome, "delivered");
    assert_eq!(first.pushes[0].token_sha256, push_token_sha256(token));
    let pushes = vendor.pushes();
    assert_eq!(pushes.len(), 1);
    let sent = pushes[0].text();
    assert!(sent.contains(&first.intervention), "{sent}");
    for private in [learner, "primary-survey", "two below-target", "phone"] {
        assert!(!sent.contains(private), "{private} in {sent}");
    }

    // The vendor says the token is dead.
    vendor.script([dead_answer]);
    let second = trigger(&server, learner);
    assert!(!second.pushed);
    assert_eq!(second.pushes.len(), 1);
    assert_eq!(second.pushes[0].outcome, "unregistered");
    assert_eq!(vendor.pushes().len(), 2);

    // The outcome reaches the device through sync.
    phone.clock.advance(Days::minutes(5));
    sync();
    let mut tidbit = phone.tidbit.lock().unwrap();
    // Both outcomes carry the server's (manual, unmoving) time: compared in any order.
    let mut outcomes: Vec<_> = tidbit
        .nudge_events()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::PushOutcomeRecorded {
                platform,
                token_sha256,
                registration,
                intervention,
                outcome,
                detail,
            } => {
                assert_eq!(e.device, "server");
                Some((
                    platform,
                    token_sha256,
                    registration,
                    intervention,
                    outcome,
                    detail,
                ))
            }
            _ => None,
        })
        .collect();
    outcomes.sort_by_key(|o| o.4);
    let registration = tidbit
        .nudge_events()
        .unwrap()
        .into_iter()
        .find(|e| matches!(&e.kind, EventKind::PushTokenRegistered { token: t, .. } if t == token))
        .unwrap()
        .id;
    assert_eq!(
        outcomes,
        vec![
            (
                platform.to_string(),
                push_token_sha256(token),
                registration.clone(),
                Some(first.intervention.clone()),
                PushOutcome::Delivered,
                None
            ),
            (
                platform.to_string(),
                push_token_sha256(token),
                registration.clone(),
                Some(second.intervention.clone()),
                PushOutcome::Unregistered,
                Some(dead_reason.to_string())
            ),
        ]
    );
    assert!(tidbit.push_token_needed().unwrap());
    let plan = tidbit.plan_nudges(&NudgePreferences::consented()).unwrap();
    let reason = |intervention: &str| {
        plan.decisions
            .iter()
            .find(|d| d.subject == intervention)
            .map(|d| (d.action.clone(), d.reason.clone()))
            .unwrap()
    };
    let (action, failed) = reason(&second.intervention);
    assert_eq!(action, "placed");
    assert!(
        failed.contains(&format!(
            "the server's push for it did not reach this device ({platform} answered unregistered: {dead_reason})"
        )),
        "{failed}"
    );
    let (_, delivered) = reason(&first.intervention);
    assert!(!delivered.contains("push"), "{delivered}");
    drop(tidbit);

    // The dead token is not pushed to again: not for an intervention, not for a wake-up.
    let third = trigger(&server, learner);
    assert!(third.pushes.is_empty());
    assert!(wake(&server, learner).pushes.is_empty());
    assert_eq!(vendor.pushes().len(), 2);

    // A fresh token: used from the next sync on.
    {
        let mut tidbit = phone.tidbit.lock().unwrap();
        tidbit.register_push_token(platform, fresh).unwrap();
        assert!(!tidbit.push_token_needed().unwrap());
    }
    sync();
    let woken = wake(&server, learner);
    assert_eq!(woken.pushes.len(), 1);
    assert_eq!(woken.pushes[0].outcome, "delivered");
    assert_eq!(woken.pushes[0].token_sha256, push_token_sha256(fresh));
    let pushes = vendor.pushes();
    assert_eq!(pushes.len(), 3);
    assert!(pushes[2].text().contains(fresh) || pushes[2].path.contains(fresh));
}

#[test]
fn an_apns_device_is_pushed_once_and_its_dead_token_reaches_it_and_is_not_used_again() {
    a_dead_token_reaches_the_device_and_is_not_used_again(
        "apns",
        &apns_token(0x5a),
        &apns_token(0x6b),
        Answer::new(
            410,
            r#"{"reason": "Unregistered", "timestamp": 1790000000000}"#,
        ),
        "Unregistered",
    );
}

#[test]
fn an_fcm_device_is_pushed_once_and_its_dead_token_reaches_it_and_is_not_used_again() {
    a_dead_token_reaches_the_device_and_is_not_used_again(
        "fcm",
        FCM_TOKEN,
        "fresh-token:APA91b_second",
        Answer::new(
            404,
            r#"{"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND", "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}"#,
        ),
        "UNREGISTERED: Requested entity was not found.",
    );
}

#[test]
fn a_slow_vendor_never_holds_up_the_learners_sync() {
    let root = tempfile::tempdir().unwrap();
    let vendor = LocalVendor::start();
    let server = server_pushing_to(&vendor, &root.path().join("server"));
    let phone = Device::new(root.path(), "fay", "phone");
    let token = server.token("fay", "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .register_push_token("apns", &apns_token(7))
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    vendor.script([Answer::new(200, "").after(Duration::from_secs(3))]);
    std::thread::scope(|scope| {
        let pushing = scope.spawn(|| trigger(&server, "fay"));
        // Wait until the push is at the vendor, then sync while it answers slowly.
        let waiting = std::time::Instant::now();
        while vendor.pushes().is_empty() {
            assert!(waiting.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = std::time::Instant::now();
        let report = phone.sync(&server.url(), &token).unwrap();
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "the sync waited for the vendor: {took:?}"
        );
        // The intervention was committed before the push: the sync brought it.
        let _ = report;
        let triggered = pushing.join().unwrap();
        assert_eq!(triggered.pushes[0].outcome, "delivered");
        let events = phone.tidbit.lock().unwrap().nudge_events().unwrap();
        assert!(events.iter().any(|e| e.id == triggered.intervention));
    });
}

#[test]
fn only_an_admin_may_wake_a_learners_devices() {
    let root = tempfile::tempdir().unwrap();
    let vendor = LocalVendor::start();
    let server = server_pushing_to(&vendor, &root.path().join("server"));
    let device_token = server.token("gus", "phone");
    let (status, _) = admin_post(&server, "/v1/admin/learners/gus/wake", "", &device_token);
    assert_eq!(status, 403);
    let (status, _) = admin_post(&server, "/v1/admin/learners/gus/wake", "", "nonsense");
    assert_eq!(status, 401);
    let (status, reply) = admin_post(
        &server,
        "/v1/admin/learners/bad%20id/wake",
        "",
        &server.admin_token(),
    );
    assert_eq!(status, 400, "{reply}");
    assert!(vendor.received().is_empty());
}
