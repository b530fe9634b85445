//! The access log: one line per request, with no learner id, answer or text in it.
//!
//! A line names the request by its path, where every learner id is replaced by `~` and its
//! pseudonym ([`crate::Hub::pseudonym`]: 12 hex digits of a keyed hash that only this server's
//! key makes, so the same learner's requests can be followed without naming them). Bodies,
//! tokens, headers and query strings are never logged. Two formats ([`LogFormat`]):
//!
//! - JSON, one object per line (what `tidbit serve` writes by default, for log pipelines):
//!   `{"ts":"2026-12-06T07:00:00.123Z","level":"info","msg":"request","request_id":"…",
//!   "method":"POST","path":"/v1/learners/~3f2a…/sync","route":"/v1/learners/{learner}/sync",
//!   "status":200,"ms":4,"learner":"3f2a…"}` (`level` is `warn` for 4xx, `error` for 5xx);
//! - text: `METHOD PATH STATUS MILLISECONDSms`.
//!
//! The request id is the one the response carries in `X-Request-Id` ([`crate::observe`]). The
//! log goes wherever the sink sends it (`tidbit serve` writes it to stderr); no sink, no log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::observe::RequestId;
use crate::Hub;

/// Where access log lines go.
pub type AccessLogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How a log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("log format '{other}': json or text")),
        }
    }
}

/// The middleware: runs the request and writes its line.
pub async fn log_request(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let Some(sink) = hub.access_log.clone() else {
        return next.run(request).await;
    };
    let method = request.method().to_string();
    let path = redacted_path(&hub, request.uri().path());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let request_id = request.extensions().get::<RequestId>().cloned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_millis();
    let line = match hub.log_format {
        LogFormat::Text => format!("{method} {path} {status} {ms}ms"),
        LogFormat::Json => {
            let learner = path
                .split('/')
                .find_map(|segment| segment.strip_prefix('~'))
                .map(str::to_string);
            serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "level": match status {
                    500.. => "error",
                    400..=499 => "warn",
                    _ => "info",
                },
                "msg": "request",
                "request_id": request_id.map(|id| id.0),
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "ms": ms as u64,
                "learner": learner,
            })
            .to_string()
        }
    };
    sink(&line);
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
