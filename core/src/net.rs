//! The one way the core speaks HTTP: a [`Request`], then a status, headers and a body read a
//! piece at a time ([`Response`]). Sync, course delivery, shared recordings and sign-in all go
//! through [`send`]; what carries the bytes is the [`Transport`] in place:
//!
//! - on a phone, the platform's own HTTP stack (HttpURLConnection on Android, URLSession on iOS,
//!   `http.client` in Python), handed to the core through the FFI as a [`BlockingTransport`] by
//!   Tidbit's packages when they load. The library then carries no TLS stack and no root store
//!   of its own (about 1.3 MB of a phone app), and HTTPS follows the system's trust store,
//!   proxies and VPNs, as an organisation's managed phones expect;
//! - elsewhere (the CLI, the server's tools, the tests), reqwest over rustls, with the feature
//!   `reqwest`, when nothing else was set.
//!
//! A [`send`] or a [`Response::chunk`] may be dropped at any await (an app cancelling the call):
//! a blocking transport is then told to [`cancel`](BlockingTransport::cancel) the call, so the
//! platform closes its connection instead of reading on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A future a transport returns.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, TransportError>> + Send + 'a>>;

/// What went wrong with a call, as far as the transport knows. A status the server answered,
/// even 500, is not an error here: the caller reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No answer, a cut connection, a timeout, a TLS failure: worth another try later.
    #[error("{0}")]
    Failed(String),
    /// The server redirected more often than the request allows.
    #[error("too many redirects: {0}")]
    Redirected(String),
    /// No transport is in place (a build without reqwest whose app set none).
    #[error("no HTTP transport is set: Tidbit's app packages set the platform's when they load; an app that loads the library itself calls set_http_transport first")]
    Unavailable,
}

/// An HTTP method the core uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// One request and the bounds it runs within.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long the whole call may take, the body's reading included.
    pub timeout: Option<Duration>,
    /// How long any one read may wait for bytes.
    pub read_timeout: Option<Duration>,
    /// Redirects followed before the call fails with [`TransportError::Redirected`].
    pub max_redirects: u32,
}

impl Request {
    /// A request with no body, no headers, 10 s to connect, no other time bound, and up to 10
    /// redirects followed.
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: None,
            read_timeout: None,
            max_redirects: 10,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Request {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    pub fn timeouts(mut self, connect: Duration, whole: Option<Duration>) -> Request {
        self.connect_timeout = connect;
        self.timeout = whole;
        self
    }
}

/// The status and headers of an answer, its body still to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
}

/// Reads an answer's body, a piece at a time.
pub trait Body: Send {
    /// The next piece, or `None` at the end.
    fn chunk(&mut self) -> Pending<'_, Option<Vec<u8>>>;
}

/// Carries requests: reqwest, or the platform's stack behind a [`BlockingTransport`].
pub trait Transport: Send + Sync {
    fn send(&self, request: Request) -> Pending<'static, (Head, Box<dyn Body>)>;
}

/// A transport whose calls block (the platform's HTTP stack, called through the FFI). Each
/// call has an id: `send` starts it, `read` takes the next bytes of its body, `finish` lets it
/// go, once, and may come while a cancelled `send` is still returning. `cancel` comes from
/// another thread while `send` or `read` may be blocked; they then return promptly (with any
/// error) and the call's connection is not reused. A `cancel` may come more than once.
pub trait BlockingTransport: Send + Sync {
    fn send(&self, call: u64, request: Request) -> Result<Head, TransportError>;
    /// Up to `max` bytes of the body; none at its end.
    fn read(&self, call: u64, max: u32) -> Result<Vec<u8>, TransportError>;
    fn finish(&self, call: u64);
    fn cancel(&self, call: u64);
}

/// The most bytes one read of a blocking transport asks for.
const READ_PIECE: u32 = 64 * 1024;

static TRANSPORT: RwLock<Option<Arc<dyn Transport>>> = RwLock::new(None);

/// Puts `transport` in place of any other, for every call that starts after this.
pub fn set_transport(transport: Arc<dyn Transport>) {
    *TRANSPORT.write().unwrap_or_else(|e| e.into_inner()) = Some(transport);
}

/// Puts the platform's blocking transport in place (what the FFI does).
pub fn set_blocking_transport(transport: Arc<dyn BlockingTransport>) {
    set_transport(Arc::new(Blocking(transport)));
}

fn transport() -> Result<Arc<dyn Transport>, TransportError> {
    if let Some(transport) = TRANSPORT.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Ok(transport.clone());
    }
    default_transport()
}

