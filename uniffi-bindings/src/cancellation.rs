//! Stopping async work that runs on the core's runtime when the app no longer wants it.
//!
//! Work such as `Tidbit::sync` is spawned onto the runtime and awaited through an
//! [`AbortOnDrop`] handle: when the foreign caller cancels, UniFFI's Kotlin and Python code drops
//! the Rust future, the handle aborts the task, and the task stops at its next await point
//! (its network waits; nothing is awaited while the store is locked). Swift's generated code
//! keeps waiting for the Rust future when its `Task` is cancelled, so the Swift wrapper passes a
//! [`Cancellation`] and cancels it from a task cancellation handler; the call then returns
//! `TidbitError::Cancelled`. This module only starts, awaits and aborts tasks; what a stopped
//! sync keeps is the core's to say (a reply is applied whole or not at all).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::task::{AbortHandle, JoinError, JoinHandle};

use crate::error::TidbitError;
use crate::platform::runtime;

/// A switch the app flips to stop the call it was passed to (`Tidbit.sync`). Cancelling before
/// the call starts stops it at once; cancelling twice, or after the call returned, does nothing.
/// One may be passed to several calls, which it then stops together.
#[derive(Debug, Default, uniffi::Object)]
pub struct Cancellation {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    cancelled: bool,
    running: Vec<AbortHandle>,
}

#[uniffi::export]
impl Cancellation {
    #[uniffi::constructor]
    pub fn new() -> Arc<Cancellation> {
        Arc::new(Cancellation::default())
    }

    /// Stops the calls this was passed to at their next await point.
    pub fn cancel(&self) {
        let mut state = self.state();
        state.cancelled = true;
        for task in state.running.drain(..) {
            task.abort();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.state().cancelled
    }
}

impl Cancellation {
    /// Aborts `task` when this is cancelled (at once if it already was).
    fn watch(&self, task: AbortHandle) {
        let mut state = self.state();
        if state.cancelled {
            task.abort();
        } else {
            state.running.retain(|running| !running.is_finished());
            state.running.push(task);
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a flag and a list of handles: no call can leave it half-changed.
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A task on the core's runtime that is aborted when this handle is dropped before it finishes.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        // Does nothing to a task that has finished.
        self.0.abort();
    }
}

/// Runs `work` on the core's runtime and awaits it; dropping the returned future or cancelling
/// `cancellation` aborts it. `what` names the work in the error a failed task becomes.
pub(crate) async fn run_cancellable<T: Send + 'static>(
    what: &'static str,
    work: impl Future<Output = Result<T, TidbitError>> + Send + 'static,
    cancellation: Option<Arc<Cancellation>>,
) -> Result<T, TidbitError> {
    let task = AbortOnDrop(runtime()?.spawn(work));
    if let Some(cancellation) = &cancellation {
        cancellation.watch(task.0.abort_handle());
    }
    match task.await {
        Ok(result) => result,
        Err(error) if error.is_cancelled() => {
            tracing::info!(operation = what, "cancelled");
            Err(TidbitError::Cancelled(format!(
                "the {what} was cancelled: what it had applied is kept, and the next {what} \
                 picks up from there"
            )))
        }
        Err(error) => Err(TidbitError::Internal(format!(
            "the {what} stopped unexpectedly ({error}): progress is kept on this device; try \
             again, and report it if it repeats"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    /// Work that never finishes and reports, through `dropped`, when its task let go of it.
    async fn endless_work(dropped: oneshot::Sender<()>) -> Result<(), TidbitError> {
        let _report_on_drop = dropped;
        std::future::pending::<()>().await;
        Ok(())
    }

    fn block_on<T>(work: impl Future<Output = T>) -> T {
        runtime().unwrap().block_on(work)
    }

    #[test]
    fn dropping_the_awaiting_future_aborts_the_spawned_work() {
        let (dropped_tx, dropped) = oneshot::channel();
        let waited = block_on(async {
            let call = run_cancellable("sync", endless_work(dropped_tx), None);
            tokio::time::timeout(Duration::from_millis(50), call).await
        });
        assert!(waited.is_err());
        let released =
            block_on(async { tokio::time::timeout(Duration::from_secs(5), dropped).await });
        assert!(matches!(released, Ok(Err(_))), "the work is still running");
    }

    #[test]
    fn cancelling_stops_the_work_and_returns_cancelled() {
        let cancellation = Cancellation::new();
        let (dropped_tx, dropped) = oneshot::channel();
        let result = block_on(async {
            let call = run_cancellable(
                "sync",
                endless_work(dropped_tx),
                Some(Arc::clone(&cancellation)),
            );
            let cancel = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                cancellation.cancel();
            };
            tokio::join!(call, cancel).0
        });
        match result {
            Err(TidbitError::Cancelled(message)) => {
                assert_eq!(
                    message,
                    "the sync was cancelled: what it had applied is kept, and the next sync \
                     picks up from there"
                )
            }
            other => panic!("expected Cancelled, got {other:?}"),
        }
        assert!(cancellation.is_cancelled());
        let released =
            block_on(async { tokio::time::timeout(Duration::from_secs(5), dropped).await });
        assert!(matches!(released, Ok(Err(_))), "the work is still running");
    }

    #[test]
    fn a_cancellation_flipped_before_the_call_stops_it_at_once() {
        let cancellation = Cancellation::new();
        cancellation.cancel();
        let (dropped_tx, _dropped) = oneshot::channel();
        let result = block_on(async {
            let call = run_cancellable("sync", endless_work(dropped_tx), Some(cancellation));
            tokio::time::timeout(Duration::from_secs(5), call).await
        });
        assert!(matches!(result, Ok(Err(TidbitError::Cancelled(_)))));
    }

    #[test]
    fn finished_work_keeps_its_result_when_cancelled_afterwards() {
        let cancellation = Cancellation::new();
        let result = block_on(run_cancellable(
            "sync",
            async { Ok(7) },
            Some(Arc::clone(&cancellation)),
        ));
        cancellation.cancel();
        assert_eq!(result.unwrap(), 7);
    }
}
