//! Identity through real parts: a real OpenID provider on 127.0.0.1 (`scripts/oidc.sh`), signed
//! in to the way a browser does, the core's PKCE helper, real Tidbit servers (one in this
//! process, one in a process of its own on the same database), real syncs; then revocation,
//! refused ID tokens, admin roles and the audit log, and erasure of what identity stored.

mod support;

use std::sync::Arc;

use serde_json::Value;
use support::oidc::{Browser, Oidc};
use support::server_process::ServerProcess;
use support::*;
use tidbit_core::events::ManualClock;
use tidbit_core::identity::{begin_sign_in, PendingSignIn, SignInSettings, SignedIn};
use tidbit_core::sync::exchange::{Exchange, Listing};
use tidbit_core::tidbit::sync_client::SyncError;
use tidbit_server::auth::Role;
use tidbit_server::identity::oidc::OidcSettings;

const ANA: &str = "ana@example.org";
const FAR_FUTURE: i64 = 4_102_444_800;

#[test]
#[ignore = "the server process the revocation test starts; not a test on its own"]
fn server_process() {
    support::server_process::serve_from_env();
}

/// A server on `data` that lets devices sign in through `oidc`'s provider, on the system's
/// clock or `clock`.
fn identity_server(
    data: &std::path::Path,
    oidc: &Oidc,
    clock: Option<Arc<ManualClock>>,
) -> TestServer {
    let mut hub = open_hub(data)
        .with_rate_limit(GENEROUS_RATE)
        .with_oidc(OidcSettings::new(&oidc.issuer, &oidc.client_id))
        .unwrap();
    if let Some(clock) = clock {
        hub = hub.with_clock(clock);
    }
    TestServer::start_with(data, Arc::new(hub))
}

fn settings(
    oidc: &Oidc,
    issuer: &str,
    client_id: &str,
    server: &str,
    device: &str,
) -> SignInSettings {
    SignInSettings {
        issuer: issuer.into(),
        client_id: client_id.into(),
        redirect_uri: oidc.redirect_uri.clone(),
        server: server.into(),
        device: device.into(),
    }
}

fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tidbit_core::runtime::runtime().unwrap().block_on(work)
}

/// Starts a sign-in with the core's helper and signs `login` in on the provider's pages: the
/// sign-in in progress and the URL the provider sent the browser back to.
fn authorize(settings: &SignInSettings, login: &str) -> (PendingSignIn, String) {
    let pending = block_on(begin_sign_in(settings)).unwrap();
    let redirect =
        Browser::new().sign_in(&pending.authorization_url, login, &settings.redirect_uri);
    (pending, redirect)
}

/// The whole sign-in of `login` on `device`, as an app does it.
fn sign_in(oidc: &Oidc, server: &str, device: &str, login: &str) -> SignedIn {
    let settings = settings(oidc, &oidc.issuer, &oidc.client_id, server, device);
    let (pending, redirect) = authorize(&settings, login);
    block_on(pending.finish(&redirect)).unwrap()
}

/// An ID token from `issuer` for `client_id`, and the nonce its sign-in started with.
fn id_token(oidc: &Oidc, issuer: &str, client_id: &str, login: &str) -> (String, String) {
    let settings = settings(oidc, issuer, client_id, "http://127.0.0.1:9", "ana-phone");
    let (pending, redirect) = authorize(&settings, login);
    let code = pending.code_from(&redirect).unwrap();
    let token = block_on(pending.exchange_code(&code)).unwrap();
    (token, pending.nonce.clone())
}