#[cfg(feature = "reqwest")]
fn default_transport() -> Result<Arc<dyn Transport>, TransportError> {
    static REQWEST: std::sync::OnceLock<Arc<dyn Transport>> = std::sync::OnceLock::new();
    Ok(REQWEST
        .get_or_init(|| Arc::new(reqwest_transport::Reqwest::default()))
        .clone())
}

#[cfg(not(feature = "reqwest"))]
fn default_transport() -> Result<Arc<dyn Transport>, TransportError> {
    Err(TransportError::Unavailable)
}

/// Sends `request` through the transport in place.
pub async fn send(request: Request) -> Result<Response, TransportError> {
    let (head, body) = transport()?.send(request).await?;
    Ok(Response { head, body })
}

/// An answer: its status and headers, and its body to read.
pub struct Response {
    head: Head,
    body: Box<dyn Body>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.head.status)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The length the server announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// The next piece of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        self.body.chunk().await
    }

    /// The whole body, or [`ReadError::TooLong`] once it passes `cap` bytes (announced or
    /// read): a hostile or broken server never makes a phone buffer without a bound.
    pub async fn read_capped(&mut self, cap: usize) -> Result<Vec<u8>, ReadError> {
        if self.content_length().is_some_and(|n| n > cap as u64) {
            return Err(ReadError::TooLong(cap));
        }
        let mut body = Vec::new();
        while let Some(piece) = self.chunk().await.map_err(ReadError::Cut)? {
            if body.len() + piece.len() > cap {
                return Err(ReadError::TooLong(cap));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body)
    }
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is longer than {0} bytes")]
    TooLong(usize),
    #[error("the answer was cut off: {0}")]
    Cut(TransportError),
}

/// A [`BlockingTransport`] driven from async code: each call runs on tokio's blocking pool,
/// and a dropped future cancels the call it waited on.
struct Blocking(Arc<dyn BlockingTransport>);

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

/// What a dropped future leaves behind: the call it waited on cancelled (and, for a send,
/// finished: no body will own it), unless the wait ended first.
struct CancelOnDrop {
    transport: Arc<dyn BlockingTransport>,
    call: u64,
    finish: bool,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.transport.cancel(self.call);
            if self.finish {
                self.transport.finish(self.call);
            }
        }
    }
}

/// Runs `work` on tokio's blocking pool, cancelling `call` if the future is dropped first.
async fn on_blocking_pool<T: Send + 'static>(
    transport: &Arc<dyn BlockingTransport>,
    call: u64,
    finish_if_dropped: bool,
    work: impl FnOnce() -> Result<T, TransportError> + Send + 'static,
) -> Result<T, TransportError> {
    let mut guard = CancelOnDrop {
        transport: transport.clone(),
        call,
        finish: finish_if_dropped,
        armed: true,
    };
    let result = tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(TransportError::Failed(format!("the HTTP call failed: {e}"))));
    guard.armed = false;
    result
}

impl Transport for Blocking {
    fn send(&self, request: Request) -> Pending<'static, (Head, Box<dyn Body>)> {
        let transport = self.0.clone();
        Box::pin(async move {
            let call = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
            let sending = transport.clone();
            let head =
                on_blocking_pool(&transport, call, true, move || sending.send(call, request))
                    .await
                    .inspect_err(|_| transport.finish(call))?;
            let body: Box<dyn Body> = Box::new(BlockingBody {
                transport,
                call,
                ended: false,
            });
            Ok((head, body))
        })
    }
}

struct BlockingBody {
    transport: Arc<dyn BlockingTransport>,
    call: u64,
    ended: bool,
}

impl Body for BlockingBody {
    fn chunk(&mut self) -> Pending<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            if self.ended {
                return Ok(None);
            }
            let (transport, call) = (self.transport.clone(), self.call);
            // Dropped mid-read, the call is cancelled; the body, dropped later, finishes it.
            let piece = on_blocking_pool(&self.transport, call, false, move || {
                transport.read(call, READ_PIECE)
            })
            .await;
            match piece {
                Ok(piece) if piece.is_empty() => {
                    self.ended = true;
                    Ok(None)
                }
                Ok(piece) => Ok(Some(piece)),
                Err(error) => {
                    self.ended = true;
                    Err(error)
                }
            }
        })
    }
}

impl Drop for BlockingBody {
    fn drop(&mut self) {
        if !self.ended {
            self.transport.cancel(self.call);
        }
        self.transport.finish(self.call);
    }
}

/// reqwest over rustls: the transport of the CLI, the server's tools and the tests.
#[cfg(feature = "reqwest")]
mod reqwest_transport {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Clients by their bounds, so calls with the same bounds share connections.
    #[derive(Default)]
    pub struct Reqwest {
        clients: Mutex<HashMap<Bounds, reqwest::Client>>,
    }

    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    struct Bounds {
        connect: Duration,
        whole: Option<Duration>,
        read: Option<Duration>,
        redirects: u32,
    }

