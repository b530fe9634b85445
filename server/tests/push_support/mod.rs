//! A local push vendor for `tests/push.rs`: an HTTP/2 server (h2c, prior knowledge) on
//! 127.0.0.1 that records every request and answers as FCM or APNs would, from a script.
//! It serves FCM's OAuth 2.0 token endpoint (`/token`) too. The real vendors cannot be reached
//! from the machines these tests run on.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// One request as the vendor received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub version: hyper::Version,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (lowercase), if sent once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let value = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "header {name} sent twice");
        value
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// What the vendor answers to one push.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    tokens_issued: Mutex<u32>,
}

/// The local vendor; it stops when dropped (with its runtime).
pub struct LocalVendor {
    pub addr: SocketAddr,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

impl LocalVendor {
    pub fn start() -> LocalVendor {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(State::default());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| answer(state.clone(), request));
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LocalVendor {
            addr,
            state,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The answers to the next pushes, in order; once they are used up, pushes succeed.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The pushes received so far (every request but the token endpoint's).
    pub fn pushes(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path != "/token")
            .collect()
    }

    /// The token endpoint's requests so far.
    pub fn token_requests(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == "/token")
            .collect()
    }
}

async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        version: parts.version,
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body,
    };
    let path = received.path.clone();
    state.received.lock().unwrap().push(received);
    let answer = if path == "/token" {
        let mut issued = state.tokens_issued.lock().unwrap();
        *issued += 1;
        Answer::new(
            200,
            &serde_json::json!({
                "access_token": format!("ya29.test-{issued}"),
                "expires_in": 3599,
                "token_type": "Bearer",
            })
            .to_string(),
        )
        .header("content-type", "application/json")
    } else {
        let scripted = state.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| {
            if path.starts_with("/3/device/") {
                Answer::new(200, "").header("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5C")
            } else {
                Answer::new(200, r#"{"name": "projects/tidbit-push-test/messages/0:1"}"#)
                    .header("content-type", "application/json")
            }
        })
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(*name, value);
    }
    Ok(response.body(Full::new(Bytes::from(answer.body))).unwrap())
}

/// A compact JWT's header and claims (JSON) and what its signature covers, and the signature.
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value, String, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).unwrap();
    (
        serde_json::from_slice(&decode(parts[0])).unwrap(),
        serde_json::from_slice(&decode(parts[1])).unwrap(),
        format!("{}.{}", parts[0], parts[1]),
        decode(parts[2]),
    )
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