/// Posts a sign-in to `server`; the status and the body.
fn post_sign_in(server: &str, id_token: &str, device: &str, nonce: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{server}/v1/sign-in"))
        .json(&serde_json::json!({ "id_token": id_token, "device": device, "nonce": nonce }))
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

/// A request with a bearer token; the status and the body.
fn call(method: &str, url: &str, token: &str) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let request = match method {
        "GET" => client.get(url),
        "POST" => client
            .post(url)
            .header("content-type", "application/json")
            .body("{}"),
        "DELETE" => client.delete(url),
        other => panic!("{other}"),
    };
    let response = request.bearer_auth(token).send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// An opening exchange: the server answers with the learner's documents, changing nothing.
fn read_probe() -> Vec<u8> {
    Exchange {
        listing: Some(Listing::default()),
        ..Exchange::default()
    }
    .encode()
}

fn admin(server: &TestServer, actor: &str, role: Role) -> String {
    server.hub.tokens.issue_admin(actor, role, FAR_FUTURE)
}

#[test]
fn a_learner_signs_in_through_the_provider_syncs_and_a_revoked_device_is_refused_at_its_next_request_by_every_server_process(
) {
    let oidc = Oidc::start();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = identity_server(&data, &oidc, None);
    // A second server process on the same database: revocation must reach it too.
    let other = ServerProcess::start(&data);

    let phone = sign_in(&oidc, &server.url(), "ana-phone", ANA);
    assert_eq!(
        (phone.learner.as_str(), phone.device.as_str()),
        (ANA, "ana-phone")
    );
    let days_left = (phone.expires_unix - chrono::Utc::now().timestamp()) / 86_400;
    assert!((29..=30).contains(&days_left), "{days_left} days");

    let device = Device::new(root.path(), ANA, "ana-phone");
    learn_for_days(&device, 7, 2, 3);
    let report = device.sync(&server.url(), &phone.token).unwrap();
    assert!(report.round_trips >= 1);
    let stored = stored_heads(&server, ANA);
    assert!(!stored.is_empty());
    assert_eq!(
        hub_digest(&server.hub, ANA, &root.path().join("replica")),
        device.digest()
    );
    // The other process takes the same token.
    device.sync(&other.url(), &phone.token).unwrap();

    let (status, body) = call(
        "GET",
        &format!("{}/v1/learners/{ANA}/devices", server.url()),
        &phone.token,
    );
    assert_eq!(status, 200, "{body}");
    let listed = json(&body);
    assert_eq!(listed["devices"].as_array().unwrap().len(), 1);
    assert_eq!(listed["devices"][0]["device"], "ana-phone");
    assert!(listed["devices"][0]["signed_in_ms"].is_i64());
    assert!(listed["devices"][0]["revoked_ms"].is_null());

    // A manager revokes the phone through the first process...
    let manager = admin(&server, "mo@example.org", Role::Manager);
    let (status, body) = call(
        "POST",
        &format!(
            "{}/v1/admin/learners/{ANA}/devices/ana-phone/revoke",
            server.url()
        ),
        &manager,
    );
    assert_eq!(status, 200, "{body}");
    // ...and the phone's next request, to the other process, is refused with the reason.
    let (status, reason) = post_sync(
        &other.url(),
        ANA,
        Some(&format!("Bearer {}", phone.token)),
        read_probe(),
    );
    let reason = String::from_utf8(reason).unwrap();
    assert_eq!(status, 401, "{reason}");
    assert!(
        reason.contains("this token was revoked: this device's tokens issued up to")
            && reason.contains("sign in again"),
        "{reason}"
    );
    assert!(matches!(
        device.sync(&server.url(), &phone.token),
        Err(SyncError::Unauthorized { status: 401 })
    ));
    assert_eq!(
        stored_heads(&server, ANA),
        stored,
        "a refused request changed nothing"
    );

    // Signing in again gives the phone a token that works, on both processes.
    let again = sign_in(&oidc, &server.url(), "ana-phone", ANA);
    device.sync(&other.url(), &again.token).unwrap();
    // A tablet signs in; from it, the learner signs out everywhere.
    let tablet = sign_in(&oidc, &server.url(), "ana-tablet", ANA);
    // A learner signs out only devices the server knows.
    let (status, body) = call(
        "POST",
        &format!(
            "{}/v1/learners/{ANA}/devices/someone-elses/revoke",
            server.url()
        ),
        &tablet.token,
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        "POST",
        &format!("{}/v1/learners/{ANA}/revoke", other.url()),
        &tablet.token,
    );
    assert_eq!(status, 200, "{body}");
    for (token, url) in [(&again.token, server.url()), (&tablet.token, other.url())] {
        let (status, reason) = post_sync(&url, ANA, Some(&format!("Bearer {token}")), read_probe());
        let reason = String::from_utf8(reason).unwrap();
        assert_eq!(status, 401, "{reason}");
        assert!(
            reason.contains("every token of this learner issued up to"),
            "{reason}"
        );
    }
    let (status, _) = call(
        "GET",
        &format!("{}/v1/learners/{ANA}/devices", server.url()),
        &tablet.token,
    );
    assert_eq!(status, 401);

    // The operator sees both devices, and who revoked the phone.
    let operator = admin(&server, "olu@example.org", Role::Operator);
    let (status, body) = call(
        "GET",
        &format!("{}/v1/admin/learners/{ANA}/devices", server.url()),
        &operator,
    );
    assert_eq!(status, 200, "{body}");
    let listed = json(&body);
    let devices: Vec<&str> = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["ana-phone", "ana-tablet"]);
    assert!(listed["tokens_revoked_ms"].is_i64());
    let (status, body) = call(
        "GET",
        &format!("{}/v1/admin/audit", server.url()),
        &operator,
    );
    assert_eq!(status, 200, "{body}");
    let entries = json(&body)["entries"].as_array().unwrap().clone();
    let revocation = entries
        .iter()
        .find(|e| e["action"] == "POST /v1/admin/learners/{learner}/devices/{device}/revoke")
        .unwrap_or_else(|| panic!("{entries:#?}"));
    assert_eq!(revocation["actor"], "mo@example.org");
    assert_eq!(revocation["role"], "manager");
    assert_eq!(revocation["learner"], ANA);
    assert_eq!(revocation["target"], "device=ana-phone");
    assert_eq!(revocation["status"], 200);
}