    impl Reqwest {
        fn client(&self, bounds: Bounds) -> Result<reqwest::Client, TransportError> {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(client) = clients.get(&bounds) {
                return Ok(client.clone());
            }
            let mut builder = reqwest::Client::builder()
                .connect_timeout(bounds.connect)
                .redirect(reqwest::redirect::Policy::limited(
                    bounds.redirects as usize,
                ));
            if let Some(whole) = bounds.whole {
                builder = builder.timeout(whole);
            }
            if let Some(read) = bounds.read {
                builder = builder.read_timeout(read);
            }
            let client = builder
                .build()
                .map_err(|e| TransportError::Failed(with_causes(&e)))?;
            clients.insert(bounds, client.clone());
            Ok(client)
        }
    }

    impl Transport for Reqwest {
        fn send(&self, request: Request) -> Pending<'static, (Head, Box<dyn Body>)> {
            let client = self.client(Bounds {
                connect: request.connect_timeout,
                whole: request.timeout,
                read: request.read_timeout,
                redirects: request.max_redirects,
            });
            Box::pin(async move {
                let method = match request.method {
                    Method::Get => reqwest::Method::GET,
                    Method::Head => reqwest::Method::HEAD,
                    Method::Post => reqwest::Method::POST,
                    Method::Put => reqwest::Method::PUT,
                };
                let mut builder = client?.request(method, &request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                let response = builder.body(request.body).send().await.map_err(failed)?;
                let head = Head {
                    status: response.status().as_u16(),
                    headers: response
                        .headers()
                        .iter()
                        .filter_map(|(name, value)| {
                            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
                        })
                        .collect(),
                };
                let body: Box<dyn Body> = Box::new(ReqwestBody(response));
                Ok((head, body))
            })
        }
    }

    struct ReqwestBody(reqwest::Response);

    impl Body for ReqwestBody {
        fn chunk(&mut self) -> Pending<'_, Option<Vec<u8>>> {
            Box::pin(async move { Ok(self.0.chunk().await.map_err(failed)?.map(|b| b.to_vec())) })
        }
    }

    fn failed(error: reqwest::Error) -> TransportError {
        if error.is_redirect() {
            TransportError::Redirected(with_causes(&error))
        } else {
            TransportError::Failed(with_causes(&error))
        }
    }
}

