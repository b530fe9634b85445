//! A [`BlockingTransport`] (the platform's HTTP stack, called through the FFI) as an async
//! [`Transport`]: each call runs on tokio's blocking pool, and a dropped future cancels the call
//! it waited on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{BlockingTransport, Body, Head, Pending, Request, Transport, TransportError};

/// The most bytes one read asks for.
const READ_PIECE: u32 = 64 * 1024;

/// A blocking transport, driven from async code.
pub(super) struct Blocking(pub(super) Arc<dyn BlockingTransport>);

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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::net::{Method, ReadError, Response};

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

    enum Blocked {
        Send,
        Read,
    }

    /// A platform that blocks in `blocked` until the call is cancelled, and the signal that
    /// it got there.
    fn blocking_in(blocked: Blocked) -> (Arc<Scripted>, tokio::sync::oneshot::Receiver<()>) {
        let (entered, in_platform) = tokio::sync::oneshot::channel();
        let platform = Arc::new(Scripted {
            block_send: matches!(blocked, Blocked::Send),
            block_read: matches!(blocked, Blocked::Read),
            entered: Mutex::new(Some(entered)),
            ..Scripted::default()
        });
        (platform, in_platform)
    }

    /// The platform's log of a body of `pieces` refused by a cap of 10 bytes, then dropped.
    async fn capped_at_10(pieces: &[&'static str], length: Option<u64>) -> Vec<String> {
        let platform = Arc::new(Scripted {
            pieces: Mutex::new(pieces.iter().copied().collect()),
            length,
            ..Scripted::default()
        });
        let mut response = send_through(&platform, get()).await.unwrap();
        assert_eq!(response.read_capped(10).await, Err(ReadError::TooLong(10)));
        drop(response);
        platform.log()
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
        assert_eq!(
            capped_at_10(&["abc"], Some(1_000)).await,
            ["send GET http://127.0.0.1:1/x", "cancel", "finish"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_read_past_the_cap_stops_there() {
        assert_eq!(
            capped_at_10(&["abcdef", "ghijkl", "never read"], None).await,
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
        let (platform, in_platform) = blocking_in(Blocked::Send);
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
        let (platform, in_platform) = blocking_in(Blocked::Read);
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
