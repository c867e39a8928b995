//! A runtime of the server's own, on a thread of its own, for tests without one.

use std::sync::Arc;
use std::thread::JoinHandle;

use steadfast_determinism::TestContext;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

/// The runtime a `start_blocking` server runs on: a current-thread runtime in real time,
/// driven by its own thread until dropped.
pub(crate) struct Background {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts the runtime and its thread; the calling test's context, if any, is entered on
    /// the thread so that callbacks and responders see it too.
    pub(crate) fn spawn(context: Option<Arc<TestContext>>) -> std::io::Result<Background> {
        let runtime: Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("steadfast-mocknet".into())
            .spawn(move || {
                let _entered = context.as_ref().map(TestContext::enter);
                // Driving the runtime here runs the server's tasks; a closed channel (the
                // sender dropped) stops it as a sent value does.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Background {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub(crate) fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").finish_non_exhaustive()
    }
}

impl Drop for Background {
    /// Stops the runtime and waits for its thread.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic on the runtime's thread was the server's own; the test has its verdict.
            let _ = thread.join();
        }
    }
}
