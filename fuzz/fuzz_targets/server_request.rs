//! The server's request handling: the real router on a hub in a temporary directory (the
//! sample pack on offer, rate limits out of the way), called once per input with a request the
//! input describes (see `tidbit_fuzz::http_request`): method, one of the real routes with
//! fuzzed segments or a free path, a valid, expired or garbage token, headers and a body. No
//! request may panic the server or get a 5xx other than 503.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use libfuzzer_sys::fuzz_target;
use tidbit_fuzz::course_source::sample_pack;
use tidbit_fuzz::http_request::{Fixtures, RequestSpec};
use tidbit_fuzz::known_issues::exchange_with_hostile_bloom_filter;
use tidbit_fuzz::sync_messages::LEARNER;
use tidbit_server::auth::ADMIN_DEVICE;
use tidbit_server::{Hub, RateLimit};
use tower::ServiceExt;

struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
    fixtures: Fixtures,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let unlimited = RateLimit {
            burst: 1e12,
            per_second: 1e12,
        };
        let hub = Hub::open(dir.path())
            .expect("the hub opens")
            .with_rate_limit(unlimited);
        std::fs::create_dir_all(&hub.packs_dir).expect("a packs folder");
        let pack_file = "fuzz-sample.tidbit".to_string();
        let pack_path = hub.packs_dir.join(&pack_file);
        std::fs::write(&pack_path, sample_pack()).expect("the sample pack is on offer");
        let far = 4_102_444_800; // 2100-01-01
        let fixtures = Fixtures {
            learner: LEARNER.into(),
            learner_token: hub.tokens.issue(LEARNER, "phone", far),
            other_learner_token: hub.tokens.issue("bob", "tablet", far),
            admin_token: hub.tokens.issue("*", ADMIN_DEVICE, far),
            expired_token: hub.tokens.issue(LEARNER, "phone", 1),
            pack_etag: tidbit_server::content::etag(&pack_path).expect("an etag"),
            pack_file,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Server {
            runtime,
            router: tidbit_server::router(Arc::new(hub)),
            fixtures,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    let spec = RequestSpec::decode(data);
    if exchange_with_hostile_bloom_filter(&spec.body_bytes()) {
        return;
    }
    let Some(request) = spec.to_request(&server.fixtures) else {
        return;
    };
    let response = server
        .runtime
        .block_on(server.router.clone().oneshot(request))
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    if status.is_server_error() && status.as_u16() != 503 {
        let body = server
            .runtime
            .block_on(axum::body::to_bytes(response.into_body(), 64 * 1024))
            .unwrap_or_default();
        panic!(
            "{} {} got {status}: {}",
            spec.method(),
            spec.path(&server.fixtures),
            String::from_utf8_lossy(&body)
        );
    }
});
