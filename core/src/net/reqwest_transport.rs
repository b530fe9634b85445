//! reqwest over rustls: the transport of the CLI, the server's tools and the tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{Body, Head, Method, Pending, Request, Transport, TransportError};

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

/// An error with the errors beneath it, `outer: inner`: a client names the URL on top and the
/// reason (a refused connection, a timeout) underneath.
fn with_causes(error: &dyn std::error::Error) -> String {
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