#[test]
fn id_tokens_for_another_app_from_another_issuer_with_a_broken_signature_a_wrong_nonce_or_expired_are_refused_and_change_nothing(
) {
    let oidc = Oidc::start();
    let root = tempfile::tempdir().unwrap();
    let server = identity_server(&root.path().join("server"), &oidc, None);
    let url = server.url();
    let refused = |token: &str, nonce: &str, status: u16, reason: &str| {
        let (got, body) = post_sign_in(&url, token, "ana-phone", nonce);
        assert_eq!(got, status, "{body}");
        assert!(body.contains(reason), "{body}");
    };

    let (other_app, nonce) = id_token(&oidc, &oidc.issuer, &oidc.other_client_id, ANA);
    refused(
        &other_app,
        &nonce,
        401,
        "the ID token is for another application (audience other-app), not for client 'tidbit-app'",
    );
    let (other_issuer, nonce) = id_token(&oidc, &oidc.other_issuer, &oidc.client_id, ANA);
    refused(
        &other_issuer,
        &nonce,
        401,
        &format!(
            "the ID token was issued by '{}', not by the organisation's provider '{}'",
            oidc.other_issuer, oidc.issuer
        ),
    );
    let (good, nonce) = id_token(&oidc, &oidc.issuer, &oidc.client_id, ANA);
    // The same token claiming another learner: its signature no longer verifies.
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
    let forged_claims = claims.replace(ANA, "bob@example.org");
    assert_ne!(claims, forged_claims);
    let forged = format!("{}.{}.{}", parts[0], engine.encode(forged_claims), parts[2]);
    refused(
        &forged,
        &nonce,
        401,
        "the ID token's signature does not verify against the provider's key",
    );
    refused(
        &good,
        "another-sign-in",
        401,
        "the ID token's nonce is not the one this sign-in started with",
    );
    refused("not-a-jwt", &nonce, 400, "the ID token is not a signed JWT");
    // Two hours on, on a server whose clock says so, the same token has expired.
    let later = Arc::new(ManualClock::new(
        chrono::Utc::now() + chrono::Duration::hours(2),
    ));
    let late_server = identity_server(&root.path().join("late"), &oidc, Some(later));
    let (got, body) = post_sign_in(&late_server.url(), &good, "ana-phone", &nonce);
    assert_eq!(got, 401, "{body}");
    assert!(body.contains("the ID token expired at"), "{body}");
    assert!(late_server
        .hub
        .storage
        .devices(None, 100)
        .unwrap()
        .is_empty());

    // Nothing was enrolled, issued or recorded by any refusal.
    assert!(server.hub.storage.devices(None, 100).unwrap().is_empty());
    assert!(server.hub.storage.audit_log(100).unwrap().is_empty());
    // The good token, with its own nonce, signs in.
    let (got, body) = post_sign_in(&url, &good, "ana-phone", &nonce);
    assert_eq!(got, 200, "{body}");
    assert_eq!(json(&body)["learner"], ANA);
    assert_eq!(server.hub.storage.devices(None, 100).unwrap().len(), 1);
}

