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
use std::sync::{Arc, RwLock};
use std::time::Duration;

mod blocking;
#[cfg(feature = "reqwest")]
mod reqwest_transport;

use blocking::Blocking;

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
