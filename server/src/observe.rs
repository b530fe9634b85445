//! What operators watch: the probes, Prometheus metrics and the request ids logs carry.
//!
//! - `GET /healthz`: the process is up and serving (200 `ok`).
//! - `GET /readyz`: the storage answers and holds the schema this build needs (200 `ready`);
//!   503 with the reason otherwise, and from the moment a graceful shutdown begins, so a load
//!   balancer stops sending new requests while the ones in flight finish.
//! - `GET /metrics`: the Prometheus text format. Requests by route and status, their latency,
//!   sync exchanges by outcome with the bytes they carried, errors by kind, requests in flight,
//!   the LRS outbox's depth. No label holds a learner id or anything a request carried.
//! - Every response carries `X-Request-Id`: the caller's, when it sent a sane one, or a new
//!   random one; the access log line of the request has the same id ([`crate::access_log`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use ring::rand::SecureRandom;

use crate::Hub;

/// The response header (and request header honoured) that names a request.
pub const REQUEST_ID: &str = "x-request-id";

/// Latency buckets in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The server's metrics, one registry per hub (so tests with several hubs stay apart).
pub struct Observer {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    exchanges: IntCounterVec,
    exchange_bytes: IntCounterVec,
    in_flight: IntGauge,
    outbox: IntGaugeVec,
    leader: IntGauge,
    draining: AtomicBool,
    leading: AtomicBool,
}

impl Default for Observer {
    fn default() -> Self {
        // The metrics' names and labels are constants, checked by this module's test.
        Observer::new().expect("the metrics' names and labels are valid")
    }
}

impl Observer {
    pub fn new() -> prometheus::Result<Observer> {
        let registry = Registry::new_custom(Some("tidbit".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by route and status.",
            ),
            &["route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's headers to its answer, by route.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("http_errors_total", "Requests refused or failed, by kind."),
            &["kind"],
        )?;
        let exchanges = IntCounterVec::new(
            Opts::new(
                "sync_exchanges_total",
                "Sync exchanges, by outcome (ok, or the status of the refusal).",
            ),
            &["outcome"],
        )?;
        let exchange_bytes = IntCounterVec::new(
            Opts::new(
                "sync_exchange_bytes_total",
                "Bytes of sync exchanges, received (in) and sent (out).",
            ),
            &["direction"],
        )?;
        let in_flight = IntGauge::new("http_requests_in_flight", "Requests being handled now.")?;
        let outbox = IntGaugeVec::new(
            Opts::new(
                "lrs_outbox_statements",
                "Learning records in the LRS outbox, by state.",
            ),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(exchanges.clone()))?;
        registry.register(Box::new(exchange_bytes.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        let leader = IntGauge::new(
            "background_leader",
            "1 while this process leads the background work (see the lead module), else 0.",
        )?;
        registry.register(Box::new(outbox.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        Ok(Observer {
            registry,
            requests,
            latency,
            errors,
            exchanges,
            exchange_bytes,
            in_flight,
            outbox,
            leader,
            draining: AtomicBool::new(false),
            leading: AtomicBool::new(false),
        })
    }

    /// Counts one sync exchange: `outcome` is `ok` or the refusal's status code.
    pub fn exchange(&self, outcome: &str, bytes_in: usize, bytes_out: usize) {
        self.exchanges.with_label_values(&[outcome]).inc();
        self.exchange_bytes
            .with_label_values(&["in"])
            .inc_by(bytes_in as u64);
        self.exchange_bytes
            .with_label_values(&["out"])
            .inc_by(bytes_out as u64);
    }

    /// Whether this process leads the background work ([`crate::lead`]).
    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::SeqCst);
        self.leader.set(i64::from(leading));
    }

    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// From now on `/readyz` answers 503: the server is shutting down.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The kind an error status counts under.
fn error_kind(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        100..=399 => return None,
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        408 => "timeout",
        409 => "conflict",
        410 => "erased",
        413 => "too_large",
        416 => "bad_range",
        422 => "unprocessable",
        429 => "rate_limited",
        503 => "unavailable",
        code if code < 500 => "client_other",
        _ => "internal",
    })
}

/// A fresh request id: 16 random hex digits.
fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    hex::encode(bytes)
}

/// The request's id: the caller's `X-Request-Id` if it is 1 to 64 of `[A-Za-z0-9._-]`, else new.
pub fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map_or_else(new_request_id, str::to_string)
}

/// The request's id, kept in its extensions for the access log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The middleware: names the request, counts it and times it.
pub async fn observe(State(hub): State<Arc<Hub>>, mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let observer = &hub.observer;
    observer.in_flight.inc();
    let started = Instant::now();
    let mut response = next.run(request).await;
    observer.in_flight.dec();
    let status = response.status();
    observer
        .requests
        .with_label_values(&[route.as_str(), status.as_str()])
        .inc();
    observer
        .latency
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    if let Some(kind) = error_kind(status) {
        observer.errors.with_label_values(&[kind]).inc();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`.
pub async fn readyz(State(hub): State<Arc<Hub>>) -> Response {
    if hub.observer.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.storage.readiness()).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the check failed\n").into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(hub): State<Arc<Hub>>) -> Response {
    let worker = hub.clone();
    // The outbox's depth is read when scraped, from whichever process wrote it.
    if let Ok(Ok(status)) =
        tokio::task::spawn_blocking(move || worker.storage.outbox_status(0)).await
    {
        for (state, count) in [
            ("pending", status.pending),
            ("delivered", status.delivered),
            ("quarantined", status.quarantined),
        ] {
            hub.observer
                .outbox
                .with_label_values(&[state])
                .set(count as i64);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        hub.observer.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_and_rendered_with_the_prefix() {
        let observer = Observer::new().unwrap();
        observer.exchange("ok", 120, 80);
        observer.exchange("422", 10, 0);
        let text = observer.render();
        assert!(
            text.contains("tidbit_sync_exchanges_total{outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tidbit_sync_exchange_bytes_total{direction=\"in\"} 130"),
            "{text}"
        );
        assert!(text.contains("tidbit_http_requests_in_flight 0"), "{text}");
    }

    #[test]
    fn a_callers_request_id_is_kept_only_when_it_is_sane() {
        let with = |id: &str| {
            let request = Request::builder()
                .header(REQUEST_ID, id)
                .body(axum::body::Body::empty())
                .unwrap();
            request_id(&request)
        };
        assert_eq!(with("lb-7f3a.2"), "lb-7f3a.2");
        let replaced = with("no spaces; or quotes\"");
        assert_eq!(replaced.len(), 16);
        assert!(replaced.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(with(&"a".repeat(65)), "a".repeat(65));
    }
}