#[test]
fn each_role_calls_only_its_admin_endpoints_and_every_admin_request_is_audited_with_its_actor() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let url = server.url();
    let analyst = admin(&server, "ali@example.org", Role::Analyst);
    let author = admin(&server, "aya@example.org", Role::Author);
    let manager = admin(&server, "mo@example.org", Role::Manager);
    let operator = admin(&server, "olu@example.org", Role::Operator);

    let (status, body) = call("GET", &format!("{url}/v1/admin/metrics"), &analyst);
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        "DELETE",
        &format!("{url}/v1/admin/learners/{ANA}"),
        &analyst,
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("the analyst role may not call DELETE /v1/admin/learners/{learner} (it is for: operator)"),
        "{body}"
    );
    let (status, body) = call("GET", &format!("{url}/v1/admin/audit"), &author);
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        "GET",
        &format!("{url}/v1/admin/learners/{ANA}/devices"),
        &manager,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        "POST",
        &format!("{url}/v1/admin/learners/{ANA}/revoke"),
        &manager,
    );
    assert_eq!(status, 403, "{body}");
    // A device's token opens no admin endpoint, and is no admin's action.
    let device = server.token(ANA, "ana-phone");
    let (status, _) = call("GET", &format!("{url}/v1/admin/audit"), &device);
    assert_eq!(status, 403);
    // Nothing a refused request asked for happened.
    assert!(server
        .hub
        .storage
        .revocation(ANA, "ana-phone")
        .unwrap()
        .learner_ms
        .is_none());

    let (status, body) = call("GET", &format!("{url}/v1/admin/audit"), &operator);
    assert_eq!(status, 200, "{body}");
    let entries: Vec<(String, String, String, u64)> = json(&body)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["role"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let entry = |actor: &str, role: &str, action: &str, status: u64| {
        (
            actor.to_string(),
            role.to_string(),
            action.to_string(),
            status,
        )
    };
    // Newest first; the operator's own reading is recorded once it is answered.
    assert_eq!(
        entries,
        [
            entry(
                "mo@example.org",
                "manager",
                "POST /v1/admin/learners/{learner}/revoke",
                403
            ),
            entry(
                "mo@example.org",
                "manager",
                "GET /v1/admin/learners/{learner}/devices",
                200
            ),
            entry("aya@example.org", "author", "GET /v1/admin/audit", 403),
            entry(
                "ali@example.org",
                "analyst",
                "DELETE /v1/admin/learners/{learner}",
                403
            ),
            entry("ali@example.org", "analyst", "GET /v1/admin/metrics", 200),
        ]
    );
}

#[test]
fn erasing_a_learner_removes_their_devices_and_revocations_and_their_id_from_the_audit_log() {
    let oidc = Oidc::start();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = identity_server(&data, &oidc, None);
    let url = server.url();
    let phone = sign_in(&oidc, &url, "ana-phone", ANA);
    let device = Device::new(root.path(), ANA, "ana-phone");
    learn_for_days(&device, 3, 1, 3);
    device.sync(&url, &phone.token).unwrap();
    let operator = admin(&server, "olu@example.org", Role::Operator);
    for action in [
        format!("{url}/v1/admin/learners/{ANA}/devices/ana-phone/revoke"),
        format!("{url}/v1/admin/learners/{ANA}/revoke"),
    ] {
        let (status, body) = call("POST", &action, &operator);
        assert_eq!(status, 200, "{body}");
    }
    assert!(!stored_places_holding(&data, ANA).is_empty());

    let (status, body) = call(
        "DELETE",
        &format!("{url}/v1/admin/learners/{ANA}"),
        &operator,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_places_holding(&data, ANA), Vec::<String>::new());
    let log = server.hub.storage.audit_log(100).unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|e| e.learner.is_none() && e.target.is_none()));
    assert_eq!(log[0].action, "DELETE /v1/admin/learners/{learner}");
    // An erased learner can neither sign in again nor be revoked into the store again.
    let settings = settings(&oidc, &oidc.issuer, &oidc.client_id, &url, "ana-phone");
    let (pending, redirect) = authorize(&settings, ANA);
    match block_on(pending.finish(&redirect)) {
        Err(tidbit_core::identity::SignInError::ServerRefused { status, message }) => {
            assert_eq!(status, 410, "{message}");
        }
        other => panic!("{other:?}"),
    }
    let (status, _) = call(
        "POST",
        &format!("{url}/v1/admin/learners/{ANA}/devices/ana-phone/revoke"),
        &operator,
    );
    assert_eq!(status, 410);
    assert_eq!(stored_places_holding(&data, ANA), Vec::<String>::new());
}