/// An error with the errors beneath it, `outer: inner`: a client names the URL on top and the
/// reason (a refused connection, a timeout) underneath.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Condvar, Mutex};

    use super::*;

    /// A platform transport following a script: one answer of `pieces`, or a send that blocks
    /// until the call is cancelled. It notes every call the adapter makes.
    #[derive(Default)]
    struct Scripted {
        pieces: Mutex<VecDeque<&'static str>>,
        length: Option<u64>,
        block_send: bool,
        block_read: bool,
        log: Mutex<Vec<String>>,
        cancelled: (Mutex<bool>, Condvar),
        entered: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    }

    impl Scripted {
        fn note(&self, what: String) {
            self.log.lock().unwrap().push(what);
        }

        fn log(&self) -> Vec<String> {
            self.log.lock().unwrap().clone()
        }

        /// Tells the test the call is in the platform, then waits there until it is cancelled.
        fn block(&self, what: &str) -> TransportError {
            if let Some(entered) = self.entered.lock().unwrap().take() {
                let _ = entered.send(());
            }
            let (cancelled, woken) = &self.cancelled;
            drop(
                woken
                    .wait_while(cancelled.lock().unwrap(), |cancelled| !*cancelled)
                    .unwrap(),
            );
            self.note(format!("{what} returned"));
            TransportError::Failed("the call was cancelled".into())
        }

        /// Waits (bounded) until the log holds `n` entries: the blocked thread may still be
        /// ending when the future is gone.
        async fn wait_for(&self, n: usize) -> Vec<String> {
            for _ in 0..6_000 {
                if self.log().len() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            self.log()
        }
    }

    impl BlockingTransport for Scripted {
        fn send(&self, call: u64, request: Request) -> Result<Head, TransportError> {
            self.note(format!("send {} {}", request.method.as_str(), request.url));
            if self.block_send {
                return Err(self.block(&format!("send {call}")));
            }
            let headers = self
                .length
                .map(|n| vec![("content-length".to_string(), n.to_string())])
                .unwrap_or_default();
            Ok(Head {
                status: 200,
                headers,
            })
        }

        fn read(&self, call: u64, max: u32) -> Result<Vec<u8>, TransportError> {
            if self.block_read {
                self.note("read".into());
                return Err(self.block(&format!("read {call}")));
            }
            let piece = self.pieces.lock().unwrap().pop_front().unwrap_or("");
            assert!(piece.len() <= max as usize);
            self.note(format!("read {piece:?}"));
            Ok(piece.as_bytes().to_vec())
        }

        fn finish(&self, _call: u64) {
            self.note("finish".into());
        }

        fn cancel(&self, _call: u64) {
            self.note("cancel".into());
            *self.cancelled.0.lock().unwrap() = true;
            self.cancelled.1.notify_all();
        }
    }

    async fn send_through(
        platform: &Arc<Scripted>,
        request: Request,
    ) -> Result<Response, TransportError> {
        let transport = Blocking(platform.clone());
        let (head, body) = transport.send(request).await?;
        Ok(Response { head, body })
    }

    fn get() -> Request {
        Request::new(Method::Get, "http://127.0.0.1:1/x")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_arrives_piece_by_piece_and_the_call_is_finished_once() {
        let platform = Arc::new(Scripted {
            pieces: Mutex::new(["abc", "def"].into()),
            length: Some(6),
            ..Scripted::default()
        });
        let mut response = send_through(&platform, get()).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.content_length(), Some(6));
        assert_eq!(response.read_capped(100).await.unwrap(), b"abcdef");
        drop(response);
        assert_eq!(
            platform.log(),
            [
                "send GET http://127.0.0.1:1/x",
                "read \"abc\"",
                "read \"def\"",
                "read \"\"",
                "finish"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_announced_past_the_cap_is_refused_before_a_byte_is_read() {
        let platform = Arc::new(Scripted {
            pieces: Mutex::new(["abc"].into()),
            length: Some(1_000),
            ..Scripted::default()
        });
        let mut response = send_through(&platform, get()).await.unwrap();
        assert_eq!(response.read_capped(10).await, Err(ReadError::TooLong(10)));
        drop(response);
        assert_eq!(
            platform.log(),
            ["send GET http://127.0.0.1:1/x", "cancel", "finish"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_read_past_the_cap_stops_there() {
        let platform = Arc::new(Scripted {
            pieces: Mutex::new(["abcdef", "ghijkl", "never read"].into()),
            ..Scripted::default()
        });
        let mut response = send_through(&platform, get()).await.unwrap();
        assert_eq!(response.read_capped(10).await, Err(ReadError::TooLong(10)));
        drop(response);
        assert_eq!(
            platform.log(),
            [
                "send GET http://127.0.0.1:1/x",
                "read \"abcdef\"",
                "read \"ghijkl\"",
                "cancel",
                "finish"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_a_send_blocked_in_the_platform_cancels_and_finishes_the_call() {
        let (entered, in_platform) = tokio::sync::oneshot::channel();
        let platform = Arc::new(Scripted {
            block_send: true,
            entered: Mutex::new(Some(entered)),
            ..Scripted::default()
        });
        let sending = send_through(&platform, get());
        tokio::select! {
            _ = sending => panic!("a send blocked until cancelled returned"),
            _ = in_platform => {}
        }
        // The send future is dropped: the platform hears `cancel`, its blocked send returns,
        // and the call is finished.
        let mut log = platform.wait_for(4).await;
        assert_eq!(log.len(), 4, "{log:?}");
        assert_eq!(log[..2], ["send GET http://127.0.0.1:1/x", "cancel"]);
        // The woken send and the finish run on two threads, in either order.
        log[2..].sort();
        assert_eq!(log[2], "finish");
        assert!(
            log[3].starts_with("send ") && log[3].ends_with(" returned"),
            "{log:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_a_read_blocked_in_the_platform_cancels_the_call_and_the_body_finishes_it() {
        let (entered, in_platform) = tokio::sync::oneshot::channel();
        let platform = Arc::new(Scripted {
            block_read: true,
            entered: Mutex::new(Some(entered)),
            ..Scripted::default()
        });
        let mut response = send_through(&platform, get()).await.unwrap();
        tokio::select! {
            _ = response.chunk() => panic!("a read blocked until cancelled returned"),
            _ = in_platform => {}
        }
        let after_read = platform.wait_for(4).await;
        drop(response);
        let log = platform.log();
        assert_eq!(log.len(), 6, "{log:?}");
        assert_eq!(log[..2], ["send GET http://127.0.0.1:1/x", "read"]);
        let mut woken = after_read[2..4].to_vec();
        woken.sort();
        assert!(
            woken[0] == "cancel"
                && woken[1].starts_with("read ")
                && woken[1].ends_with(" returned"),
            "{log:?}"
        );
        // Finished once, by the body, which cancels again as it goes (a cancel may repeat).
        assert_eq!(log[4..], ["cancel", "finish"]);
    }
}
