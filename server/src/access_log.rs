//! The access log: one line per request, with no learner id, answer or text in it.
//!
//! A line is `METHOD PATH STATUS MILLISECONDSms`, where every learner id in the path is replaced
//! by `~` and its pseudonym ([`crate::Hub::pseudonym`]: 12 hex digits of a keyed hash that only
//! this server's key makes, so the same learner's requests can be followed without naming
//! them). Bodies, tokens, headers and query strings are never logged. The log goes wherever the
//! sink sends it (`tidbit serve` writes it to stderr); no sink, no log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::Hub;

/// Where access log lines go.
pub type AccessLogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The middleware: runs the request and writes its line.
pub async fn log_request(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let Some(sink) = hub.access_log.clone() else {
        return next.run(request).await;
    };
    let method = request.method().to_string();
    let path = redacted_path(&hub, request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    sink(&format!(
        "{method} {path} {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}

/// `path` with the segment after every `learners` replaced by `~` and its pseudonym.
pub fn redacted_path(hub: &Hub, path: &str) -> String {
    let mut after_learners = false;
    path.split('/')
        .map(|segment| {
            let shown = if after_learners && !segment.is_empty() {
                format!("~{}", hub.pseudonym(segment))
            } else {
                segment.chars().take(64).collect()
            };
            after_learners = segment == "learners";
            shown
        })
        .collect::<Vec<_>>()
        .join("/")
}
