//! The platform's HTTP stack, which carries every request the core makes (sync, course updates,
//! shared recordings, sign-in): HttpURLConnection on Android, URLSession on iOS, `http.client`
//! in Python. Tidbit's Kotlin, Swift and Python packages implement [`HttpTransport`] and call
//! [`set_http_transport`] when they load; the library itself carries no TLS stack or root store
//! (see `tidbit_core::net`).
//!
//! Every method blocks and is called on one of the core's background threads, never the app's
//! main thread. A call has an id: `send` starts it and returns the status and headers, `read`
//! returns the body a piece at a time (an empty piece at its end), `finish` releases it.
//! `cancel` arrives from another thread when the app cancels the Tidbit call the request
//! belongs to: the platform then disconnects, and a `send` or `read` blocked on it returns.

use std::sync::Arc;
use std::time::Duration;

use tidbit_core::net;

/// One request. Header names are in lower case.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `HEAD`, `POST` or `PUT`.
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// How long connecting may take.
    pub connect_timeout_ms: u64,
    /// How long the whole call may take, reading the body included (none: no bound).
    pub timeout_ms: Option<u64>,
    /// How long one read may wait for bytes (none: no bound beyond `timeout_ms`).
    pub read_timeout_ms: Option<u64>,
    /// Redirects to follow; one more fails the call with [`HttpError::TooManyRedirects`].
    pub max_redirects: u32,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// The status and headers of the answer (names in any case).
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpHead {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
}

/// Why the platform could not complete a call. A status the server answered, even 500, is not
/// an error: `send` returns it.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum HttpError {
    /// No connection, a timeout, a cut, a TLS failure, a cancelled call.
    #[error("{reason}")]
    Failed { reason: String },
    #[error("too many redirects: {reason}")]
    TooManyRedirects { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HttpError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpError::Failed {
            reason: format!("the platform's HTTP transport failed: {}", error.reason),
        }
    }
}

/// The platform's HTTP stack, as the app's package implements it (see the module header).
#[uniffi::export(foreign)]
pub trait HttpTransport: Send + Sync {
    /// Sends the request and waits for the status and headers.
    fn send(&self, call: u64, request: HttpRequest) -> Result<HttpHead, HttpError>;
    /// Up to `max` bytes of the body; none at its end.
    fn read(&self, call: u64, max: u32) -> Result<Vec<u8>, HttpError>;
    /// Releases the call (its connection may be reused once its body was read to the end).
    fn finish(&self, call: u64);
    /// Disconnects the call, from another thread: a `send` or `read` blocked on it returns.
    fn cancel(&self, call: u64);
}

/// Puts `transport` in place for every request the core starts from now on.
#[uniffi::export]
pub fn set_http_transport(transport: Arc<dyn HttpTransport>) {
    net::set_blocking_transport(Arc::new(Platform(transport)));
}

/// The app's transport as the core's.
struct Platform(Arc<dyn HttpTransport>);

impl net::BlockingTransport for Platform {
    fn send(&self, call: u64, request: net::Request) -> Result<net::Head, net::TransportError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let request = HttpRequest {
            method: request.method.as_str().to_string(),
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader { name, value })
                .collect(),
            body: request.body,
            connect_timeout_ms: millis(request.connect_timeout),
            timeout_ms: request.timeout.map(millis),
            read_timeout_ms: request.read_timeout.map(millis),
            max_redirects: request.max_redirects,
        };
        let head = self.0.send(call, request).map_err(into_core)?;
        Ok(net::Head {
            status: head.status,
            headers: head
                .headers
                .into_iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value))
                .collect(),
        })
    }

    fn read(&self, call: u64, max: u32) -> Result<Vec<u8>, net::TransportError> {
        let piece = self.0.read(call, max).map_err(into_core)?;
        if piece.len() > max as usize {
            return Err(net::TransportError::Failed(format!(
                "the platform's HTTP transport returned {} bytes where at most {max} were asked for",
                piece.len()
            )));
        }
        Ok(piece)
    }

    fn finish(&self, call: u64) {
        self.0.finish(call);
    }

    fn cancel(&self, call: u64) {
        self.0.cancel(call);
    }
}

fn into_core(error: HttpError) -> net::TransportError {
    match error {
        HttpError::Failed { reason } => net::TransportError::Failed(reason),
        HttpError::TooManyRedirects { reason } => net::TransportError::Redirected(reason),
    }
}
